#include "promql/engine.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <exception>

#include "promql/analysis.hpp"
#include "promql/evaluator.hpp"
#include "promql/functions.hpp"
#include "promql/parallel.hpp"
#include "storage/chunk/xor_chunk.hpp"
#include "storage/cores.hpp"

namespace nl::promql {

namespace detail {

void fail(std::string message) { throw eval_error{query_error::execution, std::move(message)}; }

void query_context::check() {
  if (abandoned.load(std::memory_order_relaxed))
    throw eval_error{query_error::internal, "abandoned after another part failed"};
  if (opts->cancel && opts->cancel->load(std::memory_order_relaxed))
    throw eval_error{query_error::canceled, "query was canceled in expression evaluation"};
  // The clock only every 64th check per thread: checks run per series and
  // step (750k of them for a 250-step rate over 3000 series), and reading
  // the clock every time made such a query ~30% slower.
  thread_local uint32_t checks = 0;
  if (has_deadline && (++checks & 63) == 0 && std::chrono::steady_clock::now() > deadline)
    throw eval_error{query_error::timeout, "query timed out in expression evaluation"};
}

void query_context::check_held(int64_t held) const {
  if (held > opts->max_samples)
    throw eval_error{query_error::too_many_samples,
                     "query processing would load too many samples into memory in query execution"};
}

const std::vector<storage::sample>& query_context::samples_of(const selected& d, const series& s,
                                                              std::vector<storage::sample>& buf) {
  if (s.chunks.empty())
    return s.samples;
  buf.clear();
  if (auto st = storage::decode_chunks(s.chunks, d.mint, d.maxt, buf); !st)
    throw eval_error{query_error::internal,
                     "corrupt chunk of series " + s.labels.to_string() + ": " + st.message()};
  return buf;
}

namespace {

// The newest sample of `s` in d's window when it is at or before `ref`,
// read from an XOR chunk's header instead of decoding (chunks are in time
// order; then every sample is <= ref and the newest is the last chunk's
// last). Writes it to `buf` and returns true; false when decoding is
// needed (a block's dense chunk does not keep its last value apart).
bool newest_sample_at_or_before(const query_context::selected& d, const series& s, int64_t ref,
                                std::vector<storage::sample>& buf) {
  if (s.chunks.empty() || s.chunks.back()->encoding() != storage::chunk_encoding::xor_)
    return false;
  const auto& last = static_cast<const storage::xor_chunk&>(*s.chunks.back());
  int64_t t = last.max_time();
  if (t > ref || t < d.mint || t > d.maxt)
    return false;
  // Chunks may overlap (out-of-order data, overlapping blocks): the last
  // one holds the newest sample only if every other one ends before it.
  for (size_t i = 0; i + 1 < s.chunks.size(); ++i)
    if (s.chunks[i]->max_time() >= t)
      return false;
  buf.assign(1, storage::sample{t, last.last_value()});
  return true;
}

}  // namespace

void check_distinct_labels(const matrix& m) {
  // By hash: only series whose hashes collide are compared label by label.
  std::vector<std::pair<uint64_t, size_t>> by_hash;
  by_hash.reserve(m.size());
  for (size_t i = 0; i < m.size(); ++i) by_hash.emplace_back(m[i].labels.hash(), i);
  std::sort(by_hash.begin(), by_hash.end());
  for (size_t i = 0; i < by_hash.size(); ++i)
    for (size_t j = i + 1; j < by_hash.size() && by_hash[j].first == by_hash[i].first; ++j)
      if (m[by_hash[i].second].labels == m[by_hash[j].second].labels)
        fail("vector cannot contain metrics with the same labelset");
}

const expr& unwrap_parens(const expr& e) {
  const expr* p = &e;
  while (auto* pe = std::get_if<paren_expr>(&p->node)) p = pe->inner.get();
  return *p;
}

storage::label_set drop_metric_name(const storage::label_set& ls) {
  if (!ls.has(storage::metric_name_label)) return ls;
  std::vector<storage::label> out;
  out.reserve(ls.size());
  for (auto& l : ls)
    if (l.name != storage::metric_name_label) out.push_back(l);
  return storage::label_set(std::move(out));
}

std::string format_float_label(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

void evaluator::note_held(int64_t held) {
  if (held > stats_.peak) stats_.peak = held;
  ctx_.check_held(held);
}

void evaluator::count_read(size_t step, int64_t n) {
  stats_.total += n;
  if (!stats_.per_step.empty()) stats_.per_step[step] += n;
}

void evaluator::count_points(const matrix& m, std::vector<int64_t>& per_step) const {
  for (auto& s : m)
    for (auto& p : s.points) per_step[static_cast<size_t>((p.t - start_) / interval_)] += 1;
}

void evaluator::finish_range_eval(const std::vector<int64_t>& gathered,
                                  const std::vector<int64_t>& produced) {
  // Prometheus' rangeEval: at each step the arguments' samples at that step
  // are gathered on top of everything held so far (the arguments' whole
  // results and this node's output of the earlier steps), then the step's
  // output is added.
  const int64_t held_before = ctx_.samples;
  int64_t made = 0;
  for (size_t s = 0; s < gathered.size(); ++s) {
    note_held(held_before + made + gathered[s] + produced[s]);
    made += produced[s];
  }
  // The arguments' results are released; the output stays.
  ctx_.samples = node_entry() + made;
}

std::optional<int64_t> evaluator::at_time(at_modifier at, int64_t ts) const {
  switch (at) {
    case at_modifier::none: return std::nullopt;
    case at_modifier::timestamp: return ts;
    case at_modifier::start: return ctx_.query_start;
    case at_modifier::end: return ctx_.query_end;
  }
  return std::nullopt;
}

matrix evaluator::eval(const expr& e) {
  ctx_.check();
  if (ctx_.step_invariant.count(&e) != 0) return eval_step_invariant(e);
  return eval_node(e);
}

matrix evaluator::eval_step_invariant(const expr& e) {
  // Literals are cheaper evaluated at every step, and count the same.
  if (std::holds_alternative<number_literal>(e.node) || std::holds_alternative<string_literal>(e.node))
    return eval_node(e);
  sample_stats once;
  evaluator first(ctx_, start_, start_, interval_, once);
  matrix m = first.eval_node(e);
  if (once.peak > stats_.peak) stats_.peak = once.peak;
  for (size_t step = 0; step < steps(); ++step) count_read(step, once.total);
  // Raw samples (range selector, subquery) do not depend on the step.
  if (std::holds_alternative<matrix_selector>(e.node) || std::holds_alternative<subquery_expr>(e.node))
    return m;
  int64_t copies = 0;
  for (auto& s : m) {
    if (s.points.size() != 1)
      throw eval_error{query_error::internal, "step-invariant node without exactly one point"};
    const double v = s.points[0].v;
    s.points.reserve(steps());
    for (int64_t ts = start_ + interval_; ts <= end_; ts += interval_) s.points.push_back({ts, v});
    copies += static_cast<int64_t>(s.points.size()) - 1;
  }
  ctx_.samples += copies;
  note_held(ctx_.samples);
  return m;
}

matrix evaluator::eval_node(const expr& e) {
  entries_.push_back(ctx_.samples);
  matrix result = std::visit(
      [&](auto& n) -> matrix {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, number_literal>) {
          // rangeEval without arguments: one sample per step.
          series_points s;
          s.points.reserve(steps());
          for (int64_t ts = start_; ts <= end_; ts += interval_) s.points.push_back({ts, n.value});
          ctx_.samples += static_cast<int64_t>(s.points.size());
          note_held(ctx_.samples);
          matrix m;
          m.push_back(std::move(s));
          return m;
        } else if constexpr (std::is_same_v<T, string_literal>) {
          throw eval_error{query_error::internal, "string literal evaluated as a vector"};
        } else if constexpr (std::is_same_v<T, vector_selector>) {
          return eval_vector_selector(n, false);
        } else if constexpr (std::is_same_v<T, matrix_selector>) {
          return eval_matrix_selector(n);
        } else if constexpr (std::is_same_v<T, subquery_expr>) {
          return eval_subquery(n, true);
        } else if constexpr (std::is_same_v<T, paren_expr>) {
          return eval(*n.inner);
        } else if constexpr (std::is_same_v<T, unary_expr>) {
          matrix m = eval(*n.inner);
          if (!n.negate) return m;
          for (auto& s : m) {
            s.labels = drop_metric_name(s.labels);
            for (auto& p : s.points) p.v = -p.v;
          }
          check_distinct_labels(m);  // dropping the name may merge series
          return m;
        } else if constexpr (std::is_same_v<T, binary_expr>) {
          return eval_binary(n);
        } else if constexpr (std::is_same_v<T, call_expr>) {
          return eval_call(n);
        } else {
          return eval_aggregate(n);
        }
      },
      e.node);
  entries_.pop_back();
  return result;
}

matrix evaluator::eval_vector_selector(const vector_selector& vs, bool timestamps) {
  auto it = ctx_.data.find(&vs);
  if (it == ctx_.data.end())
    throw eval_error{query_error::internal, "selector was not prepared: " + vs.name};
  const int64_t lookback = ctx_.opts->lookback_delta;
  auto pinned = at_time(vs.at, vs.at_timestamp);
  const auto& d = it->second;
  // Series are independent (see eval_call's range functions): samples held
  // are the count before this node plus finished series' points.
  const int64_t base = ctx_.samples;
  std::atomic<int64_t> published{0};
  std::vector<series_points> results(d.all.size());
  std::vector<std::vector<storage::sample>> bufs(parallel_parts(d.all.size()));
  // One lookup time (an instant query, or @): the newest sample may come
  // without decoding (count(...) or a selector over many series).
  const bool one_ref = pinned || start_ == end_;
  const int64_t first_ref = (pinned ? *pinned : start_) - vs.offset;
  for_each_series(d.all.size(), [&](size_t si, size_t part) {
    auto& s = d.all[si];
    series_points sp;
    const auto& smp = one_ref && newest_sample_at_or_before(d, s, first_ref, bufs[part])
                        ? bufs[part]
                        : ctx_.samples_of(d, s, bufs[part]);
    size_t next = 0;  // first sample with t > ref (moves forward with ref)
    for (int64_t ts = start_; ts <= end_; ts += interval_) {
      int64_t ref = (pinned ? *pinned : ts) - vs.offset;
      if (pinned && ts != start_) {
        // Pinned: same answer at every step.
        if (!sp.points.empty() && sp.points.back().t == ts - interval_)
          sp.points.push_back({ts, sp.points.back().v});
      } else {
        while (next < smp.size() && smp[next].t <= ref) ++next;
        if (next == 0) continue;
        const auto& last = smp[next - 1];
        if (last.t < ref - lookback || storage::is_stale_nan(last.v)) continue;
        sp.points.push_back({ts, timestamps ? static_cast<double>(last.t) / 1000 : last.v});
      }
      ctx_.check_held(base + published.load(std::memory_order_relaxed) +
                      static_cast<int64_t>(sp.points.size()));
    }
    published.fetch_add(static_cast<int64_t>(sp.points.size()), std::memory_order_relaxed);
    if (sp.points.empty()) return;
    sp.labels = s.labels;
    results[si] = std::move(sp);
  });
  matrix out;
  for (auto& r : results)
    if (!r.points.empty()) out.push_back(std::move(r));
  if (!timestamps) {
    // Every sample yielded is held and counts as read at its step.
    const int64_t n = published.load();
    ctx_.samples = base + n;
    note_held(ctx_.samples);
    stats_.total += n;
    if (!stats_.per_step.empty()) count_points(out, stats_.per_step);
  }
  return out;
}

matrix evaluator::eval_matrix_selector(const matrix_selector& ms) {
  if (start_ != end_)
    throw eval_error{query_error::internal, "cannot do range evaluation of matrix selector"};
  auto& vs = std::get<vector_selector>(ms.selector->node);
  auto it = ctx_.data.find(&vs);
  if (it == ctx_.data.end())
    throw eval_error{query_error::internal, "selector was not prepared: " + vs.name};
  auto pinned = at_time(vs.at, vs.at_timestamp);
  int64_t maxt = (pinned ? *pinned : start_) - vs.offset;
  int64_t mint = maxt - ms.range;
  matrix out;
  std::vector<storage::sample> buf;
  for (auto& s : it->second.all) {
    ctx_.check();
    series_points sp;
    for (auto& x : ctx_.samples_of(it->second, s, buf))
      if (x.t >= mint && x.t <= maxt && !storage::is_stale_nan(x.v)) sp.points.push_back({x.t, x.v});
    const auto n = static_cast<int64_t>(sp.points.size());
    ctx_.samples += n;
    note_held(ctx_.samples);
    count_read(0, n);  // read for the (only) step
    if (sp.points.empty()) continue;
    sp.labels = s.labels;
    out.push_back(std::move(sp));
  }
  return out;
}

matrix evaluator::eval_subquery(const subquery_expr& sq, bool count_reads) {
  int64_t step = sq.step != 0 ? sq.step : ctx_.opts->default_subquery_step;
  if (step <= 0) throw eval_error{query_error::bad_data, "subquery step must be positive"};
  auto pinned = at_time(sq.at, sq.at_timestamp);
  int64_t anchor_start = pinned ? *pinned : start_;
  int64_t anchor_end = pinned ? *pinned : end_;
  int64_t lo = anchor_start - sq.offset - sq.range;
  // First step-aligned time at or after lo (Go division truncates to zero).
  int64_t sub_start = step * (lo / step);
  if (sub_start < lo) sub_start += step;
  int64_t sub_end = anchor_end - sq.offset;
  if (sub_start > sub_end) return {};
  // Stats of its own, as Prometheus keeps for a subquery: its peak is the
  // query's too; its reads count at this evaluator's last step.
  sample_stats sub;
  evaluator inner(ctx_, sub_start, sub_end, step, sub);
  matrix m = inner.eval(*sq.inner);
  if (sub.peak > stats_.peak) stats_.peak = sub.peak;
  if (count_reads) count_read(steps() - 1, sub.total);
  return m;
}

size_t evaluator::parallel_parts(size_t n) {
  if (n < parallel_min_series) return 1;
  return std::clamp<size_t>(storage::available_cores(), 1, 8);
}

void evaluator::for_each_series(size_t n, const std::function<void(size_t, size_t)>& fn) {
  const size_t parts = parallel_parts(n);
  std::exception_ptr first;  // written by the part that raised `abandoned`
  run_parts(parts, [&](size_t part) {
    try {
      for (size_t i = n * part / parts, end = n * (part + 1) / parts; i < end; ++i) {
        ctx_.check();
        fn(i, part);
      }
    } catch (...) {
      if (!ctx_.abandoned.exchange(true)) first = std::current_exception();
    }
  });
  ctx_.abandoned.store(false);
  if (first) std::rethrow_exception(first);
}

std::vector<double> evaluator::scalar_steps(const matrix& m) const {
  std::vector<double> out(steps(), NAN);
  if (!m.empty())
    for (auto& p : m[0].points) out[static_cast<size_t>((p.t - start_) / interval_)] = p.v;
  return out;
}

void evaluator::merge_same_labels(matrix& m) {
  if (m.size() < 2) return;
  std::vector<size_t> idx(m.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(),
                   [&](size_t a, size_t b) { return m[a].labels < m[b].labels; });
  std::vector<bool> gone(m.size(), false);
  for (size_t i = 0; i + 1 < idx.size(); ++i) {
    size_t keep = idx[i];
    while (i + 1 < idx.size() && m[idx[i + 1]].labels == m[keep].labels) {
      auto& other = m[idx[++i]].points;
      auto& pts = m[keep].points;
      std::vector<point> merged;
      merged.reserve(pts.size() + other.size());
      std::merge(pts.begin(), pts.end(), other.begin(), other.end(), std::back_inserter(merged),
                 [](const point& a, const point& b) { return a.t < b.t; });
      for (size_t k = 1; k < merged.size(); ++k)
        if (merged[k].t == merged[k - 1].t)
          fail("vector cannot contain metrics with the same labelset");
      pts = std::move(merged);
      gone[idx[i]] = true;
    }
  }
  size_t w = 0;
  for (size_t i = 0; i < m.size(); ++i)
    if (!gone[i]) {
      if (w != i) m[w] = std::move(m[i]);
      ++w;
    }
  m.resize(w);
}

matrix evaluator::combine_impl(std::vector<matrix>& inputs, step_fn fn, void* state) {
  const size_t n_in = inputs.size();
  std::vector<step_vector> in(n_in);
  std::vector<std::vector<size_t>> cursor(n_in);
  for (size_t i = 0; i < n_in; ++i) {
    cursor[i].assign(inputs[i].size(), 0);
    in[i].reserve(inputs[i].size());
  }
  matrix out;
  // Output series by label set: pointer first (labels in inputs and arenas
  // are stable), then by hash and equality.
  std::unordered_map<const storage::label_set*, size_t> by_ptr;
  std::unordered_multimap<uint64_t, size_t> by_hash;
  step_vector result;
  // Prometheus' rangeEval accounting (finish_range_eval), step by step so
  // that a query over the limit stops at the step that exceeds it.
  const int64_t held_before = ctx_.samples;
  int64_t out_samples = 0;
  for (int64_t ts = start_; ts <= end_; ts += interval_) {
    ctx_.check();
    int64_t gathered = 0;
    for (size_t i = 0; i < n_in; ++i) {
      in[i].clear();
      auto& m = inputs[i];
      for (size_t si = 0; si < m.size(); ++si) {
        auto& c = cursor[i][si];
        auto& pts = m[si].points;
        if (c < pts.size() && pts[c].t == ts) {
          in[i].push_back({&m[si].labels, pts[c].v, static_cast<uint32_t>(si)});
          ++c;
        }
      }
      gathered += static_cast<int64_t>(in[i].size());
    }
    ctx_.check_held(held_before + out_samples + gathered);
    result.clear();
    fn(state, in, ts, result);
    for (auto& r : result) {
      size_t idx;
      auto p = by_ptr.find(r.labels);
      if (p != by_ptr.end()) {
        idx = p->second;
      } else {
        uint64_t h = r.labels->hash();
        idx = out.size();
        auto range = by_hash.equal_range(h);
        for (auto it = range.first; it != range.second; ++it)
          if (out[it->second].labels == *r.labels) idx = it->second;
        if (idx == out.size()) {
          out.push_back(series_points{*r.labels, {}});
          by_hash.emplace(h, idx);
        }
        by_ptr.emplace(r.labels, idx);
      }
      auto& pts = out[idx].points;
      if (!pts.empty() && pts.back().t == ts)
        fail("vector cannot contain metrics with the same labelset");
      pts.push_back({ts, r.v});
    }
    note_held(held_before + out_samples + gathered + static_cast<int64_t>(result.size()));
    out_samples += static_cast<int64_t>(result.size());
  }
  ctx_.samples = node_entry() + out_samples;
  return out;
}

namespace {

// Prometheus 2.42's AtModifierUnsafeFunctions: they read the evaluation
// time (or their argument's sample times), so @ cannot make them
// step-invariant.
bool reads_eval_time(std::string_view fn) {
  static constexpr std::string_view unsafe[] = {"days_in_month", "day_of_month", "day_of_week", "day_of_year",
                                                "hour", "minute", "month", "year", "predict_linear", "time",
                                                "timestamp"};
  return std::find(std::begin(unsafe), std::end(unsafe), fn) != std::end(unsafe);
}

// preprocessExprHelper: whether `e` is step-invariant; the invariant parts
// of a node that is not are recorded in `out`.
bool mark_step_invariant(const expr& e, std::unordered_set<const expr*>& out) {
  return std::visit(
      [&](const auto& n) -> bool {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, vector_selector>) {
          return n.at != at_modifier::none;
        } else if constexpr (std::is_same_v<T, matrix_selector>) {
          return mark_step_invariant(*n.selector, out);
        } else if constexpr (std::is_same_v<T, subquery_expr>) {
          if (mark_step_invariant(*n.inner, out)) out.insert(n.inner.get());
          return n.at != at_modifier::none;
        } else if constexpr (std::is_same_v<T, aggregate_expr>) {
          return mark_step_invariant(*n.inner, out);  // the parameter is not looked at
        } else if constexpr (std::is_same_v<T, binary_expr>) {
          bool l = mark_step_invariant(*n.lhs, out);
          bool r = mark_step_invariant(*n.rhs, out);
          if (l && r) return true;
          if (l) out.insert(n.lhs.get());
          if (r) out.insert(n.rhs.get());
          return false;
        } else if constexpr (std::is_same_v<T, call_expr>) {
          bool all = !reads_eval_time(n.func->name);
          std::vector<bool> arg_invariant;
          for (auto& a : n.args) {
            arg_invariant.push_back(mark_step_invariant(*a, out));
            all = all && arg_invariant.back();
          }
          if (all) return true;
          for (size_t i = 0; i < n.args.size(); ++i)
            if (arg_invariant[i]) out.insert(n.args[i].get());
          return false;
        } else if constexpr (std::is_same_v<T, paren_expr> || std::is_same_v<T, unary_expr>) {
          return mark_step_invariant(*n.inner, out);
        } else {
          return true;  // number and string literals
        }
      },
      e.node);
}

}  // namespace

std::unordered_set<const expr*> step_invariant_nodes(const expr& e) {
  std::unordered_set<const expr*> out;
  if (mark_step_invariant(e, out)) out.insert(&e);
  return out;
}

}  // namespace detail

query_result engine::instant(const expr& e, queryable& q, int64_t t) const {
  return instant(e, find_selector_windows(e, t, t, opts_.lookback_delta), q, t);
}

query_result engine::range(const expr& e, queryable& q, int64_t start, int64_t end,
                           int64_t step) const {
  return range(e, find_selector_windows(e, start, end, opts_.lookback_delta), q, start, end, step);
}

query_result engine::instant(const expr& e, const std::vector<selector_window>& windows,
                             queryable& q, int64_t t) const {
  return run(e, windows, q, t, t, 0);
}

query_result engine::range(const expr& e, const std::vector<selector_window>& windows,
                           queryable& q, int64_t start, int64_t end, int64_t step) const {
  if (step <= 0)
    return query_error{query_error::bad_data,
                       "zero or negative query resolution step widths are not accepted. "
                       "Try a positive integer"};
  if (end < start) return query_error{query_error::bad_data, "end timestamp must not be before start time"};
  // Per-step buffers are sized by the step count; a count above the sample
  // limit could never produce a result anyway.
  if ((end - start) / step + 1 > opts_.max_samples)
    return query_error{query_error::too_many_samples,
                       "query processing would load too many samples into memory in query "
                       "execution"};
  auto t = e.type();
  if (t != value_type::scalar && t != value_type::vector)
    return query_error{query_error::bad_data,
                       "invalid expression type \"" + std::string(to_string(t)) +
                           "\" for range query, must be Scalar or instant Vector"};
  return run(e, windows, q, start, end, step);
}

query_result engine::run(const expr& e, const std::vector<selector_window>& windows, queryable& q,
                         int64_t start, int64_t end, int64_t step) const {
  using clock = std::chrono::steady_clock;
  auto seconds_since = [](clock::time_point t0) {
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  detail::query_context ctx;
  ctx.opts = &opts_;
  ctx.query_start = start;
  ctx.query_end = end;
  if (opts_.timeout.count() > 0) {
    ctx.has_deadline = true;
    ctx.deadline = clock::now() + opts_.timeout;
  }
  const int64_t interval = step == 0 ? 1 : step;
  sample_stats stats;
  if (opts_.per_step_stats) stats.per_step.assign(static_cast<size_t>((end - start) / interval) + 1, 0);
  eval_timings timings;
  try {
    const expr& top = detail::unwrap_parens(e);
    if (auto* s = std::get_if<string_literal>(&top.node))
      return query_result{string_value{start, s->value}, std::move(stats), timings};
    for (size_t i = 0; i < windows.size(); ++i) {
      ctx.check();
      const auto& w = windows[i];
      ctx.data[w.selector] = {w.mint, w.maxt, q.select(i, w)};
    }
    ctx.step_invariant = detail::step_invariant_nodes(e);
    const auto eval_began = clock::now();
    detail::evaluator ev(ctx, start, end, interval, stats);
    matrix m = ev.eval(e);
    timings.inner_eval = seconds_since(eval_began);
    auto type = e.type();
    if (step == 0) {
      if (type == value_type::vector) {
        vector v;
        v.reserve(m.size());
        for (auto& s : m) v.push_back(sample{std::move(s.labels), start, s.points.at(0).v});
        return query_result{query_value{std::move(v)}, std::move(stats), timings};
      }
      if (type == value_type::scalar) {
        if (m.empty() || m[0].points.empty())
          return query_error{query_error::internal, "scalar expression produced no value"};
        return query_result{query_value{scalar{start, m[0].points[0].v}}, std::move(stats), timings};
      }
      return query_result{query_value{std::move(m)}, std::move(stats), timings};
    }
    ctx.check();
    const auto sort_began = clock::now();
    sort_by_labels(m);
    timings.result_sort = seconds_since(sort_began);
    return query_result{query_value{std::move(m)}, std::move(stats), timings};
  } catch (const detail::eval_error& err) {
    return query_error{err.kind, err.message};
  } catch (const std::bad_alloc&) {
    return query_error{query_error::execution, "out of memory while evaluating the query"};
  } catch (const std::exception& ex) {
    return query_error{query_error::internal, std::string("unexpected error: ") + ex.what()};
  }
}

}  // namespace nl::promql

#include "promql/engine.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <exception>

#include "promql/analysis.hpp"
#include "promql/evaluator.hpp"
#include "promql/parallel.hpp"
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

void query_context::add_samples(int64_t n) {
  current_samples += n;
  check_held(current_samples);
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
// read from the chunk header instead of decoding (chunks are in time order;
// then every sample is <= ref and the newest is the last chunk's last).
// Writes it to `buf` and returns true; false when decoding is needed.
bool newest_sample_at_or_before(const query_context::selected& d, const series& s, int64_t ref,
                                std::vector<storage::sample>& buf) {
  if (s.chunks.empty())
    return false;
  const auto& last = *s.chunks.back();
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
  return std::visit(
      [&](auto& n) -> matrix {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, number_literal>) {
          series_points s;
          s.points.reserve(steps());
          for (int64_t ts = start_; ts <= end_; ts += interval_) s.points.push_back({ts, n.value});
          ctx_.add_samples(static_cast<int64_t>(s.points.size()));
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
          return eval_subquery(n);
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
  const int64_t base = ctx_.current_samples;
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
  ctx_.current_samples = base + published.load();
  matrix out;
  for (auto& r : results)
    if (!r.points.empty()) out.push_back(std::move(r));
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
    if (sp.points.empty()) continue;
    ctx_.add_samples(static_cast<int64_t>(sp.points.size()));
    sp.labels = s.labels;
    out.push_back(std::move(sp));
  }
  return out;
}

matrix evaluator::eval_subquery(const subquery_expr& sq) {
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
  evaluator inner(ctx_, sub_start, sub_end, step);
  return inner.eval(*sq.inner);
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
  // The inputs are released when this node is done (Prometheus does the
  // same accounting), so the node leaves only its output behind.
  int64_t input_samples = 0;
  for (auto& m : inputs)
    for (auto& s : m) input_samples += static_cast<int64_t>(s.points.size());
  const int64_t before_inputs = ctx_.current_samples - input_samples;
  const int64_t base_samples = ctx_.current_samples;
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
    ctx_.current_samples = base_samples + out_samples;
    ctx_.add_samples(gathered);
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
    out_samples += static_cast<int64_t>(result.size());
    ctx_.current_samples = base_samples + out_samples;
    ctx_.add_samples(0);
  }
  ctx_.current_samples = before_inputs + out_samples;
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
  detail::query_context ctx;
  ctx.opts = &opts_;
  ctx.query_start = start;
  ctx.query_end = end;
  if (opts_.timeout.count() > 0) {
    ctx.has_deadline = true;
    ctx.deadline = std::chrono::steady_clock::now() + opts_.timeout;
  }
  try {
    const expr& top = detail::unwrap_parens(e);
    if (auto* s = std::get_if<string_literal>(&top.node)) return query_value{string_value{start, s->value}};
    for (size_t i = 0; i < windows.size(); ++i) {
      ctx.check();
      const auto& w = windows[i];
      ctx.data[w.selector] = {w.mint, w.maxt, q.select(i, w)};
    }
    detail::evaluator ev(ctx, start, end, step == 0 ? 1 : step);
    matrix m = ev.eval(e);
    auto type = e.type();
    if (step == 0) {
      if (type == value_type::vector) {
        vector v;
        v.reserve(m.size());
        for (auto& s : m) v.push_back(sample{std::move(s.labels), start, s.points.at(0).v});
        return query_value{std::move(v)};
      }
      if (type == value_type::scalar) {
        if (m.empty() || m[0].points.empty())
          return query_error{query_error::internal, "scalar expression produced no value"};
        return query_value{scalar{start, m[0].points[0].v}};
      }
      return query_value{std::move(m)};
    }
    ctx.check();
    sort_by_labels(m);
    return query_value{std::move(m)};
  } catch (const detail::eval_error& err) {
    return query_error{err.kind, err.message};
  } catch (const std::bad_alloc&) {
    return query_error{query_error::execution, "out of memory while evaluating the query"};
  } catch (const std::exception& ex) {
    return query_error{query_error::internal, std::string("unexpected error: ") + ex.what()};
  }
}

}  // namespace nl::promql

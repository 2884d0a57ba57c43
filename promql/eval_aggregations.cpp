// Aggregation operators (Prometheus 2.42 engine.go aggregation()).
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "promql/evaluator.hpp"

namespace nl::promql::detail {

namespace {

using storage::label_set;

// The labels a series is grouped under: `by` keeps the listed labels,
// `without` drops them and the metric name.
label_set group_labels(const label_set& ls, const std::vector<std::string>& grouping,
                       bool without) {
  std::vector<storage::label> out;
  for (auto& l : ls) {
    bool listed = std::find(grouping.begin(), grouping.end(), l.name) != grouping.end();
    if (without ? (!listed && l.name != storage::metric_name_label) : listed) out.push_back(l);
  }
  return label_set(std::move(out));
}

}  // namespace

// Maps label sets to dense group ids; the label sets live in the arena.
class group_index {
 public:
  size_t get(label_set&& key) {
    uint64_t h = key.hash();
    auto r = by_hash_.equal_range(h);
    for (auto it = r.first; it != r.second; ++it)
      if (*labels_[it->second] == key) return it->second;
    arena_.push_back(std::move(key));
    labels_.push_back(&arena_.back());
    by_hash_.emplace(h, labels_.size() - 1);
    return labels_.size() - 1;
  }
  const label_set* labels(size_t id) const { return labels_[id]; }
  size_t size() const { return labels_.size(); }

 private:
  label_arena arena_;
  std::vector<const label_set*> labels_;
  std::unordered_multimap<uint64_t, size_t> by_hash_;
};

namespace {

struct group_state {
  double value = 0;
  double mean = 0;
  int64_t count = 0;
  std::vector<step_sample> heap;  // topk/bottomk candidates, quantile values
  std::vector<double> values;
};

// Go's container/heap on a min-heap ordered by `less`.
template <class Less>
void heap_up(std::vector<step_sample>& h, size_t j, Less less) {
  while (j > 0) {
    size_t i = (j - 1) / 2;
    if (i == j || !less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    j = i;
  }
}

template <class Less>
void heap_down(std::vector<step_sample>& h, size_t i0, size_t n, Less less) {
  size_t i = i0;
  for (;;) {
    size_t j1 = 2 * i + 1;
    if (j1 >= n) break;
    size_t j = j1;
    if (size_t j2 = j1 + 1; j2 < n && less(h[j2], h[j1])) j = j2;
    if (!less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    i = j;
  }
}

template <class Less>
void heap_pop(std::vector<step_sample>& h, Less less) {
  size_t n = h.size() - 1;
  std::swap(h[0], h[n]);
  heap_down(h, 0, n, less);
  h.pop_back();
}

template <class Less>
void heap_push(std::vector<step_sample>& h, step_sample s, Less less) {
  h.push_back(s);
  heap_up(h, h.size() - 1, less);
}

bool convertible_to_int64(double v) {
  return v <= 9223372036854775807.0 && v >= -9223372036854775808.0;
}

}  // namespace

// Sum, avg, count, min, max, group, stddev and stdvar visited series by
// series: the same additions in the same order as the step-by-step loop,
// but each input series is read once, sequentially, instead of touching
// every series at every step. Used when the accumulators (groups x steps)
// stay small.
std::optional<matrix> evaluator::aggregate_series_major(aggregate_op op, const matrix& in,
                                                        const std::vector<size_t>& series_group,
                                                        const group_index& groups) {
  switch (op) {
    case aggregate_op::sum:
    case aggregate_op::avg:
    case aggregate_op::count:
    case aggregate_op::min:
    case aggregate_op::max:
    case aggregate_op::group:
    case aggregate_op::stddev:
    case aggregate_op::stdvar: break;
    default: return std::nullopt;
  }
  const size_t n_steps = steps();
  const size_t n_groups = groups.size();
  if (n_groups == 0 || n_steps > (size_t{1} << 22) / n_groups) return std::nullopt;
  struct acc {
    double value;
    double mean;
    int64_t count;  // 0: no sample yet
  };
  std::vector<acc> accs(n_groups * n_steps, acc{0, 0, 0});
  for (size_t si = 0; si < in.size(); ++si) {
    ctx_.tick();
    acc* row = &accs[series_group[si] * n_steps];
    for (auto& p : in[si].points) {
      acc& g = row[static_cast<size_t>((p.t - start_) / interval_)];
      const double v = p.v;
      if (g.count == 0) {
        g.count = 1;
        g.mean = v;
        g.value = (op == aggregate_op::stddev || op == aggregate_op::stdvar) ? 0
                  : op == aggregate_op::group                                 ? 1
                                                                              : v;
        continue;
      }
      switch (op) {
        case aggregate_op::sum: g.value += v; break;
        case aggregate_op::avg:
          g.count++;
          if (std::isinf(g.mean)) {
            if (std::isinf(v) && (g.mean > 0) == (v > 0)) break;
            if (!std::isinf(v) && !std::isnan(v)) break;
          }
          g.mean += v / static_cast<double>(g.count) - g.mean / static_cast<double>(g.count);
          break;
        case aggregate_op::count: g.count++; break;
        case aggregate_op::max:
          if (g.value < v || std::isnan(g.value)) g.value = v;
          break;
        case aggregate_op::min:
          if (g.value > v || std::isnan(g.value)) g.value = v;
          break;
        case aggregate_op::stddev:
        case aggregate_op::stdvar: {
          g.count++;
          double delta = v - g.mean;
          g.mean += delta / static_cast<double>(g.count);
          g.value += delta * (v - g.mean);
          break;
        }
        default: break;
      }
    }
  }
  matrix out;
  for (size_t gid = 0; gid < n_groups; ++gid) {
    series_points sp;
    const acc* row = &accs[gid * n_steps];
    for (size_t k = 0; k < n_steps; ++k) {
      const acc& g = row[k];
      if (g.count == 0) continue;
      double v = g.value;
      switch (op) {
        case aggregate_op::avg: v = g.mean; break;
        case aggregate_op::count: v = static_cast<double>(g.count); break;
        case aggregate_op::stdvar: v = g.value / static_cast<double>(g.count); break;
        case aggregate_op::stddev: v = std::sqrt(g.value / static_cast<double>(g.count)); break;
        default: break;
      }
      sp.points.push_back({start_ + static_cast<int64_t>(k) * interval_, v});
    }
    if (sp.points.empty()) continue;
    sp.labels = *groups.labels(gid);
    out.push_back(std::move(sp));
  }
  std::vector<int64_t> gathered(n_steps, 0), made(n_steps, 0);
  count_points(in, gathered);
  count_points(out, made);
  finish_range_eval(gathered, made);
  return out;
}

matrix evaluator::eval_aggregate(const aggregate_expr& a) {
  std::vector<std::string> grouping = a.grouping;
  std::sort(grouping.begin(), grouping.end());
  const aggregate_op op = a.op;
  std::vector<matrix> inputs;
  std::string value_label;
  const bool has_param = a.param && op != aggregate_op::count_values;
  if (op == aggregate_op::count_values) {
    value_label = std::get<string_literal>(unwrap_parens(*a.param).node).value;
    if (!is_legacy_label_name(value_label)) fail("invalid label name \"" + value_label + "\"");
  }
  if (has_param) inputs.push_back(eval(*a.param));
  inputs.push_back(eval(*a.inner));
  const size_t vi = has_param ? 1 : 0;

  // Group of every input series, computed once.
  group_index groups;
  std::vector<size_t> series_group;
  if (op != aggregate_op::count_values) {
    series_group.reserve(inputs[vi].size());
    for (auto& s : inputs[vi])
      series_group.push_back(groups.get(group_labels(s.labels, grouping, a.without)));
  }
  if (auto fast = aggregate_series_major(a.op, inputs[vi], series_group, groups)) return *fast;
  std::vector<group_state> state;
  std::vector<size_t> stamp;  // step number a group was last touched
  std::vector<size_t> order;  // groups in order of first appearance this step
  size_t step_no = 0;
  // count_values: grouping includes the value label unless `without`.
  std::vector<std::string> cv_grouping = grouping;
  if (op == aggregate_op::count_values && !a.without) {
    cv_grouping.push_back(value_label);
    std::sort(cv_grouping.begin(), cv_grouping.end());
  }

  return combine(inputs, [&](const std::vector<step_vector>& in, int64_t, step_vector& out) {
    const step_vector& vec = in[vi];
    ++step_no;
    order.clear();
    int64_t k = 0;
    double q = 0;
    if (op == aggregate_op::topk || op == aggregate_op::bottomk) {
      double f = in[0].empty() ? NAN : in[0][0].v;
      if (!convertible_to_int64(f)) {
        // Go's %v spelling of the value.
        std::string v = std::isnan(f) ? "NaN" : f > 0 ? "+Inf" : "-Inf";
        if (std::isfinite(f)) {
          char buf[64];
          std::snprintf(buf, sizeof buf, "%g", f);
          v = buf;
        }
        fail("Scalar value " + v + " overflows int64");
      }
      k = static_cast<int64_t>(f);
      if (k < 1) return;
    }
    if (op == aggregate_op::quantile) q = in[0].empty() ? NAN : in[0][0].v;

    auto less_topk = [](const step_sample& x, const step_sample& y) {
      return std::isnan(x.v) || x.v < y.v;
    };
    auto less_bottomk = [](const step_sample& x, const step_sample& y) {
      return std::isnan(x.v) || x.v > y.v;
    };

    for (auto& s : vec) {
      size_t gid;
      if (op == aggregate_op::count_values) {
        storage::label_set_builder b(*s.labels);
        b.set(value_label, format_float_label(s.v));
        gid = groups.get(group_labels(b.build(), cv_grouping, a.without));
      } else {
        gid = series_group[s.series];
      }
      if (gid >= state.size()) {
        state.resize(gid + 1);
        stamp.resize(gid + 1, 0);
      }
      auto& g = state[gid];
      if (stamp[gid] != step_no) {
        stamp[gid] = step_no;
        order.push_back(gid);
        g.value = s.v;
        g.mean = s.v;
        g.count = 1;
        g.heap.clear();
        g.values.clear();
        switch (op) {
          case aggregate_op::stddev:
          case aggregate_op::stdvar: g.value = 0; break;
          case aggregate_op::topk:
          case aggregate_op::bottomk: g.heap.push_back(s); break;
          case aggregate_op::quantile: g.values.push_back(s.v); break;
          case aggregate_op::group: g.value = 1; break;
          default: break;
        }
        continue;
      }
      switch (op) {
        case aggregate_op::sum: g.value += s.v; break;
        case aggregate_op::avg:
          g.count++;
          if (std::isinf(g.mean)) {
            if (std::isinf(s.v) && (g.mean > 0) == (s.v > 0)) break;
            if (!std::isinf(s.v) && !std::isnan(s.v)) break;
          }
          g.mean += s.v / static_cast<double>(g.count) - g.mean / static_cast<double>(g.count);
          break;
        case aggregate_op::group: break;
        case aggregate_op::max:
          if (g.value < s.v || std::isnan(g.value)) g.value = s.v;
          break;
        case aggregate_op::min:
          if (g.value > s.v || std::isnan(g.value)) g.value = s.v;
          break;
        case aggregate_op::count:
        case aggregate_op::count_values: g.count++; break;
        case aggregate_op::stddev:
        case aggregate_op::stdvar: {
          g.count++;
          double delta = s.v - g.mean;
          g.mean += delta / static_cast<double>(g.count);
          g.value += delta * (s.v - g.mean);
          break;
        }
        case aggregate_op::topk:
          if (static_cast<int64_t>(g.heap.size()) < k || g.heap[0].v < s.v ||
              std::isnan(g.heap[0].v)) {
            if (static_cast<int64_t>(g.heap.size()) == k) {
              if (k == 1) {
                g.heap[0] = s;
                break;
              }
              heap_pop(g.heap, less_topk);
            }
            heap_push(g.heap, s, less_topk);
          }
          break;
        case aggregate_op::bottomk:
          if (static_cast<int64_t>(g.heap.size()) < k || g.heap[0].v > s.v ||
              std::isnan(g.heap[0].v)) {
            if (static_cast<int64_t>(g.heap.size()) == k) {
              if (k == 1) {
                g.heap[0] = s;
                break;
              }
              heap_pop(g.heap, less_bottomk);
            }
            heap_push(g.heap, s, less_bottomk);
          }
          break;
        case aggregate_op::quantile: g.values.push_back(s.v); break;
      }
    }

    for (size_t gid : order) {
      auto& g = state[gid];
      double v = g.value;
      switch (op) {
        case aggregate_op::avg: v = g.mean; break;
        case aggregate_op::count:
        case aggregate_op::count_values: v = static_cast<double>(g.count); break;
        case aggregate_op::stdvar: v = g.value / static_cast<double>(g.count); break;
        case aggregate_op::stddev: v = std::sqrt(g.value / static_cast<double>(g.count)); break;
        case aggregate_op::quantile: v = quantile(q, g.values); break;
        case aggregate_op::topk:
        case aggregate_op::bottomk: {
          // Best first; NaN last.
          bool top = op == aggregate_op::topk;
          std::stable_sort(g.heap.begin(), g.heap.end(),
                           [top](const step_sample& x, const step_sample& y) {
                             if (std::isnan(y.v)) return !std::isnan(x.v);
                             if (std::isnan(x.v)) return false;
                             return top ? x.v > y.v : x.v < y.v;
                           });
          for (auto& s : g.heap) out.push_back({s.labels, s.v, 0});
          continue;
        }
        default: break;
      }
      out.push_back({groups.labels(gid), v, 0});
    }
  });
}

}  // namespace nl::promql::detail

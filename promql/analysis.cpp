#include "promql/analysis.hpp"

#include <limits>

namespace nl::promql {

namespace {

// Resolves `@ start()` / `@ end()` to the query's start and end.
std::optional<int64_t> at_time(at_modifier at, int64_t ts, int64_t start, int64_t end) {
  switch (at) {
    case at_modifier::none: return std::nullopt;
    case at_modifier::timestamp: return ts;
    case at_modifier::start: return start;
    case at_modifier::end: return end;
  }
  return std::nullopt;
}

struct walker {
  int64_t start;
  int64_t end;
  int64_t lookback;
  std::vector<selector_window> out;
  // Accumulated subquery offset and range on the current path; an @ on a
  // subquery resets them and pins the time.
  struct subq_state {
    int64_t offset = 0;
    int64_t range = 0;
    std::optional<int64_t> ts;
  };

  void selector(const vector_selector& vs, const subq_state& sq, int64_t eval_range) {
    int64_t s = start;
    int64_t e = end;
    if (sq.ts) s = e = *sq.ts;
    if (auto t = at_time(vs.at, vs.at_timestamp, start, end)) {
      s = e = *t;
    } else {
      s = s - sq.offset - sq.range;
      e = e - sq.offset;
    }
    s -= eval_range == 0 ? lookback : eval_range;
    s -= vs.offset;
    e -= vs.offset;
    out.push_back({&vs, s, e});
  }

  void walk(const expr& x, const subq_state& sq) {
    std::visit(
        [&](auto& n) {
          using T = std::decay_t<decltype(n)>;
          if constexpr (std::is_same_v<T, vector_selector>) {
            selector(n, sq, 0);
          } else if constexpr (std::is_same_v<T, matrix_selector>) {
            selector(std::get<vector_selector>(n.selector->node), sq, n.range);
          } else if constexpr (std::is_same_v<T, subquery_expr>) {
            subq_state next = sq;
            next.offset += n.offset;
            next.range += n.range;
            if (auto t = at_time(n.at, n.at_timestamp, start, end)) {
              next.offset = n.offset;
              next.range = n.range;
              next.ts = t;
            }
            walk(*n.inner, next);
          } else if constexpr (std::is_same_v<T, paren_expr> || std::is_same_v<T, unary_expr>) {
            walk(*n.inner, sq);
          } else if constexpr (std::is_same_v<T, binary_expr>) {
            walk(*n.lhs, sq);
            walk(*n.rhs, sq);
          } else if constexpr (std::is_same_v<T, call_expr>) {
            for (auto& a : n.args) walk(*a, sq);
          } else if constexpr (std::is_same_v<T, aggregate_expr>) {
            if (n.param) walk(*n.param, sq);
            walk(*n.inner, sq);
          }
        },
        x.node);
  }
};

}  // namespace

std::vector<selector_window> find_selector_windows(const expr& e, int64_t start, int64_t end,
                                                   int64_t lookback) {
  walker w{start, end, lookback, {}};
  w.walk(e, {});
  return std::move(w.out);
}

std::pair<int64_t, int64_t> min_max_time(const std::vector<selector_window>& windows) {
  if (windows.empty()) return {0, 0};
  int64_t lo = std::numeric_limits<int64_t>::max();
  int64_t hi = std::numeric_limits<int64_t>::min();
  for (auto& w : windows) {
    lo = std::min(lo, w.mint);
    hi = std::max(hi, w.maxt);
  }
  return {lo, hi};
}

}  // namespace nl::promql

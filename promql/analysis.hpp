#pragma once
// What a query reads: every vector selector with the time window it needs,
// so the caller can fetch exactly that data before evaluating. A query is
// analysed once: the windows' positions are their identity, by which the
// engine asks a queryable for their data (queryable.hpp), so whoever
// fetched window #i answers with exactly that fetch. Follows
// Prometheus 2.42's FindMinMaxTime / getTimeRangesForSelector: offsets, @,
// range selectors, nested subqueries and the lookback delta all widen or
// move the window.
#include <cstdint>
#include <vector>

#include "promql/ast.hpp"

namespace nl::promql {

struct selector_window {
  const vector_selector* selector = nullptr;  ///< points into the analysed tree
  int64_t mint = 0;                           ///< ms, inclusive
  int64_t maxt = 0;                           ///< ms, inclusive
};

/// Windows of all vector selectors in `e` (matrix selectors included, via
/// their inner vector selector) for an evaluation over [start, end]
/// (ms; equal for an instant query), one per selector node, in the order
/// of a depth-first walk. `lookback` is the lookback delta in ms. The
/// windows point into `e`, which must outlive them.
std::vector<selector_window> find_selector_windows(const expr& e, int64_t start, int64_t end,
                                                   int64_t lookback);

/// The union of all windows; {0, 0} when the expression selects nothing.
std::pair<int64_t, int64_t> min_max_time(const std::vector<selector_window>& windows);

}  // namespace nl::promql

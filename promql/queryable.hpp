#pragma once
// The data seam between the PromQL engine and storage: the engine asks for
// the series matching a selector within a time window and gets their raw
// samples, staleness markers included.
#include <cstdint>
#include <vector>

#include "storage/labels.hpp"
#include "storage/matcher.hpp"
#include "storage/sample.hpp"

namespace nl::promql {

struct series {
  storage::label_set labels;
  std::vector<storage::sample> samples;  ///< sorted by t, unique t
};

/// Source of series for one query. Implementations need not be thread-safe;
/// the engine calls select() from the evaluating thread only.
class queryable {
 public:
  virtual ~queryable();
  /// Every series matching all of `ms` that has samples in [mint, maxt]
  /// (ms, inclusive), with exactly those samples, sorted by label set.
  /// Samples may be staleness markers (storage::is_stale_nan).
  virtual std::vector<series> select(const storage::matcher_list& ms, int64_t mint,
                                     int64_t maxt) = 0;
};

}  // namespace nl::promql

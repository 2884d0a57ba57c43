#pragma once
// The data seam between the PromQL engine and storage: the engine asks for
// the series of each selector window of its query's analysis
// (analysis.hpp) and gets their raw samples, staleness markers included.
#include <cstdint>
#include <memory>
#include <vector>

#include "promql/analysis.hpp"
#include "storage/labels.hpp"
#include "storage/matcher.hpp"
#include "storage/sample.hpp"
#include "storage/chunk/chunk.hpp"

namespace nl::promql {

/// One series of a select() answer. Its samples come either decoded or as
/// the encoded chunks holding them; the engine decodes chunks only when it
/// reaches the series, so a query over many series holds the samples of one
/// series at a time instead of all of them.
struct series {
  storage::label_set labels;
  std::vector<storage::sample> samples;  ///< sorted by t, unique t
  /// When not empty: the samples are those of these chunks (time order)
  /// that lie in the selected window, and `samples` is unused.
  std::vector<std::shared_ptr<const storage::chunk>> chunks;
};

/// Source of series for one query. Implementations need not be thread-safe;
/// the engine calls select() from the evaluating thread only.
class queryable {
 public:
  virtual ~queryable();
  /// Every series matching all of w.selector->matchers that has samples
  /// in [w.mint, w.maxt] (ms, inclusive), with exactly those samples,
  /// sorted by label set. `index` is w's position in the analysis the
  /// engine evaluates with; the engine asks for each window once, in
  /// order, so an implementation that fetched ahead answers by index.
  /// Samples may be staleness markers (storage::is_stale_nan). A series
  /// given as chunks may turn out to hold no sample in the window.
  virtual std::vector<series> select(size_t index, const selector_window& w) = 0;
};

}  // namespace nl::promql

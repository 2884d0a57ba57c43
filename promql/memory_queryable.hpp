#pragma once
// An in-memory queryable: a list of series scanned naively. Used by the
// .test runner, unit tests and anything that already holds the data.
#include <vector>

#include "promql/queryable.hpp"

namespace nl::promql {

class memory_queryable : public queryable {
 public:
  memory_queryable() = default;
  explicit memory_queryable(std::vector<series> data);

  /// Adds samples to the series with these labels (creating it); keeps
  /// samples sorted and replaces a sample with the same timestamp.
  void add(const storage::label_set& labels, const std::vector<storage::sample>& samples);
  void clear() { data_.clear(); }
  size_t size() const { return data_.size(); }

  std::vector<series> select(size_t index, const selector_window& w) override;
  /// The same for any matchers and window.
  std::vector<series> select(const storage::matcher_list& ms, int64_t mint, int64_t maxt) const;

 private:
  std::vector<series> data_;  // sorted by labels
};

}  // namespace nl::promql

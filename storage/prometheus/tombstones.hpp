#pragma once
// The `tombstones` file of a Prometheus 2.x block: time ranges deleted
// from series (the admin API's delete_series) but still present in the
// chunks. Prometheus writes the file for every block, usually with no
// entries. Layout: Prometheus' tsdb/docs/format/tombstones.md; summary in
// storage/FORMAT.md, "Appendix: Prometheus blocks read by the importer".
//
// Thread-safety: immutable after read(); any thread may call anything.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/status.hpp"

namespace nl::storage {

/// A deleted range, ms, both ends inclusive (as Prometheus stores it).
struct prometheus_interval {
  int64_t min_time = 0;
  int64_t max_time = 0;
  bool contains(int64_t t) const { return t >= min_time && t <= max_time; }
  bool overlaps(int64_t mint, int64_t maxt) const { return min_time <= maxt && max_time >= mint; }
};

class prometheus_tombstones {
 public:
  /// Reads `path`; a missing file means no tombstones. corruption naming
  /// the file on a bad magic, checksum or entry; invalid_argument on an
  /// unknown version.
  static result<prometheus_tombstones> read(const std::string& path);

  /// The deleted ranges of series `id` (entry offset / 16 in index v2), or
  /// nullptr.
  const std::vector<prometheus_interval>* find(uint64_t id) const;
  /// Number of (series, range) entries.
  size_t size() const { return entries_; }
  bool empty() const { return entries_ == 0; }

 private:
  std::unordered_map<uint64_t, std::vector<prometheus_interval>> by_series_;
  size_t entries_ = 0;
};

}  // namespace nl::storage

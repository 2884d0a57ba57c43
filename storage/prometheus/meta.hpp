#pragma once
// The `meta.json` of a Prometheus 2.x block: only what the importer uses.
// Prometheus' file carries no checksum; the members read are checked for
// presence and type.
#include <cstdint>
#include <string>

#include "storage/status.hpp"

namespace nl::storage {

struct prometheus_block_meta {
  std::string ulid;
  /// Samples have min_time <= t < max_time (ms; max_time exclusive).
  int64_t min_time = 0;
  int64_t max_time = 0;
  /// From `stats`, for log lines only (0 when absent).
  uint64_t num_series = 0;
  uint64_t num_samples = 0;
  uint64_t num_tombstones = 0;
};

/// Reads `<dir>/meta.json`: `version` must be 1 (invalid_argument
/// otherwise), `ulid` a string, `minTime` < `maxTime` integers; corruption
/// naming the file when it is missing, not JSON or lacks those.
result<prometheus_block_meta> read_prometheus_block_meta(const std::string& dir);

}  // namespace nl::storage

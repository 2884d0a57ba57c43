#pragma once
// Cardinality statistics of the head for /api/v1/status/tsdb, with the
// definitions of Prometheus 2.42 (tsdb/index/postings.go MemPostings.Stats,
// tsdb/head.go Head.Stats, web/api/v1/api.go serveTSDBStatus):
//
//   numSeries                    series in the head
//   numLabelPairs                distinct name=value pairs
//   chunkCount                   chunks in memory, open ones included
//                                (the prometheus_tsdb_head_chunks gauge)
//   minTime, maxTime             oldest / newest sample (ms); MaxInt64 /
//                                MinInt64 for an empty head, as Prometheus
//   seriesCountByMetricName      series per value of __name__
//   labelValueCountByLabelName   distinct values per label name
//   memoryInBytesByLabelName     sum of len(value) over the DISTINCT values
//                                of a name (each string once, not once per
//                                series)
//   seriesCountByLabelValuePair  series per "name=value"
//
// Each list keeps the `limit` largest values (Prometheus: 10, 3.x takes a
// `limit` parameter), largest first. Prometheus orders ties at random (a Go
// map walk and an unstable sort); here ties go by name, ascending.
//
// Sharding: a shard holds whole series, so per-pair series counts and
// numSeries add up over shards, but a value may occur in several shards,
// so the distinct values of a name (labelValueCount, memoryInBytes,
// numLabelPairs) are a set union. Every shard therefore reports its whole
// label index: per name the sorted values with their series counts
// (head_cardinality), and merge_head_cardinality() merges the sorted lists
// without building the union in memory. The price is a copy of every
// distinct label string per request (the shard's index keys); Prometheus
// walks its one index in place. A status page may afford it: Prometheus
// itself calls these statistics expensive and caches them for 30 s.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace nl::storage {

/// One label name's values in one head: distinct values, sorted, and the
/// number of series carrying name=values[i] in series[i] (each > 0).
struct label_value_counts {
  std::string name;
  std::vector<std::string> values;
  std::vector<uint64_t> series;
};

/// What one head (shard) reports for the TSDB status.
struct head_cardinality {
  uint64_t num_series = 0;
  uint64_t num_chunks = 0;  ///< in memory, open ones included
  int64_t min_time = std::numeric_limits<int64_t>::max();  ///< INT64_MAX when empty
  int64_t max_time = std::numeric_limits<int64_t>::min();  ///< INT64_MIN when empty
  std::vector<label_value_counts> labels;  ///< sorted by name, names distinct
};

/// One entry of a top list: {"name":...,"value":...}.
struct cardinality_stat {
  std::string name;
  uint64_t value = 0;
};

inline bool operator==(const cardinality_stat& a, const cardinality_stat& b) {
  return a.name == b.name && a.value == b.value;
}

/// The data of /api/v1/status/tsdb (see the table at the top).
struct tsdb_status {
  uint64_t num_series = 0;
  uint64_t num_label_pairs = 0;
  uint64_t chunk_count = 0;
  int64_t min_time = std::numeric_limits<int64_t>::max();
  int64_t max_time = std::numeric_limits<int64_t>::min();
  std::vector<cardinality_stat> series_count_by_metric_name;
  std::vector<cardinality_stat> label_value_count_by_label_name;
  std::vector<cardinality_stat> memory_in_bytes_by_label_name;
  std::vector<cardinality_stat> series_count_by_label_value_pair;
};

/// Prometheus' default list length, and the largest `limit` it accepts.
constexpr size_t tsdb_status_default_limit = 10;
constexpr size_t tsdb_status_max_limit = 10000;

/// Merges the reports of the shards of one head (disjoint series; a label
/// value may be in several) into the status with top-`limit` lists (0 is
/// read as 1). `metric_label` names the label whose values are metric
/// names. Time O(P log S) for P (shard, pair) entries over S shards, memory
/// O(limit) besides the inputs.
tsdb_status merge_head_cardinality(const std::vector<head_cardinality>& parts, size_t limit,
                                   std::string_view metric_label = "__name__");

}  // namespace nl::storage

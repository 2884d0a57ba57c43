#pragma once
// Cluster reads: one select answered by several nodes, each holding a
// replica of some series, merged into one answer in which every series
// appears once and every timestamp once.
//
// Replicas of one series usually hold the same chunks byte for byte (the
// nodes received the same batches in the same order and cut chunks at the
// same samples); those are kept as they are, without decoding. Where the
// replicas differ (a node missed samples while it was down, or has not
// received the newest batch yet), the differing chunks are decoded, merged
// sample by sample and encoded again into XOR chunks.
//
// Two replicas with a sample at the same timestamp but different values
// (only possible when a client sent two values for one timestamp, and
// the nodes stored different ones) resolve by pick_replica_value: a
// number beats a NaN (the staleness marker included), the bigger number
// wins (VictoriaMetrics' deduplication rule), and among equal numbers or
// two NaNs the larger bit pattern. The rule is symmetric and associative,
// so the answer is the same whichever node is asked and in whatever order
// the replicas arrive.
#include <vector>

#include "storage/head/series_snapshot.hpp"
#include "storage/status.hpp"

namespace nl::storage {

/// The samples per chunk of a merged, re-encoded run (Prometheus' 120).
constexpr size_t replica_merge_chunk_samples = 120;

/// The value kept when two replicas hold different values at one
/// timestamp (see the top of this file).
double pick_replica_value(double a, double b);

/// Merges the answers of several nodes to one select: each part sorted by
/// labels (series_snapshot::ref is not kept). A series found in one part
/// is moved as it is; one found in several parts keeps its chunks shared
/// by every replica and gets the rest merged sample by sample.
/// corruption when a chunk cannot be decoded.
result<std::vector<series_snapshot>> merge_replicas(std::vector<std::vector<series_snapshot>> parts);

}  // namespace nl::storage

#pragma once
// What the compactor should do next with the blocks it has: which blocks
// to merge and which retention deletes. Pure functions over block metas,
// so the policy is tested without files.
#include <cstdint>
#include <string>
#include <vector>

#include "storage/block/meta.hpp"

namespace nl::storage {

/// Block lengths of the compaction levels: block_duration × 3^k for k >= 1
/// while at most `max_range` (Prometheus' exponential ranges).
std::vector<int64_t> compaction_ranges(int64_t block_duration, int64_t max_range);

/// The longest block merges make under `retention_ms`: a tenth of it, at
/// most 31 days (Prometheus' rule), so retention deletes history in steps
/// of at most a tenth.
int64_t max_compaction_range(int64_t retention_ms);

/// The ULIDs of the blocks to merge next, or nothing. `metas` in any
/// order. First, blocks that overlap in time (merged vertically); then,
/// leaving out the newest block (largest min_time), for the smallest range
/// r with such a group, two or more blocks that lie inside one aligned
/// interval [k·r, (k+1)·r) and either span all of it or end at or before
/// the min_time of the newest block still considered (Prometheus 2.42's
/// leveled planner).
std::vector<std::string> plan_merge(const std::vector<block_meta>& metas, const std::vector<int64_t>& ranges);

/// The ULIDs of the blocks retention deletes, oldest first: blocks whose
/// max_time is `retention_ms` or more behind the newest block's max_time
/// (when retention_ms > 0), then, while the blocks left plus `other_bytes`
/// (the WAL) exceed `retention_bytes` (when > 0), the oldest left. `sizes`
/// gives each meta's bytes on disk. The newest block is never deleted by
/// size alone.
std::vector<std::string> plan_retention(const std::vector<block_meta>& metas, const std::vector<uint64_t>& sizes,
                                        int64_t retention_ms, uint64_t retention_bytes, uint64_t other_bytes);

}  // namespace nl::storage

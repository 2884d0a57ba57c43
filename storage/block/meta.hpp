#pragma once
// A block's meta.json: what the block covers and how it was made. Byte
// layout: storage/FORMAT.md, "Blocks", "meta.json".
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/status.hpp"

namespace nl::storage {

struct block_meta {
  std::string ulid;
  /// Samples have min_time <= t < max_time (max_time exclusive, as in
  /// Prometheus' meta.json).
  int64_t min_time = 0;
  int64_t max_time = 0;
  uint64_t num_series = 0;
  uint64_t num_chunks = 0;
  uint64_t num_samples = 0;
  /// 1 for a block cut from the head; a merge is one more than its highest
  /// parent.
  uint32_t level = 1;
  /// ULIDs of the level-1 blocks whose data this block holds, sorted.
  std::vector<std::string> sources;
  /// ULIDs of the blocks merged into this one (empty for a head cut).
  std::vector<std::string> parents;
  /// Sizes of the `index` and `chunks` files: a truncated file is found
  /// before it is read.
  uint64_t index_bytes = 0;
  uint64_t chunks_bytes = 0;

  bool overlaps(int64_t mint, int64_t maxt_inclusive) const {
    return min_time <= maxt_inclusive && max_time > mint;
  }
};

/// The meta.json text, with its checksum.
std::string encode_block_meta(const block_meta& m);
/// Parses and verifies meta.json; corruption naming the problem.
result<block_meta> decode_block_meta(std::string_view json);

}  // namespace nl::storage

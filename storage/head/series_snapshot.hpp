#pragma once
// The data of one series as a read hands it out, from the head or a block.
#include <cstdint>
#include <memory>
#include <vector>

#include "storage/labels.hpp"
#include "storage/chunk/xor_chunk.hpp"

namespace nl::storage {

/// Copied labels and shared immutable chunks in time order. Safe to read on
/// any thread while the head keeps appending or a block is removed.
struct series_snapshot {
  uint64_t ref = 0;  ///< head: the series ref; block: the series' number
  label_set labels;
  std::vector<std::shared_ptr<const xor_chunk>> chunks;
};

/// Merges answers of one select from several sources (head shards,
/// blocks): each part sorted by labels; series with equal labels become one
/// with their chunks in time order (a chunk that starts at or before the
/// previous one's end still decodes right: decode_chunks drops samples not
/// after the previous chunk's last).
std::vector<series_snapshot> merge_series(std::vector<std::vector<series_snapshot>> parts);

}  // namespace nl::storage

#pragma once
// Start-up of the storage: lock the data directory, open the blocks (moving
// damaged ones aside), replay the WAL checkpoint and segments into the head
// shards above the newest block, repair a torn tail, open a fresh WAL
// segment. Runs on the
// main thread before any storage actor exists, so it uses the storage
// objects directly; the actors take them over afterwards.
#include <memory>
#include <string>
#include <vector>

#include "actors/config.hpp"
#include "storage/block/block_set.hpp"
#include "storage/head.hpp"
#include "storage/status.hpp"
#include "storage/wal_segment_writer.hpp"

namespace nl::actors {

/// Which shard owns a series: the same rule for replay and for writes.
inline size_t shard_of(uint64_t label_hash, size_t num_shards) {
  return static_cast<size_t>(label_hash % num_shards);
}

struct opened_storage {
  std::vector<std::shared_ptr<storage::head>> heads;  ///< one per shard
  std::shared_ptr<storage::wal_segment_writer> wal;   ///< a new segment
  std::shared_ptr<storage::block_set> blocks;         ///< opened, damaged ones moved aside
  uint64_t corrupted_blocks = 0;
  int lock_fd = -1;  ///< flock()ed data_dir/LOCK, held until exit
  uint64_t records_replayed = 0;
  uint64_t samples_replayed = 0;
};

/// Opens `cfg.storage.data_dir` with `num_shards` head shards.
/// - Another process holding the directory: io_error.
/// - Torn WAL tail: truncated, logged with the bytes dropped.
/// - Corruption before the tail: corruption naming segment and offset and
///   suggesting --wal-repair, unless `repair` is true; then the WAL is cut
///   at the corruption (later records are lost) and start-up continues.
/// - WAL checkpoints (storage/wal_checkpoint.hpp): leftovers of an
///   interrupted checkpoint are removed, then the newest checkpoint is
///   replayed before the segments after it. A damaged checkpoint is
///   corruption even with `repair`.
storage::result<opened_storage> open_storage(const settings& cfg, size_t num_shards, bool repair);

}  // namespace nl::actors

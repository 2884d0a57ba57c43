#pragma once
// Start-up of the storage: lock the data directory, replay the WAL into the
// head shards, repair a torn tail, open a fresh WAL segment. Runs on the
// main thread before any storage actor exists, so it uses the storage
// objects directly; the actors take them over afterwards.
#include <memory>
#include <string>
#include <vector>

#include "actors/config.hpp"
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
storage::result<opened_storage> open_storage(const settings& cfg, size_t num_shards, bool repair);

}  // namespace nl::actors

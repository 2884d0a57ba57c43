#pragma once
// Start-up of the storage, from the settings: create and lock the data
// directory (storage/data_dir_lock.hpp), open the blocks (moving damaged
// ones aside), create the head shards above the newest block, replay the
// WAL into them (storage/wal/replay.hpp) and open a fresh WAL segment.
// What is done here is only what needs the settings or the logger; the
// storage work itself lives in storage/. Runs on the main thread before any
// storage actor exists; the actors take the objects over afterwards.
#include <cstdint>
#include <memory>
#include <vector>

#include "actors/config.hpp"
#include "storage/block/block_set.hpp"
#include "storage/data_dir_lock.hpp"
#include "storage/head/head.hpp"
#include "storage/metadata/metadata_store.hpp"
#include "storage/status.hpp"
#include "storage/wal/replay.hpp"
#include "storage/wal/segment_writer.hpp"

namespace nl::actors {

struct opened_storage {
  std::vector<std::shared_ptr<storage::head>> heads;  ///< one per shard
  std::shared_ptr<storage::wal_segment_writer> wal;   ///< a new segment
  std::shared_ptr<storage::block_set> blocks;         ///< opened, damaged ones moved aside
  std::shared_ptr<storage::metadata_store> metadata;  ///< replayed metric metadata
  uint64_t corrupted_blocks = 0;
  storage::data_dir_lock lock;  ///< data_dir/LOCK, held until released or destroyed
  uint64_t records_replayed = 0;
  uint64_t samples_replayed = 0;
};

/// Opens `cfg.storage.data_dir` with `num_shards` head shards.
/// - Another process holding the directory: io_error.
/// - The WAL's damage (torn tail, corruption, checkpoints, `repair`) is
///   handled as storage/wal/replay.hpp describes; its progress and warnings
///   are logged.
/// `progress`, if not null, follows the replay and is finished with the
/// segment the new writer opens (storage::wal_replay_progress).
storage::result<opened_storage> open_storage(const settings& cfg, size_t num_shards, bool repair,
                                             storage::wal_replay_progress* progress = nullptr);

/// At a clean stop, once no actor runs and the WAL writer is closed:
/// writes data_dir/head.snapshot for the next open_storage(), logging the
/// time taken, or why it was not written (a head still holding samples
/// below the newest block's end, which a replay would drop: a cut was
/// interrupted). Failures are logged; the next start then replays the WAL.
void write_head_snapshot(const settings& cfg, const std::vector<std::shared_ptr<storage::head>>& heads,
                         const storage::metadata_store& metadata, const storage::block_set& blocks);

}  // namespace nl::actors

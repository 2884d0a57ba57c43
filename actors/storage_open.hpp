#pragma once
// Start-up of the storage: lock the data directory, open the blocks (moving
// damaged ones aside), replay the WAL checkpoint and segments into the head
// shards above the newest block, repair a torn tail, open a fresh WAL
// segment. Runs on the
// main thread before any storage actor exists, so it uses the storage
// objects directly; the actors take them over afterwards.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actors/config.hpp"
#include "storage/block/block_set.hpp"
#include "storage/head/head.hpp"
#include "storage/status.hpp"
#include "storage/wal/segment_writer.hpp"

namespace nl::actors {

/// Which shard owns a series: the same rule for replay and for writes.
inline size_t shard_of(uint64_t label_hash, size_t num_shards) {
  return static_cast<size_t>(label_hash % num_shards);
}

/// Progress of the WAL replay for /api/v1/status/walreplay, with the
/// fields of Prometheus 2.42 (tsdb.WALReplayStatus; set by
/// startWALReplayStatus / updateWALReplayStatusRead in tsdb/head.go):
///   min      the checkpoint replayed first (checkpoint.N: N), else the
///            first segment replayed
///   max      the newest segment: Prometheus creates the segment it will
///            write before replaying, so it counts; here it is the one
///            the writer opens after the replay (one past every existing
///            segment and checkpoint), reached at the end
///   current  the last segment (or checkpoint) read completely; equals
///            max once the replay is done
/// All 0 until the replay starts, as in Prometheus. Segment numbers are
/// Nightlight's, which start at 1 (Prometheus' at 0): a fresh data
/// directory answers 1/1/1 where Prometheus answers 0/0/0.
///
/// Written by open_storage() on the main thread, read by the HTTP threads
/// at any time (the endpoint answers while the server is not ready).
class wal_replay_progress {
 public:
  struct snapshot {
    int64_t min = 0;
    int64_t max = 0;
    int64_t current = 0;
  };
  /// The replay covers [min, max]; current = min.
  void start(int64_t min, int64_t max) {
    std::lock_guard<std::mutex> g{mtx_};
    s_ = {min, max, min};
  }
  /// Everything up to `current` has been read.
  void read(int64_t current) {
    std::lock_guard<std::mutex> g{mtx_};
    s_.current = current;
  }
  /// The replay is over and the writer opened segment `last`.
  void finish(int64_t last) {
    std::lock_guard<std::mutex> g{mtx_};
    s_.max = s_.current = last;
    if (s_.min == 0)  // no WAL was there to replay
      s_.min = last;
  }
  snapshot get() const {
    std::lock_guard<std::mutex> g{mtx_};
    return s_;
  }

 private:
  mutable std::mutex mtx_;
  snapshot s_;
};

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
/// - WAL checkpoints (storage/wal/checkpoint.hpp): leftovers of an
///   interrupted checkpoint are removed, then the newest checkpoint is
///   replayed before the segments after it. A damaged checkpoint is
///   corruption even with `repair`.
/// `progress`, if not null, follows the replay (see wal_replay_progress).
storage::result<opened_storage> open_storage(const settings& cfg, size_t num_shards, bool repair,
                                             wal_replay_progress* progress = nullptr);

}  // namespace nl::actors

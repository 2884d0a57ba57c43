#pragma once
// WAL replay at start-up: rebuilds the head shards from the WAL directory.
// In order: leftovers of an interrupted checkpoint are removed
// (remove_obsolete_wal_files), the newest checkpoint is replayed, then the
// segments after it. Series go to the shard of their label hash
// (storage/head/shard.hpp); samples and deletions follow their series' ref;
// metric metadata goes to the metadata store, in WAL order.
// Samples the head refuses (out of order, out of bounds, duplicates) are
// skipped silently, as Prometheus does on replay; samples of a ref no series
// record declared are skipped and counted in one warning.
//
// Damage, by where it is:
// - Torn tail (the last record of the last segment cut short by a crash):
//   the segment is truncated at the last whole record; a warning says how
//   many bytes were dropped.
// - Corruption before the tail: corruption naming segment and offset and
//   suggesting --wal-repair; with `repair` the WAL is cut there instead
//   (wal_repair: later records are lost) and the replay succeeds.
// - A segment missing right after the checkpoint: corruption; with `repair`
//   every segment after the checkpoint is deleted.
// - A damaged checkpoint: corruption even with `repair` (the segments it
//   replaced are gone).
//
// The replay decodes on the calling thread and applies on one thread per
// shard (started and joined inside replay_wal), so the heads must not be
// used by anyone else until it returns. storage/ has no logger: progress
// and warnings go to the callbacks in wal_replay_options, called on the
// calling thread.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/head/head.hpp"
#include "storage/metadata/metadata_store.hpp"
#include "storage/status.hpp"

namespace nl::storage {

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
/// Thread-safety: written by the replaying thread (start, read) and by
/// whoever opens the WAL writer afterwards (finish); get() may be called
/// from any thread at any time.
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

struct wal_replay_options {
  /// Cut the WAL at corruption instead of failing (--wal-repair).
  bool repair = false;
  /// 0: the heads are empty; the newest checkpoint is replayed, then the
  /// segments after it. Otherwise a head snapshot filled the heads with
  /// everything before this segment (head_snapshot_loaded::replay_from):
  /// only this segment and the ones after it are replayed, onto them.
  uint64_t from_segment = 0;
  /// Receives the metadata records (metadata_store::apply). Null: they are
  /// decoded (damage is corruption all the same) and dropped.
  metadata_store* metadata = nullptr;
  /// If not null, follows the replay (start and read; finish is the
  /// caller's, once it knows the segment it writes next).
  wal_replay_progress* progress = nullptr;
  /// One line per checkpoint and segment started, and a summary at the
  /// end ("wal: ..."). May be empty.
  std::function<void(const std::string&)> info;
  /// Data dropped: torn tail truncated, WAL cut by repair, samples of
  /// unknown series skipped ("wal: ..."). May be empty.
  std::function<void(const std::string&)> warn;
};

struct wal_replay_stats {
  uint64_t records = 0;   ///< records decoded (checkpoint and segments)
  uint64_t samples = 0;   ///< samples the heads took
  uint64_t metadata = 0;  ///< metadata entries read
};

/// progress.start() with the range replay_wal() would report for
/// `wal_dir`: from `from_segment`, else the newest checkpoint, else the
/// first segment, to one past the newest segment. For a start-up that
/// reads a head snapshot and nothing after it
/// (storage/head/head_snapshot.hpp), followed by read(max - 1).
status start_wal_progress(const std::string& wal_dir, wal_replay_progress& progress, uint64_t from_segment = 0);

/// Replays `wal_dir`, which must exist, into `heads` (one per shard, in
/// shard order; series refs as the WAL has them, so the heads' ref_start /
/// ref_stride must be the ones that wrote it). The heads are empty, or
/// with opts.from_segment hold what a head snapshot had. Afterwards every head's
/// next ref is above the largest ref replayed. Errors as in the file
/// comment; on error the heads hold part of the WAL and should be dropped.
result<wal_replay_stats> replay_wal(const std::string& wal_dir, const std::vector<std::shared_ptr<head>>& heads,
                                    const wal_replay_options& opts);

}  // namespace nl::storage

#pragma once
// Reads a WAL directory the way the server's start-up replay does
// (storage/FORMAT.md, "WAL checkpoints", "Replay order"): the newest
// checkpoint, then the segments after it. Unlike start-up it changes
// nothing: obsolete files are reported instead of removed, a torn tail is
// reported instead of cut, and damage stops the reading with a message.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/head/head.hpp"
#include "storage/wal/records.hpp"

namespace nl::storage::tool {

struct wal_summary {
  /// The newest checkpoint's number, if there is one.
  std::optional<uint64_t> checkpoint;
  /// The first and last segment after the checkpoint (0 when none).
  uint64_t first_segment = 0;
  uint64_t last_segment = 0;
  uint64_t records = 0;
  /// Series entries (refs declared) and samples, as read.
  uint64_t series = 0;
  uint64_t samples = 0;
  /// Metric metadata entries (type, help, unit of a family) read.
  uint64_t metadata = 0;
  /// Samples whose ref no series record declared (replay skips them).
  uint64_t unknown_ref_samples = 0;
  /// Oldest and newest sample read; INT64_MAX / INT64_MIN when none.
  int64_t min_time = INT64_MAX;
  int64_t max_time = INT64_MIN;
  /// Files start-up would delete (older checkpoints, segments a checkpoint
  /// replaced, unfinished checkpoints): not read.
  std::vector<std::string> notes;
  /// A torn tail: what a crash during a write leaves; start-up cuts it
  /// automatically and no acknowledged record is lost.
  std::vector<std::string> warnings;
  /// Damage that would stop start-up; the reading stopped there.
  std::vector<std::string> damage;
};

/// Called for every record in replay order; the vectors are valid during
/// the call.
struct wal_visitor {
  std::function<void(const std::vector<series_record>&)> on_series;
  std::function<void(const std::vector<sample_record>&)> on_samples;
};

/// Reads the checkpoint and segments of `wal_dir` (which must exist).
wal_summary scan_wal(const std::string& wal_dir, const wal_visitor& visit);

/// The head as start-up would rebuild it from the WAL: series of every
/// series record (under their refs), samples appended with the head's
/// rules (per-series order, duplicates), none before `floor` (the newest
/// block's end: the blocks hold that range; INT64_MIN: no blocks). The
/// server's out-of-bounds window is not applied (it is configuration).
struct replayed_head {
  std::unique_ptr<head> data;
  wal_summary summary;
  /// Samples the head refused: out of order or a different value for a
  /// timestamp it had (those at or after `floor` only).
  uint64_t rejected = 0;
  /// Series records whose ref another series record had used.
  uint64_t bad_series = 0;
};

replayed_head replay_wal(const std::string& wal_dir, int64_t floor);

}  // namespace nl::storage::tool

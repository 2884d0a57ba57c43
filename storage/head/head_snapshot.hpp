#pragma once
// The head snapshot: what a clean shutdown leaves so that the next start
// need not replay the WAL (Prometheus' memory-snapshot-on-shutdown).
//
// At a clean stop, once nothing writes any more and the WAL writer is
// closed, every head shard's state (series with their encoded chunks,
// aliases, out-of-order samples) and the metric metadata are written to
// `data_dir/head.snapshot` (temp file, fsync, rename, fsync of the
// directory), with a fingerprint of the WAL directory (every file's name
// and size) and the newest block's end. At start-up the snapshot stands
// for the replay of the WAL it was taken of only if the newest block's end
// is the same and every WAL file it lists is still there with its size;
// otherwise, or when a checksum fails, it is ignored and the whole WAL is
// replayed.
//
// The WAL stays the source of truth, and the snapshot stays after the
// start that read it, as Prometheus' chunk snapshot does: a WAL that is the
// snapshot's plus newer segments (the ones every start since wrote) is
// that snapshot plus the records in them, so a start after a crash loads
// it and replays only those segments. A head truncation (a cut) makes the
// heads differ from it in what no WAL record says: the compactor deletes
// the snapshot before every truncation (remove_head_snapshot). A crash at any
// point costs at most a full replay. Layout: storage/FORMAT.md, "Head
// snapshot".
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/head/head.hpp"
#include "storage/metadata/metadata_store.hpp"
#include "storage/status.hpp"

namespace nl::storage {

/// "head.snapshot", in the data directory.
constexpr const char* head_snapshot_file = "head.snapshot";

/// The names and sizes of every file under `wal_dir` (segments, and the
/// files of checkpoint directories), as text; empty for a missing
/// directory.
result<std::string> wal_fingerprint(const std::string& wal_dir);

/// Whether the WAL listed by `current` (wal_fingerprint) is the one listed
/// by `taken` plus newer segments: every file of `taken` still there with
/// its size, and every other file a segment numbered after every segment
/// and checkpoint of `taken`, in a row from the next number on. Returns
/// the first of those segments, 0 when there is none (the WAL is exactly
/// `taken`); invalid_argument naming the first difference otherwise.
result<uint64_t> wal_segments_after(std::string_view taken, std::string_view current);

/// Deletes `data_dir`'s head snapshot, if any, durably (the directory is
/// synced): before the heads change in a way the WAL does not record.
status remove_head_snapshot(const std::string& data_dir);

/// Writes the snapshot of `heads` (in shard order) and `metadata` to
/// `path` crash-safely. invalid_argument (nothing written) when a head
/// has a staged sample.
status write_head_snapshot(const std::string& path, const std::vector<std::shared_ptr<head>>& heads,
                           const metadata_store& metadata, const std::string& wal_fingerprint, int64_t blocks_end);

struct head_snapshot_loaded {
  uint64_t series = 0;
  uint64_t samples = 0;
  uint64_t bytes = 0;
  /// The newest block's end when the snapshot was taken (INT64_MIN: no
  /// block). The caller checks it against its blocks: on a difference the
  /// heads are to be replaced and the WAL replayed.
  int64_t blocks_end = INT64_MIN;
  /// The first WAL segment written after the snapshot was taken: the
  /// caller replays it and the ones after it onto the loaded heads
  /// (wal_replay_options::from_segment). 0: the WAL is as the snapshot
  /// left it.
  uint64_t replay_from = 0;
};

/// Fills the empty `heads` and `metadata` from the snapshot at `path` when
/// it matches (same shard count and storage settings, and the WAL of
/// `wal_fingerprint` is the snapshot's plus newer segments, see
/// wal_segments_after;
/// the newest block's end is the caller's to check, so that blocks can
/// open while this loads); loads one shard per thread. not_found when
/// there is no snapshot, invalid_argument when it does not match,
/// corruption when it is damaged: in every error case the heads and the
/// store may hold part of it and are to be replaced.
result<head_snapshot_loaded> read_head_snapshot(const std::string& path,
                                                const std::vector<std::shared_ptr<head>>& heads,
                                                metadata_store& metadata, const std::string& wal_fingerprint);

}  // namespace nl::storage

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
// for the replay only if both still match exactly, i.e. the WAL is
// byte for byte the one the snapshot was taken of; otherwise, or when a
// checksum fails, it is ignored and the WAL is replayed as before.
//
// The WAL stays the source of truth: a snapshot replaces nothing, and the
// server renames it away once read and deletes it (any write after the start makes it stale
// anyway), so a crash at any point costs at most a full replay. Layout:
// storage/FORMAT.md, "Head snapshot".
#include <cstdint>
#include <memory>
#include <string>
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
};

/// Fills the empty `heads` and `metadata` from the snapshot at `path` when
/// it matches (same shard count, storage settings and WAL fingerprint;
/// the newest block's end is the caller's to check, so that blocks can
/// open while this loads); loads one shard per thread. not_found when
/// there is no snapshot, invalid_argument when it does not match,
/// corruption when it is damaged: in every error case the heads and the
/// store may hold part of it and are to be replaced.
result<head_snapshot_loaded> read_head_snapshot(const std::string& path,
                                                const std::vector<std::shared_ptr<head>>& heads,
                                                metadata_store& metadata, const std::string& wal_fingerprint);

}  // namespace nl::storage

#pragma once
// WAL checkpoints: once the head has moved its oldest data into a block and
// dropped it from memory, the WAL segments written before that cut are only
// needed for (1) the definitions of the series still in the head and (2)
// their samples at or after the cut. A checkpoint keeps exactly that, in a
// directory `checkpoint.N` of ordinary WAL segments, and replaces segments
// <= N and every older checkpoint (Prometheus' tsdb/wlog/checkpoint.go).
// Directory layout, record order, crash-safety protocol and replay order:
// storage/FORMAT.md, "WAL checkpoints".
//
// Typical use by the owner of the heads (the order matters):
//
//   auto upto = wal->next_segment();            // segments <= *upto closed
//   for (auto& h : heads) h->truncate(b);       // drop samples < b
//   auto live = <series_records() of every head>;
//   write_wal_checkpoint(wal_dir, *upto, live, b);
//
// Taking `live` after next_segment() guarantees that every series a record
// in a segment > upto refers to is either in `live` or declared in a
// segment > upto.
//
// Thread-safety: the functions may run on any thread, one checkpoint at a
// time per WAL directory, while a wal_segment_writer appends to segments
// newer than `upto_segment` (those are listed but never opened).
// remove_obsolete_wal_files() is for start-up, when nothing else runs.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/status.hpp"
#include "storage/wal/records.hpp"
#include "storage/wal/segment_writer.hpp"

namespace nl::storage {

/// "checkpoint.00000042": the directory name of checkpoint 42, which
/// replaces segments <= 42 (8 digits, like segment names).
std::string wal_checkpoint_name(uint64_t n);
/// wal_dir + "/" + wal_checkpoint_name(n).
std::string wal_checkpoint_path(const std::string& wal_dir, uint64_t n);

/// Number of the newest complete checkpoint in `wal_dir` (entries named
/// "checkpoint." plus exactly 8 digits; `checkpoint.N.tmp` directories are
/// unfinished and ignored), nullopt when there is none or `wal_dir` does
/// not exist; io_error when it cannot be listed.
result<std::optional<uint64_t>> latest_wal_checkpoint(const std::string& wal_dir);

/// What write_wal_checkpoint() did.
struct checkpoint_stats {
  uint64_t series = 0;            ///< series written (live_series.size())
  uint64_t metadata = 0;          ///< metadata entries written
  uint64_t samples_kept = 0;      ///< samples written
  uint64_t samples_dropped = 0;   ///< read but older than min_time, not live or deleted
  uint64_t samples_deleted = 0;   ///< of those, deleted by a later tombstones record
  uint64_t segments_removed = 0;  ///< WAL segments deleted afterwards
  uint64_t checkpoints_removed = 0;  ///< older checkpoints deleted afterwards
  uint64_t bytes = 0;             ///< size of the new checkpoint's files
};

/// Writes checkpoint `upto_segment` from the newest checkpoint (if any) and
/// the segments after it up to and including `upto_segment`:
///   1. series records for exactly `live_series` (the series and aliases the
///      heads hold now, e.g. head::series_records()), in that order;
///   1a. metadata records for exactly `metadata_entries`: the metadata
///      store's content (metadata_store::entries(), metadata record entries
///      back to back); metadata records read are not copied;
///   2. every sample read with t >= `min_time` (milliseconds since epoch)
///      whose ref is a ref of `live_series`, in the order read; others are
///      dropped, and so are samples that a tombstones record read after
///      them deletes (tombstones records themselves are not copied; when
///      there are any, the input is read twice).
/// Records are batched to about 1 MiB. The directory is built as
/// `checkpoint.<upto>.tmp`, synced, renamed and the WAL directory synced;
/// only then are segments <= upto_segment, older checkpoints and stale temp
/// directories deleted. Errors:
///   invalid_argument  upto_segment is not newer than the newest checkpoint
///   not_found         segment upto_segment does not exist
///   corruption        damage in the old checkpoint or a segment read (any
///                     damage counts, also what would be a torn tail), a
///                     missing segment, or metadata_entries that do not
///                     decode; nothing was deleted
///   io_error          reading or writing failed; if it happens after the
///                     rename, the checkpoint is complete and the leftovers
///                     are removed by remove_obsolete_wal_files() later
/// On any error before the rename the WAL is unchanged (the temp directory
/// is removed on a best-effort basis). REQUIRES: segment upto_segment is
/// closed (returned by wal_segment_writer::next_segment()).
result<checkpoint_stats> write_wal_checkpoint(const std::string& wal_dir, uint64_t upto_segment,
                                              const std::vector<series_record>& live_series,
                                              int64_t min_time, std::string_view metadata_entries = {});

/// The same with the live series given as series entries (ref, label key)
/// back to back, as a WAL series record holds them after its type byte
/// (append_series_entry), in any number of buffers (e.g. one per head
/// shard, head::series_entries()): the series are written taking one
/// entry from each buffer in turn (each buffer's own order kept), so that
/// a replay's shard threads share the work.
/// A head hands over a million series as their keys' bytes this way, not
/// as a million label_sets. corruption (nothing written) when an entry does
/// not decode.
result<checkpoint_stats> write_wal_checkpoint(const std::string& wal_dir, uint64_t upto_segment,
                                              const std::vector<std::string_view>& live_entries,
                                              int64_t min_time, std::string_view metadata_entries = {});

/// Start-up cleanup, before the replay and before a writer is opened:
/// removes `checkpoint.*.tmp` directories (a checkpoint that was never
/// committed), every checkpoint older than the newest and every segment <=
/// the newest checkpoint's number (left by a crash between a checkpoint's
/// rename and the deletions), then syncs `wal_dir`. Idempotent; a missing
/// `wal_dir` is ok.
status remove_obsolete_wal_files(const std::string& wal_dir);

/// Passes every record of checkpoint `n` of `wal_dir`, in order, to `apply`
/// with the position just after it (segment within the checkpoint, offset);
/// the bytes are valid during the call. A checkpoint was complete and synced
/// before it got its name, so ANY damage (also what would be a torn tail in
/// a segment, or a missing segment 00000001) is corruption whose message
/// names the checkpoint, segment and offset. An error from `apply` stops the
/// reading and is returned unchanged.
status read_wal_checkpoint(const std::string& wal_dir, uint64_t n,
                           const std::function<status(std::string_view record, wal_position end)>& apply);

}  // namespace nl::storage

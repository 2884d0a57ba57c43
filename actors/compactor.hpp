#pragma once
// The compactor: turns the head into persistent blocks and keeps the blocks
// in shape. Spawn it DETACHED: it writes files and blocks in fsync.
//
// Every tick (at least once a minute) it asks the shards for their time
// range. When the head spans more than 1.5 block durations (or holds more
// than max_head_samples and a whole aligned window), it cuts the oldest
// aligned window [a, a + D):
//   1. cut: every shard refuses samples before a + D from now on, lists
//      the window's series sorted by labels, and hands them over in pages
//      (labels and shared chunks, no copy of samples) that the compactor
//      merges k-way into the block writer, so no step holds every
//      series' labels in a message;
//   2. the block is written to <data_dir>/blocks/<ulid>.tmp, synced and
//      renamed (storage/block/writer.hpp), opened and added to the block
//      set that queries read;
//   3. truncate: the shards drop the window from memory (before the first
//      of this run, the head snapshot is deleted: storage/head/head_snapshot.hpp);
//   4. once no window is left to cut, the WAL writer starts a new segment,
//      and the older segments are replaced by one checkpoint of the series
//      still in the head and their samples from the last cut on, and of
//      the metric metadata the metadata actor holds (families not received
//      within the retention time are dropped first)
//      (storage/wal/checkpoint.hpp).
// Ingestion goes on throughout: no step stops a shard for longer than its
// own message. A failure leaves the head as it was (the window is cut
// again on the next tick) and is logged and counted.
//
// Every compaction_interval it also merges blocks (storage/compaction/)
// and applies retention: whole blocks, oldest first, are removed from the
// block set, renamed to <ulid>.deleted and deleted. A merge leaves out
// what the blocks' tombstones delete.
//
// It also carries out the admin API, because it owns block writing: a
// round and an admin operation never overlap (one waits for the other, in
// arrival order), so no block is merged or deleted while a snapshot links
// it or a deletion writes its tombstones, and no head window is being cut
// while the head deletes.
#include <caf/all.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/head_block.hpp"
#include "actors/messages.hpp"
#include "actors/metadata.hpp"
#include "actors/metrics.hpp"
#include "actors/wal_writer.hpp"
#include "storage/block/block_set.hpp"

namespace nl::actors {

/// compact_tick: the actor's own timer: start a round unless one runs.
/// compact_now: the same, answered when the round that covers it is over
///   with the number of blocks it wrote (tests).
/// snapshot(skip_head): <data_dir>/snapshots/<name>/ with a hard-linked
///   copy of every block (one directory per block, as Prometheus) and,
///   unless skip_head, the head's data written as one more block there
///   (the live head is not cut). Answers <name>:
///   <UTC YYYYMMDDTHHMMSSZ>-<16 hex digits>.
/// delete_series: the head shards delete (storage::head::delete_ranges,
///   logged to the WAL), then every block with matching series in the
///   range gets the ranges added to its tombstones file and is opened
///   again; answers the number of blocks that got new tombstones.
/// clean_tombstones: every block with tombstones is rewritten without the
///   deleted samples (a merge of the one block; a block left empty is
///   removed); answers the number of blocks rewritten.
using compactor_actor = caf::typed_actor<caf::reacts_to<compact_tick_atom>,
                                         caf::replies_to<compact_now_atom>::with<uint64_t>,
                                         caf::replies_to<snapshot_atom, bool>::with<std::string>,
                                         caf::replies_to<delete_series_atom, series_deletion>::with<uint64_t>,
                                         caf::replies_to<clean_tombstones_atom>::with<uint64_t>>;

struct compactor_options {
  std::string data_dir;
  int64_t block_duration_ms = 2 * 3600 * 1000;
  uint64_t max_head_samples = 200000000;
  int64_t retention_ms = 15LL * 86400 * 1000;
  uint64_t retention_bytes = 0;  ///< 0: no size limit
  std::chrono::milliseconds compaction_interval{3600 * 1000};
  /// How often to look for a window to cut; at most a minute.
  std::chrono::milliseconds check_interval{60 * 1000};
  /// Series per page when a cut or a snapshot reads the head shards: the
  /// compactor holds at most two pages per shard, and a shard's appends
  /// wait while it reads one (4096 series took ~9 ms at 1 M series).
  uint64_t page_series = 1024;
  /// Shared with the rest of the process; must outlive the actor.
  metrics* stats = nullptr;
};

/// How often a compactor with `block_duration_ms` blocks looks for a
/// window to cut: a sixtieth of a block, within [250 ms, 1 min] (at least
/// once a minute, and often enough for the short blocks of tests).
std::chrono::milliseconds cut_check_interval(int64_t block_duration_ms);

struct compactor_state {
  compactor_options opts;
  std::vector<head_block_actor> shards;
  wal_writer_actor wal;
  /// May be invalid (tests): checkpoints then keep no metadata.
  metadata_actor meta;
  std::shared_ptr<storage::block_set> blocks;
  bool busy = false;
  uint64_t blocks_written = 0;  ///< in the running round
  /// The head was truncated below this in the running round: the WAL
  /// checkpoint is due (INT64_MIN: none).
  int64_t checkpoint_from = INT64_MIN;
  std::vector<caf::typed_response_promise<uint64_t>> waiting;  ///< compact_now answered when the round ends
  /// Admin operations waiting for the running round or operation (busy).
  std::deque<std::function<void()>> pending;
  std::chrono::steady_clock::time_point last_maintenance{};
  static inline const char* name = "compactor";
};

compactor_actor::behavior_type compactor(compactor_actor::stateful_pointer<compactor_state> self,
                                         std::vector<head_block_actor> shards, wal_writer_actor wal,
                                         std::shared_ptr<storage::block_set> blocks, compactor_options opts,
                                         metadata_actor meta);

/// `<data_dir>/blocks`.
std::string blocks_dir(const std::string& data_dir);

/// A snapshot's directory name for the time `unix_ms` and a random number
/// (its low 63 bits are used), as Prometheus names them:
/// "20261204T221530Z-2be650b6d019eb54".
std::string snapshot_name(int64_t unix_ms, uint64_t random);

}  // namespace nl::actors

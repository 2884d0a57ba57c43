#pragma once
// The WAL writer: the only actor that writes the write-ahead log. Spawn it
// DETACHED (it blocks in write(2) and fdatasync).
//
// Group commit: every wal_write request is appended to the segment writer's
// buffer and answered later. The first pending request schedules one commit
// message behind everything already queued, so one commit covers all
// requests that arrived meanwhile: one write(2) (plus one fdatasync with
// fsync=always) for many requests. Only then are their promises delivered.
//
// Failure: if a write or sync fails, every pending request gets the error,
// nothing is ever acknowledged again and the actor quits with the error
// (its supervisor stops the process). A WAL in an unknown state must not
// acknowledge samples. A full disk is the exception (storage/wal/
// segment_writer.hpp): the pending requests get the error (their records
// were dropped, never written), the actor stays, and each later request
// tries again, so writes resume by themselves once space is freed.
#include <caf/all.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>

#include "actors/config.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "storage/wal/segment_times.hpp"
#include "storage/wal/segment_writer.hpp"

namespace nl::actors {

/// wal_write: append the records; the reply (the number of records the WAL
///   has taken so far) comes once they are written, and with fsync=always
///   also fdatasynced. A batch dequeued after its deadline is refused
///   (wal_deadline) and nothing of it is written, unless another batch of
///   its request (wal_batch::group) was taken: all parts of a request are
///   taken or refused alike.
/// wal_sync: flush and fdatasync now (used at shutdown); replies the same
///   count.
/// wal_cut(before): commit, close (fdatasync) the current segment and
///   start the next; reply the segment a checkpoint for a cut at `before`
///   (ms) should go up to (storage/wal/segment_times.hpp), or 0 when there
///   is nothing to replace.
/// wal_commit, wal_tick: the writer's own timers and commit trigger.
using wal_writer_actor = caf::typed_actor<
  caf::replies_to<wal_write_atom, wal_batch>::with<uint64_t>,
  caf::replies_to<wal_sync_atom>::with<uint64_t>,
  caf::replies_to<wal_cut_atom, int64_t>::with<uint64_t>,
  caf::reacts_to<wal_commit_atom>,
  caf::reacts_to<wal_tick_atom>>;

/// fsync=interval: a second handle on the current segment, for the WAL
/// writer's syncer. Local only (never crosses nodes).
using wal_sync_handle = std::shared_ptr<storage::writable_file>;

}  // namespace nl::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nl::actors::wal_sync_handle)

namespace nl::actors {

/// The WAL writer's helper for fsync=interval: fdatasyncs a handle
/// (wal_segment_writer::sync_handle) on its own thread while the writer
/// goes on writing; replies the seconds it took, or wal_failed naming the
/// failure, which the writer takes as fatal.
using wal_syncer_actor = caf::typed_actor<caf::replies_to<wal_sync_atom, wal_sync_handle>::with<double>>;

struct wal_writer_options {
  fsync_policy policy = fsync_policy::interval;
  /// fsync=interval: fdatasync this often when something was written.
  std::chrono::milliseconds fsync_interval{1000};
  /// Shared with the rest of the process; must outlive the actor.
  metrics* stats = nullptr;
  /// fsync=interval: fdatasync in a detached, linked syncer actor, so that
  /// writes are not held up behind it (a 1 s fdatasync took ~20 ms here,
  /// during which every remote write waited); else on the writer's thread.
  /// Set with a detached writer (supervisor_options::detach_wal).
  bool background_sync = false;
};

struct wal_writer_state {
  std::shared_ptr<storage::wal_segment_writer> writer;
  wal_writer_options opts;
  /// Newest sample time per segment written, for wal_cut.
  std::optional<storage::segment_times> times;
  std::vector<caf::typed_response_promise<uint64_t>> pending;
  bool commit_scheduled = false;
  bool unsynced = false;      // flushed since the last fdatasync began
  wal_syncer_actor syncer;    // background_sync: spawned at its first use
  bool disk_full = false;     // the last write failed for want of space
  /// Whether the WAL took the first batch it saw of each recent request
  /// (wal_batch::group), so that the request's other batches follow it.
  /// The oldest are forgotten beyond `max_groups`: the parts of one
  /// request arrive within moments of each other.
  std::unordered_map<uint64_t, bool> group_taken;
  std::deque<uint64_t> group_order;
  static constexpr size_t max_groups = 1 << 16;
  static inline const char* name = "wal_writer";
};

/// The behaviour; spawn with
/// `sys.spawn<caf::detached>(wal_writer, writer, opts)`.
/// `writer` is an opened segment writer (after replay and tail repair).
wal_writer_actor::behavior_type wal_writer(wal_writer_actor::stateful_pointer<wal_writer_state> self,
                                           std::shared_ptr<storage::wal_segment_writer> writer,
                                           wal_writer_options opts);

}  // namespace nl::actors

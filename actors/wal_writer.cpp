#include "actors/wal_writer.hpp"

#include <pthread.h>

#include "storage/wal/checkpoint.hpp"

#include "actors/log.hpp"

namespace nl::actors {

namespace {

using self_ptr = wal_writer_actor::stateful_pointer<wal_writer_state>;

bool is_no_space(const storage::status& st) { return st.error_code() == storage::status::code::no_space; }

caf::error to_error(const storage::status& st) {
  return caf::make_error(is_no_space(st) ? error_code::disk_full : error_code::wal_failed, "WAL: " + st.message());
}

// Stops for good: a failed write leaves the log in an unknown state.
void fail(self_ptr self, const storage::status& st) {
  log_error("wal: " + st.message() + "; refusing further writes");
  auto err = to_error(st);
  for (auto& rp : self->state.pending)
    rp.deliver(err);
  self->state.pending.clear();
  self->quit(err);
}

// The disk is full: the writer dropped what it had buffered (never
// acknowledged), so every waiting request fails and its sender answers 503;
// later writes are tried again as they come. Logged once per episode.
void no_space(self_ptr self, const storage::status& st) {
  auto& s = self->state;
  if (!s.disk_full) {
    s.disk_full = true;
    log_error("wal: " + st.message() + "; refusing writes (503) until space is freed");
  }
  if (s.opts.stats)
    s.opts.stats->wal_no_space_failures.fetch_add(1, std::memory_order_relaxed);
  // The buffered records were dropped; the writer no longer counts them
  // as taken (wal_segment_writer::records_taken).
  auto err = to_error(st);
  for (auto& rp : s.pending)
    rp.deliver(err);
  s.pending.clear();
}

// Whether to take `batch` (or refuse it as too late); decided once per
// request group, by its first batch.
bool take_in_time(self_ptr self, const wal_batch& batch) {
  auto& s = self->state;
  if (batch.group != 0) {
    auto it = s.group_taken.find(batch.group);
    if (it != s.group_taken.end())
      return it->second;
  }
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(self->clock().now().time_since_epoch());
  bool take = now.count() <= batch.deadline;
  if (batch.group != 0) {
    s.group_taken.emplace(batch.group, take);
    s.group_order.push_back(batch.group);
    if (s.group_order.size() > wal_writer_state::max_groups) {
      s.group_taken.erase(s.group_order.front());
      s.group_order.pop_front();
    }
  }
  return take;
}

// A write went through: end a disk-full episode.
void written(self_ptr self) {
  auto& s = self->state;
  if (s.disk_full) {
    s.disk_full = false;
    log_info("wal: writes succeed again; accepting samples");
  }
}

void count_sync(self_ptr self, double seconds) {
  if (auto* m = self->state.opts.stats) {
    m->wal_fsync_seconds.observe(seconds);
    m->wal_fsyncs.fetch_add(1, std::memory_order_relaxed);
  }
}

bool sync_now(self_ptr self) {
  auto& s = self->state;
  auto start = std::chrono::steady_clock::now();
  auto st = s.writer->sync();
  if (!st) {
    fail(self, st);
    return false;
  }
  s.unsynced = false;
  count_sync(self, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return true;
}

// Runs on the syncer's own thread (detached), which gets `thread_name`
// (perf and top then tell it from the writer's). CAF 0.17 also needs an
// argument here: spawned without one, it dereferences a null argument
// tuple (UBSan: "reference binding to null pointer").
wal_syncer_actor::behavior_type wal_syncer(const std::string& thread_name) {
  pthread_setname_np(pthread_self(), thread_name.substr(0, 15).c_str());
  return {
    [](wal_sync_atom, wal_sync_handle& h) -> caf::result<double> {
      auto start = std::chrono::steady_clock::now();
      auto st = h->sync();
      (void)h->close();  // a second descriptor: closing it closes nothing else
      if (!st)
        return caf::make_error(error_code::wal_failed, st.message());
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    },
  };
}

void commit(self_ptr self);

void arm_tick(self_ptr self) { self->delayed_send(self, self->state.opts.fsync_interval, wal_tick_atom_v); }

// fsync=interval, once per tick with something unsynced: the records
// written so far become durable. With background_sync the fdatasync runs
// in the syncer on a second handle while writes go on, and the next tick is
// armed once it is done; without a second handle (test fakes), or without
// background_sync, it runs here.
void interval_sync(self_ptr self) {
  auto& s = self->state;
  if (s.opts.background_sync) {
    commit(self);  // what is buffered goes to the kernel (and its senders get their answers)
    if (!s.writer->health())
      return;
    if (auto h = s.writer->sync_handle()) {
      if (!s.syncer) {
        s.syncer = self->spawn<caf::linked + caf::detached>(wal_syncer, std::string{"nl.wal.sync"});
        // The link ends the syncer when the writer ends for any reason but
        // `normal` (and the writer when the syncer dies); this, for that one.
        self->attach_functor([syncer = s.syncer](const caf::error&) {
          caf::anon_send_exit(syncer, caf::exit_reason::user_shutdown);
        });
      }
      s.unsynced = false;  // what a write flushes from now on waits for the next tick
      self->request(s.syncer, caf::infinite, wal_sync_atom_v, wal_sync_handle{std::move(*h)})
        .then(
          [self](double took) {
            count_sync(self, took);
            arm_tick(self);
          },
          [self](caf::error& err) {
            // A failed fdatasync is fatal (storage/wal/segment_writer.hpp).
            auto st = storage::status::io_error(err == error_code::wal_failed ? message_of(err)
                                                                             : "the WAL syncer failed: " + caf::to_string(err));
            self->state.writer->broken_by(st);
            fail(self, st);
          });
      return;
    }
  }
  if (sync_now(self))
    arm_tick(self);
}

// One write(2) for everything appended since the last commit, then (policy)
// one fdatasync, then every waiting request is answered.
void commit(self_ptr self) {
  auto& s = self->state;
  s.commit_scheduled = false;
  if (s.pending.empty())
    return;
  auto st = s.writer->flush();
  if (!st)
    return is_no_space(st) ? no_space(self, st) : fail(self, st);
  s.unsynced = true;
  if (s.opts.policy == fsync_policy::always && !sync_now(self))
    return;
  written(self);
  for (auto& rp : s.pending)
    rp.deliver(s.writer->records_taken());
  s.pending.clear();
}

}  // namespace

wal_writer_actor::behavior_type wal_writer(self_ptr self, std::shared_ptr<storage::wal_segment_writer> writer,
                                           wal_writer_options opts) {
  self->state.writer = std::move(writer);
  self->state.opts = opts;
  {
    // The writer has just started its first segment; an older checkpoint
    // must not be named again.
    auto checkpointed = storage::latest_wal_checkpoint(self->state.writer->dir());
    self->state.times.emplace(self->state.writer->position().segment,
                              checkpointed && *checkpointed ? **checkpointed : 0);
  }
  // Close the segment (flush + fdatasync) whenever the actor ends: an
  // orderly shutdown must leave every acknowledged record synced.
  self->attach_functor([w = self->state.writer](const caf::error&) {
    if (w->health()) {
      auto st = w->close();
      if (!st)
        log_error("wal: close failed: " + st.message());
    }
  });
  if (opts.policy == fsync_policy::interval)
    arm_tick(self);
  return {
    [=](wal_write_atom, const wal_batch& batch) -> caf::result<uint64_t> {
      auto& s = self->state;
      if (!s.writer->health())
        return to_error(s.writer->health());
      // Too late to start: the sender's wait is over, so the batch must
      // never become durable (it will be answered 503 and resent). The
      // other parts of its request follow the first part's fate.
      if (!take_in_time(self, batch)) {
        if (s.opts.stats)
          s.opts.stats->wal_writes_expired.fetch_add(1, std::memory_order_relaxed);
        return caf::make_error(error_code::wal_deadline,
                               "WAL: the write waited past its deadline behind earlier writes; not written");
      }
      // A batch that starts a new segment flushes the buffer: commit the
      // waiting requests first, so that a failure there is theirs alone.
      if (s.writer->buffered_bytes() > 0 && s.writer->needs_new_segment(batch.records)) {
        commit(self);
        if (!s.writer->health())
          return to_error(s.writer->health());
      }
      // All or nothing: a refused batch leaves no record behind.
      if (auto st = s.writer->append_batch(batch.records); !st) {
        if (is_no_space(st)) {
          no_space(self, st);
          return to_error(st);
        }
        fail(self, st);
        return to_error(st);
      }
      if (batch.max_time != std::numeric_limits<int64_t>::min())
        s.times->note(s.writer->position().segment, batch.max_time);
      uint64_t bytes = 0;
      for (auto& rec : batch.records)
        bytes += rec.size();
      if (s.opts.stats)
        s.opts.stats->wal_bytes_written.fetch_add(bytes, std::memory_order_relaxed);
      auto rp = self->make_response_promise<uint64_t>();
      s.pending.push_back(rp);
      if (!s.commit_scheduled) {
        // Queued behind every request already in the mailbox: they all join
        // this commit.
        s.commit_scheduled = true;
        self->send(self, wal_commit_atom_v);
      }
      return rp;
    },
    [=](wal_sync_atom) -> caf::result<uint64_t> {
      commit(self);
      if (self->state.writer->health() && !sync_now(self))
        return to_error(self->state.writer->health());
      if (!self->state.writer->health())
        return to_error(self->state.writer->health());
      return self->state.writer->records_taken();
    },
    [=](wal_cut_atom, int64_t before) -> caf::result<uint64_t> {
      // Everything taken so far goes into the segment being closed.
      commit(self);
      auto& w = *self->state.writer;
      if (!w.health())
        return to_error(w.health());
      // Closed at every cut, so that each segment spans about one cut
      // interval: once the next cut passes its samples, it holds only
      // older ones and goes without a sample kept.
      auto closed = w.next_segment();
      if (!closed) {
        // No room for the next segment: the current one goes on, and the
        // caller (a checkpoint) tries again later.
        if (is_no_space(closed.error()))
          return to_error(closed.error());
        fail(self, closed.error());
        return to_error(closed.error());
      }
      self->state.unsynced = false;
      return self->state.times->bound(w.position().segment, before);
    },
    [=](wal_commit_atom) { commit(self); },
    [=](wal_tick_atom) {
      if (self->state.unsynced)
        return interval_sync(self);
      arm_tick(self);
    },
  };
}

}  // namespace nl::actors

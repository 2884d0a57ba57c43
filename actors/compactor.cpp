#include "actors/compactor.hpp"

#include <algorithm>
#include <cstdio>

#include "actors/log.hpp"
#include "storage/block/ulid.hpp"
#include "storage/block/writer.hpp"
#include "storage/compaction/merge.hpp"
#include "storage/compaction/planner.hpp"
#include "storage/file.hpp"
#include "storage/wal_checkpoint.hpp"

namespace nl::actors {

namespace {

using self_ptr = compactor_actor::stateful_pointer<compactor_state>;
using storage::status;

int64_t floor_to(int64_t t, int64_t d) {
  int64_t q = t / d;
  if (t % d != 0 && t < 0)
    --q;
  return q * d;
}

std::string seconds_since(std::chrono::steady_clock::time_point start) {
  std::chrono::duration<double> d = std::chrono::steady_clock::now() - start;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", d.count());
  return buf;
}

double elapsed(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Sends the same request to every shard; `done` gets all answers (in shard
// order), `failed` the first error.
template <class T, class Done, class Failed, class... Ts>
void ask_shards(self_ptr self, Done done, Failed failed, Ts... xs) {
  struct gather {
    std::vector<T> parts;
    size_t waiting = 0;
    bool failed = false;
  };
  auto g = std::make_shared<gather>();
  auto& shards = self->state.shards;
  g->parts.resize(shards.size());
  g->waiting = shards.size();
  if (g->waiting == 0)
    return done(g->parts);
  for (size_t i = 0; i < shards.size(); ++i)
    self->request(shards[i], caf::infinite, xs...)
      .then(
        [g, i, done](T& part) mutable {
          if (g->failed)
            return;
          g->parts[i] = std::move(part);
          if (--g->waiting == 0)
            done(g->parts);
        },
        [g, failed](caf::error& err) mutable {
          if (g->failed)
            return;
          g->failed = true;
          failed(err);
        });
}

void round(self_ptr self);
void maintain_and_finish(self_ptr self);

void finish_round(self_ptr self) {
  auto& s = self->state;
  s.busy = false;
  if (auto* m = s.opts.stats) {
    m->blocks_loaded.store(static_cast<int64_t>(s.blocks->size()), std::memory_order_relaxed);
    m->block_bytes.store(static_cast<int64_t>(s.blocks->size_bytes()), std::memory_order_relaxed);
  }
  for (auto& rp : s.waiting)
    rp.deliver(s.blocks_written);
  s.waiting.clear();
  s.blocks_written = 0;
}

void round_failed(self_ptr self, const std::string& what) {
  // A checkpoint still owed (checkpoint_from) is taken by a later round.
  log_error("compactor: " + what + "; the head keeps the data and the next round tries again");
  if (auto* m = self->state.opts.stats)
    m->compactions_failed.fetch_add(1, std::memory_order_relaxed);
  finish_round(self);
}

// Step 4: a new WAL segment, then a checkpoint of what the head still holds.
void checkpoint(self_ptr self, int64_t from) {
  self->request(self->state.wal, caf::infinite, wal_cut_atom_v)
    .then(
      [self, from](uint64_t upto) {
        ask_shards<series_records>(
          self,
          [self, from, upto](std::vector<series_records>& parts) {
            std::vector<storage::series_record> live;
            for (auto& p : parts)
              live.insert(live.end(), std::make_move_iterator(p.items.begin()),
                          std::make_move_iterator(p.items.end()));
            auto start = std::chrono::steady_clock::now();
            auto wal_dir = self->state.opts.data_dir + "/wal";
            auto st = storage::write_wal_checkpoint(wal_dir, upto, live, from);
            auto* m = self->state.opts.stats;
            if (!st) {
              // The segments stay: the WAL only grows until the next try.
              log_error("compactor: WAL checkpoint failed: " + st.error().message());
              if (m)
                m->wal_checkpoints_failed.fetch_add(1, std::memory_order_relaxed);
            } else {
              log_info("wal: checkpoint " + storage::wal_checkpoint_name(upto) + ": "
                       + std::to_string(st->series) + " series, " + std::to_string(st->samples_kept)
                       + " samples kept, " + std::to_string(st->segments_removed) + " segments removed in "
                       + seconds_since(start));
              if (m)
                m->wal_checkpoints.fetch_add(1, std::memory_order_relaxed);
            }
            maintain_and_finish(self);
          },
          [self](const caf::error& err) { round_failed(self, "series for the checkpoint: " + to_string(err)); },
          series_records_atom_v);
      },
      [self](const caf::error& err) { round_failed(self, "WAL segment cut: " + to_string(err)); });
}

// Steps 2 and 3 for the window [a, b).
void write_and_truncate(self_ptr self, int64_t a, int64_t b, std::vector<select_result>& parts,
                        std::chrono::steady_clock::time_point start) {
  auto& s = self->state;
  std::vector<std::vector<storage::series_snapshot>> snaps;
  for (auto& p : parts)
    snaps.push_back(to_snapshots(std::move(p)));
  auto series = storage::merge_series(std::move(snaps));
  if (!series.empty()) {
    auto dir = blocks_dir(s.opts.data_dir);
    auto w = storage::block_writer::create(dir, storage::make_ulid(), a, b);
    status st = w ? status::ok() : w.error();
    for (size_t i = 0; st && i < series.size(); ++i) {
      // Out-of-order samples come as chunks overlapping the in-order ones.
      auto chunks = storage::merge_chunks({std::move(series[i].chunks)});
      st = chunks ? (*w)->add_series(std::move(series[i].labels), *chunks) : chunks.error();
      series[i].chunks.clear();  // let the head's memory go as we write
    }
    storage::result<storage::block_meta> meta = st ? (*w)->finish() : storage::result<storage::block_meta>{st};
    if (!meta)
      return round_failed(self, "writing the block for [" + std::to_string(a) + ", " + std::to_string(b)
                                  + "): " + meta.error().message());
    auto opened = storage::block::open(dir + "/" + meta->ulid);
    if (!opened)
      return round_failed(self, "the new block does not open: " + opened.error().message());
    s.blocks->add(*opened);
    s.blocks_written += 1;
    auto* m = s.opts.stats;
    if (m) {
      m->compactions_total.fetch_add(1, std::memory_order_relaxed);
      m->compaction_seconds.observe(elapsed(start));
    }
    log_info("compactor: block " + meta->ulid + " [" + std::to_string(a) + ", " + std::to_string(b) + "): "
             + std::to_string(meta->num_series) + " series, " + std::to_string(meta->num_samples) + " samples, "
             + std::to_string(meta->chunks_bytes + meta->index_bytes) + " bytes in " + seconds_since(start));
  }
  ask_shards<shard_stats>(
    self,
    [self, b](std::vector<shard_stats>& after) {
      // Out-of-order samples older than the cut may still be in the head:
      // the checkpoint keeps what the head holds.
      int64_t from = b;
      for (const auto& st : after)
        from = std::min(from, st.min_time);
      auto& s = self->state;
      s.checkpoint_from = s.checkpoint_from == INT64_MIN ? from : std::min(s.checkpoint_from, from);
      round(self);
    },
    [self](const caf::error& err) { round_failed(self, "head truncation: " + to_string(err)); }, truncate_atom_v,
    b);
}

void cut(self_ptr self, int64_t a, int64_t b) {
  auto start = std::chrono::steady_clock::now();
  ask_shards<select_result>(
    self, [self, a, b, start](std::vector<select_result>& parts) { write_and_truncate(self, a, b, parts, start); },
    [self](const caf::error& err) { round_failed(self, "head cut: " + to_string(err)); }, cut_atom_v, a, b - 1);
}

void remove_blocks(self_ptr self, const std::vector<std::string>& ulids, const char* why) {
  auto& s = self->state;
  if (ulids.empty())
    return;
  // Out of the set first: queries that hold a block keep it mapped.
  s.blocks->replace(ulids, {});
  auto dir = blocks_dir(s.opts.data_dir);
  for (const auto& u : ulids) {
    auto gone = dir + "/" + u + ".deleted";
    if (auto st = storage::rename_path(dir + "/" + u, gone); !st) {
      log_error("compactor: " + st.message());
      continue;
    }
    if (auto st = storage::sync_dir(dir); !st)
      log_error("compactor: " + st.message());
    if (auto st = storage::remove_tree(gone); !st)
      log_error("compactor: " + st.message());
    log_info(std::string{"compactor: removed block "} + u + " (" + why + ")");
  }
}

// Merges and retention, every compaction_interval.
void maintenance(self_ptr self) {
  auto& s = self->state;
  auto* m = s.opts.stats;
  auto ranges = storage::compaction_ranges(s.opts.block_duration_ms,
                                           std::min<int64_t>(s.opts.retention_ms / 10, 31LL * 86400 * 1000));
  // Merge until nothing is left to merge (each merge reduces the count).
  for (;;) {
    auto current = s.blocks->snapshot();
    std::vector<storage::block_meta> metas;
    for (const auto& b : current)
      metas.push_back(b->meta());
    auto plan = storage::plan_merge(metas, ranges);
    if (plan.empty())
      break;
    std::vector<storage::block_set::block_ptr> parents;
    for (const auto& b : current)
      if (std::find(plan.begin(), plan.end(), b->meta().ulid) != plan.end())
        parents.push_back(b);
    auto start = std::chrono::steady_clock::now();
    auto dir = blocks_dir(s.opts.data_dir);
    auto meta = storage::merge_blocks(parents, dir, storage::make_ulid());
    if (!meta) {
      log_error("compactor: merging " + std::to_string(parents.size()) + " blocks: " + meta.error().message());
      if (m)
        m->compactions_failed.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    auto opened = storage::block::open(dir + "/" + meta->ulid);
    if (!opened) {
      log_error("compactor: the merged block does not open: " + opened.error().message());
      if (m)
        m->compactions_failed.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    // The new block is durable: swap it in, then delete the parents.
    s.blocks->replace({}, {*opened});
    log_info("compactor: merged " + std::to_string(parents.size()) + " blocks into " + meta->ulid + " (level "
             + std::to_string(meta->level) + ", " + std::to_string(meta->num_samples) + " samples) in "
             + seconds_since(start));
    remove_blocks(self, plan, "merged");
    if (m) {
      m->compactions_total.fetch_add(1, std::memory_order_relaxed);
      m->compaction_seconds.observe(elapsed(start));
    }
  }
  auto current = s.blocks->snapshot();
  std::vector<storage::block_meta> metas;
  std::vector<uint64_t> sizes;
  for (const auto& b : current) {
    metas.push_back(b->meta());
    sizes.push_back(b->size_bytes());
  }
  uint64_t wal_bytes = 0;
  if (s.opts.retention_bytes > 0)
    wal_bytes = storage::directory_bytes(s.opts.data_dir + "/wal");
  auto doomed = storage::plan_retention(metas, sizes, s.opts.retention_ms, s.opts.retention_bytes, wal_bytes);
  remove_blocks(self, doomed, "retention");
  if (m)
    m->retention_blocks_deleted.fetch_add(doomed.size(), std::memory_order_relaxed);
}

void maintain_and_finish(self_ptr self) {
  auto& s = self->state;
  auto now = std::chrono::steady_clock::now();
  if (now - s.last_maintenance >= s.opts.compaction_interval) {
    s.last_maintenance = now;
    maintenance(self);
  }
  finish_round(self);
}

// One round: cut every window that is due, checkpoint the WAL once, then
// (when due) merges and retention.
void round(self_ptr self) {
  ask_shards<shard_stats>(
    self,
    [self](std::vector<shard_stats>& parts) {
      auto& s = self->state;
      int64_t mint = INT64_MAX;
      int64_t maxt = INT64_MIN;
      uint64_t samples = 0;
      for (const auto& p : parts) {
        mint = std::min(mint, p.min_time);
        maxt = std::max(maxt, p.max_time);
        samples += p.num_samples;
      }
      const int64_t d = s.opts.block_duration_ms;
      if (mint <= maxt) {
        int64_t a = floor_to(mint, d);
        bool span_due = maxt - mint > d / 2 * 3;
        bool size_due = samples > s.opts.max_head_samples && a + d <= maxt;
        if (span_due || size_due)
          return cut(self, a, a + d);
      }
      // Nothing left to cut: one checkpoint for all the cuts of the round.
      if (s.checkpoint_from != INT64_MIN) {
        auto from = s.checkpoint_from;
        s.checkpoint_from = INT64_MIN;
        return checkpoint(self, from);
      }
      maintain_and_finish(self);
    },
    [self](const caf::error& err) { round_failed(self, "shard stats: " + to_string(err)); }, stats_atom_v);
}

}  // namespace

std::string blocks_dir(const std::string& data_dir) { return data_dir + "/blocks"; }

compactor_actor::behavior_type compactor(self_ptr self, std::vector<head_block_actor> shards, wal_writer_actor wal,
                                         std::shared_ptr<storage::block_set> blocks, compactor_options opts) {
  auto& s = self->state;
  s.shards = std::move(shards);
  s.wal = std::move(wal);
  s.blocks = std::move(blocks);
  s.opts = std::move(opts);
  s.last_maintenance = std::chrono::steady_clock::now();
  // The first round at once: after a long stop the replayed head may hold
  // several windows due for a cut.
  self->send(self, compact_tick_atom_v);
  auto start_round = [self] {
    auto& s = self->state;
    if (!s.busy) {
      s.busy = true;
      round(self);
    }
  };
  return {
    [=](compact_tick_atom) {
      self->delayed_send(self, self->state.opts.check_interval, compact_tick_atom_v);
      start_round();
    },
    [=](compact_now_atom) -> caf::result<uint64_t> {
      auto rp = self->make_response_promise<uint64_t>();
      self->state.waiting.push_back(rp);
      start_round();
      return rp;
    },
  };
}

}  // namespace nl::actors

#include "actors/compactor.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <random>

#include "actors/allocator.hpp"
#include "actors/log.hpp"
#include "storage/chunk/chunk_files.hpp"
#include "storage/block/ulid.hpp"
#include "storage/block/writer.hpp"
#include "storage/compaction/merge.hpp"
#include "storage/compaction/planner.hpp"
#include "storage/file.hpp"
#include "storage/head/head_snapshot.hpp"
#include "storage/tombstones.hpp"
#include "storage/wal/checkpoint.hpp"

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

// Reads the shards' listings (head_cursor) page by page and hands their
// series to `sink` in label order: a k-way merge of the shards' sorted
// pages, so the block writer gets label sets ascending while the compactor
// holds at most two pages per shard (the one being merged and the next,
// asked for as soon as the one before arrives), never the whole cut.
// Equal label sets of two shards (none when shards split series by hash)
// become one series. `done` gets the first error of a page request or of
// the sink, else ok once every series went through.
struct page_merge {
  using chunk_list = std::vector<std::shared_ptr<const storage::chunk>>;
  using sink_fn = std::function<status(storage::label_set&&, chunk_list&&)>;
  struct shard_pages {
    head_cursor cursor;
    uint64_t requested = 0;  // series asked for so far
    bool in_flight = false;
    std::deque<select_result> pages;  // received, not merged yet
    size_t pos = 0;                   // next series of pages.front()
    bool exhausted() const { return pages.empty() && !in_flight && requested >= cursor.num_series; }
    series_data* front() { return pages.empty() ? nullptr : &pages.front().series[pos]; }
  };
  self_ptr self;
  std::vector<head_block_actor> actors;
  std::vector<shard_pages> shards;
  uint64_t page_series = 4096;
  sink_fn sink;
  std::function<void(status)> done;
  bool over = false;
};

void merge_pages(const std::shared_ptr<page_merge>& m);

void end_merge(const std::shared_ptr<page_merge>& m, status st) {
  m->over = true;
  m->sink = nullptr;  // lets go of the block writer at once
  m->shards.clear();
  auto done = std::move(m->done);
  done(std::move(st));
}

void ask_page(const std::shared_ptr<page_merge>& m, size_t i) {
  auto& sp = m->shards[i];
  if (sp.in_flight || sp.requested >= sp.cursor.num_series || sp.pages.size() >= 2)
    return;
  uint64_t n = std::min(m->page_series, sp.cursor.num_series - sp.requested);
  uint64_t start = sp.requested;
  sp.requested += n;
  sp.in_flight = true;
  m->self->request(m->actors[i], caf::infinite, head_page_atom_v, sp.cursor.id, start, n)
    .then(
      [m, i](select_result& page) {
        if (m->over)
          return;
        auto& sp = m->shards[i];
        sp.in_flight = false;
        if (!page.series.empty())
          sp.pages.push_back(std::move(page));
        ask_page(m, i);
        merge_pages(m);
      },
      [m](caf::error& err) {
        if (!m->over)
          end_merge(m, status::io_error("head page: " + to_string(err)));
      });
}

void merge_pages(const std::shared_ptr<page_merge>& m) {
  while (!m->over) {
    // Every shard must offer its next series (or be done) before the
    // smallest can be told.
    size_t least = m->shards.size();
    for (size_t i = 0; i < m->shards.size(); ++i) {
      auto& sp = m->shards[i];
      auto* x = sp.front();
      if (x == nullptr) {
        if (!sp.exhausted())
          return;  // its page reply calls again
        continue;
      }
      if (least == m->shards.size() || x->labels < m->shards[least].front()->labels)
        least = i;
    }
    if (least == m->shards.size())
      return end_merge(m, status::ok());
    storage::label_set labels = std::move(m->shards[least].front()->labels);
    page_merge::chunk_list chunks;
    for (size_t k = 0; k < m->shards.size(); ++k) {
      size_t i = (least + k) % m->shards.size();
      auto& sp = m->shards[i];
      auto* x = sp.front();
      if (x == nullptr || (i != least && x->labels != labels))
        continue;
      page_merge::chunk_list mine;
      mine.reserve(x->chunks.size());
      for (auto& c : x->chunks)
        mine.push_back(std::move(c.chunk));
      if (chunks.empty()) {
        chunks = std::move(mine);
      } else {
        page_merge::chunk_list both;
        both.reserve(chunks.size() + mine.size());
        std::merge(std::make_move_iterator(chunks.begin()), std::make_move_iterator(chunks.end()),
                   std::make_move_iterator(mine.begin()), std::make_move_iterator(mine.end()),
                   std::back_inserter(both),
                   [](const auto& c, const auto& d) { return c->min_time() < d->min_time(); });
        chunks = std::move(both);
      }
      if (++sp.pos == sp.pages.front().series.size()) {
        sp.pages.pop_front();
        sp.pos = 0;
        ask_page(m, i);
      }
    }
    if (auto st = m->sink(std::move(labels), std::move(chunks)); !st)
      return end_merge(m, st);
  }
}

// Starts a merge of the shards' listings; `done` is called exactly once.
void read_pages(self_ptr self, const std::vector<head_cursor>& cursors, page_merge::sink_fn sink,
                std::function<void(status)> done) {
  auto m = std::make_shared<page_merge>();
  m->self = self;
  m->actors = self->state.shards;
  m->page_series = std::max<uint64_t>(self->state.opts.page_series, 1);
  m->sink = std::move(sink);
  m->done = std::move(done);
  m->shards.resize(cursors.size());
  for (size_t i = 0; i < cursors.size(); ++i)
    m->shards[i].cursor = cursors[i];
  for (size_t i = 0; i < cursors.size(); ++i)
    ask_page(m, i);
  merge_pages(m);
}

// A block writer's add_series for read_pages: out-of-order samples come as
// chunks overlapping the in-order ones and are merged first.
page_merge::sink_fn add_to(std::shared_ptr<storage::block_writer> w) {
  return [w](storage::label_set&& labels, page_merge::chunk_list&& chunks) {
    std::vector<page_merge::chunk_list> sources(1);
    sources[0] = std::move(chunks);
    auto merged = storage::merge_chunks(std::move(sources));
    return merged ? w->add_series(std::move(labels), *merged) : merged.error();
  };
}

void round(self_ptr self);
void maintain_and_finish(self_ptr self);

// A round or an admin operation is over: the next admin operation waiting
// runs, else a round if compact_now asked for one.
void next(self_ptr self) {
  auto& s = self->state;
  s.busy = false;
  if (!s.pending.empty()) {
    auto op = std::move(s.pending.front());
    s.pending.pop_front();
    s.busy = true;
    op();
    return;
  }
  if (!s.waiting.empty()) {
    s.busy = true;
    round(self);
  }
}

// Runs `op` (which ends with next()) now, or after the round or operation
// that runs.
void exclusive(self_ptr self, std::function<void()> op) {
  auto& s = self->state;
  if (s.busy) {
    s.pending.push_back(std::move(op));
    return;
  }
  s.busy = true;
  op();
}

void finish_round(self_ptr self) {
  auto& s = self->state;
  // What the round's cuts, checkpoint and merges freed (allocator.hpp).
  release_free_memory();
  if (auto* m = s.opts.stats) {
    m->blocks_loaded.store(static_cast<int64_t>(s.blocks->size()), std::memory_order_relaxed);
    m->block_bytes.store(static_cast<int64_t>(s.blocks->size_bytes()), std::memory_order_relaxed);
  }
  for (auto& rp : s.waiting)
    rp.deliver(s.blocks_written);
  s.waiting.clear();
  s.blocks_written = 0;
  next(self);
}

void round_failed(self_ptr self, const std::string& what) {
  // A checkpoint still owed (checkpoint_from) is taken by a later round.
  log_error("compactor: " + what + "; the head keeps the data and the next round tries again");
  if (auto* m = self->state.opts.stats)
    m->compactions_failed.fetch_add(1, std::memory_order_relaxed);
  finish_round(self);
}

// Step 4: a new WAL segment, then a checkpoint of what the head and the
// metadata store still hold (both asked after the cut: see
// storage/wal/checkpoint.hpp).
void write_checkpoint(self_ptr self, int64_t from, uint64_t upto, metadata_records md) {
  ask_shards<series_records>(
    self,
    [self, from, upto, md = std::move(md)](std::vector<series_records>& parts) {
      // The shards' series entries as they are: no label set per series.
      std::vector<std::string_view> live;
      for (auto& p : parts)
        live.emplace_back(p.entries);
      auto start = std::chrono::steady_clock::now();
      auto wal_dir = self->state.opts.data_dir + "/wal";
      auto st = storage::write_wal_checkpoint(wal_dir, upto, live, from, md.entries);
      auto* m = self->state.opts.stats;
      if (!st) {
        // The segments stay: the WAL only grows until the next try.
        log_error("compactor: WAL checkpoint failed: " + st.error().message());
        if (m)
          m->wal_checkpoints_failed.fetch_add(1, std::memory_order_relaxed);
      } else {
        log_info("wal: checkpoint " + storage::wal_checkpoint_name(upto) + ": " + std::to_string(st->series)
                 + " series, " + std::to_string(st->metadata) + " metadata entries, "
                 + std::to_string(st->samples_kept) + " samples kept, " + std::to_string(st->segments_removed)
                 + " segments removed in " + seconds_since(start));
        if (m)
          m->wal_checkpoints.fetch_add(1, std::memory_order_relaxed);
      }
      maintain_and_finish(self);
    },
    [self](const caf::error& err) { round_failed(self, "series for the checkpoint: " + to_string(err)); },
    series_records_atom_v);
}

void checkpoint(self_ptr self, int64_t from) {
  self->request(self->state.wal, caf::infinite, wal_cut_atom_v, from)
    .then(
      [self, from](uint64_t upto) {
        auto& s = self->state;
        if (upto == 0)
          return maintain_and_finish(self);  // every segment holds newer samples
        if (!s.meta)
          return write_checkpoint(self, from, upto, {});
        // Metadata is kept while it is received within the retention time
        // (wall clock: receipt times are the server's clock).
        int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
        self->request(s.meta, caf::infinite, metadata_records_atom_v, now_ms - s.opts.retention_ms)
          .then([self, from, upto](metadata_records& md) { write_checkpoint(self, from, upto, std::move(md)); },
                [self](const caf::error& err) { round_failed(self, "metadata for the checkpoint: " + to_string(err)); });
      },
      [self](const caf::error& err) { round_failed(self, "WAL segment cut: " + to_string(err)); });
}

// Step 3: the block with [a, b) is durable (or there was nothing to write).
void truncate(self_ptr self, int64_t b) {
  // From here the heads differ from a head snapshot in what no WAL record
  // says: a start after a crash must not load it (head_snapshot.hpp).
  // Truncation goes on even if that fails (else memory grows without
  // end): such a start would find the snapshot only before the next WAL
  // checkpoint and with the same newest block, and the most it could
  // bring back are samples a block also holds, which queries and
  // compaction take once. Tried at every truncation: once it is gone,
  // that is one unlink answering ENOENT.
  if (auto st = storage::remove_head_snapshot(self->state.opts.data_dir); !st)
    log_error("compactor: the head snapshot was not deleted before the head truncation: " + st.message());
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
      // The shards have freed the window in their own threads' arenas,
      // which keep the pages until they allocate again (allocator.hpp).
      release_free_memory();
      round(self);
    },
    [self](const caf::error& err) { round_failed(self, "head truncation: " + to_string(err)); }, truncate_atom_v,
    b);
}

// Step 2 for the window [a, b): the shards' listings, page by page, into
// one block.
void write_block(self_ptr self, int64_t a, int64_t b, const std::vector<head_cursor>& cursors,
                 std::chrono::steady_clock::time_point start) {
  auto& s = self->state;
  uint64_t listed = 0;
  for (const auto& c : cursors)
    listed += c.num_series;
  if (listed == 0)
    return truncate(self, b);
  auto dir = blocks_dir(s.opts.data_dir);
  auto created = storage::block_writer::create(dir, storage::make_ulid(), a, b);
  if (!created)
    return round_failed(self, "writing the block for [" + std::to_string(a) + ", " + std::to_string(b)
                                + "): " + created.error().message());
  std::shared_ptr<storage::block_writer> w = std::move(*created);
  read_pages(self, cursors, add_to(w), [self, w, a, b, dir, start](status st) {
    auto& s = self->state;
    storage::result<storage::block_meta> meta = st ? w->finish() : storage::result<storage::block_meta>{st};
    if (!meta)
      return round_failed(self, "writing the block for [" + std::to_string(a) + ", " + std::to_string(b)
                                  + "): " + meta.error().message());
    auto opened = storage::block::open(dir + "/" + meta->ulid);
    if (!opened)
      return round_failed(self, "the new block does not open: " + opened.error().message());
    s.blocks->add(*opened);
    s.blocks_written += 1;
    if (auto* m = s.opts.stats) {
      m->compactions_total.fetch_add(1, std::memory_order_relaxed);
      m->compaction_seconds.observe(elapsed(start));
    }
    log_info("compactor: block " + meta->ulid + " [" + std::to_string(a) + ", " + std::to_string(b) + "): "
             + std::to_string(meta->num_series) + " series, " + std::to_string(meta->num_samples) + " samples, "
             + std::to_string(meta->chunks_bytes + meta->index_bytes) + " bytes in " + seconds_since(start));
    truncate(self, b);
  });
}

void cut(self_ptr self, int64_t a, int64_t b) {
  auto start = std::chrono::steady_clock::now();
  ask_shards<head_cursor>(
    self, [self, a, b, start](std::vector<head_cursor>& cursors) { write_block(self, a, b, cursors, start); },
    [self](const caf::error& err) { round_failed(self, "head cut: " + to_string(err)); }, cut_atom_v, a, b - 1);
}

void remove_blocks(self_ptr self, const std::vector<std::string>& ulids, const std::string& why) {
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
    log_info("compactor: removed block " + u + " (" + why + ")");
  }
}

// Merges and retention, every compaction_interval.
void maintenance(self_ptr self) {
  auto& s = self->state;
  auto* m = s.opts.stats;
  auto ranges = storage::compaction_ranges(s.opts.block_duration_ms, storage::max_compaction_range(s.opts.retention_ms));
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
  // As Prometheus counts its WAL and memory-mapped head chunks.
  uint64_t other_bytes = 0;
  if (s.opts.retention_bytes > 0)
    other_bytes = storage::directory_bytes(s.opts.data_dir + "/wal")
                  + storage::directory_bytes(s.opts.data_dir + "/" + storage::head_chunks_dir);
  auto doomed = storage::plan_retention(metas, sizes, s.opts.retention_ms, s.opts.retention_bytes, other_bytes);
  uint64_t samples = 0;
  for (const auto& meta : metas)
    if (std::find(doomed.begin(), doomed.end(), meta.ulid) != doomed.end())
      samples += meta.num_samples;
  remove_blocks(self, doomed, "retention");
  if (m) {
    m->retention_blocks_deleted.fetch_add(doomed.size(), std::memory_order_relaxed);
    m->retention_samples_deleted.fetch_add(samples, std::memory_order_relaxed);
  }
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

// -- admin API ------------------------------------------------------------------

caf::error admin_error(const std::string& what) { return caf::make_error(error_code::internal, what); }

// Hard links of a block's files in `to` (created). Blocks never change
// after they are written; a new tombstones file replaces the old one by
// rename, so the link keeps the version linked.
status link_block(const std::string& from, const std::string& to) {
  if (auto st = storage::create_dir_if_missing(to); !st)
    return st;
  for (std::string_view name : {"meta.json", "index", "chunks", "tombstones"}) {
    auto src = from + "/" + std::string{name};
    auto exists = storage::path_exists(src);
    if (!exists)
      return exists.error();
    if (name == "tombstones" && !*exists)
      continue;
    if (auto st = storage::hard_link(src, to + "/" + std::string{name}); !st)
      return st;
  }
  return storage::sync_dir(to);
}

void snapshot(self_ptr self, bool skip_head, caf::typed_response_promise<std::string> rp) {
  auto& s = self->state;
  std::random_device rd;
  uint64_t random = (uint64_t{rd()} << 32) ^ rd();
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  auto name = snapshot_name(now, random);
  auto root = s.opts.data_dir + "/snapshots";
  auto dir = root + "/" + name;
  auto start = std::chrono::steady_clock::now();
  auto fail = [self, rp, dir](const std::string& what) mutable {
    log_error("compactor: snapshot " + dir + ": " + what);
    (void)storage::remove_tree(dir);  // best effort: no half snapshot stays
    rp.deliver(admin_error("create snapshot: " + what));
    next(self);
  };
  auto done = [self, rp, name, dir, start](size_t blocks, bool head) mutable {
    if (auto st = storage::sync_dir(dir); !st) {
      rp.deliver(admin_error("create snapshot: " + st.message()));
      return next(self);
    }
    log_info("compactor: snapshot " + dir + ": " + std::to_string(blocks) + " blocks linked"
             + (head ? ", head written as a block" : "") + " in " + seconds_since(start));
    if (auto* m = self->state.opts.stats)
      m->snapshots.fetch_add(1, std::memory_order_relaxed);
    rp.deliver(name);
    next(self);
  };
  status st = storage::create_dir_if_missing(root);
  if (st)
    st = storage::create_dir_if_missing(dir);
  auto blocks = s.blocks->snapshot();
  for (size_t i = 0; st && i < blocks.size(); ++i)
    st = link_block(blocks[i]->dir(), dir + "/" + blocks[i]->meta().ulid);
  if (!st)
    return fail(st.message());
  if (skip_head)
    return done(blocks.size(), false);
  // The head's data (every shard's series, all of their samples) as one
  // block, [oldest, newest + 1), read in pages; nothing for an empty head.
  ask_shards<head_cursor>(
    self,
    [self, dir, fail, done, n = blocks.size()](std::vector<head_cursor>& cursors) mutable {
      int64_t mint = INT64_MAX;
      int64_t maxt = INT64_MIN;
      uint64_t listed = 0;
      for (const auto& c : cursors) {
        if (c.num_series == 0)
          continue;
        listed += c.num_series;
        mint = std::min(mint, c.mint);
        maxt = std::max(maxt, c.maxt);
      }
      if (listed == 0 || mint > maxt)
        return done(n, false);
      if (maxt == INT64_MAX)
        return fail("snapshot head block: a head sample at the largest timestamp cannot be put in a block");
      auto created = storage::block_writer::create(dir, storage::make_ulid(), mint, maxt + 1);
      if (!created)
        return fail("snapshot head block: " + created.error().message());
      std::shared_ptr<storage::block_writer> w = std::move(*created);
      read_pages(self, cursors, add_to(w), [w, fail, done, n](status st) mutable {
        auto meta = st ? w->finish() : storage::result<storage::block_meta>{st};
        if (!meta)
          return fail("snapshot head block: " + meta.error().message());
        done(n, true);
      });
    },
    [fail](const caf::error& err) mutable { fail("reading the head: " + to_string(err)); }, read_head_atom_v);
}

// Adds the deletion to the tombstones of every block it touches; returns
// how many blocks changed.
storage::result<uint64_t> delete_in_blocks(self_ptr self, const series_deletion& d) {
  auto& s = self->state;
  uint64_t changed = 0;
  for (const auto& b : s.blocks->overlapping(d.mint, d.maxt)) {
    auto ts = b->tombstones();
    bool added = false;
    for (const auto& ms : d.selectors) {
      auto ranges = b->deletion_ranges(ms, d.mint, d.maxt);
      if (!ranges)
        return ranges.error();
      for (const auto& [id, iv] : *ranges) {
        auto& xs = ts[id];
        auto before = xs;
        storage::add_interval(xs, iv);
        added = added || xs != before;
      }
    }
    if (!added)
      continue;
    if (auto st = storage::write_tombstones_file(b->dir(), ts); !st)
      return st;
    // The block with its new tombstones replaces the old object; queries
    // holding the old one finish with what they have.
    auto reopened = storage::block::open(b->dir());
    if (!reopened)
      return reopened.error();
    s.blocks->replace({b->meta().ulid}, {*reopened});
    changed += 1;
    log_info("compactor: block " + b->meta().ulid + ": tombstones for " + std::to_string(ts.size()) + " series");
  }
  return changed;
}

void delete_series(self_ptr self, series_deletion d, caf::typed_response_promise<uint64_t> rp) {
  // The head first: its shards log the deletion to the WAL before they
  // apply it.
  ask_shards<uint64_t>(
    self,
    [self, d, rp](std::vector<uint64_t>& deleted) mutable {
      uint64_t samples = 0;
      for (auto n : deleted)
        samples += n;
      auto blocks = delete_in_blocks(self, d);
      if (!blocks) {
        log_error("compactor: delete_series: " + blocks.error().message());
        rp.deliver(admin_error(blocks.error().message()));
        return next(self);
      }
      log_info("compactor: delete_series [" + std::to_string(d.mint) + ", " + std::to_string(d.maxt) + "]: "
               + std::to_string(samples) + " head samples deleted, " + std::to_string(*blocks)
               + " blocks got tombstones");
      if (auto* m = self->state.opts.stats)
        m->series_deletions.fetch_add(1, std::memory_order_relaxed);
      rp.deliver(*blocks);
      next(self);
    },
    [self, rp](const caf::error& err) mutable {
      log_error("compactor: delete_series in the head: " + to_string(err));
      rp.deliver(err);
      next(self);
    },
    delete_series_atom_v, d);
}

// Rewrites every block that has tombstones; returns how many.
storage::result<uint64_t> clean_tombstones(self_ptr self) {
  auto& s = self->state;
  auto dir = blocks_dir(s.opts.data_dir);
  uint64_t rewritten = 0;
  for (const auto& b : s.blocks->snapshot()) {
    if (b->tombstones().empty())
      continue;
    auto start = std::chrono::steady_clock::now();
    // A merge of the one block reads it through its tombstones; the new
    // block names it as its parent, so a crash before the old one is gone
    // still ends with the new one only (open_blocks).
    auto meta = storage::merge_blocks({b}, dir, storage::make_ulid());
    if (!meta)
      return meta.error();
    const auto& old = b->meta().ulid;
    if (meta->num_samples == 0) {
      if (auto st = storage::remove_tree(dir + "/" + meta->ulid); !st)
        return st;
      remove_blocks(self, {old}, "every sample deleted");
    } else {
      auto opened = storage::block::open(dir + "/" + meta->ulid);
      if (!opened)
        return opened.error();
      s.blocks->replace({}, {*opened});
      remove_blocks(self, {old}, "rewritten without its tombstones as " + meta->ulid);
    }
    rewritten += 1;
    log_info("compactor: block " + old + " cleaned of its tombstones in " + seconds_since(start));
  }
  if (auto* m = s.opts.stats) {
    m->blocks_loaded.store(static_cast<int64_t>(s.blocks->size()), std::memory_order_relaxed);
    m->block_bytes.store(static_cast<int64_t>(s.blocks->size_bytes()), std::memory_order_relaxed);
  }
  return rewritten;
}

}  // namespace

std::string snapshot_name(int64_t unix_ms, uint64_t random) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000 - (unix_ms % 1000 < 0 ? 1 : 0));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s-%016llx", when,
                static_cast<unsigned long long>(random & 0x7fffffffffffffffULL));
  return out;
}

std::string blocks_dir(const std::string& data_dir) { return data_dir + "/blocks"; }

std::chrono::milliseconds cut_check_interval(int64_t block_duration_ms) {
  return std::chrono::milliseconds(std::clamp<int64_t>(block_duration_ms / 60, 250, 60000));
}

compactor_actor::behavior_type compactor(self_ptr self, std::vector<head_block_actor> shards, wal_writer_actor wal,
                                         std::shared_ptr<storage::block_set> blocks, compactor_options opts,
                                         metadata_actor meta) {
  auto& s = self->state;
  s.shards = std::move(shards);
  s.wal = std::move(wal);
  s.meta = std::move(meta);
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
    [=](snapshot_atom, bool skip_head) -> caf::result<std::string> {
      auto rp = self->make_response_promise<std::string>();
      exclusive(self, [self, skip_head, rp] { snapshot(self, skip_head, rp); });
      return rp;
    },
    [=](delete_series_atom, const series_deletion& d) -> caf::result<uint64_t> {
      auto rp = self->make_response_promise<uint64_t>();
      exclusive(self, [self, d, rp] { delete_series(self, d, rp); });
      return rp;
    },
    [=](clean_tombstones_atom) -> caf::result<uint64_t> {
      auto rp = self->make_response_promise<uint64_t>();
      exclusive(self, [self, rp]() mutable {
        auto n = clean_tombstones(self);
        if (n) {
          if (auto* m = self->state.opts.stats)
            m->tombstone_cleanups.fetch_add(1, std::memory_order_relaxed);
          rp.deliver(*n);
        } else {
          log_error("compactor: clean_tombstones: " + n.error().message());
          rp.deliver(admin_error(n.error().message()));
        }
        next(self);
      });
      return rp;
    },
  };
}

}  // namespace nl::actors

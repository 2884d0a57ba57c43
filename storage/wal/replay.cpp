#include "storage/wal/replay.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <limits>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "storage/file.hpp"
#include "storage/head/shard.hpp"
#include "storage/label_key.hpp"
#include "storage/wal/checkpoint.hpp"
#include "storage/wal/records.hpp"
#include "storage/wal/segment_reader.hpp"

namespace nl::storage {

namespace {

std::string seconds_since(std::chrono::steady_clock::time_point started) {
  std::chrono::duration<double> d = std::chrono::steady_clock::now() - started;
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.2fs", d.count());
  return secs;
}

// What one replay_wal() call shares between its steps.
struct replay_state {
  const std::vector<std::shared_ptr<head>>& heads;
  const wal_replay_options& opts;
  wal_replay_stats stats;

  void info(const std::string& m) const {
    if (opts.info)
      opts.info(m);
  }
  void warn(const std::string& m) const {
    if (opts.warn)
      opts.warn(m);
  }
  uint64_t series() const {
    uint64_t n = 0;
    for (auto& h : heads)
      n += h->num_series();
    return n;
  }
};

// What the reading thread hands one shard at a time: one record's series
// or tombstones, or the samples of many records.
struct shard_batch {
  wal_record_type type = wal_record_type::samples;
  // A series record's entries: each key is `keys.substr(at, size)`.
  struct series_entry {
    uint64_t ref;
    uint64_t hash;
    size_t at;
    size_t size;
  };
  std::vector<series_entry> series;
  std::string keys;
  std::vector<sample_record> samples;
  std::vector<tombstone_record> stones;
  std::string where;  // names the record's file in errors
};

// Applies one shard's batches on a thread of its own, in the order they
// were pushed: a series' record, its samples and deletions all go to its
// shard, so each series sees the WAL's order, while the shards' appends
// (two hash lookups and an XOR append per sample, nearly all cache misses)
// run in parallel with each other and with the decoding.
class shard_worker {
 public:
  explicit shard_worker(head& h) : h_(h), thread_([this] { run(); }) {}
  ~shard_worker() {
    {
      std::lock_guard<std::mutex> g{m_};
      closing_ = true;
    }
    ready_.notify_one();
    thread_.join();
  }
  shard_worker(const shard_worker&) = delete;
  shard_worker& operator=(const shard_worker&) = delete;

  void push(shard_batch b) {
    std::unique_lock<std::mutex> l{m_};
    space_.wait(l, [this] { return queue_.size() < max_queued; });
    queue_.push_back(std::move(b));
    l.unlock();
    ready_.notify_one();
  }

  // Waits until every batch pushed is applied; the first error, if any.
  status drain() {
    std::unique_lock<std::mutex> l{m_};
    idle_.wait(l, [this] { return queue_.empty() && !busy_; });
    return error_;
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  // Samples stored, and samples of refs no series has; read after drain().
  uint64_t take_applied() { return std::exchange(applied_, 0); }
  uint64_t take_unknown() { return std::exchange(unknown_, 0); }

 private:
  // Bounds the batches waiting: up to 16 x 8192 samples (3 MiB) a shard.
  static constexpr size_t max_queued = 16;

  void run() {
    std::unique_lock<std::mutex> l{m_};
    while (true) {
      ready_.wait(l, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty())
        return;  // closing, everything applied
      auto b = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      l.unlock();
      space_.notify_one();
      auto st = apply(b);
      l.lock();
      busy_ = false;
      if (!st && error_) {
        error_ = st;
        failed_.store(true, std::memory_order_relaxed);
      }
      if (queue_.empty())
        idle_.notify_all();
    }
  }

  status apply(const shard_batch& b) {
    switch (b.type) {
      case wal_record_type::series: {
        // Each new series probes the label-hash slots, a cache miss at a
        // million series: fetched some series ahead.
        constexpr size_t ahead = 8;
        for (size_t i = 0; i < b.series.size(); ++i) {
          const auto& s = b.series[i];
          if (i + ahead < b.series.size())
            h_.prefetch_lookup(b.series[i + ahead].hash);
          if (auto st = h_.create_series_with_ref(s.ref, s.hash, std::string_view(b.keys).substr(s.at, s.size)); !st)
            return status::corruption(b.where + ": series ref " + std::to_string(s.ref) + ": " + st.message());
        }
        return status::ok();
      }
      case wal_record_type::tombstones:
        h_.delete_ranges(b.stones);
        return status::ok();
      default:
        return apply_samples(b.samples);
    }
  }

  // Nearly every sample is a different series, and each series a cache
  // miss: the lookups run back to back (their misses overlap), then each
  // series is fetched some samples ahead and its chunk's tail a few later,
  // as the live write path does.
  status apply_samples(const std::vector<sample_record>& xs) {
    constexpr size_t series_ahead = 8;
    constexpr size_t chunk_ahead = 4;
    slots_.clear();
    for (const auto& x : xs)
      slots_.push_back(h_.slot_of(x.ref));
    for (size_t i = 0; i < xs.size(); ++i) {
      if (i + series_ahead < xs.size() && slots_[i + series_ahead])
        h_.prefetch_series(*slots_[i + series_ahead]);
      if (i + chunk_ahead < xs.size() && slots_[i + chunk_ahead])
        h_.prefetch_chunk(*slots_[i + chunk_ahead]);
      if (!slots_[i])
        unknown_ += 1;
      else if (h_.append(*slots_[i], xs[i].t, xs[i].v))
        applied_ += 1;
    }
    return status::ok();
  }

  head& h_;
  std::vector<std::optional<head::series_slot>> slots_;  // apply_samples' scratch
  std::mutex m_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::condition_variable idle_;
  std::deque<shard_batch> queue_;
  bool busy_ = false;
  bool closing_ = false;
  status error_;
  std::atomic<bool> failed_{false};
  uint64_t applied_ = 0;  // by the worker thread only
  uint64_t unknown_ = 0;  // likewise
  std::thread thread_;    // last: starts when everything above exists
};

// Feeds WAL records into the heads. Series go to the shard of their label
// hash; samples follow their series' ref. Rejected samples are skipped
// silently, as Prometheus does on replay (they were rejected, or are
// duplicates of a retried request). This thread reads and decodes; one
// shard_worker per head applies. finish() waits for them: call it before
// reading the heads or the counts.
class record_applier {
 public:
  explicit record_applier(replay_state& rs) : rs_(rs), batches_(rs.heads.size()), pending_(rs.heads.size()) {
    for (size_t i = 0; i < rs_.heads.size(); ++i) {
      auto& h = rs_.heads[i];
      workers_.push_back(std::make_unique<shard_worker>(*h));
      floor_ = std::min(floor_, h->refuses_all_before());
      by_numbering_ = by_numbering_ && h->options().ref_start == 1 + i && h->options().ref_stride == rs_.heads.size();
    }
    if (rs_.heads.empty()) {
      floor_ = std::numeric_limits<int64_t>::min();
      by_numbering_ = false;
    }
    // Heads a snapshot filled: records name their series too. Usually
    // each shard numbers all of its refs; a ref another shard count
    // numbered (aliases, strays) needs the map, for every ref.
    for (const auto& h : rs_.heads)
      loaded_ = loaded_ || h->num_series() > 0;
    bool numbered = by_numbering_;
    for (size_t i = 0; i < rs_.heads.size() && numbered; ++i)
      rs_.heads[i]->for_each_ref([&](uint64_t ref) { numbered = numbered && numbered_shard(ref) == i; });
    if (!numbered)
      stop_numbering();
  }

  // `where` names the record's file in errors ("WAL segment 00000003");
  // `end` is the offset just after the record.
  status apply(std::string_view rec, const std::string& where, uint64_t end) {
    for (auto& w : workers_)
      if (w->failed())
        return finish();
    rs_.stats.records += 1;
    auto type = record_type(rec);
    if (!type)
      return status::corruption(where + " offset " + std::to_string(end) + ": " + type.error().message());
    if (*type == wal_record_type::series) {
      // Keys go to the head as the record holds them: no label set is
      // built (that took most of a checkpoint's replay).
      if (auto st = decode_series_keys(rec, series_); !st)
        return status::corruption(where + ": " + st.message());
      for (const auto& s : series_) {
        auto shard = shard_of(s.hash, rs_.heads.size());
        shard_of_ref_[s.ref] = shard;
        if (by_numbering_ && numbered_shard(s.ref) != shard)
          stop_numbering();
        max_ref_ = std::max(max_ref_, s.ref);
        auto& b = batches_[shard];
        b.series.push_back({s.ref, s.hash, b.keys.size(), s.key.size()});
        b.keys.append(s.key.data(), s.key.size());
      }
      series_.clear();  // its keys are views into `rec`
      return send(*type, where);
    }
    if (*type == wal_record_type::metadata) {
      // Independent of the series: applied here, in WAL order.
      if (auto st = decode_metadata_records(rec, metadata_); !st)
        return status::corruption(where + ": " + st.message());
      rs_.stats.metadata += metadata_.size();
      if (rs_.opts.metadata)
        for (const auto& m : metadata_)
          rs_.opts.metadata->apply(m);
      return status::ok();
    }
    if (*type == wal_record_type::tombstones) {
      // Deletions (admin API): they apply to what was replayed before them.
      if (auto st = decode_tombstone_records(rec, stones_); !st)
        return status::corruption(where + ": " + st.message());
      for (auto& s : stones_) {
        if (by_numbering_) {
          batches_[numbered_shard(s.ref)].stones.push_back(s);  // an unknown ref: the head skips it
          continue;
        }
        auto it = shard_of_ref_.find(s.ref);
        if (it != shard_of_ref_.end())
          batches_[it->second].stones.push_back(s);
      }
      return send(*type, where);
    }
    samples_.clear();
    if (auto st = decode_samples(rec, samples_); !st)
      return status::corruption(where + ": " + st.message());
    for (auto& s : samples_) {
      // Segments that straddle the last cut hold samples the blocks have
      // (or retention dropped): the heads would refuse them after a lookup
      // each, a cache miss per sample.
      if (s.t < floor_) {
        below_floor_ += 1;
        continue;
      }
      size_t shard;
      if (by_numbering_) {
        shard = numbered_shard(s.ref);  // an unknown ref: the worker skips it
      } else {
        auto it = shard_of_ref_.find(s.ref);
        if (it == shard_of_ref_.end()) {
          unknown_refs_ += 1;
          continue;
        }
        shard = it->second;
      }
      pending_[shard].push_back(s);
      if (pending_[shard].size() >= samples_per_batch)
        push_samples(shard);
    }
    return status::ok();
  }

  // Waits until every record passed is applied; counts the samples stored.
  status finish() {
    for (size_t i = 0; i < pending_.size(); ++i)
      push_samples(i);
    status first;
    for (auto& w : workers_) {
      auto st = w->drain();
      rs_.stats.samples += w->take_applied();
      unknown_refs_ += w->take_unknown();
      if (!st && first)
        first = st;
    }
    return first;
  }

  uint64_t max_ref() const { return max_ref_; }
  uint64_t below_floor() const { return below_floor_; }
  uint64_t unknown_refs() const { return unknown_refs_; }

 private:
  // The shard whose numbering hands out `ref` (head_options::ref_start
  // and ref_stride as start-up sets them).
  size_t numbered_shard(uint64_t ref) const {
    size_t n = rs_.heads.size();
    return (n & (n - 1)) == 0 ? (ref - 1) & (n - 1) : (ref - 1) % n;
  }

  // From now on records find their shard in shard_of_ref_, which has
  // every series replayed so far. Series the heads held before the replay
  // (a snapshot's) are added, once the workers are idle.
  void stop_numbering() {
    by_numbering_ = false;
    if (!loaded_)
      return;
    for (auto& w : workers_)
      (void)w->drain();  // an error stays with the worker: finish() reports it
    for (size_t i = 0; i < rs_.heads.size(); ++i)
      rs_.heads[i]->for_each_ref([&](uint64_t ref) { shard_of_ref_.emplace(ref, i); });
    loaded_ = false;
  }

  // A record holds a few hundred samples, a hundred or so per shard: one
  // hand-off each left the workers waking and sleeping around every few
  // microseconds of work. Samples wait until their shard has this many,
  // or until a series or tombstones record for that shard (which applies
  // after them) or the end comes.
  static constexpr size_t samples_per_batch = 8192;

  // Hands each shard its part of a series or tombstones record, after the
  // samples waiting for it.
  status send(wal_record_type type, const std::string& where) {
    for (size_t i = 0; i < batches_.size(); ++i) {
      auto& b = batches_[i];
      if (b.series.empty() && b.stones.empty())
        continue;
      push_samples(i);
      if (type == wal_record_type::series)
        b.where = where;
      b.type = type;
      workers_[i]->push(std::move(b));
      b = shard_batch{};
    }
    return status::ok();
  }

  void push_samples(size_t shard) {
    if (pending_[shard].empty())
      return;
    shard_batch b;
    b.type = wal_record_type::samples;
    b.samples.swap(pending_[shard]);
    workers_[shard]->push(std::move(b));
  }

  replay_state& rs_;
  std::unordered_map<uint64_t, size_t> shard_of_ref_;
  // Every series so far is in the shard that numbers its ref (the shard
  // count is the one that wrote the WAL): samples go there without a
  // lookup in shard_of_ref_, a sixth of this thread's time at 1 M series.
  bool by_numbering_ = true;
  bool loaded_ = false;  // the heads held series before the replay, not in shard_of_ref_ yet
  std::vector<series_key_record> series_;
  std::vector<sample_record> samples_;
  std::vector<tombstone_record> stones_;
  std::vector<metadata_record> metadata_;
  std::vector<shard_batch> batches_;                // a series or tombstones record's, by shard
  std::vector<std::vector<sample_record>> pending_;  // samples waiting, by shard
  uint64_t max_ref_ = 0;
  uint64_t unknown_refs_ = 0;
  int64_t floor_ = std::numeric_limits<int64_t>::max();
  uint64_t below_floor_ = 0;
  std::vector<std::unique_ptr<shard_worker>> workers_;  // last: destroyed (joined) first
};

// Replays the newest checkpoint `n`. It was complete and synced before it
// got its name, so any damage is a hard error, --wal-repair or not: the
// segments it replaced are gone.
status replay_checkpoint(const std::string& wal_dir, uint64_t n, record_applier& apply, replay_state& rs) {
  auto name = wal_checkpoint_name(n);
  rs.info("wal: replaying checkpoint " + name);
  auto started = std::chrono::steady_clock::now();
  auto records_before = rs.stats.records;
  auto samples_before = rs.stats.samples;
  uint64_t segment = 0;
  std::string where;
  auto st = read_wal_checkpoint(wal_dir, n, [&](std::string_view rec, wal_position end) {
    if (end.segment != segment) {
      segment = end.segment;
      where = "WAL checkpoint " + name + " segment " + wal_segment_name(segment);
    }
    return apply.apply(rec, where, end.offset);
  });
  if (auto applied = apply.finish(); st && !applied)
    st = applied;
  if (!st && st.error_code() == status::code::corruption)
    return status::corruption(st.message()
                              + "; --wal-repair does not repair checkpoints (the segments they replaced are gone)");
  if (!st)
    return st;
  rs.info("wal: checkpoint " + name + " replayed: " + std::to_string(rs.stats.records - records_before)
          + " records, " + std::to_string(rs.series()) + " series, "
          + std::to_string(rs.stats.samples - samples_before) + " samples in " + seconds_since(started));
  return status::ok();
}

// After checkpoint `n`, the first segment must be n + 1 (the writer had
// created it before the checkpoint was written). A later one means lost
// records: corruption, or with --wal-repair, everything after the checkpoint
// is deleted, newest first like wal_repair().
status check_first_segment_after(const std::string& wal_dir, uint64_t n, const replay_state& rs) {
  auto segments = list_wal_segments(wal_dir);
  if (!segments)
    return segments.error();
  if (segments->empty() || segments->front() == n + 1)
    return status::ok();
  auto what = "WAL segment " + wal_segment_name(n + 1) + " offset 0: segment is missing (after "
              + wal_checkpoint_name(n) + ", next is " + wal_segment_name(segments->front()) + ")";
  if (!rs.opts.repair)
    return status::corruption(what + "; the WAL is damaged before its end. Start with --wal-repair to delete the "
                                     "segments after the checkpoint (their records are lost)");
  uint64_t dropped = 0;
  for (auto it = segments->rbegin(); it != segments->rend(); ++it) {
    auto path = wal_segment_path(wal_dir, *it);
    auto size = file_size(path);
    if (!size)
      return size.error();
    if (auto st = remove_file(path); !st)
      return st;
    dropped += *size;
  }
  if (auto st = sync_dir(wal_dir); !st)
    return st;
  rs.warn("wal: --wal-repair: " + what + "; deleted " + std::to_string(segments->size())
          + " segments after the checkpoint, dropped " + std::to_string(dropped) + " bytes");
  return status::ok();
}

}  // namespace

status start_wal_progress(const std::string& wal_dir, wal_replay_progress& progress, uint64_t from_segment) {
  auto checkpoint = latest_wal_checkpoint(wal_dir);
  if (!checkpoint)
    return checkpoint.error();
  // From the checkpoint (or first segment) to the segment the writer
  // will open: one past every segment and checkpoint (wal_segment_writer).
  auto segments = list_wal_segments(wal_dir);
  if (!segments)
    return segments.error();
  uint64_t next = next_wal_segment(*segments, *checkpoint);
  uint64_t first = from_segment  ? from_segment
                   : *checkpoint ? **checkpoint
                   : segments->empty() ? next
                                       : segments->front();
  progress.start(static_cast<int64_t>(first), static_cast<int64_t>(next));
  return status::ok();
}

// Leftovers of an interrupted checkpoint are removed first, so nothing is
// read twice.
result<wal_replay_stats> replay_wal(const std::string& wal_dir, const std::vector<std::shared_ptr<head>>& heads,
                                    const wal_replay_options& opts) {
  replay_state rs{heads, opts, {}};
  auto* progress = opts.progress;
  if (auto st = remove_obsolete_wal_files(wal_dir); !st)
    return st;
  auto checkpoint = latest_wal_checkpoint(wal_dir);
  if (!checkpoint)
    return checkpoint.error();
  if (progress)
    if (auto st = start_wal_progress(wal_dir, *progress, opts.from_segment); !st)
      return st;
  auto started = std::chrono::steady_clock::now();
  record_applier apply{rs};
  uint64_t first_segment = opts.from_segment;
  if (first_segment != 0) {
    rs.info("wal: replaying the segments after the head snapshot, from " + wal_segment_name(first_segment));
  } else if (*checkpoint) {
    if (auto st = replay_checkpoint(wal_dir, **checkpoint, apply, rs); !st)
      return st;
    if (progress)
      progress->read(static_cast<int64_t>(**checkpoint));
    if (auto st = check_first_segment_after(wal_dir, **checkpoint, rs); !st)
      return st;
    first_segment = **checkpoint + 1;
  }
  auto reader = wal_segment_reader::open(wal_dir, first_segment);
  if (!reader)
    return reader.error();
  auto& r = **reader;
  uint64_t current_segment = 0;
  std::string where;
  while (r.next()) {
    auto seg = r.position().segment;
    if (seg != current_segment) {
      if (progress && current_segment != 0)
        progress->read(static_cast<int64_t>(current_segment));  // read to its end
      current_segment = seg;
      where = "WAL segment " + wal_segment_name(seg);
      rs.info("wal: replaying segment " + wal_segment_name(seg));
    }
    if (auto st = apply.apply(r.record(), where, r.position().offset); !st)
      return st;
  }
  if (auto st = apply.finish(); !st)
    return st;
  if (progress && current_segment != 0)
    progress->read(static_cast<int64_t>(current_segment));
  const auto& sum = r.summary();
  using outcome = wal_replay_result::outcome;
  if (apply.unknown_refs() > 0)
    rs.warn("wal: skipped " + std::to_string(apply.unknown_refs()) + " samples of unknown series");
  switch (sum.state) {
    case outcome::clean:
      break;
    case outcome::torn_tail: {
      auto dropped = wal_truncate_at(wal_dir, sum.last_good);
      if (!dropped)
        return dropped.error();
      rs.warn("wal: torn tail (" + sum.error.message() + "); truncated segment "
              + wal_segment_name(sum.last_good.segment) + " at offset " + std::to_string(sum.last_good.offset)
              + ", dropped " + std::to_string(*dropped) + " bytes");
      break;
    }
    case outcome::corrupt: {
      if (!opts.repair)
        return status::corruption(sum.error.message()
                                  + "; the WAL is damaged before its end. Start with --wal-repair to cut it at "
                                    "this point (records after it are lost)");
      auto dropped = wal_repair(wal_dir, sum.last_good);
      if (!dropped)
        return dropped.error();
      rs.warn("wal: --wal-repair: " + sum.error.message() + "; cut at segment "
              + wal_segment_name(sum.last_good.segment) + " offset " + std::to_string(sum.last_good.offset)
              + ", dropped " + std::to_string(*dropped) + " bytes");
      break;
    }
    case outcome::io_error:
      return sum.error;
  }
  for (auto& h : heads)
    h->bump_next_ref(apply.max_ref());
  rs.info("wal: replay done: " + std::to_string(rs.stats.records) + " records, " + std::to_string(rs.series())
          + " series, " + std::to_string(rs.stats.samples) + " samples, " + std::to_string(rs.stats.metadata)
          + " metadata entries in " + seconds_since(started)
          + (apply.below_floor() ? " (" + std::to_string(apply.below_floor()) + " samples below the newest block skipped)"
                                 : std::string{}));
  return rs.stats;
}


}  // namespace nl::storage

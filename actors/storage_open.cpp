#include "actors/storage_open.hpp"

#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "actors/log.hpp"
#include "storage/block/open_blocks.hpp"
#include "storage/chunk/chunk_files.hpp"
#include "storage/file.hpp"
#include "storage/head/head_snapshot.hpp"
#include "storage/wal/checkpoint.hpp"

namespace nl::actors {

namespace {

std::string seconds_since(std::chrono::steady_clock::time_point started) {
  std::chrono::duration<double> d = std::chrono::steady_clock::now() - started;
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.2fs", d.count());
  return secs;
}

}  // namespace

storage::result<opened_storage> open_storage(const settings& cfg, size_t num_shards, bool repair,
                                             storage::wal_replay_progress* progress) {
  opened_storage out;
  const auto& dir = cfg.storage.data_dir;
  if (auto st = storage::create_dir_if_missing(dir); !st)
    return st;
  auto lock = storage::data_dir_lock::acquire(dir);
  if (!lock)
    return lock.error();
  out.lock = std::move(*lock);
  // The blocks open on a thread of their own while the head snapshot
  // loads: each checks its index's checksums, which at 1 M series took
  // ~50 ms before the load could start. The snapshot says which newest
  // block it was taken with; that is checked once both are done.
  const auto started = std::chrono::steady_clock::now();
  std::optional<storage::result<storage::opened_blocks>> blocks;
  std::exception_ptr blocks_threw;  // rethrown on this thread (bad_alloc)
  std::string blocks_took;
  auto open_blocks = [&] {
    try {
      blocks.emplace(storage::open_blocks(dir + "/blocks"));
    } catch (...) {
      blocks_threw = std::current_exception();
    }
    blocks_took = seconds_since(started);
  };
  std::thread opener;
  try {
    opener = std::thread(open_blocks);
  } catch (const std::system_error&) {  // no thread to be had: open them here
    open_blocks();
  }
  struct join_on_exit {
    std::thread& t;
    ~join_on_exit() {
      if (t.joinable())
        t.join();
    }
  } joiner{opener};
  // The blocks as opened, and what the WAL may no longer add to (what the
  // blocks hold is not taken again from the WAL).
  int64_t floor = INT64_MIN;
  auto take_blocks = [&]() -> storage::status {
    if (opener.joinable())
      opener.join();
    if (blocks_threw)
      std::rethrow_exception(blocks_threw);
    if (!*blocks)
      return blocks->error();
    for (const auto& n : (*blocks)->notes)
      log_info("blocks: " + n);
    for (const auto& c : (*blocks)->corrupted)
      log_error("blocks: damaged block " + c);
    out.corrupted_blocks = (*blocks)->corrupted.size();
    out.blocks = std::make_shared<storage::block_set>(std::move((*blocks)->blocks));
    floor = out.blocks->max_time();
    log_info("blocks: " + std::to_string(out.blocks->size()) + " opened ("
             + std::to_string(out.blocks->size_bytes()) + " bytes) in " + blocks_took
             + (floor == INT64_MIN ? std::string{} : ", newest ends at " + std::to_string(floor)));
    return storage::status::ok();
  };
  // Closed head chunks' bytes live in files there, one directory per shard
  // (storage/chunk/chunk_files.hpp); in memory when that fails.
  const auto chunks_dir = dir + "/" + storage::head_chunks_dir;
  // Everything an earlier run left there goes first, shards beyond today's
  // count included: the files are scratch.
  bool chunk_files_ok = true;
  storage::status chunks_st = storage::remove_tree(chunks_dir);
  if (chunks_st)
    chunks_st = storage::create_dir_if_missing(chunks_dir);
  if (!chunks_st) {
    log_warn("head chunks: " + chunks_st.message() + "; closed chunks stay in memory");
    chunk_files_ok = false;
  }
  auto fresh_heads = [&] {
    out.heads.clear();
    for (size_t i = 0; i < num_shards; ++i) {
      storage::head_options ho;
      ho.ref_start = 1 + i;
      ho.ref_stride = num_shards;
      ho.out_of_bounds_window_ms = cfg.storage.out_of_bounds_window_ms;
      // Chunks never span a block boundary, so a cut takes whole chunks.
      ho.chunk_range_ms = cfg.storage.effective_block_duration_ms();
      ho.ooo_window_ms = cfg.storage.out_of_order_window_ms;
      // A client's retry of a write some replicas stored must not be a 400.
      ho.stored_duplicates_ok = cfg.cluster.enabled();
      auto h = std::make_shared<storage::head>(ho);
      if (chunk_files_ok) {
        auto files = storage::chunk_files::open(chunks_dir + "/" + std::to_string(i));
        if (files)
          h->use_chunk_files(std::move(*files));
        else
          log_warn("head chunks: " + files.error().message() + "; shard " + std::to_string(i)
                   + " keeps its closed chunks in memory");
      }
      out.heads.push_back(std::move(h));
    }
    storage::metadata_store_options mo;
    mo.max_bytes = cfg.storage.max_metadata_bytes;
    out.metadata = std::make_shared<storage::metadata_store>(mo);
  };
  fresh_heads();
  auto wal_dir = dir + "/wal";
  auto has_wal = storage::path_exists(wal_dir);
  if (!has_wal)
    return has_wal.error();
  // A head snapshot (storage/head/head_snapshot.hpp) stands for the
  // replay of the WAL it was taken of: the WAL is replayed only from the
  // first segment written after it, if any (a crash since a start that
  // loaded it).
  bool from_snapshot = false;
  uint64_t replay_from = 0;
  const auto snapshot_path = dir + "/" + storage::head_snapshot_file;
  auto drop_snapshot = [&dir] {
    if (auto st = storage::remove_head_snapshot(dir); !st)
      log_warn("wal: " + st.message());
  };
  // Without a WAL a snapshot stands for nothing; with snapshots turned off
  // none is read (nor kept: it would be read again once they are on).
  if (!*has_wal || !cfg.storage.snapshot_on_shutdown)
    drop_snapshot();
  if (*has_wal && !repair && cfg.storage.snapshot_on_shutdown) {
    auto load_started = std::chrono::steady_clock::now();
    auto fingerprint = storage::wal_fingerprint(wal_dir);
    auto loaded = fingerprint ? storage::read_head_snapshot(snapshot_path, out.heads, *out.metadata, *fingerprint)
                              : storage::result<storage::head_snapshot_loaded>{fingerprint.error()};
    auto load_took = seconds_since(load_started);
    if (auto st = take_blocks(); !st)
      return st;
    if (loaded && loaded->blocks_end != floor)
      loaded = storage::status::invalid_argument("head snapshot taken with other blocks");
    if (loaded) {
      from_snapshot = true;
      replay_from = loaded->replay_from;
      out.samples_replayed = loaded->samples;
      log_info(std::string{replay_from ? "wal: head snapshot loaded, the WAL segments written after it follow: "
                                       : "wal: head snapshot loaded instead of the WAL replay: "}
               + std::to_string(loaded->series) + " series, " + std::to_string(loaded->samples) + " samples, "
               + std::to_string(loaded->bytes) + " bytes in " + load_took);
      if (!replay_from) {
        if (auto st = storage::remove_obsolete_wal_files(wal_dir); !st)
          return st;
        if (progress) {
          if (auto st = storage::start_wal_progress(wal_dir, *progress); !st)
            return st;
          progress->read(progress->get().max - 1);
        }
      }
    } else if (loaded.error().error_code() != storage::status::code::not_found) {
      log_info("wal: head snapshot not used (" + loaded.error().message() + "); replaying the WAL");
      fresh_heads();
      // It will not match later either (the WAL only gains segments): not
      // read again at every start.
      drop_snapshot();
    }
  }
  if (!out.blocks)  // no snapshot was read
    if (auto st = take_blocks(); !st)
      return st;
  if (floor != INT64_MIN)
    for (auto& h : out.heads)
      h->raise_min_valid_time(floor);
  // A stop killed while writing one leaves the temp file: never read.
  // (".old": what earlier versions renamed a snapshot to once read.)
  for (const char* suffix : {".tmp", ".old"}) {
    auto left = storage::path_exists(snapshot_path + suffix);
    if (left && *left)
      if (auto st = storage::remove_file(snapshot_path + suffix); !st)
        log_warn("wal: " + st.message());
  }
  if (*has_wal && (!from_snapshot || replay_from != 0)) {
    storage::wal_replay_options ro;
    ro.repair = repair;
    ro.from_segment = replay_from;
    ro.progress = progress;
    ro.info = log_info;
    ro.warn = log_warn;
    ro.metadata = out.metadata.get();
    auto replayed = storage::replay_wal(wal_dir, out.heads, ro);
    if (!replayed)
      return replayed.error();
    out.records_replayed = replayed->records;
    out.samples_replayed += replayed->samples;
  } else if (!*has_wal) {
    log_info("wal: no WAL in " + dir + ", starting empty");
  }
  // A server stopped for longer than the retention time does not show
  // metadata of families nobody has sent since (checkpoints apply the same).
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  out.metadata->expire_before(now_ms - cfg.storage.effective_retention_ms());
  auto w = storage::wal_segment_writer::open(wal_dir, uint64_t{cfg.storage.wal_segment_size_mb} << 20);
  if (!w)
    return w.error();
  out.wal = std::shared_ptr<storage::wal_segment_writer>(std::move(*w));
  if (progress)
    progress->finish(static_cast<int64_t>(out.wal->position().segment));
  log_info("wal: writing segment " + storage::wal_segment_name(out.wal->position().segment) + " in " + wal_dir);
  return out;
}

void write_head_snapshot(const settings& cfg, const std::vector<std::shared_ptr<storage::head>>& heads,
                         const storage::metadata_store& metadata, const storage::block_set& blocks) {
  auto started = std::chrono::steady_clock::now();
  const auto& dir = cfg.storage.data_dir;
  const int64_t floor = blocks.max_time();
  if (cfg.storage.out_of_order_window_ms == 0 && floor != INT64_MIN)
    for (const auto& h : heads)
      if (h->num_series() > 0 && h->min_time() < floor) {
        log_info("head snapshot: not written, the head still holds samples of the newest block");
        return;
      }
  auto fingerprint = storage::wal_fingerprint(dir + "/wal");
  auto st = fingerprint ? storage::write_head_snapshot(dir + "/" + storage::head_snapshot_file, heads, metadata,
                                                       *fingerprint, floor)
                        : fingerprint.error();
  if (!st) {
    log_warn("head snapshot: not written: " + st.message() + "; the next start replays the WAL");
    return;
  }
  auto size = storage::file_size(dir + "/" + storage::head_snapshot_file);
  log_info("head snapshot: written (" + (size ? std::to_string(*size) : std::string{"?"}) + " bytes) in "
           + seconds_since(started));
}

}  // namespace nl::actors

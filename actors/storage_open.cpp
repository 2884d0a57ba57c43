#include "actors/storage_open.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <utility>

#include "actors/log.hpp"
#include "storage/block/open_blocks.hpp"
#include "storage/file.hpp"

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
  auto started = std::chrono::steady_clock::now();
  auto blocks = storage::open_blocks(dir + "/blocks");
  if (!blocks)
    return blocks.error();
  for (const auto& n : blocks->notes)
    log_info("blocks: " + n);
  for (const auto& c : blocks->corrupted)
    log_error("blocks: damaged block " + c);
  out.corrupted_blocks = blocks->corrupted.size();
  out.blocks = std::make_shared<storage::block_set>(std::move(blocks->blocks));
  // What the blocks hold is not taken again from the WAL.
  const int64_t floor = out.blocks->max_time();
  log_info("blocks: " + std::to_string(out.blocks->size()) + " opened ("
           + std::to_string(out.blocks->size_bytes()) + " bytes) in " + seconds_since(started)
           + (floor == INT64_MIN ? std::string{} : ", newest ends at " + std::to_string(floor)));
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
    if (floor != INT64_MIN)
      h->raise_min_valid_time(floor);
    out.heads.push_back(std::move(h));
  }
  storage::metadata_store_options mo;
  mo.max_bytes = cfg.storage.max_metadata_bytes;
  out.metadata = std::make_shared<storage::metadata_store>(mo);
  auto wal_dir = dir + "/wal";
  auto has_wal = storage::path_exists(wal_dir);
  if (!has_wal)
    return has_wal.error();
  if (*has_wal) {
    storage::wal_replay_options ro;
    ro.repair = repair;
    ro.progress = progress;
    ro.info = log_info;
    ro.warn = log_warn;
    ro.metadata = out.metadata.get();
    auto replayed = storage::replay_wal(wal_dir, out.heads, ro);
    if (!replayed)
      return replayed.error();
    out.records_replayed = replayed->records;
    out.samples_replayed = replayed->samples;
  } else {
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

}  // namespace nl::actors

#include "actors/storage_open.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <unordered_map>

#include "actors/log.hpp"
#include "storage/wal_records.hpp"
#include "storage/wal_segment_reader.hpp"

namespace nl::actors {

namespace {

using storage::status;

status make_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST)
    return status::ok();
  return status::io_error("mkdir " + dir + ": " + std::strerror(errno));
}

storage::result<int> lock_dir(const std::string& dir) {
  auto path = dir + "/LOCK";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return status::io_error("open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return status::io_error("data directory " + dir + " is in use by another process (" + path + " is locked)");
  }
  return fd;
}

bool dir_exists(const std::string& dir) {
  struct stat st;
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Feeds every record of the WAL into the heads. Series go to the shard of
// their label hash; samples follow their series' ref. Rejected samples are
// skipped silently, as Prometheus does on replay (they were rejected, or
// are duplicates of a retried request).
status replay(const std::string& wal_dir, bool repair, opened_storage& out) {
  auto reader = storage::wal_segment_reader::open(wal_dir);
  if (!reader)
    return reader.error();
  auto& r = **reader;
  auto n = out.heads.size();
  std::unordered_map<uint64_t, size_t> shard_of_ref;
  std::vector<storage::series_record> series;
  std::vector<storage::sample_record> samples;
  uint64_t max_ref = 0;
  uint64_t unknown_refs = 0;
  uint64_t current_segment = 0;
  auto started = std::chrono::steady_clock::now();
  while (r.next()) {
    auto seg = r.position().segment;
    if (seg != current_segment) {
      current_segment = seg;
      log_info("wal: replaying segment " + storage::wal_segment_name(seg));
    }
    out.records_replayed += 1;
    auto rec = r.record();
    auto type = storage::record_type(rec);
    if (!type)
      return status::corruption("WAL segment " + storage::wal_segment_name(seg) + " offset "
                                + std::to_string(r.position().offset) + ": " + type.error().message());
    if (*type == storage::wal_record_type::series) {
      series.clear();
      if (auto st = storage::decode_series(rec, series); !st)
        return status::corruption("WAL segment " + storage::wal_segment_name(seg) + ": " + st.message());
      for (auto& s : series) {
        auto shard = shard_of(s.labels.hash(), n);
        if (auto st = out.heads[shard]->create_series_with_ref(s.ref, s.labels); !st)
          return status::corruption("WAL segment " + storage::wal_segment_name(seg) + ": series ref "
                                    + std::to_string(s.ref) + ": " + st.message());
        shard_of_ref[s.ref] = shard;
        max_ref = std::max(max_ref, s.ref);
      }
    } else {
      samples.clear();
      if (auto st = storage::decode_samples(rec, samples); !st)
        return status::corruption("WAL segment " + storage::wal_segment_name(seg) + ": " + st.message());
      for (auto& s : samples) {
        auto it = shard_of_ref.find(s.ref);
        if (it == shard_of_ref.end()) {
          unknown_refs += 1;
          continue;
        }
        if (out.heads[it->second]->append(s.ref, s.t, s.v))
          out.samples_replayed += 1;
      }
    }
  }
  const auto& sum = r.summary();
  using outcome = storage::wal_replay_result::outcome;
  if (unknown_refs > 0)
    log_warn("wal: skipped " + std::to_string(unknown_refs) + " samples of unknown series");
  switch (sum.state) {
    case outcome::clean:
      break;
    case outcome::torn_tail: {
      auto dropped = storage::wal_truncate_at(wal_dir, sum.last_good);
      if (!dropped)
        return dropped.error();
      log_warn("wal: torn tail (" + sum.error.message() + "); truncated segment "
               + storage::wal_segment_name(sum.last_good.segment) + " at offset "
               + std::to_string(sum.last_good.offset) + ", dropped " + std::to_string(*dropped) + " bytes");
      break;
    }
    case outcome::corrupt: {
      if (!repair)
        return status::corruption(sum.error.message()
                                  + "; the WAL is damaged before its end. Start with --wal-repair to cut it at "
                                    "this point (records after it are lost)");
      auto dropped = storage::wal_repair(wal_dir, sum.last_good);
      if (!dropped)
        return dropped.error();
      log_warn("wal: --wal-repair: " + sum.error.message() + "; cut at segment "
               + storage::wal_segment_name(sum.last_good.segment) + " offset "
               + std::to_string(sum.last_good.offset) + ", dropped " + std::to_string(*dropped) + " bytes");
      break;
    }
    case outcome::io_error:
      return sum.error;
  }
  for (auto& h : out.heads)
    h->bump_next_ref(max_ref);
  std::chrono::duration<double> d = std::chrono::steady_clock::now() - started;
  uint64_t nseries = 0;
  for (auto& h : out.heads)
    nseries += h->num_series();
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.2fs", d.count());
  log_info("wal: replay done: " + std::to_string(out.records_replayed) + " records, "
           + std::to_string(nseries) + " series, " + std::to_string(out.samples_replayed) + " samples in " + secs);
  return status::ok();
}

}  // namespace

storage::result<opened_storage> open_storage(const settings& cfg, size_t num_shards, bool repair) {
  opened_storage out;
  const auto& dir = cfg.storage.data_dir;
  if (auto st = make_dir(dir); !st)
    return st;
  auto fd = lock_dir(dir);
  if (!fd)
    return fd.error();
  out.lock_fd = *fd;
  for (size_t i = 0; i < num_shards; ++i) {
    storage::head_options ho;
    ho.ref_start = 1 + i;
    ho.ref_stride = num_shards;
    ho.out_of_bounds_window_ms = cfg.storage.out_of_bounds_window_ms;
    out.heads.push_back(std::make_shared<storage::head>(ho));
  }
  auto wal_dir = dir + "/wal";
  if (dir_exists(wal_dir)) {
    if (auto st = replay(wal_dir, repair, out); !st) {
      ::close(out.lock_fd);
      return st;
    }
  } else {
    log_info("wal: no WAL in " + dir + ", starting empty");
  }
  auto w = storage::wal_segment_writer::open(wal_dir, uint64_t{cfg.storage.wal_segment_size_mb} << 20);
  if (!w) {
    ::close(out.lock_fd);
    return w.error();
  }
  out.wal = std::shared_ptr<storage::wal_segment_writer>(std::move(*w));
  log_info("wal: writing segment " + storage::wal_segment_name(out.wal->position().segment) + " in " + wal_dir);
  return out;
}

}  // namespace nl::actors

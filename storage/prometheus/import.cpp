// import_prometheus: Prometheus blocks in, Nightlight blocks out.
//
// First every source block is opened (meta.json, the index's TOC and
// symbols, the chunk segment headers, tombstones), so that an unsupported
// or visibly damaged block stops the import before anything is written.
// Then each block, oldest first, is streamed series by series into a
// block_writer: XOR chunks are copied as they are unless a tombstone
// deletes some of their samples (then they are decoded, filtered and
// re-encoded), histogram chunks are counted and left out.
#include "storage/prometheus/import.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <memory>

#include "storage/block/ulid.hpp"
#include "storage/block/writer.hpp"
#include "storage/file.hpp"
#include "storage/prometheus/chunk_reader.hpp"
#include "storage/prometheus/format.hpp"
#include "storage/prometheus/index_reader.hpp"
#include "storage/prometheus/meta.hpp"
#include "storage/prometheus/tombstones.hpp"
#include "storage/chunk/xor_chunk.hpp"

namespace nl::storage {

namespace pfmt = prometheus_format;

namespace {

using log_fn = std::function<void(const std::string&)>;

struct source_block {
  std::string dir;
  prometheus_block_meta meta;
  std::unique_ptr<prometheus_index_reader> index;
  std::unique_ptr<prometheus_chunk_reader> chunks;
  prometheus_tombstones tombstones;
};

std::string join(const std::string& dir, std::string_view name) { return dir + "/" + std::string{name}; }

std::string range_text(int64_t mint, int64_t maxt) {
  return "[" + std::to_string(mint) + ", " + std::to_string(maxt) + "]";
}

// The real path of `p`, or "" when it does not exist.
std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string{buf} : std::string{};
}

result<source_block> open_block(const std::string& dir) {
  source_block b;
  b.dir = dir;
  auto meta = read_prometheus_block_meta(dir);
  if (!meta)
    return meta.error();
  b.meta = std::move(*meta);
  auto index = prometheus_index_reader::open(join(dir, pfmt::index_file));
  if (!index)
    return index.error();
  b.index = std::move(*index);
  auto chunks = prometheus_chunk_reader::open(join(dir, pfmt::chunks_dir));
  if (!chunks)
    return chunks.error();
  b.chunks = std::move(*chunks);
  auto tomb = prometheus_tombstones::read(join(dir, pfmt::tombstones_file));
  if (!tomb)
    return tomb.error();
  b.tombstones = std::move(*tomb);
  return b;
}

// The block directories to import: `dir` itself when it holds a meta.json,
// else its entries named like a ULID (wal/, chunks_head/, lock,
// queries.active, *.tmp-for-* leftovers and anything else are skipped).
result<std::vector<std::string>> find_block_dirs(const std::string& dir, const log_fn& log) {
  auto single = path_exists(join(dir, pfmt::meta_file));
  if (!single)
    return single.error();
  if (*single)
    return std::vector<std::string>{dir};
  auto names = list_dir(dir);
  if (!names)
    return status::invalid_argument("cannot read the Prometheus data dir: " + names.error().message());
  std::vector<std::string> out;
  for (const auto& n : *names) {
    if (n == "wal" && log)
      log("note: " + join(dir, n) + " holds Prometheus' newest samples, not yet cut into a block; they are "
          "not imported");
    if (!is_ulid(n))
      continue;
    auto has_meta = path_exists(join(join(dir, n), pfmt::meta_file));
    if (!has_meta)
      return has_meta.error();
    if (!*has_meta)
      return status::corruption(join(dir, n) + ": named like a block but has no meta.json");
    out.push_back(join(dir, n));
  }
  if (out.empty())
    return status::not_found("no Prometheus blocks in " + dir
                             + " (expected <ULID>/meta.json directories, or a block directory)");
  return out;
}

// `c` without the samples inside `deleted`: `c` itself when no range
// touches it, nullptr when nothing is left.
result<std::shared_ptr<const xor_chunk>> without_deleted(std::shared_ptr<const xor_chunk> c,
                                                         const std::vector<prometheus_interval>& deleted) {
  bool touched = false;
  for (const auto& iv : deleted)
    touched = touched || iv.overlaps(c->min_time(), c->max_time());
  if (!touched)
    return c;
  xor_appender app{c->bytes().size()};
  auto it = c->iterator();
  while (it.next()) {
    auto s = it.at();
    bool gone = false;
    for (const auto& iv : deleted)
      gone = gone || iv.contains(s.t);
    if (!gone)
      app.append(s.t, s.v);
  }
  if (!it.error())
    return it.error();
  if (app.empty())
    return std::shared_ptr<const xor_chunk>{};
  return app.cut();
}

struct block_counts {
  uint64_t series = 0;
  uint64_t samples = 0;
  uint64_t chunks = 0;
  uint64_t skipped_chunks = 0;
  uint64_t rewritten_chunks = 0;
};

// The importable chunks of `s`, checked against the index and the block.
result<std::vector<std::shared_ptr<const chunk>>> convert_series(const source_block& b,
                                                                 const prometheus_series& s,
                                                                 block_counts& counts) {
  std::vector<std::shared_ptr<const chunk>> out;
  out.reserve(s.chunks.size());
  const auto* deleted = b.tombstones.find(s.id);
  auto where = [&] {
    return b.index->path() + ": series " + s.labels.to_string() + " at offset " + std::to_string(s.offset);
  };
  int64_t prev_max = 0;
  bool have_prev = false;
  for (const auto& cm : s.chunks) {
    auto raw = b.chunks->read(cm.ref);
    if (!raw)
      return raw.error();
    switch (raw->encoding) {
      case pfmt::enc_xor:
        break;
      case pfmt::enc_histogram:
      case pfmt::enc_float_histogram:
      case pfmt::enc_histogram_st:
      case pfmt::enc_float_histogram_st:
        counts.skipped_chunks += 1;
        continue;
      case pfmt::enc_xor2:
        return status::invalid_argument(b.chunks->describe(cm.ref) + ": XOR2 chunk (encoding 4, Prometheus' "
                                        "storage.tsdb.chunk_encoding.floats) is not supported");
      default:
        return status::corruption(b.chunks->describe(cm.ref) + ": unknown chunk encoding "
                                  + std::to_string(raw->encoding));
    }
    auto parsed = xor_chunk::from_bytes(raw->data);
    if (!parsed)
      return status::corruption(b.chunks->describe(cm.ref) + ": " + parsed.error().message());
    auto c = std::make_shared<const xor_chunk>(std::move(*parsed));
    if (c->min_time() != cm.min_time || c->max_time() != cm.max_time)
      return status::corruption(where() + ": chunk " + b.chunks->describe(cm.ref) + " holds samples in "
                                + range_text(c->min_time(), c->max_time()) + " but the index says "
                                + range_text(cm.min_time, cm.max_time));
    if (c->min_time() < b.meta.min_time || c->max_time() >= b.meta.max_time)
      return status::corruption(where() + ": chunk " + range_text(c->min_time(), c->max_time())
                                + " outside the block's range [" + std::to_string(b.meta.min_time) + ", "
                                + std::to_string(b.meta.max_time) + ") from meta.json");
    if (have_prev && c->min_time() <= prev_max)
      return status::corruption(where() + ": chunk " + range_text(c->min_time(), c->max_time())
                                + " overlaps the previous chunk (ending at " + std::to_string(prev_max) + ")");
    have_prev = true;
    prev_max = c->max_time();
    if (deleted) {
      auto kept = without_deleted(c, *deleted);
      if (!kept)
        return status::corruption(b.chunks->describe(cm.ref) + ": " + kept.error().message());
      if (*kept != c)
        counts.rewritten_chunks += 1;
      c = std::move(*kept);
      if (!c)
        continue;
    }
    out.push_back(std::move(c));
  }
  return out;
}

// Writes one Nightlight block from `b`; its ULID, or "" when `b` had no
// float sample to import (nothing is written then).
result<std::string> import_block(source_block& b, const std::string& blocks_dir, block_counts& counts) {
  auto ulid = make_ulid();
  auto w = block_writer::create(blocks_dir, ulid, b.meta.min_time, b.meta.max_time);
  if (!w)
    return w.error();
  prometheus_series s;
  label_set prev;
  while (true) {
    auto more = b.index->next(s);
    if (!more)
      return more.error();
    if (!*more)
      break;
    if (!prev.empty() && !(prev < s.labels))
      return status::corruption(b.index->path() + ": series " + s.labels.to_string() + " at offset "
                                + std::to_string(s.offset) + " is not after " + prev.to_string());
    auto chunks = convert_series(b, s, counts);
    if (!chunks)
      return chunks.error();
    if (!chunks->empty()) {
      counts.series += 1;
      counts.chunks += chunks->size();
      for (const auto& c : *chunks)
        counts.samples += c->num_samples();
      // The checks above leave the writer only I/O errors to report.
      if (auto st = (*w)->add_series(s.labels, *chunks); !st)
        return st;
    }
    prev = std::move(s.labels);
  }
  if (counts.series == 0)
    return std::string{};  // the writer's destructor removes its .tmp directory
  auto meta = (*w)->finish();
  if (!meta)
    return meta.error();
  return ulid;
}

}  // namespace

result<prometheus_import_stats> import_prometheus(const std::string& prom_data_dir, const std::string& blocks_dir,
                                                  const std::function<void(const std::string&)>& log) {
  auto say = [&](const std::string& line) {
    if (log)
      log(line);
  };
  // The Prometheus directory is read-only for us: never write blocks into it.
  auto slash = blocks_dir.find_last_of('/');
  auto parent = slash == std::string::npos ? std::string{} : blocks_dir.substr(0, slash);
  auto prom_real = real_path(prom_data_dir);
  if (!prom_real.empty()
      && (prom_real == real_path(blocks_dir) || (!parent.empty() && prom_real == real_path(parent))))
    return status::invalid_argument("refusing to write Nightlight blocks into the Prometheus data dir "
                                    + prom_data_dir);

  auto dirs = find_block_dirs(prom_data_dir, log);
  if (!dirs)
    return dirs.error();
  std::vector<source_block> blocks;
  for (const auto& d : *dirs) {
    auto b = open_block(d);
    if (!b)
      return b.error();
    blocks.push_back(std::move(*b));
  }
  std::sort(blocks.begin(), blocks.end(), [](const source_block& a, const source_block& b) {
    return a.meta.min_time != b.meta.min_time ? a.meta.min_time < b.meta.min_time : a.dir < b.dir;
  });

  // The Nightlight data dir may not exist yet; block_writer creates
  // `blocks/` itself (one level).
  if (!parent.empty())
    if (auto st = create_dir_if_missing(parent); !st)
      return st;

  prometheus_import_stats stats;
  for (auto& b : blocks) {
    block_counts counts;
    auto ulid = import_block(b, blocks_dir, counts);
    if (!ulid)
      return ulid.error();
    auto what = "prometheus block " + b.meta.ulid + " [" + std::to_string(b.meta.min_time) + ", "
                + std::to_string(b.meta.max_time) + ")";
    std::string notes;
    if (counts.skipped_chunks > 0)
      notes += ", " + std::to_string(counts.skipped_chunks) + " histogram chunks skipped";
    if (!b.tombstones.empty())
      notes += ", " + std::to_string(b.tombstones.size()) + " tombstones applied ("
               + std::to_string(counts.rewritten_chunks) + " chunks rewritten)";
    stats.skipped_chunks += counts.skipped_chunks;
    if (ulid->empty()) {
      say(what + ": no float samples, nothing written" + notes);
      continue;
    }
    say(what + " -> " + *ulid + ": " + std::to_string(counts.series) + " series, " + std::to_string(counts.samples)
        + " samples, " + std::to_string(counts.chunks) + " chunks" + notes);
    stats.blocks += 1;
    stats.series += counts.series;
    stats.samples += counts.samples;
    stats.chunks += counts.chunks;
    stats.imported_ulids.push_back(std::move(*ulid));
  }
  return stats;
}

}  // namespace nl::storage

// Micro-benchmark and size report of the dense chunk encoding
// (storage/chunk/dense_chunk.hpp) on the value model of
// bench/remote_write_load.cpp (node-exporter-like counters with random
// increments rounded to 1/100, gauges as random walks rounded to 1/100,
// histogram buckets/sum/count; 15 s apart), regenerated here without labels.
//
// For records of 20 (a 5m block's cut at 15 s), 120, 360 and 1000 samples
// per series it prints chunk bytes
// per sample (record framing included: encoding byte, length, CRC) against
// XOR chunks of 120, bits per sample by metric family, and the time to
// encode, to decode, and to decode and re-encode as 120-sample XOR chunks,
// per sample. Every record is checked to round-trip bit for bit. Then the
// query read path per sample, record bytes to samples: "old" as reads
// served blocks before (the record decoded, re-encoded as XOR chunks of
// 120, which decode_chunks decodes again), "new" as they do now (the
// record copied into a dense_chunk, which decode_chunks decodes once);
// both answers are checked to be equal bit for bit.
//
// With --blocks DIR it instead writes the blocks the server would leave
// after bench/run_disk.sh (30 min blocks cut from the head, then merged by
// the compaction planner) into DIR and prints their index and chunk bytes
// per sample.
//
// usage: dense_chunk_bench [--blocks DIR] [series 10000] [samples 1000]
//          [rounds 5] [end_ms now]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "storage/block/reader.hpp"
#include "storage/block/ulid.hpp"
#include "storage/block/writer.hpp"
#include "storage/chunk/dense_chunk.hpp"
#include "storage/compaction/merge.hpp"
#include "storage/compaction/planner.hpp"
#include "storage/file.hpp"
#include "storage/chunk/xor_chunk.hpp"
#include "fleet_model.hpp"

using namespace nl::storage;

namespace {

using clock_type = std::chrono::steady_clock;

// --- the value model of remote_write_load (bench/fleet_model.hpp) ------------

using nl::bench::kind;
using nl::bench::label_pairs;
using series_model = nl::bench::series_model<label_pairs>;

nl::bench::fleet<label_pairs> make_fleet(size_t n, size_t first_target, size_t stride, std::mt19937_64& rng) {
  return nl::bench::make_fleet<label_pairs>(n, first_target, stride, rng, [](label_pairs ls) { return ls; });
}

using nl::bench::advance;

size_t uvarint_len(uint64_t u) {
  size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++n;
  }
  return n;
}

// A chunk record around `len` data bytes: encoding, length, CRC.
size_t framed(size_t len) { return 1 + uvarint_len(len) + len + 4; }

double ns_per(clock_type::time_point start, size_t samples) {
  return std::chrono::duration<double, std::nano>(clock_type::now() - start).count() / static_cast<double>(samples);
}

bool same(const sample* a, const sample* b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (a[i].t != b[i].t || float_bits(a[i].v) != float_bits(b[i].v))
      return false;
  return true;
}

int64_t floor_to(int64_t t, int64_t d) { return t >= 0 ? t / d * d : -((-t + d - 1) / d) * d; }

// A block record's samples as a query got them before dense chunks were
// handed out: block::read_chunk decoded the record and re-encoded it as
// XOR chunks of 120, decode_chunks decoded those. Out of line, so that a
// profile (valgrind --tool=callgrind) shows each read path's cost.
[[gnu::noinline]] void read_via_xor(const std::string& record, int64_t first, int64_t last,
                                    std::vector<sample>& out) {
  auto d = dense_chunk::of_record(record, first, last);
  thread_local std::vector<std::shared_ptr<const xor_chunk>> pieces;
  pieces.clear();
  (void)append_as_xor(std::make_shared<const dense_chunk>(std::move(*d)), INT64_MIN, INT64_MAX, 120, pieces);
  std::vector<std::shared_ptr<const chunk>> chunks(pieces.begin(), pieces.end());
  out.clear();
  (void)decode_chunks(chunks, INT64_MIN, INT64_MAX, out);
}

// The same as a query gets them now: block::read_chunk copies the record
// into a dense_chunk, decode_chunks decodes it once.
[[gnu::noinline]] void read_direct(const std::string& record, int64_t first, int64_t last,
                                   std::vector<sample>& out) {
  auto d = dense_chunk::of_record(record, first, last);
  std::vector<std::shared_ptr<const chunk>> chunks{std::make_shared<const dense_chunk>(std::move(*d))};
  out.clear();
  (void)decode_chunks(chunks, INT64_MIN, INT64_MAX, out);
}

// What the server leaves in data/blocks after run_disk.sh's backfill (its
// defaults: 30 min blocks, retention 15 d): the head is cut into 30 min
// windows while it spans more than 45 min, then the compactor merges until
// its planner has nothing left. Prints every block and the bytes per
// sample of index and chunks. Nothing of the head is counted, as there.
int simulate_blocks(const std::string& dir, const std::vector<series_model>& models,
                    const std::vector<std::vector<sample>>& data) {
  const int64_t d = 30 * 60 * 1000;
  std::vector<std::pair<label_set, size_t>> order;
  for (size_t i = 0; i < models.size(); ++i) {
    std::vector<label> ls;
    for (const auto& [n, v] : models[i].labels)
      ls.push_back({n, v});
    order.emplace_back(label_set::from_unsorted(std::move(ls)), i);
  }
  std::sort(order.begin(), order.end());
  if (auto st = create_dir_if_missing(dir); !st) {
    std::fprintf(stderr, "%s\n", st.message().c_str());
    return 1;
  }
  int64_t mint = data[0].front().t;
  const int64_t maxt = data[0].back().t;
  auto start = clock_type::now();
  size_t written = 0;
  while (maxt - mint > d / 2 * 3) {
    int64_t a = floor_to(mint, d);
    auto w = block_writer::create(dir, make_ulid(), a, a + d);
    if (!w)
      return std::fprintf(stderr, "%s\n", w.error().message().c_str()), 1;
    for (const auto& [ls, i] : order) {
      xor_appender app;
      std::vector<std::shared_ptr<const chunk>> chunks;
      for (const auto& x : data[i]) {
        if (x.t < a || x.t >= a + d)
          continue;
        if (app.num_samples() == 120)
          chunks.push_back(app.cut());
        app.append(x.t, x.v);
        ++written;
      }
      if (!app.empty())
        chunks.push_back(app.cut());
      if (auto st = (*w)->add_series(ls, chunks); !st)
        return std::fprintf(stderr, "%s\n", st.message().c_str()), 1;
    }
    if (auto m = (*w)->finish(); !m)
      return std::fprintf(stderr, "%s\n", m.error().message().c_str()), 1;
    mint = a + d;
  }
  std::printf("\nblocks: cut %zu samples in %.2f s (%.0f ns/sample)\n", written,
              std::chrono::duration<double>(clock_type::now() - start).count(), ns_per(start, written));
  auto ranges = compaction_ranges(d, 15LL * 86400 * 1000 / 10);
  auto open_all = [&](std::vector<std::shared_ptr<const block>>& out) -> bool {
    out.clear();
    auto names = list_dir(dir);
    if (!names)
      return false;
    for (const auto& n : *names) {
      auto b = block::open(dir + "/" + n);
      if (!b) {
        std::fprintf(stderr, "%s\n", b.error().message().c_str());
        return false;
      }
      out.push_back(*b);
    }
    return true;
  };
  std::vector<std::shared_ptr<const block>> blocks;
  for (;;) {
    if (!open_all(blocks))
      return 1;
    std::vector<block_meta> metas;
    for (const auto& b : blocks)
      metas.push_back(b->meta());
    auto plan = plan_merge(metas, ranges);
    if (plan.empty())
      break;
    std::vector<std::shared_ptr<const block>> parents;
    uint64_t samples = 0;
    for (const auto& b : blocks)
      if (std::find(plan.begin(), plan.end(), b->meta().ulid) != plan.end()) {
        parents.push_back(b);
        samples += b->meta().num_samples;
      }
    start = clock_type::now();
    auto m = merge_blocks(parents, dir, make_ulid());
    if (!m)
      return std::fprintf(stderr, "%s\n", m.error().message().c_str()), 1;
    std::printf("merged %zu blocks (%llu samples) in %.2f s (%.0f ns/sample)\n", parents.size(),
                static_cast<unsigned long long>(samples),
                std::chrono::duration<double>(clock_type::now() - start).count(), ns_per(start, samples));
    for (const auto& p : parents)
      (void)remove_tree(p->dir());
  }
  uint64_t index = 0, chunks = 0, meta = 0, samples = 0;
  std::sort(blocks.begin(), blocks.end(),
            [](const auto& a, const auto& b) { return a->meta().min_time < b->meta().min_time; });
  for (const auto& b : blocks) {
    const auto& m = b->meta();
    auto meta_size = file_size(b->dir() + "/meta.json");
    std::printf("  [%lld, %lld) level %u: %llu samples, %llu chunks; index %llu B (%.3f B/sample), chunks %llu "
                "B (%.3f B/sample)\n",
                static_cast<long long>(m.min_time), static_cast<long long>(m.max_time), m.level,
                static_cast<unsigned long long>(m.num_samples), static_cast<unsigned long long>(m.num_chunks),
                static_cast<unsigned long long>(m.index_bytes), static_cast<double>(m.index_bytes) / m.num_samples,
                static_cast<unsigned long long>(m.chunks_bytes),
                static_cast<double>(m.chunks_bytes) / m.num_samples);
    if (auto st = b->check(); !st)
      return std::fprintf(stderr, "check: %s\n", st.message().c_str()), 1;
    index += m.index_bytes;
    chunks += m.chunks_bytes;
    meta += meta_size ? *meta_size : 0;
    samples += m.num_samples;
  }
  // The read path: select every series of every block (the dense records
  // copied out as they are), then the query's own decode.
  for (int round = 0; round < 3; ++round) {
    start = clock_type::now();
    std::vector<std::vector<series_snapshot>> got;
    uint64_t n = 0;
    for (const auto& b : blocks) {
      auto sel = b->select({}, INT64_MIN, INT64_MAX);
      if (!sel)
        return std::fprintf(stderr, "%s\n", sel.error().message().c_str()), 1;
      got.push_back(std::move(*sel));
    }
    double select_ns = ns_per(start, samples);
    start = clock_type::now();
    std::vector<sample> buf;
    for (const auto& sel : got)
      for (const auto& series : sel) {
        buf.clear();
        (void)decode_chunks(series.chunks, INT64_MIN, INT64_MAX, buf);
        n += buf.size();
      }
    std::printf("read: select %.1f ns/sample, then decode_chunks %.1f ns/sample (%llu samples)\n", select_ns,
                ns_per(start, n), static_cast<unsigned long long>(n));
  }
  std::printf("blocks total: %.3f bytes/sample (index %.3f, chunks %.3f, meta.json %.4f) over %llu samples\n",
              static_cast<double>(index + chunks + meta) / samples, static_cast<double>(index) / samples,
              static_cast<double>(chunks) / samples, static_cast<double>(meta) / samples,
              static_cast<unsigned long long>(samples));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string blocks_dir;
  if (argc > 2 && std::string{argv[1]} == "--blocks") {
    blocks_dir = argv[2];
    argc -= 2;
    argv += 2;
  }
  size_t nseries = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
  size_t nsamples = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1000;
  int rounds = argc > 3 ? std::atoi(argv[3]) : 5;
  // The last sample's time, as remote_write_load --backfill: now.
  int64_t end_ms = argc > 4 ? std::strtoll(argv[4], nullptr, 10)
                            : std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  // Two connections' fleets, as remote_write_load --connections 2 makes.
  std::vector<series_model> models;
  std::vector<std::vector<sample>> data;
  const int64_t t0 = end_ms - static_cast<int64_t>(nsamples - 1) * 15000;
  for (size_t c = 0; c < 2; ++c) {
    std::mt19937_64 rng(42 + c);
    auto f = make_fleet(nseries / 2 + (c < nseries % 2 ? 1 : 0), c, 2, rng);
    std::vector<std::vector<sample>> local(f.series.size());
    for (size_t r = 0; r < nsamples; ++r) {
      advance(f, 15.0, rng);
      for (size_t i = 0; i < f.series.size(); ++i)
        local[i].push_back({t0 + static_cast<int64_t>(r) * 15000, f.series[i].value});
    }
    for (size_t i = 0; i < f.series.size(); ++i) {
      models.push_back(f.series[i]);
      data.push_back(std::move(local[i]));
    }
  }
  const size_t total = nseries * nsamples;
  if (!blocks_dir.empty())
    return simulate_blocks(blocks_dir, models, data);

  // XOR reference: 120-sample chunks, one record each.
  size_t xor_bytes = 0;
  std::vector<std::vector<std::shared_ptr<const chunk>>> xor_series;
  for (const auto& s : data) {
    xor_appender app;
    std::vector<std::shared_ptr<const chunk>> chunks;
    for (const auto& x : s) {
      app.append(x.t, x.v);
      if (app.num_samples() == 120)
        chunks.push_back(app.cut());
    }
    if (!app.empty())
      chunks.push_back(app.cut());
    for (const auto& c : chunks)
      xor_bytes += framed(c->bytes().size());
    xor_series.push_back(std::move(chunks));
  }
  std::printf("%zu series x %zu samples, 15 s apart\n", nseries, nsamples);
  std::printf("xor, 120/record: %.3f bytes/sample\n", static_cast<double>(xor_bytes) / total);

  for (size_t per_record : {size_t{20}, size_t{120}, size_t{360}, size_t{1000}}) {
    std::vector<std::string> records;
    std::vector<size_t> record_series;
    std::vector<std::pair<int64_t, int64_t>> record_times;  // first and last, as a block's index has them
    auto start = clock_type::now();
    for (size_t k = 0; k < data.size(); ++k)
      for (size_t i = 0; i < data[k].size(); i += per_record) {
        std::string out;
        size_t n = std::min(per_record, data[k].size() - i);
        encode_dense_chunk(data[k].data() + i, n, out);
        records.push_back(std::move(out));
        record_series.push_back(k);
        record_times.emplace_back(data[k][i].t, data[k][i + n - 1].t);
      }
    double encode_ns = ns_per(start, total);
    size_t bytes = 0;
    std::map<std::string, std::pair<size_t, size_t>> by_family;  // bytes, samples
    std::map<int, size_t> by_kind;
    for (size_t r = 0; r < records.size(); ++r) {
      bytes += framed(records[r].size());
      auto& fam = by_family[models[record_series[r]].family];
      fam.first += framed(records[r].size());
      fam.second += dense_chunk_samples(records[r]);
    }
    // Round trip, then timings.
    std::vector<sample> buf;
    for (size_t r = 0, k = 0, off = 0; r < records.size(); ++r) {
      if (record_series[r] != k) {
        k = record_series[r];
        off = 0;
      }
      buf.clear();
      if (auto st = decode_dense_chunk(records[r], data[k][off].t, buf); !st) {
        std::fprintf(stderr, "decode failed: %s\n", st.message().c_str());
        return 1;
      }
      if (!same(buf.data(), data[k].data() + off, buf.size())) {
        std::fprintf(stderr, "round trip differs in series %zu\n", k);
        return 1;
      }
      off += buf.size();
    }
    double checksum = 0;
    start = clock_type::now();
    for (int round = 0; round < rounds; ++round)
      for (const auto& rec : records) {
        buf.clear();
        (void)decode_dense_chunk(rec, 0, buf);
        checksum += buf.back().v;
      }
    double decode_ns = ns_per(start, total * rounds);
    start = clock_type::now();
    size_t nchunks = 0;
    for (int round = 0; round < rounds; ++round)
      for (const auto& rec : records) {
        buf.clear();
        (void)decode_dense_chunk(rec, 0, buf);
        xor_appender app(256);
        for (size_t i = 0; i < buf.size(); ++i) {
          if (app.num_samples() == 120)
            nchunks += app.cut() != nullptr;
          app.append(buf[i].t, buf[i].v);
        }
        nchunks += app.cut() != nullptr;
      }
    double reencode_ns = ns_per(start, total * rounds);
    std::printf("\ndense, %zu/record: %.3f bytes/sample (%.2fx xor); encode %.1f ns/sample, decode %.2f "
                "ns/sample, decode + xor re-encode %.2f ns/sample (checksum %g, %zu chunks)\n",
                per_record, static_cast<double>(bytes) / total, static_cast<double>(bytes) / xor_bytes, encode_ns,
                decode_ns, reencode_ns, checksum, nchunks / rounds);
    for (const auto& [fam, bs] : by_family)
      std::printf("  %-16s %6.2f bits/sample\n", fam.c_str(), 8.0 * bs.first / bs.second);
    (void)by_kind;
    // The query read path, record bytes to samples in [mint, maxt] (whole
    // records here, as a range over many blocks mostly reads them).
    auto read_old = [&](size_t r, std::vector<sample>& out) {
      read_via_xor(records[r], record_times[r].first, record_times[r].second, out);
    };
    auto read_new = [&](size_t r, std::vector<sample>& out) {
      read_direct(records[r], record_times[r].first, record_times[r].second, out);
    };
    std::vector<sample> other;
    for (size_t r = 0; r < records.size(); ++r) {
      read_old(r, buf);
      read_new(r, other);
      if (buf.size() != other.size() || !same(buf.data(), other.data(), buf.size())) {
        std::fprintf(stderr, "read paths differ in record %zu\n", r);
        return 1;
      }
    }
    double read_ns[2];
    for (int path = 0; path < 2; ++path) {
      start = clock_type::now();
      for (int round = 0; round < rounds; ++round)
        for (size_t r = 0; r < records.size(); ++r) {
          if (path == 0)
            read_old(r, buf);
          else
            read_new(r, buf);
          checksum += buf.back().v;
        }
      read_ns[path] = ns_per(start, total * rounds);
    }
    std::printf("  read path: old (decode, xor re-encode, xor decode) %.2f ns/sample, new (copy, decode) %.2f "
                "ns/sample\n",
                read_ns[0], read_ns[1]);
  }
  // XOR decode for comparison.
  std::vector<sample> buf;
  double checksum = 0;
  auto start = clock_type::now();
  for (int round = 0; round < rounds; ++round)
    for (const auto& chunks : xor_series) {
      buf.clear();
      (void)decode_chunks(chunks, INT64_MIN, INT64_MAX, buf);
      checksum += buf.back().v;
    }
  std::printf("\nxor decode_chunks: %.2f ns/sample (checksum %g)\n", ns_per(start, total * rounds), checksum);
  // What block::read_chunk does for an encoding-1 record: check the bytes
  // by decoding them (xor_chunk::from_bytes) and copy them out.
  size_t served = 0;
  start = clock_type::now();
  for (int round = 0; round < rounds; ++round)
    for (const auto& chunks : xor_series)
      for (const auto& c : chunks) {
        auto copy = xor_chunk::from_bytes(c->bytes());
        if (copy)
          served += std::make_shared<const xor_chunk>(std::move(*copy))->num_samples();
      }
  std::printf("xor record read (from_bytes + copy): %.2f ns/sample\n", ns_per(start, served));
}

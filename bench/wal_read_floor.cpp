// What a start after a crash pays before it stores anything: reads the
// newest checkpoint of a WAL directory and the segments after it, checks
// every page's CRC and decodes every record (series keys, samples) as the
// replay's reading thread does, and applies nothing (no head, no series,
// no chunk). Prints each run's seconds and what it decoded. Every
// acknowledged sample that no block holds is in these records, so a start
// that keeps them all reads at least this much (docs/BENCHMARKS.md,
// "Restart").
//
// usage: wal_read_floor WAL_DIR [--runs 3]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "storage/wal/checkpoint.hpp"
#include "storage/wal/records.hpp"
#include "storage/wal/segment_reader.hpp"

using namespace nl::storage;

namespace {

struct counts {
  uint64_t records = 0;
  uint64_t series = 0;
  uint64_t samples = 0;
};

struct decoder {
  counts n;
  std::vector<series_key_record> series;
  std::vector<sample_record> samples;

  status decode(std::string_view rec) {
    n.records += 1;
    auto type = record_type(rec);
    if (!type)
      return type.error();
    if (*type == wal_record_type::series) {
      series.clear();
      if (auto st = decode_series_keys(rec, series); !st)
        return st;
      n.series += series.size();
    } else if (*type == wal_record_type::samples) {
      samples.clear();
      if (auto st = decode_samples(rec, samples); !st)
        return st;
      n.samples += samples.size();
    }
    return status::ok();
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: wal_read_floor WAL_DIR [--runs 3]\n");
    return 2;
  }
  std::string dir = argv[1];
  int runs = argc >= 4 && std::string{argv[2]} == "--runs" ? std::atoi(argv[3]) : 3;
  for (int run = 0; run < runs; ++run) {
    auto started = std::chrono::steady_clock::now();
    decoder d;
    auto checkpoint = latest_wal_checkpoint(dir);
    if (!checkpoint) {
      std::fprintf(stderr, "%s\n", checkpoint.error().message().c_str());
      return 1;
    }
    uint64_t first = 0;
    if (*checkpoint) {
      auto st = read_wal_checkpoint(dir, **checkpoint, [&](std::string_view rec, wal_position) { return d.decode(rec); });
      if (!st) {
        std::fprintf(stderr, "%s\n", st.message().c_str());
        return 1;
      }
      first = **checkpoint + 1;
    }
    auto reader = wal_segment_reader::open(dir, first);
    if (!reader) {
      std::fprintf(stderr, "%s\n", reader.error().message().c_str());
      return 1;
    }
    while ((*reader)->next())
      if (auto st = d.decode((*reader)->record()); !st) {
        std::fprintf(stderr, "%s\n", st.message().c_str());
        return 1;
      }
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    std::printf("run %d: %.3f s, %llu records, %llu series, %llu samples\n", run + 1, took.count(),
                static_cast<unsigned long long>(d.n.records), static_cast<unsigned long long>(d.n.series),
                static_cast<unsigned long long>(d.n.samples));
  }
  return 0;
}

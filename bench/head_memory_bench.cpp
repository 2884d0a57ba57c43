// What the head costs per series, without the server around it: the
// fleet of bench/remote_write_load (node_exporter-like labels) appended
// into `shards` heads as the server's head shards hold them (refs
// interleaved, series placed by label hash), 15 s apart, truncated as the
// compactor truncates after each cut of a `block` window (when the head
// spans 1.5 blocks). After every cut and at the end it prints jemalloc's
// allocated and resident bytes per series, and with --classes the bytes
// held per size class (what a change of the head's layout moves).
//
// usage: head_memory_bench [--series 1000000] [--samples 80] [--shards 2]
//          [--block-ms 300000] [--classes]
// With HEAD_BENCH_PROF_DUMP=FILE and MALLOC_CONF=prof:true it also writes
// a jemalloc heap profile at the end (for jeprof).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "storage/head/head.hpp"
#include "storage/label_key.hpp"
#include "keyed_fleet.hpp"

// Weak: a sanitizer build has no jemalloc and says so.
extern "C" __attribute__((weak)) int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen);

using namespace nl::storage;

namespace {

size_t read_size(const char* name) {
  size_t v = 0;
  size_t len = sizeof v;
  return mallctl(name, &v, &len, nullptr, 0) == 0 ? v : 0;
}

// Gives unused dirty pages back first, as the server does after a cut:
// what stays resident beyond allocated is then slabs partly in use.
void refresh() {
  (void)mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
  uint64_t epoch = 1;
  size_t len = sizeof epoch;
  (void)mallctl("epoch", &epoch, &len, &epoch, len);
}

void report(const char* when, size_t series) {
  refresh();
  double allocated = static_cast<double>(read_size("stats.allocated"));
  double resident = static_cast<double>(read_size("stats.resident"));
  std::printf("%-14s allocated %7.1f B/series  resident %7.1f B/series\n", when, allocated / series,
              resident / series);
}

// Bytes in use per small size class (jemalloc's bins), all arenas.
void report_classes(size_t series) {
  refresh();
  unsigned nbins = 0;
  size_t len = sizeof nbins;
  if (mallctl("arenas.nbins", &nbins, &len, nullptr, 0) != 0)
    return;
  for (unsigned i = 0; i < nbins; ++i) {
    char name[96];
    std::snprintf(name, sizeof name, "arenas.bin.%u.size", i);
    size_t size = read_size(name);
    std::snprintf(name, sizeof name, "stats.arenas.4096.bins.%u.curregs", i);
    size_t regs = read_size(name);
    std::snprintf(name, sizeof name, "stats.arenas.4096.bins.%u.curslabs", i);
    size_t slabs = read_size(name);
    std::snprintf(name, sizeof name, "arenas.bin.%u.nregs", i);
    uint32_t per_slab = 0;
    size_t len32 = sizeof per_slab;
    (void)mallctl(name, &per_slab, &len32, nullptr, 0);
    if (slabs * per_slab * size >= series)  // at least a byte per series
      std::printf("  class %5zu: %9zu regions  %6.1f B/series in slabs of %6.1f B/series, %5.1f%% used\n",
                  size, regs, static_cast<double>(regs * size) / series,
                  static_cast<double>(slabs * per_slab * size) / series,
                  slabs ? 100.0 * static_cast<double>(regs) / (static_cast<double>(slabs) * per_slab) : 0.0);
  }
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = 1000000;
  int samples = 80;
  int shards = 2;
  int64_t block_ms = 300000;
  bool classes = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(64);
      }
      return argv[++i];
    };
    if (a == "--series") n = std::strtoull(value(), nullptr, 10);
    else if (a == "--samples") samples = std::atoi(value());
    else if (a == "--shards") shards = std::max(1, std::atoi(value()));
    else if (a == "--block-ms") block_ms = std::strtoll(value(), nullptr, 10);
    else if (a == "--classes") classes = true;
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 64;
    }
  }
  if (mallctl == nullptr) {
    std::fprintf(stderr, "head_memory_bench: not linked with jemalloc\n");
    return 1;
  }
  std::mt19937_64 rng(42);
  auto fleet = nl::bench::make_keyed_fleet(n, rng);
  {
    // What the head's pair table holds: one entry per distinct pair.
    std::set<std::string> pairs;
    for (const auto& s : fleet.series)
      for_each_label(s.labels.key, [&](std::string_view name, std::string_view value) {
        pairs.insert(std::string{name} + '=' + std::string{value});
      });
    std::printf("%zu series, %zu distinct label pairs\n", n, pairs.size());
  }
  report("labels built", n);
  size_t before = read_size("stats.allocated");

  std::vector<std::unique_ptr<head>> heads;
  for (int i = 0; i < shards; ++i) {
    head_options o;
    o.ref_start = 1 + i;
    o.ref_stride = shards;
    o.chunk_range_ms = block_ms;
    heads.push_back(std::make_unique<head>(o));
  }
  const int64_t step = 15000;
  int64_t t0 = 1700000000000 / block_ms * block_ms;
  int64_t cut_end = t0;  // the head holds [cut_end, ...)
  auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < samples; ++r) {
    int64_t t = t0 + r * step;
    nl::bench::advance(fleet, step / 1000.0, rng);
    for (auto& s : fleet.series) {
      auto& h = *heads[s.labels.hash % shards];
      auto slot = h.get_or_create(s.labels.hash, s.labels.key);
      if (!slot) {
        std::fprintf(stderr, "get_or_create: %s\n", slot.error().message().c_str());
        return 1;
      }
      if (auto st = h.append(*slot, t, s.value); !st.is_ok()) {
        std::fprintf(stderr, "append: %s\n", st.message().c_str());
        return 1;
      }
    }
    // The compactor's rule: cut [cut_end, cut_end + block) once the head
    // spans more than 1.5 blocks, then truncate below its end.
    while (t - cut_end >= block_ms * 3 / 2) {
      cut_end += block_ms;
      for (auto& h : heads)
        h->truncate(cut_end);
      char when[32];
      std::snprintf(when, sizeof when, "cut at %d", r);
      refresh();
      std::printf("%-14s head %7.1f B/series  ", when,
                  static_cast<double>(read_size("stats.allocated") - before) / n);
      report("", n);
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  refresh();
  std::printf("end            head %7.1f B/series  ", static_cast<double>(read_size("stats.allocated") - before) / n);
  report("", n);
  std::printf("appended %zu x %d samples in %.1f s (%.0f ns/sample)\n", n, samples, secs,
              secs * 1e9 / (static_cast<double>(n) * samples));
  if (classes)
    report_classes(n);
  if (const char* dump = std::getenv("HEAD_BENCH_PROF_DUMP")) {
    (void)mallctl("prof.dump", nullptr, nullptr, &dump, sizeof dump);
  }
  return 0;
}

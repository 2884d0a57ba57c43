// What a head shard's series lookup costs, and how far ahead the append
// loop (actors/head_block.cpp) should prefetch: `--series` series of
// bench/remote_write_load's fleet in one head, then looked up again in
// batches of 250 (a shard's part of a 500-sample remote write), with the
// hash slot prefetched `ahead` series ahead (0 = not at all), or with the
// slots of the whole batch prefetched before its first lookup. "warm":
// every batch follows the one before, as in a steady load of a small
// head; "cold": 64 MiB of other memory is walked before each batch (every
// 37th batch of the fleet is timed), as the server's decoding and
// compaction do between a shard's batches.
//
// usage: head_lookup_bench [--series 500000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "storage/head/head.hpp"
#include "keyed_fleet.hpp"

using namespace nl::storage;

namespace {

constexpr size_t batch = 250;

}  // namespace

int main(int argc, char** argv) {
  size_t n = 500000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--series" && i + 1 < argc) {
      n = std::strtoull(argv[++i], nullptr, 10);
      if (n < batch) {
        std::fprintf(stderr, "--series: at least %zu (one batch)\n", batch);
        return 64;
      }
    } else {
      std::fprintf(stderr, "usage: head_lookup_bench [--series N]\n");
      return 64;
    }
  }
  std::mt19937_64 rng(42);
  auto fleet = nl::bench::make_keyed_fleet(n, rng);
  head h{head_options{}};
  for (const auto& s : fleet.series)
    if (!h.get_or_create(s.labels.hash, s.labels.key)) {
      std::fprintf(stderr, "get_or_create failed\n");
      return 1;
    }
  std::vector<char> other(64 << 20);
  std::printf("%zu series; ns per lookup\n| slots prefetched | warm | cold |\n|---|---:|---:|\n", n);
  uint64_t check = 0;
  constexpr size_t whole_batch = batch;
  for (size_t ahead : {size_t{0}, size_t{2}, size_t{4}, size_t{8}, size_t{16}, whole_batch}) {
    double ns[2] = {0, 0};
    for (int cold = 0; cold < 2; ++cold) {
      double total = 0;
      size_t count = 0;
      // Cold batches are spread over the fleet; warm ones walk all of it.
      const size_t stride = cold ? batch * 37 : batch;
      for (size_t b = 0; b + batch <= n; b += stride) {
        if (cold)
          for (size_t k = 0; k < other.size(); k += 64)
            other[k] = static_cast<char>(other[k] + 1);
        auto t0 = std::chrono::steady_clock::now();
        if (ahead == whole_batch)
          for (size_t i = 0; i < batch; ++i)
            h.prefetch_lookup(fleet.series[b + i].labels.hash);
        for (size_t i = 0; i < batch; ++i) {
          if (ahead && ahead != whole_batch && i + ahead < batch)
            h.prefetch_lookup(fleet.series[b + i + ahead].labels.hash);
          const auto& s = fleet.series[b + i].labels;
          check += h.get_or_create(s.hash, s.key)->ref();
        }
        total += std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        count += batch;
      }
      ns[cold] = total / static_cast<double>(count);
    }
    if (ahead == whole_batch)
      std::printf("| the whole batch first | %.0f | %.0f |\n", ns[0], ns[1]);
    else if (ahead == 0)
      std::printf("| none | %.0f | %.0f |\n", ns[0], ns[1]);
    else
      std::printf("| %zu series ahead | %.0f | %.0f |\n", ahead, ns[0], ns[1]);
  }
  std::printf("(checksum %llu)\n", static_cast<unsigned long long>(check & 0xffff));
  return 0;
}

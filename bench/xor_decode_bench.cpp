// Micro-benchmark of the bulk XOR decoder on the query benchmark's data
// shapes: 300 series x 1000 samples 15 s apart, cut into 120-sample chunks,
// half histogram-bucket-like counters (integers growing by random amounts),
// half cpu-like counters (random increments rounded to 1/100). Decodes
// every series `rounds` times with decode_chunks into one reused buffer and
// prints ns per sample. Run under `valgrind --tool=callgrind` with rounds 1
// for instruction counts that do not depend on the machine's load.
//
// usage: xor_decode_bench [rounds]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "storage/chunk/xor_chunk.hpp"

using namespace nl::storage;

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 20;
  std::mt19937_64 rng{1};
  std::uniform_real_distribution<double> u{0, 1};
  std::vector<std::vector<std::shared_ptr<const chunk>>> series;
  size_t samples = 0;
  for (int s = 0; s < 300; ++s) {
    std::vector<std::shared_ptr<const chunk>> chunks;
    xor_appender app;
    double v = s % 2 ? 1e5 * u(rng) : 0;
    double rate = 0.02 + u(rng);
    for (int i = 0; i < 1000; ++i) {
      if (s % 2)
        v += std::round(rate * 15 * (0.5 + u(rng)) * 100) / 100;
      else
        v += std::floor(300 * u(rng));
      app.append(int64_t{1'700'000'000'000} + 15'000 * i, v);
      if (app.num_samples() == 120) chunks.push_back(app.cut());
    }
    if (!app.empty()) chunks.push_back(app.cut());
    series.push_back(std::move(chunks));
    samples += 1000;
  }
  std::vector<sample> buf;
  double checksum = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r)
    for (auto& chunks : series) {
      buf.clear();
      if (auto st = decode_chunks(chunks, INT64_MIN, INT64_MAX, buf); !st) {
        std::fprintf(stderr, "decode failed: %s\n", st.message().c_str());
        return 1;
      }
      checksum += buf.back().v;
    }
  double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.2f ns/sample over %zu samples x %d rounds (checksum %g)\n",
              ns / static_cast<double>(samples * rounds), samples, rounds, checksum);
}

#define CAF_SUITE promql.parallel
#include "test_support.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include "promql/parallel.hpp"

using namespace nl::promql;

CAF_TEST(every part runs exactly once) {
  for (size_t parts : {0u, 1u, 2u, 3u, 17u}) {
    std::vector<std::atomic<int>> runs(parts);
    run_parts(parts, [&](size_t p) { runs[p].fetch_add(1); });
    for (size_t p = 0; p < parts; ++p)
      CAF_CHECK_EQUAL(runs[p].load(), 1);
  }
}

CAF_TEST(the call returns only after every part finished) {
  std::atomic<int> finished{0};
  run_parts(4, [&](size_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    finished.fetch_add(1);
  });
  CAF_CHECK_EQUAL(finished.load(), 4);
}

CAF_TEST(concurrent callers all complete while the helpers are busy) {
  // More callers than helpers: a caller whose parts no helper takes runs
  // them itself instead of waiting.
  std::atomic<int> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 6; ++c)
    callers.emplace_back([&] {
      for (int round = 0; round < 50; ++round)
        run_parts(3, [&](size_t) { total.fetch_add(1); });
    });
  for (auto& t : callers)
    t.join();
  CAF_CHECK_EQUAL(total.load(), 6 * 50 * 3);
}

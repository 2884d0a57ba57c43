// The cost of bringing fresh memory into a process: maps --mb MiB of
// anonymous memory and writes one byte per 4 KiB page from --threads
// threads (each its own share), --runs times; prints each run's seconds.
// An in-memory head must pay at least this at start-up for the memory it
// occupies (docs/BENCHMARKS.md, "Restart"), whatever it builds there.
//
// usage: memory_touch_floor [--mb 350] [--threads 2] [--runs 5]
#include <sys/mman.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  size_t mb = 350;
  size_t threads = 2;
  int runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--mb")
      mb = std::strtoul(argv[i + 1], nullptr, 10);
    else if (a == "--threads")
      threads = std::strtoul(argv[i + 1], nullptr, 10);
    else if (a == "--runs")
      runs = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 64;
    }
  }
  if (threads == 0 || mb == 0)
    return 64;
  const size_t share = (mb << 20) / threads;
  for (int r = 0; r < runs; ++r) {
    std::vector<char*> maps(threads);
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> ts;
    for (size_t t = 0; t < threads; ++t)
      ts.emplace_back([&maps, t, share] {
        void* p = mmap(nullptr, share, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
          std::perror("mmap");
          std::exit(1);
        }
        auto* c = static_cast<char*>(p);
        for (size_t o = 0; o < share; o += 4096)
          c[o] = 1;
        maps[t] = c;
      });
    for (auto& t : ts)
      t.join();
    std::chrono::duration<double> d = std::chrono::steady_clock::now() - start;
    std::printf("%zu MiB, %zu threads: %.3f s\n", mb, threads, d.count());
    for (auto* m : maps)
      munmap(m, share);
  }
  return 0;
}

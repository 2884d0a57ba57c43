// Remote-write decode throughput on one core: snappy + hand-written walker
// (with validation) against snappy + libprotobuf parsing. The request mimics
// Prometheus 2.42: 500 TimeSeries of one sample each, ~8 labels repeated in
// full per entry. Usage: remote_write_decode [seconds per variant] [variant]
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <string>

#include "protocol/remote_write.hpp"
#include "protocol/snappy_block.hpp"
#include "remote.pb.h"

using namespace nl::protocol;

namespace {

constexpr int64_t now_ms = 1'700'000'000'000;

// CPU time of this thread: the build machine is shared, so wall time would
// count time spent waiting for a core.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string make_request() {
  static const char* modes[] = {"idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"};
  std::vector<write_series> series;
  for (int i = 0; i < 500; ++i) {
    write_series s;
    s.labels = {{"__name__", "node_cpu_seconds_total"},
                {"cpu", std::to_string(i / 8 % 64)},
                {"env", "production"},
                {"instance", "10.20.30." + std::to_string(i / 64) + ":9100"},
                {"job", "node-exporter"},
                {"mode", modes[i % 8]},
                {"monitor", "example"},
                {"region", "eu-west-1"}};
    s.samples = {{now_ms - 15000 + i, 123456.78 + i * 0.01}};
    series.push_back(std::move(s));
  }
  return snappy_encode(encode_write_request(series));
}

const char* only = nullptr;  // run just the variant with this name

template <class F>
void run(const char* name, double seconds, F&& f) {
  if (only != nullptr && std::string(only) != name)
    return;
  size_t samples = 0;
  size_t requests = 0;
  double start = cpu_seconds();
  while (cpu_seconds() - start < seconds) {
    for (int i = 0; i < 20; ++i)
      samples += f();
    requests += 20;
  }
  double elapsed = cpu_seconds() - start;
  std::printf("%-28s %8.2f M samples/s  %8.1f us/request\n", name, samples / elapsed / 1e6,
              elapsed / requests * 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  only = argc > 2 ? argv[2] : nullptr;
  auto body = make_request();
  std::string raw;
  if (!snappy_decode(body, raw).is_ok())
    return 1;
  std::printf("request: 500 samples, %zu bytes snappy, %zu bytes protobuf\n", body.size(),
              raw.size());
  write_settings st;
  run("snappy only", seconds, [&] {
    std::string out;
    return snappy_decode(body, out).is_ok() ? 500 : 0;
  });
  auto shared_raw = std::make_shared<const std::string>(raw);
  run("walker only", seconds, [&] {
    auto b = decode_write_request(shared_raw, now_ms, st);
    return b.is_ok() ? b->report.samples_accepted : 0;
  });
  run("snappy + walker", seconds, [&] {
    auto b = decode_remote_write(body, now_ms, st, default_max_decoded_bytes);
    return b.is_ok() ? b->report.samples_accepted : 0;
  });
  run("snappy + walker + hash", seconds, [&] {
    auto b = decode_remote_write(body, now_ms, st, default_max_decoded_bytes);
    if (!b.is_ok())
      return size_t{0};
    uint64_t h = 0;
    for (const auto& s : b->series)
      h ^= hash_labels(b->labels_of(s), s.labels_count);
    return h == 42 ? 0 : b->report.samples_accepted;
  });
  run("snappy + libprotobuf", seconds, [&] {
    std::string out;
    if (!snappy_decode(body, out).is_ok())
      return size_t{0};
    prometheus::WriteRequest req;
    if (!req.ParseFromString(out))
      return size_t{0};
    return static_cast<size_t>(req.timeseries_size());
  });
  return 0;
}

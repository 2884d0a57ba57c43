#pragma once
// The synthetic fleet of the benchmarks: node_exporter-like targets
// (~100 series each: counters, gauges, a latency histogram) and the value
// model that advances them, shared by remote_write_load (which pushes it)
// and dense_chunk_bench (which encodes the same values offline). Header
// only: every .cpp in bench/ is a program of its own. The random draws
// are made in a fixed order, so a seed gives the same data in both.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace nl::bench {

enum class kind { counter, gauge, bucket, hist_sum, hist_count };

using label_pairs = std::vector<std::pair<std::string, std::string>>;

/// One series: its family (a group of alike series, for per-family
/// statistics), its labels as the program keeps them (`Labels`, made from
/// the pairs by make_fleet's `convert`), and the state of its value model.
template <class Labels>
struct series_model {
  const char* family;
  Labels labels;
  kind k;
  double value;
  double rate;      // counters: mean increase per second; gauges: noise amplitude
  double fraction;  // buckets: share of observations at or below `le`
  size_t histogram; // index into fleet::hist_counts (buckets, sum, count)
};

template <class Labels>
struct fleet {
  std::vector<series_model<Labels>> series;
  std::vector<double> hist_counts; // cumulative observations per histogram
  std::vector<double> hist_sums;
};

/// Builds `n` series of node_exporter-like targets (~100 series each):
/// counters, gauges and a latency histogram, with 6-10 labels per series.
/// Targets are numbered first_target, first_target + stride, …, so fleets
/// built for different connections never share a series. `convert` turns
/// each series' label pairs into the Labels kept.
template <class Labels, class Convert>
fleet<Labels> make_fleet(size_t n, size_t first_target, size_t stride, std::mt19937_64& rng, Convert convert) {
  static const char* modes[] = {"idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"};
  static const char* mem[] = {"MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached",
                              "SwapFree", "Active", "Inactive"};
  static const char* mounts[][3] = {{"/dev/sda1", "ext4", "/"},
                                    {"/dev/sdb1", "xfs", "/var/lib/data"},
                                    {"tmpfs", "tmpfs", "/run"}};
  static const char* les[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                              "0.5", "1", "2.5", "5", "10", "+Inf"};
  static const char* regions[] = {"eu-west-1", "us-east-1", "ap-south-1"};
  std::uniform_real_distribution<double> u(0.0, 1.0);
  fleet<Labels> f;
  for (size_t target = first_target; f.series.size() < n; target += stride) {
    char instance[64];
    std::snprintf(instance, sizeof instance, "10.%zu.%zu.%zu:9100", (target >> 16) & 255,
                  (target >> 8) & 255, target & 255);
    label_pairs common = {{"instance", instance},
                          {"job", "node"},
                          {"env", target % 5 == 0 ? "staging" : "prod"},
                          {"region", regions[target % 3]},
                          {"datacenter", "dc" + std::to_string(target % 7)}};
    auto add = [&](const char* family, const std::string& name, label_pairs extra, kind k, double value,
                   double rate, double fraction = 0, size_t histogram = 0) {
      if (f.series.size() >= n)
        return;
      label_pairs ls = common;
      ls.emplace_back("__name__", name);
      ls.insert(ls.end(), extra.begin(), extra.end());
      f.series.push_back({family, convert(std::move(ls)), k, value, rate, fraction, histogram});
    };
    for (int cpu = 0; cpu < 4; ++cpu)
      for (auto* m : modes)
        add(std::string(m) == "idle" ? "cpu idle" : "cpu other", "node_cpu_seconds_total",
            {{"cpu", std::to_string(cpu)}, {"mode", m}}, kind::counter, 1e5 * u(rng),
            std::string(m) == "idle" ? 0.9 : 0.02 * u(rng));
    for (auto* m : mem)
      add("memory", std::string("node_memory_") + m + "_bytes", {}, kind::gauge, 8e9 * (0.2 + u(rng)), 1e6);
    for (auto& mnt : mounts)
      for (auto* m : {"avail", "size", "free"})
        add("filesystem", std::string("node_filesystem_") + m + "_bytes",
            {{"device", mnt[0]}, {"fstype", mnt[1]}, {"mountpoint", mnt[2]}}, kind::gauge,
            1e11 * (0.1 + u(rng)), 1e5);
    for (auto* dev : {"eth0", "eth1"})
      for (auto* m : {"receive_bytes", "transmit_bytes", "receive_packets", "transmit_packets"})
        add("network", std::string("node_network_") + m + "_total", {{"device", dev}}, kind::counter,
            1e9 * u(rng), 1e4 * u(rng));
    for (auto* dev : {"sda", "sdb"})
      for (auto* m : {"read_bytes_total", "written_bytes_total", "io_time_seconds_total"})
        add(std::string(m) == "io_time_seconds_total" ? "disk io_time" : "disk bytes",
            std::string("node_disk_") + m, {{"device", dev}}, kind::counter, 1e8 * u(rng),
            std::string(m) == "io_time_seconds_total" ? 0.05 : 1e5 * u(rng));
    for (auto* m : {"node_load1", "node_load5", "node_load15"})
      add("load", m, {}, kind::gauge, 2 * u(rng), 0.05);
    for (auto* handler : {"/api/v1/query", "/metrics"}) {
      size_t h = f.hist_counts.size();
      f.hist_counts.push_back(1e4 * u(rng));
      f.hist_sums.push_back(f.hist_counts.back() * 0.08);
      double share = 0.05;
      for (auto* le : les) {
        add("hist bucket", "http_request_duration_seconds_bucket",
            {{"handler", handler}, {"method", "GET"}, {"le", le}}, kind::bucket, 0, 0,
            std::string(le) == "+Inf" ? 1.0 : share, h);
        share = std::min(0.999, share * 1.9);
      }
      add("hist sum", "http_request_duration_seconds_sum", {{"handler", handler}, {"method", "GET"}},
          kind::hist_sum, 0, 0, 0, h);
      add("hist count", "http_request_duration_seconds_count", {{"handler", handler}, {"method", "GET"}},
          kind::hist_count, 0, 0, 0, h);
    }
    for (auto* m : {"node_context_switches_total", "node_intr_total", "node_forks_total"})
      add("other counters", m, {}, kind::counter, 1e9 * u(rng), 1e3 * u(rng));
    for (auto* m : {"node_procs_running", "node_procs_blocked"})
      add("procs", m, {}, kind::gauge, 3, 1);
  }
  return f;
}

/// Advances every series by one step of `step_s` seconds.
template <class Labels>
void advance(fleet<Labels>& f, double step_s, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (size_t h = 0; h < f.hist_counts.size(); ++h) {
    double observed = std::floor(20 * u(rng) * step_s);
    f.hist_counts[h] += observed;
    f.hist_sums[h] += observed * (0.02 + 0.1 * u(rng));
  }
  for (auto& s : f.series) {
    switch (s.k) {
      case kind::counter:
        s.value += std::round(s.rate * step_s * (0.5 + u(rng)) * 100) / 100;
        break;
      case kind::gauge:
        s.value = std::max(0.0, s.value + s.rate * (u(rng) - 0.5));
        s.value = std::round(s.value * 100) / 100;
        break;
      case kind::bucket:
        s.value = std::floor(f.hist_counts[s.histogram] * s.fraction);
        break;
      case kind::hist_sum:
        s.value = f.hist_sums[s.histogram];
        break;
      case kind::hist_count:
        s.value = f.hist_counts[s.histogram];
        break;
    }
  }
}

}  // namespace nl::bench

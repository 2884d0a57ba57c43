#include "storage/cores.hpp"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace nl::storage {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::optional<int64_t> to_int(std::string_view s) {
  s = trim(s);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty())
    return std::nullopt;
  return v;
}

std::optional<double> ratio(int64_t quota, int64_t period) {
  if (quota <= 0 || period <= 0)
    return std::nullopt;
  return static_cast<double>(quota) / static_cast<double>(period);
}

// Files under /proc and /sys report a size of 0 or 4096: read until EOF.
// Empty when the file cannot be read.
std::string read_small_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return {};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::optional<double> tighter(std::optional<double> a, std::optional<double> b) {
  if (!a)
    return b;
  if (!b)
    return a;
  return std::min(*a, *b);
}

// `path` ("/a/b") and each ancestor ("/a", ""), below `mount`.
std::vector<std::string> dirs_up(const std::string& mount, std::string path) {
  std::vector<std::string> out;
  while (!path.empty() && path.back() == '/')
    path.pop_back();
  for (;;) {
    out.push_back(mount + path);
    auto slash = path.rfind('/');
    if (path.empty() || slash == std::string::npos)
      return out;
    path.erase(slash);
  }
}

bool lists_cpu_controller(std::string_view controllers) {
  while (!controllers.empty()) {
    auto comma = controllers.find(',');
    if (controllers.substr(0, comma) == "cpu")
      return true;
    if (comma == std::string_view::npos)
      break;
    controllers.remove_prefix(comma + 1);
  }
  return false;
}

unsigned affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0)
      return static_cast<unsigned>(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

std::optional<double> parse_cpu_max(std::string_view text) {
  text = trim(text);
  auto space = text.find(' ');
  if (space == std::string_view::npos)
    return std::nullopt;
  auto period = to_int(text.substr(space + 1));
  if (text.substr(0, space) == "max" || !period)
    return std::nullopt;
  auto quota = to_int(text.substr(0, space));
  return quota ? ratio(*quota, *period) : std::nullopt;
}

std::optional<double> parse_cfs_quota(std::string_view quota, std::string_view period) {
  auto q = to_int(quota);
  auto p = to_int(period);
  return q && p ? ratio(*q, *p) : std::nullopt;
}

std::optional<double> cgroup_cpu_quota(std::string_view proc_self_cgroup, const std::string& root) {
  // Lines are "<id>:<controllers>:<path>"; v2's is "0::<path>".
  std::optional<std::string> v2_path, v1_path;
  while (!proc_self_cgroup.empty()) {
    auto nl = proc_self_cgroup.find('\n');
    auto line = proc_self_cgroup.substr(0, nl);
    proc_self_cgroup.remove_prefix(nl == std::string_view::npos ? proc_self_cgroup.size() : nl + 1);
    auto c1 = line.find(':');
    auto c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos)
      continue;
    auto controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string path{line.substr(c2 + 1)};
    if (line.substr(0, c1) == "0" && controllers.empty())
      v2_path = path;
    else if (lists_cpu_controller(controllers))
      v1_path = path;
  }
  std::optional<double> quota;
  if (v2_path)
    for (auto mount : {root, root + "/unified"})
      for (auto& dir : dirs_up(mount, *v2_path))
        quota = tighter(quota, parse_cpu_max(read_small_file(dir + "/cpu.max")));
  if (v1_path)
    for (auto mount : {root + "/cpu", root + "/cpu,cpuacct", root + "/cpuacct,cpu"})
      for (auto& dir : dirs_up(mount, *v1_path))
        quota = tighter(quota, parse_cfs_quota(read_small_file(dir + "/cpu.cfs_quota_us"),
                                               read_small_file(dir + "/cpu.cfs_period_us")));
  return quota;
}

unsigned cores_for(unsigned cpus, std::optional<double> quota) {
  unsigned n = std::max(1u, cpus);
  if (quota && *quota > 0 && *quota < n)
    n = static_cast<unsigned>(std::ceil(*quota));
  return std::max(1u, n);
}

unsigned available_cores() {
  static const unsigned cores = [] {
    return cores_for(affinity_cpus(),
                     cgroup_cpu_quota(read_small_file("/proc/self/cgroup"), "/sys/fs/cgroup"));
  }();
  return cores;
}

}  // namespace nl::storage

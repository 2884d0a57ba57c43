#define CAF_SUITE storage.cores
#include "test_support.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "storage/cores.hpp"

using namespace nl::storage;
namespace fs = std::filesystem;

namespace {

using nl::test::temp_dir;

// The quota for comparisons; -1 for "no limit" (nullopt).
constexpr double none = -1;
double q(std::optional<double> x) {
  return x.value_or(none);
}

}  // namespace

CAF_TEST(cpu.max of cgroup v2 reads as cpus) {
  CAF_CHECK_EQUAL(q(parse_cpu_max("max 100000\n")), none);
  CAF_CHECK_EQUAL(q(parse_cpu_max("150000 100000\n")), 1.5);
  CAF_CHECK_EQUAL(q(parse_cpu_max("200000 100000")), 2.0);
  CAF_CHECK_EQUAL(q(parse_cpu_max("50000 100000\n")), 0.5);
  CAF_CHECK_EQUAL(q(parse_cpu_max("400000 50000\n")), 8.0);
  // Broken or missing files limit nothing.
  CAF_CHECK_EQUAL(q(parse_cpu_max("")), none);
  CAF_CHECK_EQUAL(q(parse_cpu_max("150000")), none);
  CAF_CHECK_EQUAL(q(parse_cpu_max("abc 100000")), none);
  CAF_CHECK_EQUAL(q(parse_cpu_max("150000 0")), none);
  CAF_CHECK_EQUAL(q(parse_cpu_max("-1 100000")), none);
  CAF_CHECK_EQUAL(q(parse_cpu_max("150000 100000 7")), none);
}

CAF_TEST(cfs quota and period of cgroup v1 read as cpus) {
  CAF_CHECK_EQUAL(q(parse_cfs_quota("-1\n", "100000\n")), none);
  CAF_CHECK_EQUAL(q(parse_cfs_quota("250000\n", "100000\n")), 2.5);
  CAF_CHECK_EQUAL(q(parse_cfs_quota("50000", "100000")), 0.5);
  CAF_CHECK_EQUAL(q(parse_cfs_quota("50000", "")), none);
  CAF_CHECK_EQUAL(q(parse_cfs_quota("", "100000")), none);
}

CAF_TEST(a quota caps the cpus rounded up and never below one) {
  CAF_CHECK_EQUAL(cores_for(8, std::nullopt), 8u);
  CAF_CHECK_EQUAL(cores_for(8, 2.0), 2u);
  CAF_CHECK_EQUAL(cores_for(8, 1.5), 2u);
  CAF_CHECK_EQUAL(cores_for(8, 0.5), 1u);
  CAF_CHECK_EQUAL(cores_for(8, 0.01), 1u);
  // A quota above the machine changes nothing.
  CAF_CHECK_EQUAL(cores_for(2, 4.0), 2u);
  CAF_CHECK_EQUAL(cores_for(0, std::nullopt), 1u);
}

CAF_TEST(the tightest quota from the own cgroup up to the root counts) {
  temp_dir root;
  // v2, as in a systemd slice: the service's own limit is 3 CPUs, its
  // slice allows 1.5; the root cgroup has no cpu.max.
  root.put("system.slice/cpu.max", "150000 100000\n");
  root.put("system.slice/nl.service/cpu.max", "300000 100000\n");
  root.put("system.slice/other.service/cpu.max", "10000 100000\n");  // not ours
  CAF_CHECK_EQUAL(q(cgroup_cpu_quota("0::/system.slice/nl.service\n", root.path)), 1.5);
  // A container with its own cgroup namespace: the limit sits at the root.
  temp_dir ns;
  ns.put("cpu.max", "200000 100000\n");
  CAF_CHECK_EQUAL(q(cgroup_cpu_quota("0::/\n", ns.path)), 2.0);
  // No limit anywhere.
  temp_dir free;
  free.put("user.slice/cpu.max", "max 100000\n");
  CAF_CHECK_EQUAL(q(cgroup_cpu_quota("0::/user.slice\n", free.path)), none);
  CAF_CHECK_EQUAL(q(cgroup_cpu_quota("", free.path)), none);
}

CAF_TEST(cgroup v1 quotas are found under the cpu controller mount) {
  temp_dir root;
  root.put("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "50000\n");
  root.put("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  root.put("cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  root.put("cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  // Hybrid layout: v2 mounted at unified/ without the cpu controller.
  std::string self = "12:memory:/docker/abc\n"
                     "4:cpu,cpuacct:/docker/abc\n"
                     "1:name=systemd:/docker/abc\n"
                     "0::/docker/abc\n";
  CAF_CHECK_EQUAL(q(cgroup_cpu_quota(self, root.path)), 0.5);
  // A container without a cgroup namespace sees the host's path, while its
  // own cgroup is mounted at the controller's root.
  temp_dir ct;
  ct.put("cpu/cpu.cfs_quota_us", "300000\n");
  ct.put("cpu/cpu.cfs_period_us", "100000\n");
  CAF_CHECK_EQUAL(q(cgroup_cpu_quota("3:cpu:/kubepods/pod1/c1\n", ct.path)), 3.0);
  // "cpuacct" alone is not the cpu controller.
  CAF_CHECK_EQUAL(q(cgroup_cpu_quota("3:cpuacct:/\n", ct.path)), none);
}

CAF_TEST(this process gets at least one core and no more than the machine has) {
  auto n = available_cores();
  CAF_MESSAGE("available cores: " << n << ", hardware_concurrency " << std::thread::hardware_concurrency());
  CAF_CHECK(n >= 1u);
  CAF_CHECK(n <= std::max(1u, std::thread::hardware_concurrency()));
  CAF_CHECK_EQUAL(available_cores(), n);
}

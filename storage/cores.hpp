#pragma once
// How many cores this process may keep busy: the one number that sizes the
// scheduler, the head shards, the HTTP threads and the PromQL helper pool.
//
// std::thread::hardware_concurrency() counts the machine's CPUs. In a
// container, or a systemd unit with CPUQuota=, the cgroup's CPU quota allows
// far fewer: a pool sized to the machine then oversubscribes the quota and
// the kernel throttles the whole process for the rest of each period. So the
// answer is the CPUs of the affinity mask (taskset, cpusets), capped by the
// tightest CPU quota on the way from the process's cgroup up to the root,
// rounded up (a quota of 1.5 CPUs keeps two threads busy part of the time).
//
// cgroup v2: <cgroup>/cpu.max holds "<quota> <period>" or "max <period>"
// (microseconds). cgroup v1: <cgroup>/cpu.cfs_quota_us (-1: no limit) and
// cpu.cfs_period_us. The hierarchies are looked for where distributions and
// container runtimes mount them: /sys/fs/cgroup (v2), /sys/fs/cgroup/unified
// (v2 in hybrid mode), /sys/fs/cgroup/cpu and /sys/fs/cgroup/cpu,cpuacct (v1).
//
// No CAF here: promql/ and storage/ size their own pools with it too.
#include <optional>
#include <string>
#include <string_view>

namespace nl::storage {

/// The cores to size thread pools by, at least 1. The first call reads
/// /proc/self/cgroup and the cgroup files, later calls return the cached
/// answer; thread-safe.
unsigned available_cores();

/// A cgroup v2 cpu.max file's text as CPUs ("150000 100000" is 1.5);
/// nullopt for "max <period>" (no limit) and for anything unparseable.
std::optional<double> parse_cpu_max(std::string_view text);

/// cgroup v1's cpu.cfs_quota_us and cpu.cfs_period_us texts as CPUs;
/// nullopt for a quota of -1 (no limit) and for anything unparseable.
std::optional<double> parse_cfs_quota(std::string_view quota, std::string_view period);

/// The tightest CPU quota of a process whose /proc/self/cgroup reads
/// `proc_self_cgroup`, with the cgroup file systems mounted under `root`
/// (normally "/sys/fs/cgroup"): every cgroup from the process's own up to
/// the hierarchy's root counts. nullopt when none sets a limit.
std::optional<double> cgroup_cpu_quota(std::string_view proc_self_cgroup, const std::string& root);

/// `cpus` (the affinity mask's size) capped by `quota` rounded up; >= 1.
unsigned cores_for(unsigned cpus, std::optional<double> quota);

}  // namespace nl::storage

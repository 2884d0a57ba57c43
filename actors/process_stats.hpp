#pragma once
// What the kernel says about this process, for the standard process_*
// metrics of /metrics (the seven client_golang 1.14's process collector
// exports, same names, HELP texts and value spelling) and the thread count
// of /api/v1/status/runtimeinfo.
//
// Sources, as Go's procfs reads them: /proc/self/stat (CPU ticks, virtual
// size, resident pages, thread count, start ticks since boot), the "btime"
// line of /proc/stat (boot time), the entries of /proc/self/fd, and
// getrlimit (RLIMIT_NOFILE, RLIMIT_AS; "unlimited" is 2^64-1, as procfs
// reports it). A source that cannot be read leaves its metrics out, as the
// Go collector does. No CAF here: the fuzz build compiles this file alone.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nl::actors {

/// The fields of /proc/<pid>/stat that the metrics use (proc(5) numbering).
struct proc_stat {
  uint64_t utime_ticks = 0;   ///< field 14
  uint64_t stime_ticks = 0;   ///< field 15
  int64_t num_threads = 0;    ///< field 20
  uint64_t start_ticks = 0;   ///< field 22: since boot
  uint64_t vsize_bytes = 0;   ///< field 23
  int64_t rss_pages = 0;      ///< field 24
};

/// Parses /proc/<pid>/stat. The command name (field 2) is in parentheses
/// and may itself hold spaces and ')': the fields start after the last
/// ')'. nullopt for anything malformed.
std::optional<proc_stat> parse_proc_stat(std::string_view text);

/// The "btime <seconds>" line of /proc/stat; nullopt when absent or bad.
std::optional<int64_t> parse_boot_time(std::string_view proc_stat_text);

/// One reading; absent members could not be read.
struct process_stats {
  std::optional<double> cpu_seconds;         ///< user + system
  std::optional<double> resident_bytes;
  std::optional<double> virtual_bytes;
  std::optional<double> start_time_seconds;  ///< since the Unix epoch
  std::optional<int64_t> threads;
  std::optional<double> open_fds;
  std::optional<double> max_fds;             ///< soft RLIMIT_NOFILE
  std::optional<double> max_virtual_bytes;   ///< soft RLIMIT_AS
};

/// Reads the current values (a few small /proc reads; for /metrics).
process_stats read_process_stats();

/// The process_* families, sorted by name as client_golang's registry
/// writes them; absent readings are left out.
void append_process_metrics(std::string& out, const process_stats& s);

}  // namespace nl::actors

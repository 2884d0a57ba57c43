#include "actors/process_stats.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

#include "protocol/exposition.hpp"

namespace nl::actors {

namespace {

template <class T>
bool parse_number(std::string_view s, T& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc{} && p == s.data() + s.size();
}

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n'))
      ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\n')
      ++j;
    if (j > i)
      out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<std::string> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<double> open_fd_count() {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr)
    return std::nullopt;
  // Counts the directory's own descriptor too, as Go's procfs does.
  double n = 0;
  while (auto* e = ::readdir(d))
    if (e->d_name[0] != '.')
      n += 1;
  ::closedir(d);
  return n;
}

std::optional<double> soft_limit(int resource) {
  rlimit rl{};
  if (::getrlimit(resource, &rl) != 0)
    return std::nullopt;
  return static_cast<double>(static_cast<uint64_t>(rl.rlim_cur));  // RLIM_INFINITY is 2^64-1
}

}  // namespace

std::optional<proc_stat> parse_proc_stat(std::string_view text) {
  auto close = text.rfind(')');
  if (close == std::string_view::npos || text.find('(') > close)
    return std::nullopt;
  auto f = split_spaces(text.substr(close + 1));
  // f[0] is field 3 (state): field N is f[N - 3].
  if (f.size() < 22)
    return std::nullopt;
  proc_stat s;
  if (!parse_number(f[11], s.utime_ticks) || !parse_number(f[12], s.stime_ticks)
      || !parse_number(f[17], s.num_threads) || !parse_number(f[19], s.start_ticks)
      || !parse_number(f[20], s.vsize_bytes) || !parse_number(f[21], s.rss_pages))
    return std::nullopt;
  return s;
}

std::optional<int64_t> parse_boot_time(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos)
      end = text.size();
    auto line = text.substr(pos, end - pos);
    pos = end + 1;
    auto f = split_spaces(line);
    int64_t v = 0;
    if (f.size() == 2 && f[0] == "btime")
      return parse_number(f[1], v) ? std::optional<int64_t>{v} : std::nullopt;
  }
  return std::nullopt;
}

process_stats read_process_stats() {
  process_stats out;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  if (auto text = read_file("/proc/self/stat"); text && ticks > 0) {
    if (auto st = parse_proc_stat(*text)) {
      out.cpu_seconds = static_cast<double>(st->utime_ticks + st->stime_ticks) / ticks;
      out.virtual_bytes = static_cast<double>(st->vsize_bytes);
      out.resident_bytes = static_cast<double>(st->rss_pages) * static_cast<double>(::sysconf(_SC_PAGESIZE));
      out.threads = st->num_threads;
      if (auto boot = read_file("/proc/stat"))
        if (auto btime = parse_boot_time(*boot))
          out.start_time_seconds = static_cast<double>(*btime) + static_cast<double>(st->start_ticks) / ticks;
    }
  }
  out.open_fds = open_fd_count();
  out.max_fds = soft_limit(RLIMIT_NOFILE);
  out.max_virtual_bytes = soft_limit(RLIMIT_AS);
  return out;
}

void append_process_metrics(std::string& out, const process_stats& s) {
  auto family = [&](const char* name, const char* type, const char* help, const std::optional<double>& v) {
    if (!v)
      return;
    protocol::append_metric_header(out, name, type, help);
    protocol::append_metric_float_line(out, name, "", *v);
  };
  family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
         s.cpu_seconds);
  family("process_max_fds", "gauge", "Maximum number of open file descriptors.", s.max_fds);
  family("process_open_fds", "gauge", "Number of open file descriptors.", s.open_fds);
  family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", s.resident_bytes);
  family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
         s.start_time_seconds);
  family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", s.virtual_bytes);
  family("process_virtual_memory_max_bytes", "gauge", "Maximum amount of virtual memory available in bytes.",
         s.max_virtual_bytes);
}

}  // namespace nl::actors

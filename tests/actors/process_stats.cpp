#define CAF_SUITE actors.process_stats
#include "test_support.hpp"

#include "actors/process_stats.hpp"

#include <chrono>

using namespace nl::actors;

namespace {

// A real line of /proc/<pid>/stat (Linux 6.1), pid 4242.
constexpr const char* stat_line =
  "4242 (nightlight) S 1 4242 4242 0 -1 4194560 12345 0 0 0 250 75 0 0 30 10 17 0 "
  "9876543 1310883840 10895 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0 "
  "0 0 0 0 0 0 0 0\n";

}  // namespace

CAF_TEST(proc stat fields by their proc(5) numbers) {
  auto s = parse_proc_stat(stat_line);
  CAF_REQUIRE(s.has_value());
  CAF_CHECK_EQUAL(s->utime_ticks, 250u);
  CAF_CHECK_EQUAL(s->stime_ticks, 75u);
  CAF_CHECK_EQUAL(s->num_threads, 17);
  CAF_CHECK_EQUAL(s->start_ticks, 9876543u);
  CAF_CHECK_EQUAL(s->vsize_bytes, 1310883840u);
  CAF_CHECK_EQUAL(s->rss_pages, 10895);
}

CAF_TEST(a command name with spaces and parentheses does not shift the fields) {
  std::string line = stat_line;
  line.replace(line.find("(nightlight)"), 12, "(a) b (c))");
  auto s = parse_proc_stat(line);
  CAF_REQUIRE(s.has_value());
  CAF_CHECK_EQUAL(s->num_threads, 17);
  CAF_CHECK_EQUAL(s->rss_pages, 10895);
}

CAF_TEST(malformed proc stat is refused) {
  CAF_CHECK(!parse_proc_stat(""));
  CAF_CHECK(!parse_proc_stat("4242 nightlight S 1 2 3"));
  CAF_CHECK(!parse_proc_stat("4242 (nightlight) S 1 4242"));  // too few fields
  CAF_CHECK(!parse_proc_stat(")("));
  std::string bad = stat_line;
  bad.replace(bad.find(" 250 "), 5, " x50 ");
  CAF_CHECK(!parse_proc_stat(bad));
  std::string negative = stat_line;
  negative.replace(negative.find(" 250 "), 5, " -25 ");
  CAF_CHECK(!parse_proc_stat(negative));
}

CAF_TEST(boot time from proc stat) {
  CAF_CHECK_EQUAL(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1796445000\nprocesses 9\n"), 1796445000);
  CAF_CHECK_EQUAL(parse_boot_time("btime 7"), 7);
  CAF_CHECK(!parse_boot_time("cpu 1 2 3\n"));
  CAF_CHECK(!parse_boot_time("btime\n"));
  CAF_CHECK(!parse_boot_time("btime x1\n"));
  CAF_CHECK(!parse_boot_time(""));
}

CAF_TEST(this process reads as alive) {
  auto s = read_process_stats();
  CAF_REQUIRE(s.cpu_seconds && s.resident_bytes && s.virtual_bytes && s.start_time_seconds && s.threads);
  CAF_REQUIRE(s.open_fds && s.max_fds && s.max_virtual_bytes);
  CAF_CHECK_GREATER_OR_EQUAL(*s.cpu_seconds, 0.0);
  CAF_CHECK_GREATER(*s.resident_bytes, 1e6);
  CAF_CHECK_GREATER_OR_EQUAL(*s.virtual_bytes, *s.resident_bytes);
  CAF_CHECK_GREATER_OR_EQUAL(*s.threads, 1);
  CAF_CHECK_GREATER_OR_EQUAL(*s.open_fds, 3.0);  // stdin, stdout, stderr
  CAF_CHECK_GREATER_OR_EQUAL(*s.max_fds, *s.open_fds);
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CAF_CHECK_LESS_OR_EQUAL(*s.start_time_seconds, now + 1);
  CAF_CHECK_GREATER(*s.start_time_seconds, now - 86400);  // a test run is younger than a day
}

CAF_TEST(process families are written as client_golang writes them) {
  process_stats s;
  s.cpu_seconds = 0.1;
  s.max_fds = 20000;
  s.open_fds = 13;
  s.resident_bytes = 44625920;
  s.start_time_seconds = 1796445501.89;
  s.virtual_bytes = 1310883840;
  s.max_virtual_bytes = 18446744073709551615.0;
  std::string out;
  append_process_metrics(out, s);
  // Prometheus 2.42's own /metrics for the same numbers.
  CAF_CHECK_EQUAL(out,
                  "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
                  "# TYPE process_cpu_seconds_total counter\n"
                  "process_cpu_seconds_total 0.1\n"
                  "# HELP process_max_fds Maximum number of open file descriptors.\n"
                  "# TYPE process_max_fds gauge\n"
                  "process_max_fds 20000\n"
                  "# HELP process_open_fds Number of open file descriptors.\n"
                  "# TYPE process_open_fds gauge\n"
                  "process_open_fds 13\n"
                  "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                  "# TYPE process_resident_memory_bytes gauge\n"
                  "process_resident_memory_bytes 4.462592e+07\n"
                  "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
                  "# TYPE process_start_time_seconds gauge\n"
                  "process_start_time_seconds 1.79644550189e+09\n"
                  "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                  "# TYPE process_virtual_memory_bytes gauge\n"
                  "process_virtual_memory_bytes 1.31088384e+09\n"
                  "# HELP process_virtual_memory_max_bytes Maximum amount of virtual memory available in bytes.\n"
                  "# TYPE process_virtual_memory_max_bytes gauge\n"
                  "process_virtual_memory_max_bytes 1.8446744073709552e+19\n");
}

CAF_TEST(unreadable sources leave their families out) {
  process_stats s;
  s.open_fds = 5;
  std::string out;
  append_process_metrics(out, s);
  CAF_CHECK_EQUAL(out, "# HELP process_open_fds Number of open file descriptors.\n"
                       "# TYPE process_open_fds gauge\n"
                       "process_open_fds 5\n");
}

#include "actors/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>

namespace nl::actors {

namespace {

std::atomic<int> min_level{static_cast<int>(log_level::info)};

const char* level_name(log_level l) {
  switch (l) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info ";
    case log_level::warn:
      return "warn ";
    case log_level::error:
      return "error";
  }
  return "?";
}

}  // namespace

void set_log_level(log_level lvl) {
  min_level = static_cast<int>(lvl);
}

void log(log_level lvl, const std::string& msg) {
  if (static_cast<int>(lvl) < min_level.load(std::memory_order_relaxed))
    return;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[40];
  auto n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(ts + n, sizeof ts - n, ".%03dZ", static_cast<int>(ms % 1000));
  std::string line;
  line.reserve(msg.size() + 48);
  line += ts;
  line += ' ';
  line += level_name(lvl);
  line += ' ';
  line += msg;
  line += '\n';
  // A single write keeps lines from different threads whole.
  [[maybe_unused]] auto r = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace nl::actors

#pragma once
// One line per notable event on stderr:
//   2026-11-27T09:12:03.123Z info  wal: replayed 3 segments (12.1 MiB) in 0.41s
// Thread-safe (one write() per line). Debian's CAF build logs nothing, so
// this is the process's only log.
#include <string>

#include "actors/config.hpp"

namespace nl::actors {

/// Lines below `lvl` are dropped. Default: info.
void set_log_level(log_level lvl);
void log(log_level lvl, const std::string& msg);

inline void log_debug(const std::string& m) { log(log_level::debug, m); }
inline void log_info(const std::string& m) { log(log_level::info, m); }
inline void log_warn(const std::string& m) { log(log_level::warn, m); }
inline void log_error(const std::string& m) { log(log_level::error, m); }

}  // namespace nl::actors

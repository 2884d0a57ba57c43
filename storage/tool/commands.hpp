#pragma once
// The subcommands of `nightlight-tsdb`, the offline tool for a data
// directory (README.md, "Offline tool: nightlight-tsdb"). main.cpp parses
// the command line and calls one of these; tests call them directly.
//
// DIR may be a data directory (`blocks/` and/or `wal/`), a `blocks/`
// directory itself or a single block directory (holding `meta.json`).
// Nothing here writes to DIR: blocks are opened with block::open directly
// (never open_blocks(), which moves damaged blocks aside and deletes
// leftovers), the WAL is read but never repaired.
//
// Each function writes its report to `out` and warnings and errors to
// `err`, and returns the process exit code.
//
// Thread-safety: none needed; one call at a time per DIR is assumed, but a
// server running on DIR meanwhile is tolerated (see check()).
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "storage/matcher.hpp"
#include "storage/status.hpp"

namespace nl::storage::tool {

/// Exit codes of every subcommand.
inline constexpr int exit_ok = 0;
/// Something is damaged, or DIR could not be read.
inline constexpr int exit_failed = 1;
/// Bad command line (main.cpp only).
inline constexpr int exit_usage = 2;

/// `check DIR`: runs block::check() on every block, reads the WAL
/// checkpoint and segments record by record, and reports every damaged
/// block and WAL file with the reason, overlapping blocks (warning) and
/// leftovers (`*.tmp`, `*.deleted`, `*.corrupted`; notes), then one summary
/// line. exit_ok when everything is intact (warnings allowed: a torn WAL
/// tail, overlaps), exit_failed when anything is damaged.
int check(const std::string& dir, std::ostream& out, std::ostream& err);

struct analyze_options {
  /// Entries per top-N list.
  size_t limit = 20;
};

/// `analyze DIR`: per block (and the head as the WAL would replay it) the
/// time range, series, chunks, samples and churn against the previous
/// block; totals; the top metric names by series, label names by distinct
/// values, and label pairs by series.
int analyze(const std::string& dir, const analyze_options& opts, std::ostream& out, std::ostream& err);

struct dump_options {
  /// Series matching any of these selectors; none: every series.
  std::vector<matcher_list> selectors;
  /// Inclusive, milliseconds since the epoch.
  int64_t min_time = INT64_MIN;
  int64_t max_time = INT64_MAX;
};

/// `dump DIR`: every sample of the blocks and of the WAL (as start-up would
/// replay it), one line `labels value timestamp_ms` each, sorted by series
/// and then time. A sample of several sources is printed once.
int dump(const std::string& dir, const dump_options& opts, std::ostream& out, std::ostream& err);

// -- import-prometheus ---------------------------------------------------------

/// `import-prometheus PROM_DATA_DIR DIR`: converts every Prometheus block of
/// PROM_DATA_DIR (a Prometheus data directory or one block directory) into a
/// Nightlight block in DIR/blocks with nl::storage::import_prometheus
/// (storage/prometheus/import.hpp), which never writes to PROM_DATA_DIR.
/// DIR (one level) and DIR/blocks are created when missing. Refused
/// (exit_failed) while a server holds DIR/LOCK. Prints one line per block
/// and a total line to `out`.
int import_prometheus(const std::string& prom_dir, const std::string& dir, std::ostream& out, std::ostream& err);

// -- helpers shared with main.cpp and the tests -------------------------------

/// A time argument: an integer in milliseconds since the epoch, or RFC 3339
/// (`2024-05-01T10:00:00Z`, `2024-05-01T12:00:00.250+02:00`).
/// invalid_argument naming the text otherwise.
result<int64_t> parse_time(std::string_view text);

/// RFC 3339 in UTC with milliseconds: `2024-05-01T10:00:00.000Z`.
std::string format_time(int64_t ms);

/// A sample line's value: Go's strconv 'g' -1 form, as promtool prints it
/// (`0.1`, `1e+06`, `NaN`, `+Inf`, `-Inf`); the staleness marker is `NaN`.
std::string format_value(double v);

}  // namespace nl::storage::tool

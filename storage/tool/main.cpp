// nightlight-tsdb: the offline tool for a Nightlight data directory. This
// file only parses the command line; the commands are in commands.hpp.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "promql/parser.hpp"
#include "storage/tool/commands.hpp"

namespace tool = nl::storage::tool;

namespace {

constexpr const char* usage_text = R"(usage: nightlight-tsdb <command> [arguments]

The offline tool for a Nightlight data directory. check, analyze and dump
only read DIR; they may run while a server uses it (results may then show
a WAL tail being written or blocks vanishing). DIR is a data directory
(blocks/, wal/), a blocks/ directory or a single block directory (meta.json).

Commands:
  check DIR
      Verifies every block (each chunk's CRC and samples, the order of series
      and chunks, the postings) and the WAL (the newest checkpoint and the
      segments after it, record by record). Reports each damaged block or
      WAL file with the reason, overlapping blocks (warnings) and leftovers
      (*.tmp, *.deleted, *.corrupted: notes), then a summary line.
      Exit 0 when everything is intact, 1 when anything is damaged.

  analyze DIR [--limit N]
      Per block, and for the head as the WAL replays it: time range, series,
      chunks, samples and churn (series new or gone against the previous
      row); totals; the top N (default 20) metric names by series, label
      names by distinct values and label pairs by series.

  dump DIR [--match SELECTOR]... [--min-time T] [--max-time T]
      Prints every sample of the blocks and the WAL as
        name{label="value", ...} value timestamp_ms
      sorted by series, then time; a sample held twice prints once. WAL
      samples are those start-up would replay: after the newest block's end,
      in order per series. SELECTOR is a PromQL series selector (up{job="a"},
      {__name__=~"http_.*"}); several --match print the union. T is
      milliseconds since the epoch or RFC 3339 (2024-05-01T10:00:00Z); both
      bounds are inclusive. Values print like promtool (Go's %g): 0.1,
      1e+06, NaN, +Inf, -Inf. Staleness markers (the StaleNaN bit pattern
      0x7ff0000000000002) print as NaN.

  import-prometheus PROM_DATA_DIR DIR
      Converts every block of a Prometheus 2.x data directory (or one block
      directory) into a Nightlight block in DIR/blocks, chunks copied as they
      are (native histogram chunks are skipped). PROM_DATA_DIR is only read.
      DIR is created if missing; stop the server on DIR first (refused while
      DIR/LOCK is held). Start Nightlight on DIR afterwards.

  help, --help
      This text.

Exit codes: 0 ok, 1 damaged or failed, 2 usage error.
)";

int usage_error(const std::string& what) {
  std::cerr << "nightlight-tsdb: " << what << "\n\n" << usage_text;
  return tool::exit_usage;
}

// The arguments after the command: positionals and `--name VALUE` /
// `--name=VALUE` options (each may repeat).
struct parsed_args {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> options;
  bool help = false;
};

std::optional<parsed_args> parse_args(int argc, char** argv, const std::vector<std::string>& known,
                                      std::string& error) {
  parsed_args out;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      out.help = true;
      continue;
    }
    if (a.size() < 2 || a.compare(0, 2, "--") != 0) {
      out.positional.push_back(a);
      continue;
    }
    auto eq = a.find('=');
    std::string name = a.substr(0, eq);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      error = "unknown option " + name + " for " + argv[1];
      return std::nullopt;
    }
    if (eq != std::string::npos) {
      out.options.emplace_back(name, a.substr(eq + 1));
    } else if (i + 1 < argc) {
      out.options.emplace_back(name, argv[++i]);
    } else {
      error = name + " needs a value";
      return std::nullopt;
    }
  }
  return out;
}

int run_check(const parsed_args& a) {
  if (a.positional.size() != 1)
    return usage_error("check takes exactly one DIR");
  return tool::check(a.positional[0], std::cout, std::cerr);
}

int run_analyze(const parsed_args& a) {
  if (a.positional.size() != 1)
    return usage_error("analyze takes exactly one DIR");
  tool::analyze_options o;
  for (const auto& [name, value] : a.options) {
    size_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n == 0)
      return usage_error("--limit wants a positive integer, got \"" + value + "\"");
    o.limit = n;
  }
  return tool::analyze(a.positional[0], o, std::cout, std::cerr);
}

int run_dump(const parsed_args& a) {
  if (a.positional.size() != 1)
    return usage_error("dump takes exactly one DIR");
  tool::dump_options o;
  for (const auto& [name, value] : a.options) {
    if (name == "--match") {
      auto sel = nl::promql::parse_metric_selector(value);
      if (!sel)
        return usage_error("--match " + value + ": " + sel.error->message);
      o.selectors.push_back(std::move(sel.matchers));
      continue;
    }
    auto t = tool::parse_time(value);
    if (!t)
      return usage_error(name + ": " + t.error().message());
    (name == "--min-time" ? o.min_time : o.max_time) = *t;
  }
  if (o.min_time > o.max_time)
    return usage_error("--min-time is after --max-time");
  std::ios::sync_with_stdio(false);
  int rc = tool::dump(a.positional[0], o, std::cout, std::cerr);
  std::cout.flush();
  return rc;
}

// -- import-prometheus -------------------------------------------------------
// Converts Prometheus blocks with nl::storage::import_prometheus
// (storage/prometheus/import.hpp), through tool::import_prometheus.

int run_import(const parsed_args& a) {
  if (a.positional.size() != 2)
    return usage_error("import-prometheus takes PROM_DATA_DIR and DIR");
  return tool::import_prometheus(a.positional[0], a.positional[1], std::cout, std::cerr);
}

struct command {
  const char* name;
  std::vector<std::string> options;
  int (*run)(const parsed_args&);
};

const std::vector<command>& commands() {
  static const std::vector<command> all = {
    {"check", {}, run_check},
    {"analyze", {"--limit"}, run_analyze},
    {"dump", {"--match", "--min-time", "--max-time"}, run_dump},
    {"import-prometheus", {}, run_import},
  };
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    return usage_error("no command given");
  std::string cmd = argv[1];
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::cout << usage_text;
    return tool::exit_ok;
  }
  for (const auto& c : commands()) {
    if (cmd != c.name)
      continue;
    std::string error;
    auto args = parse_args(argc, argv, c.options, error);
    if (!args)
      return usage_error(error);
    if (args->help) {
      std::cout << usage_text;
      return tool::exit_ok;
    }
    return c.run(*args);
  }
  return usage_error("unknown command \"" + cmd + "\"");
}

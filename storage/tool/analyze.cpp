// nightlight-tsdb analyze: sizes, cardinality and churn, modelled on
// `promtool tsdb analyze`. Output (stdout):
//
//   one row per block in time order, then the head as the WAL replays it:
//     name, [min, max) time, span, series, chunks, samples, new, gone
//   (new: series not in the previous row; gone: series of the previous row
//   missing from this one), a total row (distinct series), then three
//   top-N lists, one "<count> <key>" line per entry:
//     Highest cardinality metric names     series per __name__
//     Highest cardinality labels           distinct values per label name
//     Most common label pairs              series per name=value
#include <algorithm>
#include <iomanip>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "promql/printer.hpp"
#include "storage/tool/commands.hpp"
#include "storage/tool/data_dir.hpp"
#include "storage/tool/wal_scan.hpp"

namespace nl::storage::tool {

namespace {

struct row {
  std::string name;
  int64_t min_time = 0;
  int64_t max_time = 0;  // exclusive
  uint64_t chunks = 0;
  uint64_t samples = 0;
  std::vector<label_set> series;  // sorted
  uint64_t added = 0;
  uint64_t gone = 0;
};

// |a \ b| for sorted vectors.
uint64_t count_missing(const std::vector<label_set>& a, const std::vector<label_set>& b) {
  uint64_t n = 0;
  size_t j = 0;
  for (const auto& x : a) {
    while (j < b.size() && b[j] < x)
      ++j;
    if (j == b.size() || x < b[j])
      n += 1;
  }
  return n;
}

void print_top(std::ostream& out, const char* title, std::vector<std::pair<std::string, uint64_t>> entries,
               size_t limit) {
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  out << "\n" << title << ":\n";
  for (size_t i = 0; i < entries.size() && i < limit; ++i)
    out << entries[i].second << " " << entries[i].first << "\n";
}

void print_rows(std::ostream& out, const std::vector<row>& rows) {
  size_t name_w = 26;  // a ULID; a time "2024-05-01T10:00:00.000Z" is 24
  for (const auto& r : rows)
    name_w = std::max(name_w, r.name.size());
  out << std::left << std::setw(static_cast<int>(name_w)) << "BLOCK" << "  " << std::setw(24) << "MIN TIME"
      << "  " << std::setw(24) << "MAX TIME" << "  " << std::setw(8) << "SPAN" << std::right << std::setw(10)
      << "SERIES" << std::setw(10) << "CHUNKS" << std::setw(12) << "SAMPLES" << std::setw(9) << "NEW"
      << std::setw(9) << "GONE" << "\n";
  for (const auto& r : rows)
    out << std::left << std::setw(static_cast<int>(name_w)) << r.name << "  " << std::setw(24)
        << format_time(r.min_time) << "  " << std::setw(24) << format_time(r.max_time) << "  " << std::setw(8)
        << promql::format_duration(r.max_time - r.min_time) << std::right << std::setw(10) << r.series.size()
        << std::setw(10) << r.chunks << std::setw(12) << r.samples << std::setw(9) << r.added << std::setw(9)
        << r.gone << "\n";
  out << std::left;
}

}  // namespace

int analyze(const std::string& dir, const analyze_options& opts, std::ostream& out, std::ostream& err) {
  auto layout = locate(dir);
  if (!layout) {
    err << "nightlight-tsdb analyze: " << layout.error().message() << "\n";
    return exit_failed;
  }
  bool failed = false;
  auto blocks = usable_blocks(open_layout_blocks(*layout), err, &failed);
  std::vector<row> rows;
  int64_t floor = INT64_MIN;
  for (const auto& b : blocks) {
    const auto& m = b->meta();
    row r;
    r.name = m.ulid;
    r.min_time = m.min_time;
    r.max_time = m.max_time;
    r.chunks = m.num_chunks;
    r.samples = m.num_samples;
    auto ls = b->series({}, INT64_MIN, INT64_MAX);
    if (!ls) {
      err << "error: block " << m.ulid << ": " << ls.error().message() << "\n";
      failed = true;
      continue;
    }
    r.series = std::move(*ls);
    floor = std::max(floor, m.max_time);
    rows.push_back(std::move(r));
  }
  bool with_head = false;
  if (!layout->wal_dir.empty()) {
    auto replay = replay_wal(layout->wal_dir, floor);
    for (const auto& d : replay.summary.damage) {
      err << "error: wal: " << d << " (the head below holds what was read before)\n";
      failed = true;
    }
    auto snaps = replay.data->select({}, INT64_MIN, INT64_MAX);
    if (!snaps.empty()) {
      row r;
      r.name = "head (from the WAL)";
      r.min_time = replay.data->min_time();
      r.max_time = replay.data->max_time() + 1;
      for (auto& s : snaps) {
        r.chunks += s.chunks.size();
        for (const auto& c : s.chunks)
          r.samples += c->num_samples();
        r.series.push_back(std::move(s.labels));
      }
      rows.push_back(std::move(r));
      with_head = true;
    }
  }
  out << "Data: " << dir << ": " << blocks.size() << (blocks.size() == 1 ? " block" : " blocks")
      << (with_head ? " and the head as the WAL replays it" : layout->wal_dir.empty() ? ", no WAL" : ", empty head")
      << "\n";
  if (rows.empty()) {
    out << "No series.\n";
    return failed ? exit_failed : exit_ok;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].added = i == 0 ? rows[i].series.size() : count_missing(rows[i].series, rows[i - 1].series);
    rows[i].gone = i == 0 ? 0 : count_missing(rows[i - 1].series, rows[i].series);
  }
  out << "Max time is exclusive; NEW/GONE: series not in the previous row / series of the previous row "
         "not in this one.\n\n";
  print_rows(out, rows);
  // Cardinality over the distinct series of all rows.
  std::set<label_set> all;
  uint64_t chunks = 0, samples = 0;
  for (const auto& r : rows) {
    all.insert(r.series.begin(), r.series.end());
    chunks += r.chunks;
    samples += r.samples;
  }
  out << "\nTotal: " << all.size() << " series, " << chunks << " chunks, " << samples << " samples\n";
  std::map<std::string, uint64_t> metrics, pairs;
  std::unordered_map<std::string, std::unordered_set<std::string>> values;
  for (const auto& ls : all) {
    if (auto name = ls.metric_name(); !name.empty())
      metrics[std::string{name}] += 1;
    for (const auto& l : ls) {
      values[l.name].insert(l.value);
      pairs[l.name + "=" + l.value] += 1;
    }
  }
  std::vector<std::pair<std::string, uint64_t>> cardinality;
  for (const auto& [name, vs] : values)
    cardinality.emplace_back(name, vs.size());
  print_top(out, "Highest cardinality metric names (series)", {metrics.begin(), metrics.end()}, opts.limit);
  print_top(out, "Highest cardinality labels (distinct values)", std::move(cardinality), opts.limit);
  print_top(out, "Most common label pairs (series)", {pairs.begin(), pairs.end()}, opts.limit);
  return failed ? exit_failed : exit_ok;
}

}  // namespace nl::storage::tool

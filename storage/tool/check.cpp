// nightlight-tsdb check: verifies every block and the WAL, read-only.
// Output, one line each (stdout):
//
//   note: ...                                   leftovers, a running server
//   block <ULID> [<min>, <max>) level <n>: <s> series, <c> chunks, <k> samples: ok
//   block <ULID>: DAMAGED: <file>: <problem>
//   warning: blocks <A> and <B> overlap in [<t1>, <t2>)
//   wal: <what was read>: <r> records, <s> series, <k> samples: ok | DAMAGED
//   summary: <n> blocks ok, <m> damaged (...); WAL ...; <w> warnings: intact | DAMAGED
#include <algorithm>
#include <set>

#include "storage/tool/commands.hpp"
#include "storage/tool/data_dir.hpp"
#include "storage/tool/wal_scan.hpp"
#include "storage/wal/checkpoint.hpp"

namespace nl::storage::tool {

namespace {

struct check_totals {
  uint64_t ok = 0;
  uint64_t damaged = 0;
  uint64_t warnings = 0;
  uint64_t samples = 0;
  std::set<label_set> series;
  std::vector<std::shared_ptr<const block>> good;
};

void check_blocks(const data_layout& layout, check_totals& t, std::ostream& out) {
  for (const auto& path : layout.block_dirs) {
    auto name = base_name(path);
    auto b = block::open(path);
    status st = b ? (*b)->check() : b.error();
    if (!st) {
      auto exists = path_exists(path);
      if (exists && !*exists) {
        out << "note: block " << name << " disappeared while it was read (a running server merged or deleted it)\n";
        continue;
      }
      out << "block " << name << ": DAMAGED: " << st.message() << "\n";
      t.damaged += 1;
      continue;
    }
    const auto& m = (*b)->meta();
    out << "block " << name << " [" << format_time(m.min_time) << ", " << format_time(m.max_time) << ") level "
        << m.level << ": " << m.num_series << " series, " << m.num_chunks << " chunks, " << m.num_samples
        << " samples: ok\n";
    t.ok += 1;
    t.samples += m.num_samples;
    if (auto ls = (*b)->series({}, INT64_MIN, INT64_MAX))
      t.series.insert(ls->begin(), ls->end());
    t.good.push_back(std::move(*b));
  }
}

// Superseded blocks (notes) and overlaps among the rest (warnings).
void check_ranges(check_totals& t, std::ostream& out) {
  auto old = superseded(t.good);
  std::vector<const block_meta*> live;
  for (const auto& b : t.good) {
    const auto& m = b->meta();
    if (std::find(old.begin(), old.end(), m.ulid) == old.end()) {
      live.push_back(&m);
      continue;
    }
    for (const auto& c : t.good)
      if (std::count(c->meta().parents.begin(), c->meta().parents.end(), m.ulid) > 0)
        out << "note: block " << m.ulid << " is already merged into " << c->meta().ulid
            << " (the server deletes it at start-up)\n";
  }
  std::sort(live.begin(), live.end(), [](const block_meta* a, const block_meta* b) {
    return a->min_time != b->min_time ? a->min_time < b->min_time : a->ulid < b->ulid;
  });
  for (size_t i = 0; i < live.size(); ++i)
    for (size_t j = i + 1; j < live.size() && live[j]->min_time < live[i]->max_time; ++j) {
      out << "warning: blocks " << live[i]->ulid << " and " << live[j]->ulid << " overlap in ["
          << format_time(live[j]->min_time) << ", "
          << format_time(std::min(live[i]->max_time, live[j]->max_time)) << ")\n";
      t.warnings += 1;
    }
}

// The WAL part of the summary line.
std::string check_wal(const std::string& wal_dir, check_totals& t, std::ostream& out) {
  if (wal_dir.empty())
    return "no WAL";
  std::set<label_set> series;
  wal_visitor visit;
  visit.on_series = [&](const std::vector<series_record>& records) {
    for (const auto& s : records)
      series.insert(s.labels);
  };
  auto sum = scan_wal(wal_dir, visit);
  for (const auto& n : sum.notes)
    out << "note: wal/" << n << "\n";
  std::string what;
  if (sum.checkpoint)
    what = wal_checkpoint_name(*sum.checkpoint);
  if (sum.first_segment != 0) {
    what += what.empty() ? "segments " : " and segments ";
    what += wal_segment_name(sum.first_segment) + "-" + wal_segment_name(sum.last_segment);
  }
  if (what.empty())
    what = "no segments";
  bool damaged = !sum.damage.empty();
  out << "wal: " << what << ": " << sum.records << " records, " << series.size() << " series, " << sum.samples
      << " samples";
  if (sum.samples > 0)
    out << " [" << format_time(sum.min_time) << ", " << format_time(sum.max_time) << "]";
  if (sum.metadata > 0)
    out << ", " << sum.metadata << " metadata entries";
  out << (damaged ? ": DAMAGED\n" : ": ok\n");
  for (const auto& d : sum.damage)
    out << "wal: DAMAGED: " << d << "\n";
  for (const auto& w : sum.warnings) {
    out << "warning: wal: " << w << "\n";
    t.warnings += 1;
  }
  if (sum.unknown_ref_samples > 0) {
    out << "warning: wal: " << sum.unknown_ref_samples
        << " samples of series that no series record declares (start-up skips them)\n";
    t.warnings += 1;
  }
  if (damaged)
    t.damaged += 1;
  return std::string{damaged ? "WAL DAMAGED" : "WAL ok"} + " (" + std::to_string(sum.samples) + " samples, "
         + std::to_string(series.size()) + " series)";
}

}  // namespace

int check(const std::string& dir, std::ostream& out, std::ostream& err) {
  auto layout = locate(dir);
  if (!layout) {
    err << "nightlight-tsdb check: " << layout.error().message() << "\n";
    return exit_failed;
  }
  if (layout->in_use)
    out << "note: a server holds " << dir << "/LOCK: blocks and the WAL may change while they are read\n";
  for (const auto& l : layout->leftovers)
    out << "note: blocks/" << l << "\n";
  check_totals t;
  check_blocks(*layout, t, out);
  uint64_t damaged_blocks = t.damaged;
  check_ranges(t, out);
  auto wal = check_wal(layout->wal_dir, t, out);
  out << "summary: " << t.ok << " blocks ok, " << damaged_blocks << " damaged (" << t.samples << " samples, "
      << t.series.size() << " series); " << wal << "; " << t.warnings << (t.warnings == 1 ? " warning" : " warnings")
      << (t.damaged > 0 ? ": DAMAGED\n" : ": intact\n");
  return t.damaged > 0 ? exit_failed : exit_ok;
}

}  // namespace nl::storage::tool

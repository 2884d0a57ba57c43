#include "storage/tool/wal_scan.hpp"

#include <algorithm>
#include <unordered_set>

#include "storage/file.hpp"
#include "storage/wal/checkpoint.hpp"
#include "storage/wal/segment_reader.hpp"

namespace nl::storage::tool {

namespace {

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Decodes records and keeps the counts; the first undecodable record stops
// the reading (the server refuses to start on it too).
class record_reader {
 public:
  record_reader(const wal_visitor& visit, wal_summary& sum) : visit_(visit), sum_(sum) {}

  status apply(std::string_view rec, const std::string& where, uint64_t end) {
    sum_.records += 1;
    auto fail = [&](const std::string& what) {
      return status::corruption(where + " record ending at offset " + std::to_string(end) + ": " + what);
    };
    auto type = record_type(rec);
    if (!type)
      return fail(type.error().message());
    if (*type == wal_record_type::tombstones) {
      // Deletions by the admin API: checked, not summarised.
      if (auto st = decode_tombstone_records(rec, stones_); !st)
        return fail(st.message());
      return status::ok();
    }
    if (*type == wal_record_type::metadata) {
      if (auto st = decode_metadata_records(rec, metadata_); !st)
        return fail(st.message());
      sum_.metadata += metadata_.size();
      return status::ok();
    }
    if (*type == wal_record_type::series) {
      if (auto st = decode_series(rec, series_); !st)
        return fail(st.message());
      sum_.series += series_.size();
      for (const auto& s : series_)
        refs_.insert(s.ref);
      if (visit_.on_series)
        visit_.on_series(series_);
      return status::ok();
    }
    if (auto st = decode_samples(rec, samples_); !st)
      return fail(st.message());
    sum_.samples += samples_.size();
    for (const auto& s : samples_) {
      if (refs_.count(s.ref) == 0)
        sum_.unknown_ref_samples += 1;
      sum_.min_time = std::min(sum_.min_time, s.t);
      sum_.max_time = std::max(sum_.max_time, s.t);
    }
    if (visit_.on_samples)
      visit_.on_samples(samples_);
    return status::ok();
  }

 private:
  const wal_visitor& visit_;
  wal_summary& sum_;
  std::unordered_set<uint64_t> refs_;
  std::vector<series_record> series_;
  std::vector<sample_record> samples_;
  std::vector<tombstone_record> stones_;
  std::vector<metadata_record> metadata_;
};

// What start-up's remove_obsolete_wal_files() would delete.
void note_obsolete(const std::vector<std::string>& names, std::optional<uint64_t> checkpoint,
                   const std::vector<uint64_t>& segments, wal_summary& sum) {
  auto current = checkpoint ? wal_checkpoint_name(*checkpoint) : std::string{};
  for (const auto& n : names) {
    if (!starts_with(n, "checkpoint.") || n == current)
      continue;
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".tmp") == 0)
      sum.notes.push_back(n + ": an unfinished checkpoint (not read; the server removes it at start-up)");
    else if (checkpoint)
      sum.notes.push_back(n + ": replaced by " + current + " (not read; the server removes it at start-up)");
  }
  if (!checkpoint)
    return;
  size_t old = 0;
  for (auto s : segments)
    old += s <= *checkpoint ? 1 : 0;
  if (old > 0)
    sum.notes.push_back(std::to_string(old) + " segment(s) <= " + wal_segment_name(*checkpoint) + ": replaced by "
                        + current + " (not read; the server removes them at start-up)");
}

}  // namespace

wal_summary scan_wal(const std::string& wal_dir, const wal_visitor& visit) {
  wal_summary sum;
  auto names = list_dir(wal_dir);
  auto segments = list_wal_segments(wal_dir);
  auto checkpoint = latest_wal_checkpoint(wal_dir);
  if (!names || !segments || !checkpoint) {
    sum.damage.push_back(!names ? names.error().message()
                                : !segments ? segments.error().message() : checkpoint.error().message());
    return sum;
  }
  sum.checkpoint = *checkpoint;
  note_obsolete(*names, *checkpoint, *segments, sum);
  record_reader reader{visit, sum};
  uint64_t first = 0;
  if (sum.checkpoint) {
    auto n = *sum.checkpoint;
    auto name = wal_checkpoint_name(n);
    uint64_t segment = 0;
    std::string where;
    auto st = read_wal_checkpoint(wal_dir, n, [&](std::string_view rec, wal_position end) {
      if (end.segment != segment) {
        segment = end.segment;
        where = "WAL checkpoint " + name + " segment " + wal_segment_name(segment);
      }
      return reader.apply(rec, where, end.offset);
    });
    if (!st) {
      sum.damage.push_back(st.message());
      return sum;
    }
    first = n + 1;
    auto after = std::find_if(segments->begin(), segments->end(), [&](uint64_t s) { return s > n; });
    if (after != segments->end() && *after != n + 1) {
      sum.damage.push_back("WAL segment " + wal_segment_name(n + 1) + " is missing (after " + name
                           + ", the next is " + wal_segment_name(*after) + ")");
      return sum;
    }
  }
  for (auto seg : *segments)
    if (seg >= first) {
      sum.first_segment = sum.first_segment == 0 ? seg : sum.first_segment;
      sum.last_segment = seg;
    }
  auto r = wal_segment_reader::open(wal_dir, first);
  if (!r) {
    sum.damage.push_back(r.error().message());
    return sum;
  }
  std::string where;
  uint64_t current = 0;
  while ((*r)->next()) {
    auto pos = (*r)->position();
    if (pos.segment != current) {
      current = pos.segment;
      where = "WAL segment " + wal_segment_name(current);
    }
    if (auto st = reader.apply((*r)->record(), where, pos.offset); !st) {
      sum.damage.push_back(st.message());
      return sum;
    }
  }
  const auto& s = (*r)->summary();
  using outcome = wal_replay_result::outcome;
  switch (s.state) {
    case outcome::clean:
      break;
    case outcome::torn_tail:
      sum.warnings.push_back("torn tail (" + s.error.message() + "): a crash during a write; the server cuts "
                             + std::to_string(s.tail_bytes) + " bytes at start-up, no acknowledged record is lost");
      break;
    case outcome::corrupt:
    case outcome::io_error:
      sum.damage.push_back(s.error.message());
      break;
  }
  return sum;
}

replayed_head replay_wal(const std::string& wal_dir, int64_t floor) {
  replayed_head out;
  head_options o;
  o.out_of_bounds_window_ms = INT64_MAX / 2;
  o.chunk_range_ms = 0;
  out.data = std::make_unique<head>(o);
  auto& h = *out.data;
  if (floor != INT64_MIN)
    h.raise_min_valid_time(floor);
  wal_visitor visit;
  visit.on_series = [&](const std::vector<series_record>& records) {
    for (const auto& s : records)
      if (!h.create_series_with_ref(s.ref, s.labels))
        out.bad_series += 1;
  };
  visit.on_samples = [&](const std::vector<sample_record>& records) {
    for (const auto& s : records) {
      if (s.t < floor)
        continue;  // in a block already, as at start-up
      auto st = h.append(s.ref, s.t, s.v);
      if (!st && st.error_code() != status::code::not_found)
        out.rejected += 1;
    }
  };
  out.summary = scan_wal(wal_dir, visit);
  return out;
}

}  // namespace nl::storage::tool

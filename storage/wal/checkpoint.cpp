// A checkpoint (storage/FORMAT.md, "WAL checkpoints"):
//
//   wal/checkpoint.N/00000001 ...  WAL segments, framing as in
//                                  wal_segment_writer.cpp
//   records := series* metadata* samples*   each record at most ~1 MiB
//   series  := series record        live_series, in the order given
//   metadata := metadata record     the metadata store's entries, as given
//   samples := samples record       kept samples, in the order read
//
// Tombstones records are not copied: a sample that a later tombstones
// record deletes is left out instead (found in a first pass, which is
// repeated only when the input holds tombstones).
//
// It replaces wal/00000001..N and every older checkpoint. Commit protocol:
// build checkpoint.N.tmp, fdatasync its segments, fsync it, rename it to
// checkpoint.N, fsync wal/; only then delete what it replaces. The newest
// complete checkpoint wins, so a crash at any point leaves either the old
// state or the new checkpoint plus leftovers that remove_obsolete_wal_files
// deletes.
#include "storage/wal/checkpoint.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include "storage/coding.hpp"
#include "storage/file.hpp"
#include "storage/label_key.hpp"
#include "storage/sample.hpp"
#include "storage/wal/format.hpp"
#include "storage/wal/segment_reader.hpp"

namespace nl::storage {

namespace {

constexpr std::string_view checkpoint_prefix = "checkpoint.";
constexpr std::string_view tmp_suffix = ".tmp";
/// Records are cut at about this size: large enough for few fragments'
/// overhead, small enough that replay never holds much more than one.
constexpr size_t checkpoint_record_bytes = 1 << 20;

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// N for "checkpoint.N" with exactly 8 digits, else nullopt.
std::optional<uint64_t> checkpoint_number(std::string_view name) {
  if (name.size() != checkpoint_prefix.size() + wal_segment_name_digits
      || name.substr(0, checkpoint_prefix.size()) != checkpoint_prefix)
    return std::nullopt;
  auto digits = name.substr(checkpoint_prefix.size());
  if (!all_digits(digits))
    return std::nullopt;
  return std::stoull(std::string{digits});
}

/// The highest N of the "checkpoint.N" entries among `names`.
std::optional<uint64_t> newest_checkpoint(const std::vector<std::string>& names) {
  std::optional<uint64_t> latest;
  for (const auto& name : names)
    if (auto n = checkpoint_number(name))
      latest = std::max(latest.value_or(0), *n);
  return latest;
}

/// "checkpoint.<anything>.tmp": a checkpoint that was never committed.
bool is_checkpoint_tmp(std::string_view name) {
  return name.size() > checkpoint_prefix.size() + tmp_suffix.size()
         && name.substr(0, checkpoint_prefix.size()) == checkpoint_prefix
         && name.substr(name.size() - tmp_suffix.size()) == tmp_suffix;
}

status rename_dir(const std::string& from, const std::string& to) {
  std::error_code ec;
  std::filesystem::rename(from, to, ec);
  if (ec)
    return status::io_error("rename " + from + " to " + to + ": " + ec.message());
  return status::ok();
}

/// Removes `path` and everything below it; a missing path is ok.
status remove_dir_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec)
    return status::io_error("remove " + path + ": " + ec.message());
  return status::ok();
}

/// Sum of the sizes of the files in `dir`.
result<uint64_t> dir_bytes(const std::string& dir) {
  auto names = list_dir(dir);
  if (!names)
    return names.error();
  uint64_t total = 0;
  for (const auto& n : *names) {
    auto size = file_size(dir + "/" + n);
    if (!size)
      return size.error();
    total += *size;
  }
  return total;
}

struct removed {
  uint64_t segments = 0;
  uint64_t checkpoints = 0;
};

result<removed> remove_obsolete(const std::string& wal_dir) {
  removed out;
  auto exists = path_exists(wal_dir);
  if (!exists)
    return exists.error();
  if (!*exists)
    return out;
  auto names = list_dir(wal_dir);
  if (!names)
    return names.error();
  auto latest = newest_checkpoint(*names);
  bool changed = false;
  for (const auto& name : *names) {
    auto n = checkpoint_number(name);
    bool stale_tmp = is_checkpoint_tmp(name);
    if (!stale_tmp && !(n && *n < *latest))
      continue;
    if (auto st = remove_dir_tree(wal_dir + "/" + name); !st)
      return st;
    out.checkpoints += n.has_value();
    changed = true;
  }
  if (latest) {
    auto segments = list_wal_segments(wal_dir);
    if (!segments)
      return segments.error();
    for (auto seg : *segments) {
      if (seg > *latest)
        break;
      if (auto st = remove_file(wal_segment_path(wal_dir, seg)); !st)
        return st;
      ++out.segments;
      changed = true;
    }
  }
  if (changed)
    if (auto st = sync_dir(wal_dir); !st)
      return st;
  return out;
}

/// A live series as the checkpoint needs it: its ref and its label key,
/// which points into the caller's buffers.
struct live_entry {
  uint64_t ref;
  std::string_view key;
};

/// The series entries of `buffers`, checked, taken from the buffers in
/// turn, one entry each. The buffers are the head shards' series: a replay
/// gives each series to its shard's thread, and a checkpoint holding one
/// shard's series after the other kept one thread busy at a time.
result<std::vector<live_entry>> parse_live(const std::vector<std::string_view>& buffers) {
  std::vector<live_entry> out;
  std::vector<std::string_view> rest = buffers;
  for (bool more = true; more;) {
    more = false;
    for (auto& in : rest) {
      if (in.empty())
        continue;
      live_entry e{};
      if (!get_uvarint(in, e.ref))
        return status::corruption("WAL checkpoint: truncated live series entry");
      if (auto st = next_label_key(in, e.key); !st)
        return status::corruption("WAL checkpoint: live series " + std::to_string(e.ref) + ": " + st.message());
      out.push_back(e);
      more = true;
    }
  }
  return out;
}

/// The deletions found in the records a checkpoint replaces: a tombstones
/// record deletes the samples logged before it (and only those), so each
/// range carries the number of its record in reading order.
class deletions {
 public:
  /// Every tombstone read, with its record number.
  void add(uint64_t record, const std::vector<tombstone_record>& stones) {
    for (const auto& s : stones)
      found_.push_back({record, s});
  }
  bool empty() const { return found_.empty(); }

  /// Indexes them by series. Live refs with equal labels (aliases) are one
  /// series, as replay makes them.
  void index(const std::vector<live_entry>& live) {
    std::unordered_map<std::string_view, uint64_t> first_of_key;
    for (const auto& s : live) {
      auto it = first_of_key.emplace(s.key, s.ref).first;
      canonical_[s.ref] = it->second;
    }
    for (const auto& [record, stone] : found_) {
      auto c = canonical_.find(stone.ref);
      if (c != canonical_.end())
        by_series_[c->second].push_back({record, stone.mint, stone.maxt});
    }
  }

  /// Whether a tombstone read after record `record` deletes sample (ref, t).
  bool deletes(uint64_t ref, int64_t t, uint64_t record) const {
    if (by_series_.empty())
      return false;
    auto c = canonical_.find(ref);
    if (c == canonical_.end())
      return false;
    auto it = by_series_.find(c->second);
    if (it == by_series_.end())
      return false;
    for (const auto& r : it->second)
      if (r.record > record && t >= r.mint && t <= r.maxt)
        return true;
    return false;
  }

 private:
  struct range {
    uint64_t record;
    int64_t mint;
    int64_t maxt;
  };
  std::vector<std::pair<uint64_t, tombstone_record>> found_;
  std::unordered_map<uint64_t, uint64_t> canonical_;
  std::unordered_map<uint64_t, std::vector<range>> by_series_;
};

/// Builds the checkpoint's records and hands each full one to the writer.
/// Tombstones read are collected in `found`; samples that `known` (from an
/// earlier pass, or null) deletes are left out.
class checkpoint_builder {
 public:
  checkpoint_builder(wal_segment_writer& w, const std::vector<live_entry>& live, int64_t min_time,
                     const deletions* known, deletions& found)
      : w_(w), min_time_(min_time), known_(known), found_(found) {
    live_refs_.reserve(live.size());
    for (const auto& s : live)
      live_refs_.insert(s.ref);
  }

  /// The metadata store's content, already checked (decode_metadata_entries).
  status write_metadata(const std::vector<metadata_record>& entries) {
    std::string rec;
    for (const auto& e : entries) {
      if (rec.empty())
        rec.push_back(static_cast<char>(wal_record_type::metadata));
      append_metadata_entry(rec, e);
      if (rec.size() >= checkpoint_record_bytes) {
        if (auto st = emit(rec); !st)
          return st;
        rec.clear();
      }
    }
    return rec.empty() ? status::ok() : emit(rec);
  }

  status write_series(const std::vector<live_entry>& live) {
    std::string rec;
    for (const auto& s : live) {
      if (rec.empty())
        rec.push_back(static_cast<char>(wal_record_type::series));
      append_series_entry(rec, s.ref, s.key);
      if (rec.size() >= checkpoint_record_bytes) {
        if (auto st = emit(rec); !st)
          return st;
        rec.clear();
      }
    }
    return rec.empty() ? status::ok() : emit(rec);
  }

  /// One record of the old checkpoint or a segment; `where` prefixes errors.
  status add(std::string_view rec, const std::string& where) {
    const uint64_t record = records_++;
    auto type = record_type(rec);
    if (!type)
      return status::corruption(where + type.error().message());
    if (*type == wal_record_type::tombstones) {
      if (auto st = decode_tombstone_records(rec, stones_); !st)
        return status::corruption(where + st.message());
      found_.add(record, stones_);
      return status::ok();
    }
    if (*type == wal_record_type::series) {
      // Only live_series are written, but a damaged record in what the
      // checkpoint replaces must not vanish unnoticed.
      if (auto st = decode_series_keys(rec, series_); !st)
        return status::corruption(where + st.message());
      return status::ok();
    }
    if (*type == wal_record_type::metadata) {
      // The same: the store's content is written instead.
      if (auto st = decode_metadata_records(rec, metadata_); !st)
        return status::corruption(where + st.message());
      return status::ok();
    }
    if (auto st = decode_samples(rec, samples_); !st)
      return status::corruption(where + st.message());
    for (const auto& s : samples_) {
      if (s.t < min_time_ || live_refs_.count(s.ref) == 0) {
        ++stats.samples_dropped;
        continue;
      }
      if (known_ && known_->deletes(s.ref, s.t, record)) {
        ++stats.samples_dropped;
        ++stats.samples_deleted;
        continue;
      }
      if (!batch_writer_)
        batch_writer_.emplace(batch_, 0);
      batch_writer_->add(s.ref, s.t, float_bits(s.v));
      ++stats.samples_kept;
      if (batch_.size() >= checkpoint_record_bytes)
        if (auto st = flush_samples(); !st)
          return st;
    }
    return status::ok();
  }

  status flush_samples() {
    if (!batch_writer_)
      return status::ok();
    auto st = emit(batch_);
    batch_writer_.reset();
    batch_.clear();
    return st;
  }

  checkpoint_stats stats;

 private:
  status emit(const std::string& rec) {
    // Flushed per record: the writer buffers up to a whole segment
    // otherwise.
    if (auto st = w_.append(rec); !st)
      return st;
    return w_.flush();
  }

  wal_segment_writer& w_;
  int64_t min_time_;
  const deletions* known_;
  deletions& found_;
  uint64_t records_ = 0;
  std::unordered_set<uint64_t> live_refs_;
  std::vector<series_key_record> series_;  // checked only
  std::vector<metadata_record> metadata_;
  std::vector<sample_record> samples_;
  std::vector<tombstone_record> stones_;
  std::string batch_;
  std::optional<samples_record_writer> batch_writer_;
};

/// Everything of write_wal_checkpoint() that happens inside the temp
/// directory `tmp`: one pass over the records, leaving out what `known`
/// deletes; the tombstones read go to `found`.
status build_checkpoint(const std::string& wal_dir, const std::string& tmp, std::optional<uint64_t> prev,
                        uint64_t upto, const std::vector<live_entry>& live,
                        const std::vector<metadata_record>& metadata, int64_t min_time,
                        checkpoint_stats& stats, const deletions* known, deletions& found) {
  if (auto st = create_dir_if_missing(tmp); !st)
    return st;
  auto w = wal_segment_writer::open(tmp, wal_default_segment_size);
  if (!w)
    return w.error();
  checkpoint_builder b(**w, live, min_time, known, found);
  if (auto st = b.write_series(live); !st)
    return st;
  if (auto st = b.write_metadata(metadata); !st)
    return st;
  if (prev) {
    auto where = "WAL checkpoint " + wal_checkpoint_name(*prev) + ": ";
    auto st = read_wal_checkpoint(wal_dir, *prev, [&](std::string_view rec, wal_position end) {
      return b.add(rec, where + "segment " + wal_segment_name(end.segment) + ", record ending at offset "
                          + std::to_string(end.offset) + ": ");
    });
    if (!st)
      return st;
  }
  auto reader = wal_segment_reader::open(wal_dir, prev ? *prev + 1 : 0, upto);
  if (!reader)
    return reader.error();
  auto& r = **reader;
  while (r.next()) {
    auto end = r.position();
    auto st = b.add(r.record(), "WAL segment " + wal_segment_name(end.segment) + ", record ending at offset "
                                  + std::to_string(end.offset) + ": ");
    if (!st)
      return st;
  }
  // Every segment read was closed and synced, so even a "torn tail" is
  // damage here, not a crash in progress.
  if (r.summary().state != wal_replay_result::outcome::clean)
    return r.summary().error;
  if (auto st = b.flush_samples(); !st)
    return st;
  if (auto st = (*w)->close(); !st)
    return st;
  // The writer synced the directory when it created each segment; once
  // more costs little and does not depend on that.
  if (auto st = sync_dir(tmp); !st)
    return st;
  auto bytes = dir_bytes(tmp);
  if (!bytes)
    return bytes.error();
  stats = b.stats;
  stats.series = live.size();
  stats.metadata = metadata.size();
  stats.bytes = *bytes;
  return status::ok();
}

}  // namespace

std::string wal_checkpoint_name(uint64_t n) {
  return std::string{checkpoint_prefix} + wal_segment_name(n);
}

std::string wal_checkpoint_path(const std::string& wal_dir, uint64_t n) {
  return wal_dir + "/" + wal_checkpoint_name(n);
}

result<std::optional<uint64_t>> latest_wal_checkpoint(const std::string& wal_dir) {
  auto exists = path_exists(wal_dir);
  if (!exists)
    return exists.error();
  if (!*exists)
    return std::optional<uint64_t>{};
  auto names = list_dir(wal_dir);
  if (!names)
    return names.error();
  return newest_checkpoint(*names);
}

status read_wal_checkpoint(const std::string& wal_dir, uint64_t n,
                           const std::function<status(std::string_view record, wal_position end)>& apply) {
  auto dir = wal_checkpoint_path(wal_dir, n);
  auto damaged = [&](const std::string& what) {
    return status::corruption("WAL checkpoint " + dir + " is damaged: " + what
                              + " (it was complete and synced when written: the storage lost or "
                                "changed its bytes)");
  };
  auto segments = list_wal_segments(dir);
  if (!segments)
    return segments.error();
  // The reader does not know where a segment sequence must start; here it
  // is always 00000001 (the writer creates it even for an empty checkpoint).
  if (segments->empty() || segments->front() != 1)
    return damaged("segment 00000001 is missing");
  auto reader = wal_segment_reader::open(dir);
  if (!reader)
    return reader.error();
  auto& r = **reader;
  while (r.next())
    if (auto st = apply(r.record(), r.position()); !st)
      return st;
  const auto& sum = r.summary();
  switch (sum.state) {
    case wal_replay_result::outcome::clean:
      return status::ok();
    case wal_replay_result::outcome::io_error:
      return sum.error;
    default: {
      // The reader's "torn tail" diagnosis is for the live WAL; a checkpoint
      // has no tail that a crash could tear.
      auto what = sum.error.message();
      return damaged(what.substr(0, what.find(" (torn tail:")));
    }
  }
}

result<checkpoint_stats> write_wal_checkpoint(const std::string& wal_dir, uint64_t upto_segment,
                                              const std::vector<series_record>& live_series,
                                              int64_t min_time, std::string_view metadata_entries) {
  std::string entries;
  for (const auto& s : live_series) {
    put_uvarint(entries, s.ref);
    append_label_key(entries, s.labels.labels().data(), s.labels.size());
  }
  return write_wal_checkpoint(wal_dir, upto_segment, std::vector<std::string_view>{entries}, min_time,
                              metadata_entries);
}

result<checkpoint_stats> write_wal_checkpoint(const std::string& wal_dir, uint64_t upto_segment,
                                              const std::vector<std::string_view>& live_entries,
                                              int64_t min_time, std::string_view metadata_entries) {
  auto parsed = parse_live(live_entries);
  if (!parsed)
    return parsed.error();
  const auto& live_series = *parsed;
  std::vector<metadata_record> metadata;
  if (auto st = decode_metadata_entries(metadata_entries, metadata); !st)
    return status::corruption("WAL checkpoint: metadata entries: " + st.message());
  auto prev = latest_wal_checkpoint(wal_dir);
  if (!prev)
    return prev.error();
  if (*prev && **prev >= upto_segment)
    return status::invalid_argument("WAL checkpoint up to segment " + wal_segment_name(upto_segment) + ": "
                                    + wal_checkpoint_name(**prev) + " already covers it");
  auto segments = list_wal_segments(wal_dir);
  if (!segments)
    return segments.error();
  if (!std::binary_search(segments->begin(), segments->end(), upto_segment))
    return status::not_found("WAL checkpoint up to segment " + wal_segment_name(upto_segment)
                             + ": the segment does not exist in " + wal_dir);
  if (*prev) {
    // The reader checks for holes between the segments it reads, not
    // before the first one.
    auto first = std::upper_bound(segments->begin(), segments->end(), **prev);
    if (*first != **prev + 1)
      return status::corruption("WAL segment " + wal_segment_name(**prev + 1) + " offset 0: segment is missing (after "
                                + wal_checkpoint_name(**prev) + ", next is " + wal_segment_name(*first) + ")");
  }

  checkpoint_stats stats;
  auto final_dir = wal_checkpoint_path(wal_dir, upto_segment);
  auto tmp = final_dir + std::string{tmp_suffix};
  // A leftover of an attempt that failed or crashed.
  if (auto st = remove_dir_tree(tmp); !st)
    return st;
  deletions found;
  auto st = build_checkpoint(wal_dir, tmp, *prev, upto_segment, live_series, metadata, min_time, stats, nullptr,
                             found);
  if (st && !found.empty()) {
    // Tombstones delete samples logged before them, some of which the
    // first pass wrote already: build it again, knowing them.
    found.index(live_series);
    deletions again;
    st = remove_dir_tree(tmp);
    if (st)
      st = build_checkpoint(wal_dir, tmp, *prev, upto_segment, live_series, metadata, min_time, stats, &found,
                            again);
  }
  if (!st) {
    (void) remove_dir_tree(tmp);  // best effort; start-up removes it too
    return st;
  }
  // The commit point: after the rename and the directory sync, a restart
  // replays this checkpoint instead of what it replaces.
  if (auto st = rename_dir(tmp, final_dir); !st) {
    (void) remove_dir_tree(tmp);
    return st;
  }
  if (auto st = sync_dir(wal_dir); !st)
    return st;
  auto gone = remove_obsolete(wal_dir);
  if (!gone)
    return status::io_error(gone.error().message() + " (while removing what " + wal_checkpoint_name(upto_segment)
                            + " replaces; the checkpoint is complete and start-up removes the rest)");
  stats.segments_removed = gone->segments;
  stats.checkpoints_removed = gone->checkpoints;
  return stats;
}

status remove_obsolete_wal_files(const std::string& wal_dir) {
  auto gone = remove_obsolete(wal_dir);
  return gone ? status::ok() : gone.error();
}

}  // namespace nl::storage

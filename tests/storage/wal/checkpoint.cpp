#define CAF_SUITE storage.wal.checkpoint
#include "test_support.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "storage/file.hpp"
#include "storage/label_key.hpp"
#include "storage/head/head.hpp"
#include "storage/sample.hpp"
#include "storage/wal/checkpoint.hpp"
#include "storage/wal/read_records.hpp"
#include "storage/wal/records.hpp"
#include "storage/wal/segment_reader.hpp"
#include "storage/wal/segment_writer.hpp"

#include <unistd.h>

using namespace nl::storage;
using outcome = wal_replay_result::outcome;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t small_segment = 64 * 1024;

using nl::test::temp_dir;

label_set labels_of(uint64_t ref) {
  return label_set::from_unsorted({{"__name__", "metric"}, {"id", std::to_string(ref)}});
}

series_record series(uint64_t ref) { return {ref, labels_of(ref)}; }

/// Appends records to a WAL through the real writer.
struct wal_writer {
  std::unique_ptr<wal_segment_writer> w;
  explicit wal_writer(const std::string& dir, uint64_t segment_size = small_segment) {
    auto r = wal_segment_writer::open(dir, segment_size);
    CAF_REQUIRE(r.is_ok());
    w = std::move(*r);
  }
  void add_series(const std::vector<series_record>& s) {
    std::string rec;
    encode_series(s, rec);
    CAF_REQUIRE(w->append(rec).is_ok());
    CAF_REQUIRE(w->flush().is_ok());
  }
  void add_samples(const std::vector<sample_record>& s) {
    std::string rec;
    encode_samples(s, rec);
    CAF_REQUIRE(w->append(rec).is_ok());
    CAF_REQUIRE(w->flush().is_ok());
  }
  uint64_t next_segment() {
    auto n = w->next_segment();
    CAF_REQUIRE(n.is_ok());
    return *n;
  }
};

/// "ref@t=v" per sample, so expected and actual compare as strings.
std::string str(const sample_record& s) {
  return std::to_string(s.ref) + "@" + std::to_string(s.t) + "=" + std::to_string(float_bits(s.v));
}

std::vector<std::string> strs(const std::vector<sample_record>& samples) {
  std::vector<std::string> out;
  for (const auto& s : samples)
    out.push_back(str(s));
  return out;
}

/// The decoded content of a checkpoint, records in order.
struct content {
  std::vector<wal_record_type> types;
  std::vector<size_t> sizes;
  std::vector<series_record> series;
  std::vector<metadata_record> metadata;
  std::vector<sample_record> samples;
  status st;
};

content read_checkpoint(const std::string& wal_dir, uint64_t n) {
  content c;
  std::vector<series_record> s;
  std::vector<sample_record> x;
  c.st = read_wal_checkpoint(wal_dir, n, [&](std::string_view rec, wal_position) {
    auto type = record_type(rec);
    if (!type)
      return type.error();
    c.types.push_back(*type);
    c.sizes.push_back(rec.size());
    if (*type == wal_record_type::series) {
      if (auto st = decode_series(rec, s); !st)
        return st;
      c.series.insert(c.series.end(), s.begin(), s.end());
    } else if (*type == wal_record_type::metadata) {
      std::vector<metadata_record> m;
      if (auto st = decode_metadata_records(rec, m); !st)
        return st;
      c.metadata.insert(c.metadata.end(), m.begin(), m.end());
    } else {
      if (auto st = decode_samples(rec, x); !st)
        return st;
      c.samples.insert(c.samples.end(), x.begin(), x.end());
    }
    return status::ok();
  });
  return c;
}

/// What start-up does (storage/wal/replay.cpp), into one head: cleanup,
/// the newest checkpoint, then the segments after it. Counts the samples
/// the head took and the ones it refused.
struct replayed {
  uint64_t series = 0;
  uint64_t samples = 0;
  uint64_t refused = 0;
  uint64_t unknown = 0;
  std::vector<sample_record> all;
  wal_replay_result summary;
};

replayed replay(const std::string& wal_dir, bool cleanup = true) {
  replayed out;
  if (cleanup)
    CAF_REQUIRE(remove_obsolete_wal_files(wal_dir).is_ok());
  head h;
  std::vector<series_record> s;
  std::vector<sample_record> x;
  auto apply = [&](std::string_view rec) {
    auto type = record_type(rec);
    CAF_REQUIRE(type.is_ok());
    if (*type == wal_record_type::series) {
      CAF_REQUIRE(decode_series(rec, s).is_ok());
      for (auto& e : s)
        CAF_REQUIRE(h.create_series_with_ref(e.ref, e.labels).is_ok());
      return;
    }
    CAF_REQUIRE(decode_samples(rec, x).is_ok());
    for (auto& e : x) {
      out.all.push_back(e);
      auto st = h.append(e.ref, e.t, e.v);
      if (st)
        ++out.samples;
      else if (st.error_code() == status::code::not_found)
        ++out.unknown;
      else
        ++out.refused;
    }
  };
  out.summary = nl::test::read_wal_records(wal_dir, apply);
  out.series = h.num_series();
  return out;
}

std::vector<uint64_t> segments_of(const std::string& dir) {
  auto s = list_wal_segments(dir);
  CAF_REQUIRE(s.is_ok());
  return *s;
}

bool exists(const std::string& path) { return fs::exists(path); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

void flip_byte(const std::string& path, uint64_t offset) {
  auto data = read_whole_file(path);
  CAF_REQUIRE(data.is_ok());
  CAF_REQUIRE(offset < data->size());
  (*data)[offset] ^= 0x20;
  CAF_REQUIRE(write_whole_file(path, *data).is_ok());
}

/// Every entry of `dir` (names), sorted: the "nothing changed" check.
std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(dir))
    out.push_back(e.path().string() + ":" + std::to_string(e.is_regular_file() ? e.file_size() : 0));
  std::sort(out.begin(), out.end());
  return out;
}

/// Three segments: series 1..4 in the first, samples of all four at t = 0,
/// 100, ..., 900 spread over the three. Returns the writer, now on segment 4.
wal_writer standard_wal(const std::string& dir) {
  wal_writer w(dir);
  w.add_series({series(1), series(2), series(3), series(4)});
  for (int64_t t = 0; t < 1000; t += 100) {
    w.add_samples({{1, t, 1.0 * t}, {2, t, 2.0 * t}, {3, t, 3.0 * t}, {4, t, 4.0 * t}});
    if (t == 300 || t == 600)
      w.next_segment();
  }
  CAF_REQUIRE_EQUAL(w.next_segment(), 3u);
  return w;
}

}  // namespace

CAF_TEST(checkpoint names and the newest complete checkpoint) {
  temp_dir d;
  CAF_CHECK_EQUAL(wal_checkpoint_name(42), "checkpoint.00000042");
  CAF_CHECK_EQUAL(wal_checkpoint_path("/x/wal", 3), "/x/wal/checkpoint.00000003");
  auto none = latest_wal_checkpoint(d.wal());  // missing directory
  CAF_REQUIRE(none.is_ok());
  CAF_CHECK(!none->has_value());
  CAF_REQUIRE(create_dir_if_missing(d.wal()).is_ok());
  for (auto name : {"checkpoint.00000003", "checkpoint.00000007", "checkpoint.00000009.tmp",
                    "checkpoint.12", "checkpoint.000000099", "checkpoint.0000000x", "00000011"})
    CAF_REQUIRE(create_dir_if_missing(d.wal() + "/" + name).is_ok());
  auto latest = latest_wal_checkpoint(d.wal());
  CAF_REQUIRE(latest.is_ok());
  CAF_REQUIRE(latest->has_value());
  CAF_CHECK_EQUAL(**latest, 7u);
}

CAF_TEST(checkpoint keeps exactly the live series and their samples from min_time) {
  temp_dir d;
  auto w = standard_wal(d.wal());
  // Samples written after the cut stay in segment 4, the writer's.
  w.add_samples({{1, 1000, 10.0}});
  // Series 2 was dropped by the head. Series 5 is live but declared in no
  // segment read (its series record is still written; it has no samples).
  std::vector<series_record> live{series(3), series(1), series(4), series(5)};
  auto stats = write_wal_checkpoint(d.wal(), 3, live, 500);
  CAF_REQUIRE(stats.is_ok());
  CAF_CHECK_EQUAL(stats->series, 4u);
  CAF_CHECK_EQUAL(stats->samples_kept, 15u);  // refs 1, 3, 4 at t = 500..900
  CAF_CHECK_EQUAL(stats->samples_dropped, 25u);
  CAF_CHECK_EQUAL(stats->segments_removed, 3u);
  CAF_CHECK_EQUAL(stats->checkpoints_removed, 0u);
  CAF_CHECK_GREATER(stats->bytes, 0u);
  auto ckpt_size = file_size(wal_checkpoint_path(d.wal(), 3) + "/00000001");
  CAF_REQUIRE(ckpt_size.is_ok());
  CAF_CHECK_EQUAL(stats->bytes, *ckpt_size);

  auto c = read_checkpoint(d.wal(), 3);
  CAF_REQUIRE(c.st.is_ok());
  // Series first, in the order given, then samples in the order read.
  CAF_REQUIRE_EQUAL(c.types.size(), 2u);
  CAF_CHECK(c.types[0] == wal_record_type::series);
  CAF_CHECK(c.types[1] == wal_record_type::samples);
  CAF_REQUIRE_EQUAL(c.series.size(), live.size());
  for (size_t i = 0; i < live.size(); ++i) {
    CAF_CHECK_EQUAL(c.series[i].ref, live[i].ref);
    CAF_CHECK(c.series[i].labels == live[i].labels);
  }
  std::vector<sample_record> want;
  for (int64_t t = 500; t < 1000; t += 100)
    for (uint64_t ref : {1, 3, 4})
      want.push_back({ref, t, 1.0 * ref * t});
  CAF_CHECK_EQUAL(strs(c.samples), strs(want));

  // What the checkpoint replaced is gone; the writer's segment is untouched.
  CAF_CHECK_EQUAL(segments_of(d.wal()), std::vector<uint64_t>{4});
  CAF_CHECK(!exists(wal_checkpoint_path(d.wal(), 3) + ".tmp"));
  w.add_samples({{3, 1000, 30.0}});
  CAF_REQUIRE(w.w->close().is_ok());
  auto r = replay(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_CHECK_EQUAL(r.series, 4u);
  CAF_CHECK_EQUAL(r.samples, 17u);
  CAF_CHECK_EQUAL(r.refused, 0u);
  CAF_CHECK_EQUAL(r.unknown, 0u);
}

CAF_TEST(large checkpoints are cut into records of about one MiB) {
  temp_dir d;
  wal_writer w(d.wal(), 8 << 20);
  std::vector<series_record> all;
  std::string pad(60, 'x');
  for (uint64_t ref = 1; ref <= 30000; ++ref)
    all.push_back({ref, label_set::from_unsorted({{"__name__", "m"}, {"id", std::to_string(ref)}, {"pad", pad}})});
  w.add_series(all);
  std::vector<sample_record> samples;
  for (uint64_t ref = 1; ref <= 30000; ++ref)
    samples.push_back({ref, static_cast<int64_t>(ref), 0.5});
  for (int i = 0; i < 5; ++i)
    w.add_samples(samples);  // 150000 samples, ~1.9 MB
  auto upto = w.next_segment();
  auto stats = write_wal_checkpoint(d.wal(), upto, all, 0);
  CAF_REQUIRE(stats.is_ok());
  CAF_CHECK_EQUAL(stats->samples_kept, 150000u);
  auto c = read_checkpoint(d.wal(), upto);
  CAF_REQUIRE(c.st.is_ok());
  size_t series_records = 0;
  size_t samples_records = 0;
  for (size_t i = 0; i < c.types.size(); ++i) {
    CAF_CHECK_LESS(c.sizes[i], (1u << 20) + 4096);
    (c.types[i] == wal_record_type::series ? series_records : samples_records) += 1;
    // All series records come before any samples record.
    if (i > 0 && c.types[i] == wal_record_type::series)
      CAF_CHECK(c.types[i - 1] == wal_record_type::series);
  }
  CAF_CHECK_GREATER(series_records, 1u);
  CAF_CHECK_GREATER(samples_records, 1u);
  CAF_CHECK_EQUAL(c.series.size(), all.size());
  CAF_CHECK_EQUAL(c.samples.size(), 150000u);
  CAF_CHECK_EQUAL(str(c.samples[149999]), str(samples.back()));
}

CAF_TEST(second checkpoint includes what the first kept and replaces it) {
  temp_dir d;
  auto w = standard_wal(d.wal());
  std::vector<series_record> live1{series(1), series(2), series(3)};
  auto s1 = write_wal_checkpoint(d.wal(), 3, live1, 500);
  CAF_REQUIRE(s1.is_ok());
  // More data in segments 4 and 5; a new series 6.
  w.add_series({series(6)});
  w.add_samples({{1, 1000, 1.5}, {2, 1000, 2.5}, {6, 1000, 6.5}});
  w.next_segment();
  w.add_samples({{1, 1100, 1.5}, {6, 1100, 6.5}, {3, 1100, 3.5}});
  CAF_REQUIRE_EQUAL(w.next_segment(), 5u);
  // Series 2 is gone from the head now; the cut moved to 800.
  std::vector<series_record> live2{series(1), series(3), series(6)};
  auto s2 = write_wal_checkpoint(d.wal(), 5, live2, 800);
  CAF_REQUIRE(s2.is_ok());
  CAF_CHECK_EQUAL(s2->segments_removed, 2u);
  CAF_CHECK_EQUAL(s2->checkpoints_removed, 1u);
  CAF_CHECK(!exists(wal_checkpoint_path(d.wal(), 3)));
  CAF_CHECK(exists(wal_checkpoint_path(d.wal(), 5)));
  CAF_CHECK_EQUAL(segments_of(d.wal()), std::vector<uint64_t>{6});
  auto c = read_checkpoint(d.wal(), 5);
  CAF_REQUIRE(c.st.is_ok());
  CAF_REQUIRE_EQUAL(c.series.size(), 3u);
  CAF_CHECK_EQUAL(c.series[2].ref, 6u);
  std::vector<sample_record> want{{1, 800, 800.0}, {3, 800, 2400.0}, {1, 900, 900.0}, {3, 900, 2700.0},
                                  {1, 1000, 1.5},  {6, 1000, 6.5},   {1, 1100, 1.5},  {6, 1100, 6.5},
                                  {3, 1100, 3.5}};
  CAF_CHECK_EQUAL(strs(c.samples), strs(want));
  CAF_CHECK_EQUAL(s2->samples_kept, want.size());
  // Checkpoint 3 held refs 1-3 at 500..900: 4 kept, 11 dropped; segments 4
  // and 5: 5 kept, 1 dropped (ref 2).
  CAF_CHECK_EQUAL(s2->samples_dropped, 12u);
  // An older or equal number is refused; a missing segment too.
  CAF_CHECK(write_wal_checkpoint(d.wal(), 5, live2, 0).error().error_code() == status::code::invalid_argument);
  CAF_CHECK(write_wal_checkpoint(d.wal(), 4, live2, 0).error().error_code() == status::code::invalid_argument);
  CAF_CHECK(write_wal_checkpoint(d.wal(), 9, live2, 0).error().error_code() == status::code::not_found);
}

CAF_TEST(writer numbering continues after a checkpoint removed every segment) {
  temp_dir d;
  {
    auto w = standard_wal(d.wal());
    CAF_REQUIRE(w.w->close().is_ok());  // segment 4 stays empty
  }
  auto stats = write_wal_checkpoint(d.wal(), 4, {series(1)}, 0);
  CAF_REQUIRE(stats.is_ok());
  CAF_CHECK(segments_of(d.wal()).empty());
  wal_writer w(d.wal());
  CAF_CHECK_EQUAL(w.w->position().segment, 5u);
  w.add_samples({{1, 5000, 5.0}});
  CAF_REQUIRE(w.w->close().is_ok());
  auto r = replay(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_CHECK_EQUAL(r.samples, 11u);
}

CAF_TEST(leftover tmp directory is ignored and removed) {
  temp_dir d;
  auto w = standard_wal(d.wal());
  // A crash while checkpoint 3 was being built: a temp directory with a
  // half-written segment (never synced or renamed).
  auto tmp = wal_checkpoint_path(d.wal(), 3) + ".tmp";
  CAF_REQUIRE(create_dir_if_missing(tmp).is_ok());
  CAF_REQUIRE(write_whole_file(tmp + "/00000001", "garbage").is_ok());
  auto other_tmp = wal_checkpoint_path(d.wal(), 2) + ".tmp";
  CAF_REQUIRE(create_dir_if_missing(other_tmp).is_ok());
  auto latest = latest_wal_checkpoint(d.wal());
  CAF_REQUIRE(latest.is_ok());
  CAF_CHECK(!latest->has_value());
  auto before = replay(d.wal(), false);
  CAF_CHECK_EQUAL(before.samples, 40u);
  // Start-up removes them and nothing else.
  CAF_REQUIRE(remove_obsolete_wal_files(d.wal()).is_ok());
  CAF_CHECK(!exists(tmp));
  CAF_CHECK(!exists(other_tmp));
  CAF_CHECK_EQUAL(segments_of(d.wal()), (std::vector<uint64_t>{1, 2, 3, 4}));
  // A retried checkpoint does not trip over a leftover of its own name.
  CAF_REQUIRE(create_dir_if_missing(tmp).is_ok());
  CAF_REQUIRE(write_whole_file(tmp + "/00000001", "garbage").is_ok());
  auto stats = write_wal_checkpoint(d.wal(), 3, {series(1), series(2), series(3), series(4)}, 0);
  CAF_REQUIRE(stats.is_ok());
  CAF_CHECK_EQUAL(stats->samples_kept, 40u);
  CAF_CHECK(!exists(tmp));
  CAF_REQUIRE(w.w->close().is_ok());
  auto after = replay(d.wal());
  CAF_CHECK_EQUAL(after.samples, 40u);
  CAF_CHECK_EQUAL(after.series, 4u);
}

CAF_TEST(crash between rename and deletion replays once and is cleaned up) {
  temp_dir d;
  temp_dir crashed;
  auto w = standard_wal(d.wal());
  std::vector<series_record> live{series(1), series(2), series(3), series(4)};
  CAF_REQUIRE(write_wal_checkpoint(d.wal(), 2, live, 0).is_ok());
  // The WAL as a crash right after the rename of checkpoint 3 leaves it:
  // checkpoint 2, segments 3 and 4 and the new checkpoint 3, plus the
  // segments checkpoint 2 had replaced (say their deletion failed).
  fs::copy(d.wal(), crashed.wal(), fs::copy_options::recursive);
  {
    wal_writer old(crashed.path + "/old");
    old.add_series(live);
    old.next_segment();
    old.add_samples({{1, 0, 99.0}});  // would be a duplicate with another value
    CAF_REQUIRE(old.w->close().is_ok());
    fs::copy(crashed.path + "/old/00000001", crashed.wal() + "/00000001");
    fs::copy(crashed.path + "/old/00000002", crashed.wal() + "/00000002");
  }
  CAF_REQUIRE(write_wal_checkpoint(d.wal(), 3, live, 0).is_ok());
  fs::copy(wal_checkpoint_path(d.wal(), 3), wal_checkpoint_path(crashed.wal(), 3), fs::copy_options::recursive);
  CAF_CHECK_EQUAL(segments_of(crashed.wal()), (std::vector<uint64_t>{1, 2, 3, 4}));
  CAF_CHECK(exists(wal_checkpoint_path(crashed.wal(), 2)));

  // Checkpoint 3 wins: neither the old segments nor checkpoint 2 are read,
  // so no sample arrives twice, even without the cleanup.
  auto latest = latest_wal_checkpoint(crashed.wal());
  CAF_REQUIRE(latest.is_ok() && latest->has_value());
  CAF_CHECK_EQUAL(**latest, 3u);
  auto raw = replay(crashed.wal(), false);
  CAF_CHECK(raw.summary.state == outcome::clean);
  CAF_CHECK_EQUAL(raw.samples, 40u);
  CAF_CHECK_EQUAL(raw.all.size(), 40u);
  CAF_CHECK_EQUAL(raw.refused, 0u);

  CAF_REQUIRE(remove_obsolete_wal_files(crashed.wal()).is_ok());
  CAF_CHECK_EQUAL(segments_of(crashed.wal()), std::vector<uint64_t>{4});
  CAF_CHECK(!exists(wal_checkpoint_path(crashed.wal(), 2)));
  CAF_CHECK(exists(wal_checkpoint_path(crashed.wal(), 3)));
  auto once = listing(crashed.wal());
  CAF_REQUIRE(remove_obsolete_wal_files(crashed.wal()).is_ok());  // idempotent
  CAF_CHECK_EQUAL(listing(crashed.wal()), once);
  auto r = replay(crashed.wal());
  CAF_CHECK_EQUAL(r.samples, 40u);
  CAF_CHECK_EQUAL(r.refused, 0u);
  CAF_REQUIRE(w.w->close().is_ok());
  CAF_CHECK(remove_obsolete_wal_files(crashed.path + "/missing").is_ok());
}

CAF_TEST(damaged segment makes the checkpoint fail without deleting anything) {
  temp_dir d;
  auto w = standard_wal(d.wal());
  CAF_REQUIRE(write_wal_checkpoint(d.wal(), 1, {series(1), series(2)}, 0).is_ok());
  flip_byte(wal_segment_path(d.wal(), 2), 20);
  auto before = listing(d.wal());
  auto st = write_wal_checkpoint(d.wal(), 3, {series(1)}, 0);
  CAF_CHECK(st.error().error_code() == status::code::corruption);
  CAF_CHECK(contains(st.error().message(), "WAL segment 00000002"));
  CAF_CHECK_EQUAL(listing(d.wal()), before);
  flip_byte(wal_segment_path(d.wal(), 2), 20);

  // A torn last record in segment `upto` is damage too: it was closed.
  auto seg3 = wal_segment_path(d.wal(), 3);
  auto size = file_size(seg3);
  CAF_REQUIRE(size.is_ok());
  CAF_REQUIRE(truncate_file(seg3, *size - 3).is_ok());
  before = listing(d.wal());
  st = write_wal_checkpoint(d.wal(), 3, {series(1)}, 0);
  CAF_CHECK(st.error().error_code() == status::code::corruption);
  CAF_CHECK(contains(st.error().message(), "WAL segment 00000003"));
  CAF_CHECK_EQUAL(listing(d.wal()), before);

  // A damaged previous checkpoint: named, nothing deleted.
  st = write_wal_checkpoint(d.wal(), 2, {series(1)}, 0);
  CAF_REQUIRE(st.is_ok());
  flip_byte(wal_checkpoint_path(d.wal(), 2) + "/00000001", 9);
  CAF_REQUIRE(truncate_file(seg3, 0).is_ok());  // segment 3 readable again
  before = listing(d.wal());
  st = write_wal_checkpoint(d.wal(), 3, {series(1)}, 0);
  CAF_CHECK(st.error().error_code() == status::code::corruption);
  CAF_CHECK(contains(st.error().message(), "WAL checkpoint " + wal_checkpoint_path(d.wal(), 2) + " is damaged"));
  CAF_CHECK_EQUAL(listing(d.wal()), before);
  CAF_REQUIRE(w.w->close().is_ok());
}

CAF_TEST(missing segment after the previous checkpoint is corruption) {
  temp_dir d;
  auto w = standard_wal(d.wal());
  CAF_REQUIRE(write_wal_checkpoint(d.wal(), 1, {series(1)}, 0).is_ok());
  CAF_REQUIRE(remove_file(wal_segment_path(d.wal(), 2)).is_ok());
  auto before = listing(d.wal());
  auto st = write_wal_checkpoint(d.wal(), 3, {series(1)}, 0);
  CAF_CHECK(st.error().error_code() == status::code::corruption);
  CAF_CHECK(contains(st.error().message(), "00000002"));
  CAF_CHECK_EQUAL(listing(d.wal()), before);
  CAF_REQUIRE(w.w->close().is_ok());
}

CAF_TEST(damaged checkpoint reads as corruption naming it) {
  temp_dir d;
  auto w = standard_wal(d.wal());
  CAF_REQUIRE(write_wal_checkpoint(d.wal(), 3, {series(1), series(2)}, 0).is_ok());
  auto seg = wal_checkpoint_path(d.wal(), 3) + "/00000001";
  auto good = read_whole_file(seg);
  CAF_REQUIRE(good.is_ok());
  auto noop = [](std::string_view, wal_position) { return status::ok(); };
  CAF_CHECK(read_wal_checkpoint(d.wal(), 3, noop).is_ok());
  // A flipped byte.
  flip_byte(seg, 30);
  auto st = read_wal_checkpoint(d.wal(), 3, noop);
  CAF_CHECK(st.error_code() == status::code::corruption);
  CAF_CHECK(contains(st.message(), "WAL checkpoint " + wal_checkpoint_path(d.wal(), 3) + " is damaged"));
  CAF_CHECK(contains(st.message(), "checksum mismatch"));
  // A cut-off end is no torn tail in a checkpoint.
  CAF_REQUIRE(write_whole_file(seg, good->substr(0, good->size() - 5)).is_ok());
  st = read_wal_checkpoint(d.wal(), 3, noop);
  CAF_CHECK(st.error_code() == status::code::corruption);
  CAF_CHECK(!contains(st.message(), "torn tail"));
  // No segment at all.
  CAF_REQUIRE(remove_file(seg).is_ok());
  st = read_wal_checkpoint(d.wal(), 3, noop);
  CAF_CHECK(st.error_code() == status::code::corruption);
  CAF_CHECK(contains(st.message(), "segment 00000001 is missing"));
  // An error of the callback is passed through.
  CAF_REQUIRE(write_whole_file(seg, *good).is_ok());
  st = read_wal_checkpoint(d.wal(), 3, [](std::string_view, wal_position) {
    return status::invalid_argument("stop");
  });
  CAF_CHECK(st.error_code() == status::code::invalid_argument);
  CAF_REQUIRE(w.w->close().is_ok());
}

CAF_TEST(checkpoint runs while the writer appends to a newer segment) {
  temp_dir d;
  auto w = standard_wal(d.wal());
  w.add_series({series(7)});
  std::atomic<bool> stop{false};
  std::atomic<bool> writer_done{false};
  std::atomic<int64_t> written{0};
  status writer_error;
  // The writer keeps filling segments > 3 (rolling over every ~3000
  // records) while checkpoints read the closed ones and delete them.
  std::thread appender([&] {
    std::string rec;
    for (int64_t t = 0; !stop || t < 2000; ++t) {
      rec.clear();
      encode_samples({{7, t, 1.0}}, rec);
      auto st = w.w->append(rec);
      if (st)
        st = w.w->flush();
      if (!st) {
        writer_error = st;
        break;
      }
      written = t + 1;
    }
    writer_done = true;
  });
  for (uint64_t upto = 3; upto < 8; ++upto) {
    // Segment `upto` must be closed: wait until the writer is two segments
    // past it.
    auto newest = [&] {
      auto s = list_wal_segments(d.wal());
      return s && !s->empty() ? s->back() : 0;
    };
    while (newest() < upto + 2 && !writer_done)
      std::this_thread::yield();
    CAF_REQUIRE(!writer_done);
    auto stats = write_wal_checkpoint(d.wal(), upto, {series(1), series(7)}, 0);
    CAF_REQUIRE(stats.is_ok());
    auto left = segments_of(d.wal());
    CAF_CHECK_EQUAL(left.front(), upto + 1);
  }
  stop = true;
  appender.join();
  CAF_REQUIRE(writer_error.is_ok());
  CAF_REQUIRE(w.w->close().is_ok());
  auto r = replay(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_CHECK_EQUAL(r.refused, 0u);
  CAF_CHECK_EQUAL(r.unknown, 0u);
  CAF_CHECK_EQUAL(r.samples, 10u + static_cast<uint64_t>(written.load()));
}

CAF_TEST(checkpoint matches the example in FORMAT.md) {
  temp_dir d;
  wal_writer w(d.wal());
  auto job = [](const char* v) { return label_set::from_unsorted({{"__name__", "up"}, {"job", v}}); };
  w.add_series({{5, job("a")}, {6, job("b")}});
  w.add_samples({{5, 1000, 1.0}, {6, 1000, 1.0}});
  w.next_segment();
  w.add_samples({{5, 2000, 1.0}});
  w.next_segment();
  w.add_samples({{5, 3000, 1.0}});
  CAF_REQUIRE_EQUAL(w.next_segment(), 3u);
  // The live series as series entries, as the head shards hand them
  // over; a damaged entry writes nothing.
  std::string entries;
  append_series_entry(entries, 5, label_key(job("a")));
  auto bad = entries.substr(0, entries.size() - 1);
  CAF_CHECK_EQUAL(write_wal_checkpoint(d.wal(), 3, std::vector<std::string_view>{bad}, 2000).error().error_code(),
                  status::code::corruption);
  CAF_REQUIRE(!latest_wal_checkpoint(d.wal())->has_value());
  CAF_REQUIRE(write_wal_checkpoint(d.wal(), 3, std::vector<std::string_view>{entries}, 2000).is_ok());
  std::vector<std::string> records;
  CAF_REQUIRE(read_wal_checkpoint(d.wal(), 3, [&](std::string_view rec, wal_position) {
                records.emplace_back(rec);
                return status::ok();
              }).is_ok());
  CAF_REQUIRE_EQUAL(records.size(), 2u);
  CAF_CHECK_EQUAL(records[0], std::string("\x01\x05\x02\x08__name__\x02up\x03job\x01" "a", 21));
  std::string one("\0\0\0\0\0\0\xf0\x3f", 8);
  CAF_CHECK_EQUAL(records[1], std::string("\x02\x05\xa0\x1f\x00\x00", 6) + one + std::string("\x00\xd0\x0f", 3) + one);
  CAF_REQUIRE(w.w->close().is_ok());
}

// One buffer per head shard: the checkpoint takes an entry from each in
// turn, so a replay's shard threads work side by side.
CAF_TEST(live series from several buffers are written taking one from each in turn) {
  temp_dir d;
  wal_writer w(d.wal());
  w.add_samples({{1, 1000, 1.0}});
  auto upto = w.next_segment();
  std::string shard0;
  std::string shard1;
  for (uint64_t ref : {1, 3, 5, 7})
    append_series_entry(shard0, ref, label_key(series(ref).labels));
  append_series_entry(shard1, 2, label_key(series(2).labels));
  CAF_REQUIRE(write_wal_checkpoint(d.wal(), upto, std::vector<std::string_view>{shard0, shard1}, 0).is_ok());
  auto c = read_checkpoint(d.wal(), upto);
  CAF_REQUIRE(c.st.is_ok());
  std::vector<uint64_t> refs;
  for (const auto& s : c.series)
    refs.push_back(s.ref);
  CAF_CHECK_EQUAL(refs, (std::vector<uint64_t>{1, 2, 3, 5, 7}));
  CAF_CHECK(c.series[1].labels == series(2).labels);
  CAF_REQUIRE(w.w->close().is_ok());
}

CAF_TEST(checkpoint keeps the metadata entries given and no metadata record read) {
  temp_dir d;
  wal_writer w{d.wal()};
  w.add_series({series(1)});
  std::string rec;
  encode_metadata_records({{10, {"old_family", metric_type::gauge, "Old.", ""}}}, rec);
  CAF_REQUIRE(w.w->append(rec).is_ok());
  w.add_samples({{1, 100, 1.0}});
  auto upto = w.next_segment();
  // The metadata store's content: what it holds now, not what was logged.
  std::string entries;
  append_metadata_entry(entries, {20, {"metric", metric_type::counter, "M.", "bytes"}});
  append_metadata_entry(entries, {30, {"other", metric_type::gauge, "O.", ""}});
  auto st = write_wal_checkpoint(d.wal(), upto, std::vector<series_record>{series(1)}, 0, entries);
  CAF_REQUIRE(st.is_ok());
  CAF_CHECK_EQUAL(st->metadata, 2u);
  auto c = read_checkpoint(d.wal(), upto);
  CAF_REQUIRE(c.st.is_ok());
  CAF_REQUIRE_EQUAL(c.types.size(), 3u);
  CAF_CHECK(c.types[0] == wal_record_type::series);
  CAF_CHECK(c.types[1] == wal_record_type::metadata);
  CAF_CHECK(c.types[2] == wal_record_type::samples);
  CAF_REQUIRE_EQUAL(c.metadata.size(), 2u);
  CAF_CHECK_EQUAL(c.metadata[0].seen_ms, 20);
  CAF_CHECK(c.metadata[0].metadata == (metric_metadata{"metric", metric_type::counter, "M.", "bytes"}));
  CAF_CHECK_EQUAL(c.metadata[1].metadata.metric_family_name, "other");
  CAF_CHECK_EQUAL(c.samples.size(), 1u);
}

CAF_TEST(damaged metadata fails the checkpoint without deleting anything) {
  temp_dir d;
  wal_writer w{d.wal()};
  w.add_series({series(1)});
  w.add_samples({{1, 100, 1.0}});
  auto upto = w.next_segment();
  auto before = listing(d.wal());
  // Entries from the caller that do not decode (a type past stateset).
  std::string entries;
  append_metadata_entry(entries, {20, {"metric", metric_type::counter, "M.", ""}});
  entries[1] = 9;
  auto st = write_wal_checkpoint(d.wal(), upto, std::vector<series_record>{series(1)}, 0, entries);
  CAF_REQUIRE(!st.is_ok());
  CAF_CHECK(st.error().error_code() == status::code::corruption);
  CAF_CHECK(contains(st.error().message(), "unknown metric type 9"));
  CAF_CHECK(listing(d.wal()) == before);
  // A damaged metadata record in a segment the checkpoint replaces (its
  // framing intact): corruption naming the segment.
  std::string rec;
  encode_metadata_records({{10, {"x", metric_type::gauge, "", ""}}}, rec);
  rec[1 + 1] = 8;  // after the one-byte seen_ms varint: the type
  CAF_REQUIRE(w.w->append(rec).is_ok());
  upto = w.next_segment();
  before = listing(d.wal());
  st = write_wal_checkpoint(d.wal(), upto, std::vector<series_record>{series(1)}, 0);
  CAF_REQUIRE(!st.is_ok());
  CAF_CHECK(st.error().error_code() == status::code::corruption);
  CAF_MESSAGE(st.error().message());
  CAF_CHECK(contains(st.error().message(), "metadata record byte"));
  CAF_CHECK(listing(d.wal()) == before);
}

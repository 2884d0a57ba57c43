#define CAF_SUITE storage.wal.tombstones
#include "test_support.hpp"
#include "storage/wal/read_records.hpp"
#include "storage/wal/record_writer.hpp"

#include <cstdlib>
#include <filesystem>
#include <map>

#include "storage/coding.hpp"
#include "storage/file.hpp"
#include "storage/head/head.hpp"
#include "storage/hex.hpp"
#include "storage/wal/checkpoint.hpp"
#include "storage/wal/records.hpp"
#include "storage/wal/segment_writer.hpp"

using namespace nl::storage;
namespace fs = std::filesystem;

namespace {

using nl::test::hex;
using nl::test::temp_dir;

label_set labels_of(uint64_t id) {
  return label_set::from_unsorted({{"__name__", "metric"}, {"id", std::to_string(id)}});
}

using wal = nl::test::wal_record_writer;

/// Replays like start-up (storage/wal/replay.cpp) into one head and
/// returns "ref:t" of every sample it then holds, by series.
std::map<std::string, std::vector<int64_t>> replay(const std::string& wal_dir, uint64_t* tombstone_records = nullptr) {
  CAF_REQUIRE(remove_obsolete_wal_files(wal_dir).is_ok());
  head_options o;
  o.out_of_bounds_window_ms = INT64_MAX / 2;
  head h{o};
  std::vector<series_record> s;
  std::vector<sample_record> x;
  std::vector<tombstone_record> ts;
  auto apply = [&](std::string_view rec) {
    auto type = record_type(rec);
    CAF_REQUIRE(type.is_ok());
    switch (*type) {
      case wal_record_type::series:
        CAF_REQUIRE(decode_series(rec, s).is_ok());
        for (auto& e : s)
          CAF_REQUIRE(h.create_series_with_ref(e.ref, e.labels).is_ok());
        break;
      case wal_record_type::samples:
        CAF_REQUIRE(decode_samples(rec, x).is_ok());
        for (auto& e : x)
          (void)h.append(e.ref, e.t, e.v);
        break;
      case wal_record_type::tombstones:
        CAF_REQUIRE(decode_tombstone_records(rec, ts).is_ok());
        h.delete_ranges(ts);
        if (tombstone_records)
          ++*tombstone_records;
        break;
      case wal_record_type::metadata:
        break;  // not the subject here
    }
  };
  nl::test::read_wal_records(wal_dir, apply);
  std::map<std::string, std::vector<int64_t>> out;
  for (auto& snap : h.select({}, INT64_MIN, INT64_MAX)) {
    std::vector<sample> xs;
    CAF_REQUIRE(decode_chunks(snap.chunks, INT64_MIN, INT64_MAX, xs).is_ok());
    for (auto& e : xs)
      out[std::string{snap.labels.get("id")}].push_back(e.t);
  }
  return out;
}

}  // namespace

CAF_TEST(tombstones record matches the documented bytes) {
  std::string out;
  encode_tombstone_records({{5, 1000, 2000}, {6, -1, -1}}, out);
  CAF_CHECK_EQUAL(hex(out), "0305d00fe807060100");
  auto type = record_type(out);
  CAF_REQUIRE(type.is_ok());
  CAF_CHECK(*type == wal_record_type::tombstones);
  std::vector<tombstone_record> back;
  CAF_REQUIRE(decode_tombstone_records(out, back).is_ok());
  CAF_REQUIRE_EQUAL(back.size(), 2u);
  CAF_CHECK_EQUAL(back[0].ref, 5u);
  CAF_CHECK_EQUAL(back[0].mint, 1000);
  CAF_CHECK_EQUAL(back[0].maxt, 2000);
  CAF_CHECK_EQUAL(back[1].ref, 6u);
  CAF_CHECK_EQUAL(back[1].mint, -1);
  CAF_CHECK_EQUAL(back[1].maxt, -1);
  std::string all;
  encode_tombstone_records({{1, INT64_MIN, INT64_MAX}}, all);
  CAF_REQUIRE(decode_tombstone_records(all, back).is_ok());
  CAF_CHECK_EQUAL(back[0].mint, INT64_MIN);
  CAF_CHECK_EQUAL(back[0].maxt, INT64_MAX);
}

CAF_TEST(damaged tombstones records are corruption) {
  std::string out;
  encode_tombstone_records({{5, 1000, 2000}, {6, -1, -1}}, out);
  std::vector<tombstone_record> back;
  for (size_t n = 1; n < out.size(); ++n) {
    auto st = decode_tombstone_records(std::string_view{out}.substr(0, n), back);
    // A cut at an entry boundary is a shorter valid record.
    if (n == 1 || n == 6)
      CAF_CHECK(st.is_ok());
    else
      CAF_CHECK(st.error_code() == status::code::corruption);
  }
  CAF_CHECK(!decode_tombstone_records("", back).is_ok());
  CAF_CHECK(!decode_tombstone_records("\x02", back).is_ok());
  // A range ending past INT64_MAX: mint = INT64_MAX, length 1.
  std::string past(1, '\x03');
  put_uvarint(past, 1);
  put_varint(past, INT64_MAX);
  put_uvarint(past, 1);
  auto st = decode_tombstone_records(past, back);
  CAF_CHECK(st.error_code() == status::code::corruption);
  CAF_CHECK(back.empty());
}

CAF_TEST(a replay applies tombstones to the samples before them only) {
  temp_dir d;
  {
    wal w{d.wal()};
    w.series({{1, labels_of(1)}, {2, labels_of(2)}});
    w.samples({{1, 100, 1}, {1, 200, 1}, {1, 300, 1}, {2, 100, 1}, {2, 200, 1}});
    w.tombstones({{1, 150, 400}, {2, 100, 100}, {7, 0, 1000}});  // 7: an unknown ref
    w.samples({{1, 350, 1}, {2, 250, 1}});  // after the deletion: they stay
    CAF_REQUIRE(w.w->close().is_ok());
  }
  uint64_t n = 0;
  auto got = replay(d.wal(), &n);
  CAF_CHECK_EQUAL(n, 1u);
  CAF_CHECK_EQUAL(got["1"], (std::vector<int64_t>{100, 350}));
  CAF_CHECK_EQUAL(got["2"], (std::vector<int64_t>{200, 250}));
}

CAF_TEST(a checkpoint drops what later tombstones delete and keeps no tombstones) {
  temp_dir d;
  wal w{d.wal()};
  // Series 3 is an alias of 1 (same labels, declared later, as after a
  // re-creation): a tombstone for either deletes the samples of both.
  w.series({{1, labels_of(1)}, {2, labels_of(2)}});
  w.samples({{1, 100, 1}, {1, 200, 1}, {1, 300, 1}, {2, 100, 1}, {2, 200, 1}, {2, 300, 1}});
  w.next_segment();
  w.series({{3, labels_of(1)}});
  w.samples({{3, 400, 1}});
  w.tombstones({{3, 200, 400}, {2, 300, 300}});
  w.samples({{1, 250, 1}, {2, 300, 2}});  // written again after the deletion
  w.next_segment();
  w.samples({{2, 400, 1}});
  CAF_REQUIRE_EQUAL(w.next_segment(), 3u);
  w.tombstones({{2, 100, 100}});  // after the checkpoint's segments: replayed on top
  CAF_REQUIRE(w.w->flush().is_ok());
  auto before = replay(d.wal());
  CAF_CHECK_EQUAL(before["1"], (std::vector<int64_t>{100, 250}));
  CAF_CHECK_EQUAL(before["2"], (std::vector<int64_t>{200, 300, 400}));

  std::vector<series_record> live{{1, labels_of(1)}, {2, labels_of(2)}, {3, labels_of(1)}};
  auto stats = write_wal_checkpoint(d.wal(), 3, live, 0);
  CAF_REQUIRE(stats.is_ok());
  CAF_CHECK_EQUAL(stats->samples_deleted, 4u);  // 1@200, 1@300, 3@400, 2@300 (the first)
  CAF_CHECK_EQUAL(stats->samples_kept, 6u);
  uint64_t ckpt_tombstones = 0;
  bool only_series_and_samples = true;
  CAF_REQUIRE(read_wal_checkpoint(d.wal(), 3, [&](std::string_view rec, wal_position) {
                auto type = record_type(rec);
                if (!type)
                  return type.error();
                ckpt_tombstones += *type == wal_record_type::tombstones;
                only_series_and_samples = only_series_and_samples && *type != wal_record_type::tombstones;
                return status::ok();
              }).is_ok());
  CAF_CHECK_EQUAL(ckpt_tombstones, 0u);
  CAF_CHECK(only_series_and_samples);
  CAF_REQUIRE(w.w->close().is_ok());
  auto after = replay(d.wal());
  CAF_CHECK_EQUAL(after, before);
}

CAF_TEST(a checkpoint without tombstones is written in one pass as before) {
  temp_dir d;
  wal w{d.wal()};
  w.series({{1, labels_of(1)}});
  w.samples({{1, 100, 1}, {1, 200, 1}});
  CAF_REQUIRE_EQUAL(w.next_segment(), 1u);
  auto stats = write_wal_checkpoint(d.wal(), 1, {{1, labels_of(1)}}, 150);
  CAF_REQUIRE(stats.is_ok());
  CAF_CHECK_EQUAL(stats->samples_kept, 1u);
  CAF_CHECK_EQUAL(stats->samples_deleted, 0u);
  CAF_CHECK_EQUAL(stats->samples_dropped, 1u);
}

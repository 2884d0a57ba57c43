#define CAF_SUITE storage.wal.replay
#include "test_support.hpp"
#include "storage/wal/record_writer.hpp"
#include "storage/padded_key.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storage/chunk/xor_chunk.hpp"
#include "storage/file.hpp"
#include "storage/head/head.hpp"
#include "storage/head/shard.hpp"
#include "storage/label_key.hpp"
#include "storage/wal/checkpoint.hpp"
#include "storage/wal/format.hpp"
#include "storage/wal/records.hpp"
#include "storage/wal/replay.hpp"
#include "storage/wal/segment_writer.hpp"

using namespace nl::storage;

namespace {

using nl::test::temp_dir;


label_set labels_of(uint64_t ref) {
  return label_set::from_unsorted({{"__name__", "metric"}, {"id", std::to_string(ref)}});
}

series_record series(uint64_t ref) { return {ref, labels_of(ref)}; }

using wal_writer = nl::test::wal_record_writer;

/// `n` head shards numbered like start-up does (ref_start 1 + i, stride n).
std::vector<std::shared_ptr<head>> make_heads(size_t n) {
  std::vector<std::shared_ptr<head>> out;
  for (size_t i = 0; i < n; ++i) {
    head_options o;
    o.ref_start = 1 + i;
    o.ref_stride = n;
    o.out_of_bounds_window_ms = INT64_MAX / 2;
    out.push_back(std::make_shared<head>(o));
  }
  return out;
}

/// Options that collect the callbacks' lines.
struct collected {
  std::vector<std::string> infos;
  std::vector<std::string> warns;
  wal_replay_options opts(bool repair = false, wal_replay_progress* progress = nullptr) {
    wal_replay_options o;
    o.repair = repair;
    o.progress = progress;
    o.info = [this](const std::string& m) { infos.push_back(m); };
    o.warn = [this](const std::string& m) { warns.push_back(m); };
    return o;
  }
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

bool any_contains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& l : lines)
    if (contains(l, needle))
      return true;
  return false;
}

/// Sample count per "id" label, over all shards.
std::map<std::string, size_t> samples_by_id(const std::vector<std::shared_ptr<head>>& heads) {
  std::map<std::string, size_t> out;
  for (auto& h : heads)
    for (auto& snap : h->select({}, INT64_MIN, INT64_MAX)) {
      std::vector<sample> xs;
      CAF_REQUIRE(decode_chunks(snap.chunks, INT64_MIN, INT64_MAX, xs).is_ok());
      out[std::string{snap.labels.get("id")}] += xs.size();
    }
  return out;
}

void flip_byte(const std::string& path, uint64_t offset) {
  auto data = read_whole_file(path);
  CAF_REQUIRE(data.is_ok());
  CAF_REQUIRE(offset < data->size());
  (*data)[offset] ^= 0x20;
  CAF_REQUIRE(write_whole_file(path, *data).is_ok());
}

}  // namespace

CAF_TEST(series go to the shard of their label hash and samples follow their ref) {
  temp_dir d;
  wal_writer w{d.wal()};
  std::vector<series_record> all;
  for (uint64_t ref = 1; ref <= 8; ++ref)
    all.push_back(series(ref));
  w.series(all);
  std::vector<sample_record> xs;
  for (uint64_t ref = 1; ref <= 8; ++ref)
    for (int64_t t = 1; t <= static_cast<int64_t>(ref); ++t)
      xs.push_back({ref, t * 1000, 1.0});
  w.samples(xs);
  w.close();
  auto heads = make_heads(3);
  collected c;
  auto r = replay_wal(d.wal(), heads, c.opts());
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK_EQUAL(r->records, 2u);
  CAF_CHECK_EQUAL(r->samples, 36u);
  for (uint64_t ref = 1; ref <= 8; ++ref) {
    auto shard = shard_of(labels_of(ref).hash(), heads.size());
    for (size_t i = 0; i < heads.size(); ++i)
      CAF_CHECK_EQUAL(heads[i]->find_ref(labels_of(ref)).has_value(), i == shard);
  }
  auto by_id = samples_by_id(heads);
  for (uint64_t ref = 1; ref <= 8; ++ref)
    CAF_CHECK_EQUAL(by_id[std::to_string(ref)], ref);
  CAF_CHECK(any_contains(c.infos, "wal: replaying segment 00000001"));
  CAF_CHECK(any_contains(c.infos, "wal: replay done: 2 records, 8 series, 36 samples"));
  CAF_CHECK(c.warns.empty());
  // New series get refs above every replayed one, in each shard.
  for (size_t i = 0; i < heads.size(); ++i) {
    auto key = label_key(labels_of(100 + i));
    auto slot = heads[i]->get_or_create(hash_label_key(key), key);
    CAF_REQUIRE(slot.is_ok());
    CAF_CHECK_GREATER(slot->ref(), 8u);
  }
}

// The head compares keys byte by byte with its canonical pairs, so a
// record's key in another valid spelling must land on the same series as
// the canonical one (here: ref 2 becomes an alias of ref 1), not a second.
CAF_TEST(a series record in another spelling of the same labels finds its series) {
  temp_dir d;
  wal_writer w{d.wal()};
  w.series({series(1)});
  auto padded = nl::test::padded_label_key(labels_of(1));
  CAF_REQUIRE_NOT_EQUAL(padded, label_key(labels_of(1)));
  CAF_REQUIRE_EQUAL(hash_label_key(padded), labels_of(1).hash());
  std::string rec(1, static_cast<char>(wal_record_type::series));
  rec += "\x02" + padded;  // ref 2
  w.put(rec);
  w.samples({{1, 1000, 1.0}, {2, 2000, 2.0}});
  w.close();
  auto heads = make_heads(2);
  collected c;
  auto r = replay_wal(d.wal(), heads, c.opts());
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK_EQUAL(r->samples, 2u);
  size_t series_count = 0;
  for (auto& h : heads)
    series_count += h->num_series();
  CAF_CHECK_EQUAL(series_count, 1u);
  auto by_id = samples_by_id(heads);  // CAF_CHECK_EQUAL keeps a reference: not into a temporary
  CAF_CHECK_EQUAL(by_id["1"], 2u);
}

CAF_TEST(samples of unknown series are skipped with one warning) {
  temp_dir d;
  wal_writer w{d.wal()};
  w.series({series(1)});
  w.samples({{1, 1000, 1.0}, {7, 1000, 1.0}, {9, 2000, 1.0}});
  w.close();
  auto heads = make_heads(2);
  collected c;
  auto r = replay_wal(d.wal(), heads, c.opts());
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK_EQUAL(r->samples, 1u);
  CAF_REQUIRE_EQUAL(c.warns.size(), 1u);
  CAF_CHECK(contains(c.warns[0], "wal: skipped 2 samples of unknown series"));
}

// The reading thread sends samples to the shard that numbers their ref as
// long as every series so far is in that shard (the usual WAL, written by
// as many shards as read it), and looks each ref up once one is not. Either
// way a sample written before its series record is skipped: the samples
// waiting in a shard go to it before that shard's next series record.
CAF_TEST(samples follow their ref whether or not refs follow the shards numbering) {
  auto numbered = [](uint64_t ref) { return shard_of(labels_of(ref).hash(), 2) == (ref - 1) % 2; };
  std::vector<uint64_t> in_order;  // the last one is declared late
  uint64_t stray = 0;
  for (uint64_t ref = 1; in_order.size() < 5 || stray == 0; ++ref)
    if (numbered(ref) && in_order.size() < 5)
      in_order.push_back(ref);
    else if (!numbered(ref) && stray == 0)
      stray = ref;
  uint64_t late = in_order.back();
  in_order.pop_back();
  temp_dir d;
  wal_writer w{d.wal()};
  std::vector<series_record> first;
  for (auto ref : in_order)
    first.push_back(series(ref));
  w.series(first);
  std::vector<sample_record> xs;
  for (auto ref : in_order)
    xs.push_back({ref, 1000, 1.0});
  xs.push_back({1000, 1000, 1.0});  // no series has ref 1000
  xs.push_back({late, 1000, 1.0});  // not declared yet
  xs.push_back({stray, 1000, 1.0});  // likewise
  w.samples(xs);
  w.series({series(late)});
  w.samples({{late, 1500, 1.0}});
  w.series({series(stray)});  // from here on every ref is looked up
  xs.clear();
  for (auto ref : in_order)
    xs.push_back({ref, 2000, 1.0});
  xs.push_back({late, 2000, 1.0});
  xs.push_back({stray, 2000, 1.0});
  xs.push_back({1001, 2000, 1.0});
  w.samples(xs);
  w.close();
  auto heads = make_heads(2);
  collected c;
  auto r = replay_wal(d.wal(), heads, c.opts());
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK_EQUAL(r->samples, 11u);
  auto by_id = samples_by_id(heads);
  for (auto ref : in_order)
    CAF_CHECK_EQUAL(by_id[std::to_string(ref)], 2u);
  CAF_CHECK_EQUAL(by_id[std::to_string(late)], 2u);
  CAF_CHECK_EQUAL(by_id[std::to_string(stray)], 1u);
  CAF_REQUIRE_EQUAL(c.warns.size(), 1u);
  CAF_CHECK(contains(c.warns[0], "wal: skipped 4 samples of unknown series"));
}

CAF_TEST(samples below the newest block are skipped unless an out-of-order window may take them) {
  temp_dir d;
  wal_writer w{d.wal()};
  w.series({series(1), series(2)});
  w.samples({{1, 1000, 1.0}, {2, 1500, 1.0}, {1, 2000, 1.0}, {2, 2500, 1.0}});
  w.close();
  // The blocks end at 2000: start-up raises every head's floor there.
  auto heads = make_heads(2);
  for (auto& h : heads)
    h->raise_min_valid_time(2000);
  collected c;
  auto r = replay_wal(d.wal(), heads, c.opts());
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK_EQUAL(r->samples, 2u);
  auto by_id = samples_by_id(heads);
  CAF_CHECK_EQUAL(by_id["1"], 1u);
  CAF_CHECK_EQUAL(by_id["2"], 1u);
  CAF_CHECK(any_contains(c.infos, "(2 samples below the newest block skipped)"));
  for (auto& h : heads)
    CAF_CHECK_EQUAL(h->stats().out_of_bounds, 0u);  // dropped before any lookup
  // With an out-of-order window the heads decide: a sample inside it is
  // taken even below the floor.
  std::vector<std::shared_ptr<head>> ooo;
  for (size_t i = 0; i < 2; ++i) {
    head_options o;
    o.ref_start = 1 + i;
    o.ref_stride = 2;
    o.out_of_bounds_window_ms = INT64_MAX / 2;
    o.ooo_window_ms = 60'000;
    ooo.push_back(std::make_shared<head>(o));
    ooo.back()->raise_min_valid_time(2000);
  }
  collected c2;
  auto r2 = replay_wal(d.wal(), ooo, c2.opts());
  CAF_REQUIRE(r2.is_ok());
  CAF_CHECK(!any_contains(c2.infos, "below the newest block skipped"));
  CAF_CHECK_GREATER_OR_EQUAL(r2->samples, 2u);
}

CAF_TEST(tombstones delete what was replayed before them) {
  temp_dir d;
  wal_writer w{d.wal()};
  w.series({series(1), series(2)});
  w.samples({{1, 1000, 1.0}, {1, 2000, 1.0}, {2, 1000, 1.0}});
  w.tombstones({{1, 0, 1500}, {2, 0, 5000}});
  w.samples({{2, 6000, 1.0}});
  w.close();
  auto heads = make_heads(2);
  collected c;
  CAF_REQUIRE(replay_wal(d.wal(), heads, c.opts()).is_ok());
  auto by_id = samples_by_id(heads);
  CAF_CHECK_EQUAL(by_id["1"], 1u);
  CAF_CHECK_EQUAL(by_id["2"], 1u);  // the sample written after the deletion
}

CAF_TEST(long runs of samples keep their order around series and tombstones records) {
  // Tens of thousands of samples a shard, so that samples wait for a full
  // batch before they are applied: the deletion must still apply to exactly
  // the samples before it, and a series declared midway must take its own.
  temp_dir d;
  wal_writer w{d.wal(), 1 << 20};
  w.series({series(1), series(2), series(3), series(4)});
  auto write_samples = [&](int64_t from, int64_t to, uint64_t refs) {
    for (int64_t t = from; t < to; t += 50) {
      std::vector<sample_record> rec;
      for (int64_t u = t; u < t + 50; ++u)
        for (uint64_t ref = 1; ref <= refs; ++ref)
          rec.push_back({ref, u, static_cast<double>(u)});
      w.samples(rec);
    }
  };
  write_samples(0, 15000, 4);
  w.tombstones({{1, 0, 14999}, {3, 5000, 9999}});
  w.series({series(5)});
  write_samples(15000, 30000, 5);
  w.close();
  auto heads = make_heads(2);
  collected c;
  auto stats = replay_wal(d.wal(), heads, c.opts());
  CAF_REQUIRE(stats.is_ok());
  auto by_id = samples_by_id(heads);
  CAF_CHECK_EQUAL(by_id["1"], 15000u);
  CAF_CHECK_EQUAL(by_id["2"], 30000u);
  CAF_CHECK_EQUAL(by_id["3"], 25000u);
  CAF_CHECK_EQUAL(by_id["4"], 30000u);
  CAF_CHECK_EQUAL(by_id["5"], 15000u);
  CAF_CHECK_EQUAL(stats->samples, 4u * 15000 + 5u * 15000);
}

CAF_TEST(progress runs from the first segment to one past the newest) {
  temp_dir d;
  wal_writer w{d.wal()};
  w.series({series(1)});
  w.next_segment();
  w.samples({{1, 1000, 1.0}});
  w.next_segment();
  w.samples({{1, 2000, 1.0}});
  w.close();
  wal_replay_progress p;
  CAF_CHECK_EQUAL(p.get().max, 0);
  auto heads = make_heads(1);
  collected c;
  CAF_REQUIRE(replay_wal(d.wal(), heads, c.opts(false, &p)).is_ok());
  auto s = p.get();
  CAF_CHECK_EQUAL(s.min, 1);
  CAF_CHECK_EQUAL(s.max, 4);
  CAF_CHECK_EQUAL(s.current, 3);
  p.finish(4);
  CAF_CHECK_EQUAL(p.get().current, 4);
}

CAF_TEST(progress of an empty WAL directory starts at the segment to be written) {
  temp_dir d;
  CAF_REQUIRE(create_dir_if_missing(d.wal()).is_ok());
  wal_replay_progress p;
  auto heads = make_heads(1);
  collected c;
  CAF_REQUIRE(replay_wal(d.wal(), heads, c.opts(false, &p)).is_ok());
  CAF_CHECK_EQUAL(p.get().min, 1);
  CAF_CHECK_EQUAL(p.get().max, 1);
}

CAF_TEST(torn tail is truncated with a warning) {
  temp_dir d;
  wal_writer w{d.wal()};
  w.series({series(1)});
  w.samples({{1, 1000, 1.0}});
  w.close();
  auto seg = wal_segment_path(d.wal(), 1);
  auto good = file_size(seg);
  CAF_REQUIRE(good.is_ok());
  // Half a record header: what a crash during a write leaves.
  auto data = read_whole_file(seg);
  CAF_REQUIRE(data.is_ok());
  CAF_REQUIRE(write_whole_file(seg, *data + std::string{"\x01\x02\x03", 3}).is_ok());
  auto heads = make_heads(1);
  collected c;
  auto r = replay_wal(d.wal(), heads, c.opts());
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK_EQUAL(r->samples, 1u);
  CAF_CHECK(any_contains(c.warns, "wal: torn tail"));
  CAF_CHECK(any_contains(c.warns, "dropped 3 bytes"));
  auto now = file_size(seg);
  CAF_REQUIRE(now.is_ok());
  CAF_CHECK_EQUAL(now.value(), good.value());
}

CAF_TEST(corruption before the end fails unless repair cuts the WAL there) {
  temp_dir d;
  wal_writer w{d.wal()};
  w.series({series(1)});
  w.samples({{1, 1000, 1.0}});
  w.next_segment();
  w.samples({{1, 2000, 1.0}});
  w.close();
  // The samples record of segment 1 (after the series record).
  auto seg1 = wal_segment_path(d.wal(), 1);
  auto size = file_size(seg1);
  CAF_REQUIRE(size.is_ok());
  flip_byte(seg1, *size - 3);
  {
    auto heads = make_heads(1);
    collected c;
    auto r = replay_wal(d.wal(), heads, c.opts());
    CAF_REQUIRE(!r.is_ok());
    CAF_CHECK(r.error().error_code() == status::code::corruption);
    CAF_CHECK(contains(r.error().message(), "--wal-repair"));
    CAF_CHECK(path_exists(wal_segment_path(d.wal(), 2)).value());
  }
  auto heads = make_heads(1);
  collected c;
  auto r = replay_wal(d.wal(), heads, c.opts(true));
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK_EQUAL(heads[0]->num_series(), 1u);
  CAF_CHECK_EQUAL(r->samples, 0u);
  CAF_CHECK(any_contains(c.warns, "wal: --wal-repair:"));
  CAF_CHECK(!path_exists(wal_segment_path(d.wal(), 2)).value());
  // Repaired: a second replay is clean.
  auto again = make_heads(1);
  collected c2;
  CAF_REQUIRE(replay_wal(d.wal(), again, c2.opts()).is_ok());
  CAF_CHECK(c2.warns.empty());
}

CAF_TEST(checkpoint is replayed before the segments after it) {
  temp_dir d;
  wal_writer w{d.wal()};
  w.series({series(1), series(2)});
  w.samples({{1, 1000, 1.0}, {2, 1000, 1.0}});
  auto upto = w.next_segment();
  w.samples({{1, 2000, 1.0}});
  w.close();
  // Series 2 is gone from the head; samples before 1500 are in a block.
  CAF_REQUIRE(write_wal_checkpoint(d.wal(), upto, std::vector<series_record>{series(1)}, 1500).is_ok());
  wal_replay_progress p;
  auto heads = make_heads(2);
  collected c;
  auto r = replay_wal(d.wal(), heads, c.opts(false, &p));
  CAF_REQUIRE(r.is_ok());
  auto by_id = samples_by_id(heads);
  CAF_CHECK_EQUAL(by_id.size(), 1u);
  CAF_CHECK_EQUAL(by_id["1"], 1u);
  CAF_CHECK(any_contains(c.infos, "wal: replaying checkpoint " + wal_checkpoint_name(upto)));
  CAF_CHECK_EQUAL(p.get().min, static_cast<int64_t>(upto));
  CAF_CHECK_EQUAL(p.get().current, static_cast<int64_t>(upto + 1));
}

CAF_TEST(metadata of the checkpoint and the segments after it reaches the store in order) {
  temp_dir d;
  wal_writer w{d.wal()};
  w.series({series(1)});
  w.metadata({{1000, {"metric", metric_type::gauge, "Logged before the checkpoint.", ""}}});
  auto upto = w.next_segment();
  w.metadata({{2000, {"metric", metric_type::gauge, "Help.", ""}},
              {2000, {"other_total", metric_type::counter, "Other.", "bytes"}}});
  w.close();
  // The store held "metric" (seen at 1500) when the checkpoint was taken.
  std::string entries;
  append_metadata_entry(entries, {1500, {"metric", metric_type::gauge, "Help.", ""}});
  CAF_REQUIRE(
    write_wal_checkpoint(d.wal(), upto, std::vector<series_record>{series(1)}, 0, entries).is_ok());
  metadata_store store;
  auto heads = make_heads(2);
  collected c;
  auto o = c.opts();
  o.metadata = &store;
  auto r = replay_wal(d.wal(), heads, o);
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK_EQUAL(r->metadata, 3u);
  auto xs = store.list({}, -1, -1);
  CAF_REQUIRE_EQUAL(xs.size(), 2u);
  CAF_CHECK(xs[0] == (metric_metadata{"metric", metric_type::gauge, "Help.", ""}));
  CAF_CHECK(xs[1] == (metric_metadata{"other_total", metric_type::counter, "Other.", "bytes"}));
  std::string back;
  store.entries(back);
  std::vector<metadata_record> held;
  CAF_REQUIRE(decode_metadata_entries(back, held).is_ok());
  CAF_CHECK_EQUAL(held[0].seen_ms, 2000);  // the newest receipt wins
  CAF_CHECK(any_contains(c.infos, "3 metadata entries"));
  // Without a store the records are still checked, then dropped.
  auto again = make_heads(1);
  collected c2;
  CAF_CHECK(replay_wal(d.wal(), again, c2.opts()).is_ok());
}

CAF_TEST(a damaged metadata record is corruption like any other) {
  temp_dir d;
  wal_writer w{d.wal()};
  std::string rec;
  encode_metadata_records({{1, {"x", metric_type::gauge, "", ""}}}, rec);
  rec[2] = 8;  // the type, after the one-byte seen_ms
  w.put(rec);
  w.series({series(1)});
  w.close();
  auto heads = make_heads(1);
  collected c;
  auto r = replay_wal(d.wal(), heads, c.opts());
  CAF_REQUIRE(!r.is_ok());
  CAF_CHECK(r.error().error_code() == status::code::corruption);
  CAF_MESSAGE(r.error().message());
  CAF_CHECK(contains(r.error().message(), "unknown metric type 8"));
}

CAF_TEST(missing segment after the checkpoint fails unless repair deletes the rest) {
  temp_dir d;
  wal_writer w{d.wal()};
  w.series({series(1)});
  auto upto = w.next_segment();
  w.samples({{1, 1000, 1.0}});
  w.next_segment();
  w.samples({{1, 2000, 1.0}});
  w.close();
  CAF_REQUIRE(write_wal_checkpoint(d.wal(), upto, std::vector<series_record>{series(1)}, 0).is_ok());
  CAF_REQUIRE(remove_file(wal_segment_path(d.wal(), upto + 1)).is_ok());
  {
    auto heads = make_heads(1);
    collected c;
    auto r = replay_wal(d.wal(), heads, c.opts());
    CAF_REQUIRE(!r.is_ok());
    CAF_CHECK(r.error().error_code() == status::code::corruption);
    CAF_CHECK(contains(r.error().message(), "segment is missing"));
  }
  auto heads = make_heads(1);
  collected c;
  auto r = replay_wal(d.wal(), heads, c.opts(true));
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK_EQUAL(heads[0]->num_series(), 1u);
  CAF_CHECK(any_contains(c.warns, "segments after the checkpoint"));
  CAF_CHECK(!path_exists(wal_segment_path(d.wal(), upto + 2)).value());
}

CAF_TEST(damaged checkpoint is corruption even with repair) {
  temp_dir d;
  wal_writer w{d.wal()};
  w.series({series(1), series(2)});
  auto upto = w.next_segment();
  w.close();
  CAF_REQUIRE(write_wal_checkpoint(d.wal(), upto, std::vector<series_record>{series(1), series(2)}, 0).is_ok());
  flip_byte(wal_checkpoint_path(d.wal(), upto) + "/00000001", 30);
  auto heads = make_heads(1);
  collected c;
  auto r = replay_wal(d.wal(), heads, c.opts(true));
  CAF_REQUIRE(!r.is_ok());
  CAF_CHECK(r.error().error_code() == status::code::corruption);
  CAF_CHECK(contains(r.error().message(), "--wal-repair does not repair checkpoints"));
}

CAF_TEST(callbacks may be left empty) {
  temp_dir d;
  wal_writer w{d.wal()};
  w.series({series(1)});
  w.samples({{5, 1000, 1.0}});
  w.close();
  auto heads = make_heads(1);
  auto r = replay_wal(d.wal(), heads, wal_replay_options{});
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK_EQUAL(r->records, 2u);
}

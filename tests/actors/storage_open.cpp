#define CAF_SUITE actors.storage_open
#include "test_support.hpp"

#include <filesystem>
#include <map>

#include "actors/storage_open.hpp"
#include "storage/block/writer.hpp"
#include "storage/chunk/chunk.hpp"
#include "storage/chunk/xor_chunk.hpp"
#include "storage/file.hpp"
#include "storage/head/head_snapshot.hpp"
#include "storage/head/shard.hpp"
#include "storage/label_key.hpp"
#include "storage/wal/records.hpp"
#include "storage/wal/segment_writer.hpp"

using namespace nl::actors;
using nl::test::temp_dir;
namespace storage = nl::storage;

namespace {

// up{job="1"} at 1000..5000 ms, in two WAL records.
void write_wal(const std::string& data_dir) {
  auto w = storage::wal_segment_writer::open(data_dir + "/wal", 1 << 20);
  CAF_REQUIRE(w.is_ok());
  std::string rec;
  storage::encode_series({{1, storage::label_set::from_unsorted({{"__name__", "up"}, {"job", "1"}})}}, rec);
  CAF_REQUIRE((*w)->append(rec).is_ok());
  std::vector<storage::sample_record> samples;
  for (int64_t t = 1000; t <= 5000; t += 1000)
    samples.push_back({1, t, 1.0});
  rec.clear();
  storage::encode_samples(samples, rec);
  CAF_REQUIRE((*w)->append(rec).is_ok());
  CAF_REQUIRE((*w)->close().is_ok());
}

// Opens the directory, stops as the server does (WAL closed, then the
// snapshot written) and says how the head was filled.
struct opened_as {
  uint64_t records_replayed = 0;
  uint64_t samples = 0;
  size_t blocks = 0;
  int64_t blocks_end = INT64_MIN;
  bool heads_refuse_below_blocks = true;  // every head's floor is the blocks' end
};
opened_as open_and_stop(const settings& s) {
  auto opened = open_storage(s, 2, false);
  CAF_REQUIRE(opened.is_ok());
  opened_as out{opened->records_replayed, opened->samples_replayed, opened->blocks->size(),
                opened->blocks->max_time()};
  for (const auto& h : opened->heads)
    out.heads_refuse_below_blocks &= h->refuses_all_before() == out.blocks_end;
  CAF_REQUIRE(opened->wal->close().is_ok());
  write_head_snapshot(s, opened->heads, *opened->metadata, *opened->blocks);
  opened->lock.release();
  return out;
}

}  // namespace

// The blocks open while the snapshot loads; the snapshot names the newest
// block's end it was taken with, and a start with other blocks replays the
// WAL instead.
CAF_TEST(a head snapshot stands for the WAL only with the blocks it was taken with) {
  temp_dir d;
  write_wal(d.path);
  settings s;
  s.storage.data_dir = d.path;
  auto first = open_and_stop(s);
  CAF_CHECK_EQUAL(first.records_replayed, 2u);
  CAF_CHECK_EQUAL(first.samples, 5u);
  CAF_REQUIRE(storage::path_exists(d.path + "/" + storage::head_snapshot_file).value());
  auto second = open_and_stop(s);
  CAF_CHECK_EQUAL(second.records_replayed, 0u);  // loaded, not replayed
  CAF_CHECK_EQUAL(second.samples, 5u);
  // A block appears before the next start (as one restored from a
  // backup would): its end differs from the snapshot's.
  {
    auto w = storage::block_writer::create(d.path + "/blocks", "01HZZZZZZZZZZZZZZZZZZZZZZA", 0, 500);
    CAF_REQUIRE(w.is_ok());
    storage::xor_appender app;
    app.append(100, 2.0);
    CAF_REQUIRE((*w)->add_series(storage::label_set::from_unsorted({{"__name__", "up"}, {"job", "old"}}),
                                 {app.cut()})
                  .is_ok());
    CAF_REQUIRE((*w)->finish().is_ok());
  }
  CAF_REQUIRE(storage::path_exists(d.path + "/" + storage::head_snapshot_file).value());
  auto third = open_and_stop(s);
  CAF_CHECK_EQUAL(third.blocks, 1u);
  CAF_CHECK_NOT_EQUAL(third.blocks_end, INT64_MIN);
  CAF_CHECK(third.heads_refuse_below_blocks);
  CAF_CHECK(third.records_replayed > 0u);  // replayed: the snapshot was not used
  CAF_CHECK_EQUAL(third.samples, 5u);
  // Taken with that block now, it is used again.
  auto fourth = open_and_stop(s);
  CAF_CHECK_EQUAL(fourth.blocks, 1u);
  CAF_CHECK_EQUAL(fourth.records_replayed, 0u);
  CAF_CHECK_EQUAL(fourth.samples, 5u);
  // The floor is raised once the blocks are known, loaded or replayed.
  CAF_CHECK(fourth.heads_refuse_below_blocks);
  CAF_CHECK(first.heads_refuse_below_blocks && second.heads_refuse_below_blocks);  // INT64_MIN: no block
}

namespace {

// Every series in the heads with its samples (time, value bits).
std::map<std::string, std::vector<std::pair<int64_t, uint64_t>>>
contents(const std::vector<std::shared_ptr<storage::head>>& heads) {
  std::map<std::string, std::vector<std::pair<int64_t, uint64_t>>> out;
  for (const auto& h : heads)
    for (auto& s : h->select({}, INT64_MIN, INT64_MAX)) {
      std::vector<storage::sample> xs;
      CAF_REQUIRE(storage::decode_chunks(s.chunks, INT64_MIN, INT64_MAX, xs).is_ok());
      auto& v = out[s.labels.to_string()];
      for (const auto& x : xs)
        v.emplace_back(x.t, storage::float_bits(x.v));
    }
  return out;
}

}  // namespace

// A start that loaded the snapshot, records in the segment it opened, then
// kill -9 (no new snapshot): the next start loads the same snapshot and
// replays only that segment, and holds what a replay of the whole WAL
// holds. The snapshot's series up{job="1"} has a ref its shard numbers
// (the usual case: records then find their shard by ref), or one another
// shard count numbered (records find it by map from the start). Among the
// new records, a series numbered by another shard than its own: from
// there on records find their shard by map, which must know the
// snapshot's series too. Deletions come before and after it.
void crash_after_snapshot_start(bool numbered) {
  temp_dir d;
  auto labels = [](const std::string& job) {
    return storage::label_set::from_unsorted({{"__name__", "up"}, {"job", job}});
  };
  auto shard = [&](const std::string& job) { return storage::shard_of(labels(job).hash(), 2); };
  const uint64_t ref1 = numbered ? 1 + shard("1") : 2 - shard("1");
  {
    auto w = storage::wal_segment_writer::open(d.path + "/wal", 1 << 20);
    CAF_REQUIRE(w.is_ok());
    std::string rec;
    storage::encode_series({{ref1, labels("1")}}, rec);
    CAF_REQUIRE((*w)->append(rec).is_ok());
    std::vector<storage::sample_record> xs;
    for (int64_t t = 1000; t <= 5000; t += 1000)
      xs.push_back({ref1, t, 1.0});
    rec.clear();
    storage::encode_samples(xs, rec);
    CAF_REQUIRE((*w)->append(rec).is_ok());
    CAF_REQUIRE((*w)->close().is_ok());
  }
  settings s;
  s.storage.data_dir = d.path;
  (void)open_and_stop(s);
  const auto snapshot = d.path + "/" + storage::head_snapshot_file;
  CAF_REQUIRE(storage::path_exists(snapshot).value());
  const uint64_t ref2 = 101 + shard("2");  // numbered by its shard, as live shards number
  const uint64_t ref3 = 202 - shard("3");  // numbered by the other shard
  size_t written = 0;
  {
    auto opened = open_storage(s, 2, false);
    CAF_REQUIRE(opened.is_ok());
    CAF_CHECK_EQUAL(opened->records_replayed, 0u);
    auto& wal = *opened->wal;
    auto append = [&](const std::string& rec) {
      CAF_REQUIRE(wal.append(rec).is_ok());
      ++written;
    };
    auto series = [&](uint64_t ref, const std::string& job) {
      std::string rec;
      storage::encode_series({{ref, labels(job)}}, rec);
      append(rec);
    };
    auto samples = [&](std::vector<storage::sample_record> xs) {
      std::string rec;
      storage::encode_samples(xs, rec);
      append(rec);
    };
    auto deletion = [&](int64_t mint, int64_t maxt) {
      std::string rec;
      storage::encode_tombstone_records({{ref1, mint, maxt}}, rec);
      append(rec);
    };
    samples({{ref1, 6000, 6.0}});
    deletion(1000, 1000);
    series(ref2, "2");
    samples({{ref2, 6000, 2.0}, {ref1, 7000, 7.0}});
    series(ref3, "3");
    samples({{ref3, 6000, 3.0}, {ref1, 8000, 8.0}, {ref2, 7000, 2.5}});
    deletion(2000, 2000);
    CAF_REQUIRE(wal.close().is_ok());
    opened->lock.release();  // killed: no snapshot written
  }
  // The same directory without the snapshot: the whole WAL is replayed.
  temp_dir full;
  std::filesystem::copy(d.path, full.path, std::filesystem::copy_options::recursive
                                             | std::filesystem::copy_options::overwrite_existing);
  CAF_REQUIRE(storage::remove_file(full.path + "/" + storage::head_snapshot_file).is_ok());
  settings fs = s;
  fs.storage.data_dir = full.path;
  auto replayed = open_storage(fs, 2, false);
  CAF_REQUIRE(replayed.is_ok());
  auto crashed = open_storage(s, 2, false);
  CAF_REQUIRE(crashed.is_ok());
  CAF_CHECK_EQUAL(crashed->records_replayed, written);  // that segment only
  CAF_CHECK(replayed->records_replayed > written);
  auto got = contents(crashed->heads);
  CAF_CHECK(got == contents(replayed->heads));
  CAF_REQUIRE_EQUAL(got.size(), 3u);
  std::vector<int64_t> times;
  for (const auto& [t, bits] : got["up{job=\"1\"}"])
    times.push_back(t);
  CAF_CHECK_EQUAL(times, (std::vector<int64_t>{3000, 4000, 5000, 6000, 7000, 8000}));
  CAF_CHECK_EQUAL(got["up{job=\"2\"}"].size(), 2u);
  CAF_CHECK_EQUAL(got["up{job=\"3\"}"].size(), 1u);
  // The snapshot stays for the next crash; new series get refs above the
  // replayed ones.
  CAF_CHECK(storage::path_exists(snapshot).value());
  for (const auto& h : crashed->heads) {
    auto slot = h->get_or_create(labels("new").hash(), storage::label_key(labels("new")));
    CAF_REQUIRE(slot.is_ok());
    CAF_CHECK(slot->ref() > std::max({ref1, ref2, ref3}));
  }
}

CAF_TEST(after a crash the snapshot stands for the WAL up to the segments written since) {
  crash_after_snapshot_start(true);
  crash_after_snapshot_start(false);
}

// With snapshots turned off none is read or kept; without a WAL a
// snapshot stands for nothing (an empty fingerprint would match a new WAL's
// first segment as "written since").
CAF_TEST(a snapshot is deleted unread with snapshots off or without a WAL) {
  temp_dir d;
  write_wal(d.path);
  settings s;
  s.storage.data_dir = d.path;
  (void)open_and_stop(s);
  const auto snapshot = d.path + "/" + storage::head_snapshot_file;
  CAF_REQUIRE(storage::path_exists(snapshot).value());
  settings off = s;
  off.storage.snapshot_on_shutdown = false;
  {
    auto opened = open_storage(off, 2, false);
    CAF_REQUIRE(opened.is_ok());
    CAF_CHECK(opened->records_replayed > 0u);  // replayed, not loaded
    CAF_CHECK_EQUAL(opened->samples_replayed, 5u);
    CAF_CHECK(!storage::path_exists(snapshot).value());
    CAF_REQUIRE(opened->wal->close().is_ok());
    opened->lock.release();
  }
  (void)open_and_stop(s);
  CAF_REQUIRE(storage::path_exists(snapshot).value());
  std::filesystem::remove_all(d.wal());
  auto opened = open_storage(s, 2, false);
  CAF_REQUIRE(opened.is_ok());
  CAF_CHECK_EQUAL(opened->samples_replayed, 0u);
  CAF_CHECK_EQUAL(opened->heads[0]->num_series() + opened->heads[1]->num_series(), 0u);
  CAF_CHECK(!storage::path_exists(snapshot).value());
}

#define CAF_SUITE actors.storage_open
#include "test_support.hpp"

#include "actors/storage_open.hpp"
#include "storage/block/writer.hpp"
#include "storage/chunk/xor_chunk.hpp"
#include "storage/file.hpp"
#include "storage/head/head_snapshot.hpp"
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

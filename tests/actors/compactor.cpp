#define CAF_SUITE actors.compactor
#include "test_support.hpp"

#include <caf/test/dsl.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "actors/compactor.hpp"
#include "fake_wal_file.hpp"
#include "storage/block/reader.hpp"
#include "storage/head/head_snapshot.hpp"

using namespace nl::actors;
using nl::test::fake_wal_disk;
namespace fs = std::filesystem;
namespace storage = nl::storage;

namespace {

constexpr int64_t hour = 3600000;

using nl::test::temp_dir;

storage::label_set series_labels(int i) {
  return storage::label_set::from_unsorted(
    {{"__name__", "up"}, {"job", "j" + std::to_string(i % 7)}, {"instance", "i" + std::to_string(i)}});
}

// A WAL writer on a fake file, two head shards and a compactor with pages
// of three series, driven by the test scheduler.
struct fixture : test_coordinator_fixture<caf::actor_system_config> {
  temp_dir data;
  metrics stats;
  std::shared_ptr<fake_wal_disk> disk = std::make_shared<fake_wal_disk>();
  std::shared_ptr<storage::block_set> blocks = std::make_shared<storage::block_set>();
  wal_writer_actor wal;
  std::vector<head_block_actor> shards;
  compactor_actor compact;

  fixture() {
    fs::create_directories(data.path + "/wal");
    wal = sys.spawn(wal_writer, nl::test::fake_wal_writer(disk), wal_writer_options{fsync_policy::always, {}, &stats});
    for (size_t i = 0; i < 2; ++i) {
      head_block_options ho;
      ho.shard = i;
      ho.stats = &stats;
      storage::head_options hopts;
      hopts.ref_start = 1 + i;
      hopts.ref_stride = 2;
      hopts.out_of_bounds_window_ms = 10 * hour;
      shards.push_back(sys.spawn(head_block, std::make_shared<storage::head>(hopts), wal, ho));
    }
    spawn_compactor(compactor_options{}.max_head_samples);
  }

  // A compactor (2h blocks) that cuts early above `max_head_samples`, in
  // place of the one running; its first round runs before this returns.
  void spawn_compactor(uint64_t max_head_samples) {
    if (compact) {
      caf::anon_send_exit(compact.address(), caf::exit_reason::user_shutdown);
      sched.run();
    }
    compactor_options co;
    co.data_dir = data.path;
    co.stats = &stats;
    co.page_series = 3;
    co.check_interval = std::chrono::hours(1);
    co.max_head_samples = max_head_samples;
    compact = sys.spawn(compactor, shards, wal, blocks, co, metadata_actor{});
    sched.run();
  }

  uint64_t head_samples() {
    self->send(shards[0], stats_atom_v);
    self->send(shards[1], stats_atom_v);
    sched.run();
    uint64_t samples = 0;
    for (int i = 0; i < 2; ++i)
      self->receive([&](shard_stats& st) { samples += st.num_samples; });
    return samples;
  }

  ~fixture() {
    for (caf::actor_addr a : {compact.address(), shards[0].address(), shards[1].address(), wal.address()})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void append(size_t shard, const storage::label_set& ls, std::vector<int64_t> ts) {
    append_batch b;
    b.add_series(ls);
    for (auto t : ts)
      b.add_sample(t, storage::float_bits(static_cast<double>(t)));
    self->send(shards[shard], append_atom_v, std::move(b));
    sched.run();
    self->receive([&](append_result& r) { CAF_REQUIRE_EQUAL(r.rejected, 0u); },
                  [&](caf::error& e) { CAF_FAIL("append failed: " << sys.render(e)); });
  }

  uint64_t compact_now() {
    uint64_t n = 0;
    self->send(compact, compact_now_atom_v);
    sched.run();
    self->receive([&](uint64_t x) { n = x; }, [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
    return n;
  }
};

}  // namespace

CAF_TEST(the compactor looks for a cut at least once a minute) {
  using std::chrono::milliseconds;
  CAF_CHECK_EQUAL(cut_check_interval(2 * hour).count(), milliseconds{60000}.count());
  CAF_CHECK_EQUAL(cut_check_interval(31LL * 24 * hour).count(), milliseconds{60000}.count());
  CAF_CHECK_EQUAL(cut_check_interval(30 * 60000).count(), milliseconds{30000}.count());  // 30m blocks
  CAF_CHECK_EQUAL(cut_check_interval(60000).count(), milliseconds{1000}.count());        // 1m, the least allowed
  CAF_CHECK_EQUAL(cut_check_interval(1000).count(), milliseconds{250}.count());
}

CAF_TEST_FIXTURE_SCOPE(compactor_tests, fixture)

CAF_TEST(a cut of more series than a page writes them all in label order) {
  // 20 series over two shards (pages of 3), [0, 2h) to cut, and a sample
  // at 4h that makes the head span long enough.
  for (int i = 0; i < 20; ++i)
    append(i % 2, series_labels(i), {i * 1000, hour + i * 1000, 3 * hour});
  append(0, series_labels(100), {4 * hour});
  CAF_REQUIRE_EQUAL(compact_now(), 1u);
  auto all = blocks->snapshot();
  CAF_REQUIRE_EQUAL(all.size(), 1u);
  const auto& b = all[0];
  CAF_CHECK_EQUAL(b->meta().min_time, 0);
  CAF_CHECK_EQUAL(b->meta().max_time, 2 * hour);
  CAF_CHECK_EQUAL(b->meta().num_series, 20u);
  CAF_CHECK_EQUAL(b->meta().num_samples, 40u);
  CAF_CHECK(b->check().is_ok());
  auto got = b->select({}, INT64_MIN, INT64_MAX);
  CAF_REQUIRE(got.is_ok());
  CAF_REQUIRE_EQUAL(got->size(), 20u);
  for (size_t i = 1; i < got->size(); ++i)
    CAF_CHECK((*got)[i - 1].labels < (*got)[i].labels);
  // The head kept the rest: one sample per series at 3h plus the 4h one.
  CAF_CHECK_EQUAL(head_samples(), 21u);
  CAF_CHECK_EQUAL(stats.compactions_failed.load(), 0u);
}

// A head snapshot stands for the WAL before the segments written after it
// (storage/head/head_snapshot.hpp); a truncated head differs from it in
// what no WAL record says, so it goes first, at every truncation (not
// only the first of a run). Rounds without a cut keep it.
CAF_TEST(a head truncation deletes the head snapshot) {
  const auto snapshot = data.path + "/" + storage::head_snapshot_file;
  auto write_snapshot = [&] {
    std::ofstream f{snapshot};
    f << "a snapshot";
  };
  write_snapshot();
  append(0, series_labels(1), {1000, hour});
  CAF_REQUIRE_EQUAL(compact_now(), 0u);
  CAF_CHECK(fs::exists(snapshot));
  append(0, series_labels(1), {4 * hour});
  CAF_REQUIRE_EQUAL(compact_now(), 1u);
  CAF_CHECK(!fs::exists(snapshot));
  write_snapshot();
  append(0, series_labels(1), {8 * hour});
  CAF_REQUIRE_EQUAL(compact_now(), 1u);
  CAF_CHECK(!fs::exists(snapshot));
  CAF_CHECK_EQUAL(stats.compactions_failed.load(), 0u);
}

CAF_TEST(a failed cut leaves the head and the next round writes the block) {
  for (int i = 0; i < 8; ++i)
    append(i % 2, series_labels(i), {i * 1000, 3 * hour});
  append(0, series_labels(100), {4 * hour});
  // A file where the blocks directory should be: the writer fails.
  {
    std::ofstream f{data.path + "/blocks"};
  }
  CAF_CHECK_EQUAL(compact_now(), 0u);
  CAF_CHECK_EQUAL(stats.compactions_failed.load(), 1u);
  CAF_CHECK_EQUAL(blocks->size(), 0u);
  fs::remove(data.path + "/blocks");
  CAF_CHECK_EQUAL(compact_now(), 1u);
  auto all = blocks->snapshot();
  CAF_REQUIRE_EQUAL(all.size(), 1u);
  CAF_CHECK_EQUAL(all[0]->meta().num_series, 8u);
  CAF_CHECK_EQUAL(all[0]->meta().num_samples, 8u);
}

CAF_TEST(the head is cut once it spans more than one and a half block durations) {
  // 2h blocks: [1s, 3h + 1s] spans exactly 1.5 durations, not more: no cut.
  for (int i = 0; i < 4; ++i)
    append(i % 2, series_labels(i), {(i + 1) * 1000});
  append(0, series_labels(100), {3 * hour + 1000});
  CAF_CHECK_EQUAL(compact_now(), 0u);
  CAF_CHECK_EQUAL(blocks->size(), 0u);
  // One millisecond more: the oldest window, aligned, is cut.
  append(0, series_labels(100), {3 * hour + 1001});
  CAF_CHECK_EQUAL(compact_now(), 1u);
  CAF_REQUIRE_EQUAL(blocks->size(), 1u);
  CAF_CHECK_EQUAL(blocks->snapshot()[0]->meta().min_time, 0);
  CAF_CHECK_EQUAL(blocks->snapshot()[0]->meta().max_time, 2 * hour);
  CAF_CHECK_EQUAL(blocks->snapshot()[0]->meta().num_samples, 4u);
}

CAF_TEST(cut windows are aligned to the block duration and not to the oldest sample) {
  // Data from 1h30m to 5h + 1ms: the first window is [0, 2h); after it,
  // [2h, 5h + 1ms] still spans more than 3h, so [2h, 4h) is cut too.
  for (int i = 0; i < 4; ++i)
    append(i % 2, series_labels(i), {hour + hour / 2 + i * 1000, 2 * hour + i * 1000});
  append(0, series_labels(100), {5 * hour + 1});
  CAF_CHECK_EQUAL(compact_now(), 2u);
  auto all = blocks->snapshot();
  CAF_REQUIRE_EQUAL(all.size(), 2u);
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (auto& b : all)
    ranges.emplace_back(b->meta().min_time, b->meta().max_time);
  std::sort(ranges.begin(), ranges.end());
  CAF_CHECK_EQUAL(ranges, (std::vector<std::pair<int64_t, int64_t>>{{0, 2 * hour}, {2 * hour, 4 * hour}}));
}

CAF_TEST(a head above max_head_samples is cut early once a whole window lies below its newest sample) {
  // 12 series x 3 samples in [0, 2.5h): a span under 1.5 block durations,
  // so only the sample count can make the cut due.
  for (int i = 0; i < 12; ++i)
    append(i % 2, series_labels(i), {i * 1000, hour + i * 1000, 2 * hour + hour / 2});
  CAF_REQUIRE_EQUAL(head_samples(), 36u);
  CAF_CHECK_EQUAL(compact_now(), 0u);  // the default limit: not due
  // A compactor's first round runs as it starts.
  spawn_compactor(36);
  CAF_CHECK_EQUAL(blocks->size(), 0u);  // at the limit, not above it
  CAF_CHECK_EQUAL(compact_now(), 0u);
  spawn_compactor(35);
  auto all = blocks->snapshot();
  CAF_REQUIRE_EQUAL(all.size(), 1u);
  CAF_CHECK_EQUAL(all[0]->meta().min_time, 0);
  CAF_CHECK_EQUAL(all[0]->meta().max_time, 2 * hour);
  CAF_CHECK_EQUAL(all[0]->meta().num_samples, 24u);
  // The samples at 2.5h stay; twelve are below the limit: nothing more.
  CAF_CHECK_EQUAL(head_samples(), 12u);
  CAF_CHECK_EQUAL(compact_now(), 0u);
  CAF_CHECK_EQUAL(blocks->size(), 1u);
}

CAF_TEST(a head above max_head_samples without a whole window below its newest sample is not cut) {
  // [0, 1.5h): the window [0, 2h) is not whole yet, however many samples.
  for (int i = 0; i < 12; ++i)
    append(i % 2, series_labels(i), {i * 1000, hour / 2 + i * 1000, hour + hour / 2});
  spawn_compactor(1);
  CAF_CHECK_EQUAL(compact_now(), 0u);
  CAF_CHECK_EQUAL(blocks->size(), 0u);
  CAF_CHECK_EQUAL(head_samples(), 36u);
  // One sample at 2h makes [0, 2h) whole: cut.
  append(0, series_labels(100), {2 * hour});
  CAF_CHECK_EQUAL(compact_now(), 1u);
  CAF_REQUIRE_EQUAL(blocks->size(), 1u);
  CAF_CHECK_EQUAL(blocks->snapshot()[0]->meta().num_samples, 36u);
  CAF_CHECK_EQUAL(head_samples(), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()

#define CAF_SUITE storage.compaction.merge_tombstones
#include "test_support.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "storage/block/reader.hpp"
#include "storage/block/writer.hpp"
#include "storage/compaction/merge.hpp"
#include "storage/file.hpp"
#include "storage/tombstones.hpp"

using namespace nl::storage;
namespace fs = std::filesystem;

namespace {

constexpr int64_t h = 3600 * 1000;

using nl::test::temp_dir;

label_set ls(std::string job) { return label_set::from_unsorted({{"__name__", "up"}, {"job", std::move(job)}}); }

// One sample a minute in [from, to).
std::vector<std::shared_ptr<const chunk>> minutes(int64_t from, int64_t to) {
  std::vector<std::shared_ptr<const chunk>> out;
  xor_appender app;
  for (int64_t t = from; t < to; t += 60000) {
    if (app.num_samples() == 120)
      out.push_back(app.cut());
    app.append(t, static_cast<double>(t / 60000));
  }
  out.push_back(app.cut());
  return out;
}

std::shared_ptr<const block> write(const std::string& dir, const std::string& ulid, int64_t mint, int64_t maxt,
                                   const std::vector<std::string>& jobs) {
  auto w = block_writer::create(dir, ulid, mint, maxt);
  CAF_REQUIRE(w.is_ok());
  for (const auto& j : jobs)
    CAF_REQUIRE((*w)->add_series(ls(j), minutes(mint, maxt)).is_ok());
  CAF_REQUIRE((*w)->finish().is_ok());
  auto b = block::open(dir + "/" + ulid);
  CAF_REQUIRE(b.is_ok());
  return *b;
}

std::vector<int64_t> times(const series_snapshot& s) {
  std::vector<sample> xs;
  CAF_REQUIRE(decode_chunks(s.chunks, INT64_MIN, INT64_MAX, xs).is_ok());
  std::vector<int64_t> out;
  for (auto& x : xs)
    out.push_back(x.t);
  return out;
}

}  // namespace

CAF_TEST(a merge leaves out what the parents tombstones delete) {
  temp_dir d;
  // [0, 2h): a, b, c; [2h, 4h): a, b. Tombstones in the first: a loses
  // [10m, 20m], b everything, c everything (c then exists nowhere).
  auto first = write(d.path, "01HZZZZZZZZZZZZZZZZZZZZZZA", 0, 2 * h, {"a", "b", "c"});
  write(d.path, "01HZZZZZZZZZZZZZZZZZZZZZZB", 2 * h, 4 * h, {"a", "b"});
  tombstone_map ts;
  add_interval(ts[0], {600000, 1200000});
  add_interval(ts[1], {0, 2 * h});
  add_interval(ts[2], {INT64_MIN, INT64_MAX});
  CAF_REQUIRE(write_tombstones_file(first->dir(), ts).is_ok());
  auto a = block::open(first->dir());
  auto b = block::open(d.path + "/01HZZZZZZZZZZZZZZZZZZZZZZB");
  CAF_REQUIRE(a.is_ok() && b.is_ok());
  auto meta = merge_blocks({*a, *b}, d.path, "01HZZZZZZZZZZZZZZZZZZZZZZC");
  CAF_REQUIRE(meta.is_ok());
  CAF_CHECK_EQUAL(meta->num_series, 2u);
  // a: 120 + 120 minutes less the 11 deleted; b: the second block's 120.
  CAF_CHECK_EQUAL(meta->num_samples, 240u - 11u + 120u);
  auto merged = block::open(d.path + "/01HZZZZZZZZZZZZZZZZZZZZZZC");
  CAF_REQUIRE(merged.is_ok());
  CAF_CHECK((*merged)->tombstones().empty());
  CAF_CHECK(!fs::exists(d.path + "/01HZZZZZZZZZZZZZZZZZZZZZZC/tombstones"));
  CAF_CHECK((*merged)->check().is_ok());
  auto all = (*merged)->select({}, INT64_MIN, INT64_MAX);
  CAF_REQUIRE(all.is_ok());
  CAF_REQUIRE_EQUAL(all->size(), 2u);
  auto ta = times((*all)[0]);
  CAF_CHECK_EQUAL(ta.size(), 229u);
  CAF_CHECK(std::find(ta.begin(), ta.end(), 540000) != ta.end());
  CAF_CHECK(std::find(ta.begin(), ta.end(), 600000) == ta.end());
  CAF_CHECK(std::find(ta.begin(), ta.end(), 1200000) == ta.end());
  CAF_CHECK(std::find(ta.begin(), ta.end(), 1260000) != ta.end());
  auto tb = times((*all)[1]);
  CAF_REQUIRE_EQUAL(tb.size(), 120u);
  CAF_CHECK_EQUAL(tb.front(), 2 * h);
  // A merge of the one block (clean_tombstones) gives the same data.
  auto alone = merge_blocks({*a}, d.path, "01HZZZZZZZZZZZZZZZZZZZZZZD");
  CAF_REQUIRE(alone.is_ok());
  CAF_CHECK_EQUAL(alone->num_series, 1u);
  CAF_CHECK_EQUAL(alone->num_samples, 109u);
  CAF_CHECK_EQUAL(alone->min_time, 0);
  CAF_CHECK_EQUAL(alone->max_time, 2 * h);
}

#define CAF_SUITE storage.block.tombstones
#include "test_support.hpp"

#include <cstdlib>
#include <filesystem>

#include "storage/block/reader.hpp"
#include "storage/block/writer.hpp"
#include "storage/file.hpp"
#include "storage/tombstones.hpp"

using namespace nl::storage;
namespace fs = std::filesystem;

namespace {

using nl::test::temp_dir;

matcher m(match_type t, std::string name, std::string value) {
  auto r = matcher::make(t, std::move(name), std::move(value));
  CAF_REQUIRE(r.is_ok());
  return *r;
}

label_set ls(std::vector<label> l) { return label_set::from_unsorted(std::move(l)); }

// Samples every second in [0, 10 s), in chunks of 4.
std::vector<std::shared_ptr<const chunk>> ten_samples() {
  std::vector<std::shared_ptr<const chunk>> out;
  xor_appender app;
  for (int64_t t = 0; t < 10000; t += 1000) {
    if (app.num_samples() == 4)
      out.push_back(app.cut());
    app.append(t, static_cast<double>(t));
  }
  out.push_back(app.cut());
  return out;
}

constexpr const char* ulid = "01HZZZZZZZZZZZZZZZZZZZZZZB";

// Series, in label order (their numbers): 0 other{job="a",x="1"},
// 1 up{job="a"}, 2 up{job="b"}.
std::string write_block(const std::string& dir) {
  auto w = block_writer::create(dir, ulid, 0, 7200000);
  CAF_REQUIRE(w.is_ok());
  for (auto& l : {ls({{"__name__", "other"}, {"job", "a"}, {"x", "1"}}), ls({{"__name__", "up"}, {"job", "a"}}),
                  ls({{"__name__", "up"}, {"job", "b"}})})
    CAF_REQUIRE((*w)->add_series(l, ten_samples()).is_ok());
  CAF_REQUIRE((*w)->finish().is_ok());
  return dir + "/" + ulid;
}

std::shared_ptr<const block> open(const std::string& dir) {
  auto b = block::open(dir);
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

std::vector<std::string> names(const std::vector<label_set>& xs) {
  std::vector<std::string> out;
  for (auto& x : xs)
    out.push_back(x.to_string());
  return out;
}

}  // namespace

CAF_TEST(deletion ranges name matching series clamped to their samples) {
  temp_dir d;
  auto b = open(write_block(d.path));
  auto r = b->deletion_ranges({m(match_type::equal, "__name__", "up")}, 3000, 5000);
  CAF_REQUIRE(r.is_ok());
  CAF_REQUIRE_EQUAL(r->size(), 2u);
  CAF_CHECK_EQUAL((*r)[0].first, 1u);
  CAF_CHECK((*r)[0].second == (time_interval{3000, 5000}));
  CAF_CHECK_EQUAL((*r)[1].first, 2u);
  auto all = b->deletion_ranges({m(match_type::equal, "job", "a")}, INT64_MIN, INT64_MAX);
  CAF_REQUIRE(all.is_ok());
  CAF_REQUIRE_EQUAL(all->size(), 2u);
  CAF_CHECK((*all)[0].second == (time_interval{0, 9000}));
  // No chunk in the range, or outside the block: nothing.
  auto none = b->deletion_ranges({m(match_type::equal, "job", "a")}, 9001, 20000);
  CAF_REQUIRE(none.is_ok());
  CAF_CHECK(none->empty());
  none = b->deletion_ranges({m(match_type::equal, "job", "a")}, 7200000, 8000000);
  CAF_REQUIRE(none.is_ok());
  CAF_CHECK(none->empty());
}

CAF_TEST(reads drop deleted samples and series left without any) {
  temp_dir d;
  auto dir = write_block(d.path);
  tombstone_map ts;
  add_interval(ts[1], {3000, 5000});
  add_interval(ts[0], {0, 9000});  // other{...}: everything
  CAF_REQUIRE(write_tombstones_file(dir, ts).is_ok());
  auto b = open(dir);
  CAF_CHECK(b->tombstones() == ts);
  CAF_CHECK(b->check().is_ok());  // the chunks themselves are unchanged

  auto sel = b->select({m(match_type::regex, "__name__", ".+")}, INT64_MIN, INT64_MAX);
  CAF_REQUIRE(sel.is_ok());
  CAF_REQUIRE_EQUAL(sel->size(), 2u);
  CAF_CHECK_EQUAL((*sel)[0].labels.to_string(), "up{job=\"a\"}");
  CAF_CHECK_EQUAL(times((*sel)[0]), (std::vector<int64_t>{0, 1000, 2000, 6000, 7000, 8000, 9000}));
  CAF_CHECK_EQUAL(times((*sel)[1]).size(), 10u);
  // Only the deleted part asked for: no sample there (a chunk may still
  // span the range).
  sel = b->select({m(match_type::equal, "job", "a")}, 3500, 5000);
  CAF_REQUIRE(sel.is_ok());
  for (auto& x : *sel) {
    std::vector<sample> in_range;
    CAF_CHECK(decode_chunks(x.chunks, 3500, 5000, in_range).is_ok());
    CAF_CHECK(in_range.empty());
  }

  auto series = b->series({}, INT64_MIN, INT64_MAX);
  CAF_REQUIRE(series.is_ok());
  CAF_CHECK_EQUAL(names(*series),
                  (std::vector<std::string>{"up{job=\"a\"}", "up{job=\"b\"}"}));
  series = b->series({m(match_type::equal, "__name__", "up")}, 3000, 5000);
  CAF_REQUIRE(series.is_ok());
  CAF_CHECK_EQUAL(names(*series), (std::vector<std::string>{"up{job=\"b\"}"}));

  auto label_names = b->label_names({}, INT64_MIN, INT64_MAX);
  CAF_REQUIRE(label_names.is_ok());
  CAF_CHECK_EQUAL(*label_names, (std::vector<std::string>{"__name__", "job"}));  // no "x"
  auto values = b->label_values("__name__", {}, INT64_MIN, INT64_MAX);
  CAF_REQUIRE(values.is_ok());
  CAF_CHECK_EQUAL(*values, (std::vector<std::string>{"up"}));

  auto gone = b->read_series(0, INT64_MIN, INT64_MAX);
  CAF_REQUIRE(gone.is_ok());
  CAF_CHECK(gone->chunks.empty());
  auto part = b->read_series(1, INT64_MIN, INT64_MAX);
  CAF_REQUIRE(part.is_ok());
  CAF_CHECK_EQUAL(times(*part).size(), 7u);
}

CAF_TEST(a damaged tombstones file keeps the block from opening) {
  temp_dir d;
  auto dir = write_block(d.path);
  tombstone_map ts;
  add_interval(ts[1], {3000, 5000});
  CAF_REQUIRE(write_tombstones_file(dir, ts).is_ok());
  auto path = dir + "/tombstones";
  auto bytes = read_whole_file(path);
  CAF_REQUIRE(bytes.is_ok());
  (*bytes)[9] = static_cast<char>((*bytes)[9] ^ 0x10);
  CAF_REQUIRE(write_whole_file(path, *bytes).is_ok());
  auto b = block::open(dir);
  CAF_REQUIRE(!b.is_ok());
  auto e = b.error();
  CAF_CHECK(e.error_code() == status::code::corruption);
  CAF_CHECK(e.message().find(path) != std::string::npos);
  // A series the index does not have.
  tombstone_map wrong;
  add_interval(wrong[3], {0, 1});
  CAF_REQUIRE(write_tombstones_file(dir, wrong).is_ok());
  b = block::open(dir);
  CAF_REQUIRE(!b.is_ok());
  e = b.error();
  CAF_CHECK_EQUAL(e.message(), path + ": series 3 does not exist");
  // A leftover temp file is not read.
  CAF_REQUIRE(write_tombstones_file(dir, {}).is_ok());
  CAF_REQUIRE(write_whole_file(path + ".tmp", "garbage").is_ok());
  CAF_CHECK(block::open(dir).is_ok());
}

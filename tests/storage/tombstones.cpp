#define CAF_SUITE storage.tombstones
#include "test_support.hpp"

#include <cstdlib>
#include <filesystem>

#include "storage/coding.hpp"
#include "storage/file.hpp"
#include "storage/hex.hpp"
#include "storage/tombstones.hpp"

using namespace nl::storage;
namespace fs = std::filesystem;

namespace {

using nl::test::hex;
using nl::test::temp_dir;
using nl::test::unhex;

std::string str(const interval_list& xs) {
  std::string out;
  for (const auto& x : xs)
    out += "[" + std::to_string(x.mint) + "," + std::to_string(x.maxt) + "]";
  return out;
}

// The example of storage/FORMAT.md, "tombstones".
tombstone_map example() {
  tombstone_map ts;
  ts[0] = {{1000, 2000}};
  ts[5] = {{-5, 10}, {100, 200}};
  return ts;
}

constexpr const char* example_hex =
  "4e4c5453"    // "NLTS"
  "01000000"    // version 1, padding
  "02"          // 2 series
  "00" "01"     // series 0, 1 range
  "d00f" "e807" // mint 1000, maxt - mint 1000
  "05" "02"     // series 0 + 5, 2 ranges
  "09" "0f"     // mint -5, 15
  "c801" "64"   // mint 100, 100
  "995af101";   // crc32c of the body = 0x01F15A99

// A file with `body` and a correct checksum, for bodies the encoder never
// writes.
std::string with_crc(std::string_view body) {
  std::string out = unhex("4e4c545301000000");
  out.append(body);
  put_fixed32(out, crc32c(body));
  return out;
}

std::shared_ptr<const xor_chunk> chunk_of(std::initializer_list<int64_t> ts) {
  xor_appender app;
  for (auto t : ts)
    app.append(t, static_cast<double>(t) / 10);
  return app.cut();
}

std::vector<int64_t> times(const chunk& c) {
  std::vector<sample> xs;
  CAF_REQUIRE(c.decode(INT64_MIN, INT64_MAX, xs).is_ok());
  std::vector<int64_t> out;
  for (auto& x : xs)
    out.push_back(x.t);
  return out;
}

}  // namespace

CAF_TEST(intervals are kept sorted and merged when they overlap or touch) {
  interval_list xs;
  add_interval(xs, {10, 20});
  add_interval(xs, {40, 50});
  CAF_CHECK_EQUAL(str(xs), "[10,20][40,50]");
  add_interval(xs, {21, 25});  // touches [10, 20]
  CAF_CHECK_EQUAL(str(xs), "[10,25][40,50]");
  add_interval(xs, {0, 5});
  CAF_CHECK_EQUAL(str(xs), "[0,5][10,25][40,50]");
  add_interval(xs, {24, 39});  // bridges two
  CAF_CHECK_EQUAL(str(xs), "[0,5][10,50]");
  add_interval(xs, {12, 13});  // inside
  CAF_CHECK_EQUAL(str(xs), "[0,5][10,50]");
  add_interval(xs, {INT64_MIN, -1});
  add_interval(xs, {60, INT64_MAX});
  CAF_CHECK_EQUAL(str(xs), "[" + std::to_string(INT64_MIN) + ",5][10,50][60," + std::to_string(INT64_MAX) + "]");
  CAF_CHECK(is_deleted(xs, INT64_MIN));
  CAF_CHECK(is_deleted(xs, 5));
  CAF_CHECK(!is_deleted(xs, 6));
  CAF_CHECK(!is_deleted(xs, 9));
  CAF_CHECK(is_deleted(xs, 10));
  CAF_CHECK(!is_deleted(xs, 55));
  CAF_CHECK(is_deleted(xs, INT64_MAX));
  CAF_CHECK(!is_deleted({}, 0));
}

CAF_TEST(golden bytes of a tombstones file) {
  auto bytes = encode_tombstones(example());
  CAF_CHECK_EQUAL(hex(bytes), example_hex);
  auto back = decode_tombstones(bytes, "t");
  CAF_REQUIRE(back.is_ok());
  CAF_CHECK(*back == example());
  // No entries: the header, a zero count and the CRC of that one byte.
  auto empty = encode_tombstones({});
  CAF_CHECK_EQUAL(empty.size(), 13u);
  auto none = decode_tombstones(empty, "t");
  CAF_REQUIRE(none.is_ok());
  CAF_CHECK(none->empty());
}

CAF_TEST(every damaged or missing byte of a tombstones file is corruption) {
  auto bytes = encode_tombstones(example());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit : {0x01, 0x80}) {
      auto bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ bit);
      auto r = decode_tombstones(bad, "dir/tombstones");
      CAF_CHECK(!r.is_ok());
      CAF_CHECK(r.error().error_code() == status::code::corruption);
    }
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode_tombstones(std::string_view{bytes}.substr(0, n), "dir/tombstones");
    CAF_CHECK(r.error().error_code() == status::code::corruption);
  }
  auto extended = bytes + '\0';
  CAF_CHECK(!decode_tombstones(extended, "t").is_ok());
  // The messages name the file and the problem.
  auto magic = bytes;
  magic[0] = 'X';
  auto e = decode_tombstones(magic, "b/tombstones").error();
  CAF_CHECK_EQUAL(e.message(), "b/tombstones: bad magic");
  auto version = bytes;
  version[4] = 2;
  e = decode_tombstones(version, "b/tombstones").error();
  CAF_CHECK_EQUAL(e.message(), "b/tombstones: unknown version 2");
  auto crc = bytes;
  crc[10] ^= 1;
  e = decode_tombstones(crc, "b/tombstones").error();
  CAF_CHECK_EQUAL(e.message(), "b/tombstones: checksum mismatch");
}

CAF_TEST(tombstones the encoder never writes are refused despite a good checksum) {
  // Series not ascending (delta 0), an empty range list, overlapping or
  // touching ranges, a range past INT64_MAX, trailing bytes.
  for (const char* body : {"02" "0501" "0000" "0001" "0000", "01" "0500", "01" "0502" "0004" "0600",
                           "01" "0502" "0004" "0a00", "01" "0001" "feffffffffffffffff01" "01",
                           "01" "0001" "0000" "00"}) {
    auto r = decode_tombstones(with_crc(unhex(body)), "t");
    CAF_CHECK(!r.is_ok());
    CAF_CHECK(r.error().error_code() == status::code::corruption);
  }
  // The largest range there is, and touching ranges written apart (a gap
  // of one) are fine.
  auto ok = decode_tombstones(with_crc(unhex("01" "0002" "0000" "0400")), "t");
  CAF_REQUIRE(ok.is_ok());
  CAF_CHECK_EQUAL(str(ok->at(0)), "[0,0][2,2]");
  tombstone_map all;
  all[7] = {{INT64_MIN, INT64_MAX}};
  auto back = decode_tombstones(encode_tombstones(all), "t");
  CAF_REQUIRE(back.is_ok());
  CAF_CHECK(*back == all);
}

CAF_TEST(the file is replaced atomically and an empty map removes it) {
  temp_dir d;
  auto missing = read_tombstones_file(d.path);
  CAF_REQUIRE(missing.is_ok());
  CAF_CHECK(missing->empty());
  // A leftover of an interrupted write is neither read nor in the way.
  CAF_REQUIRE(write_whole_file(d.path + "/tombstones.tmp", "garbage").is_ok());
  CAF_REQUIRE(write_tombstones_file(d.path, example()).is_ok());
  CAF_CHECK(!fs::exists(d.path + "/tombstones.tmp"));
  auto back = read_tombstones_file(d.path);
  CAF_REQUIRE(back.is_ok());
  CAF_CHECK(*back == example());
  auto more = example();
  add_interval(more[9], {1, 2});
  CAF_REQUIRE(write_tombstones_file(d.path, more).is_ok());
  back = read_tombstones_file(d.path);
  CAF_REQUIRE(back.is_ok());
  CAF_CHECK(*back == more);
  CAF_REQUIRE(write_tombstones_file(d.path, {}).is_ok());
  CAF_CHECK(!fs::exists(d.path + "/tombstones"));
  CAF_REQUIRE(write_tombstones_file(d.path, {}).is_ok());  // nothing to remove
  // A damaged file is reported, naming it.
  CAF_REQUIRE(write_whole_file(d.path + "/tombstones", "NLTS\x01").is_ok());
  auto bad = read_tombstones_file(d.path);
  CAF_REQUIRE(!bad.is_ok());
  auto e = bad.error();
  CAF_CHECK(e.message().find(d.path + "/tombstones") != std::string::npos);
}

CAF_TEST(a chunk loses exactly the deleted samples) {
  auto c = chunk_of({10, 20, 30, 40, 50});
  auto same = without_deleted(c, {{0, 5}, {60, 70}});
  CAF_REQUIRE(same.is_ok());
  CAF_CHECK(*same == c);  // untouched: not even copied
  auto some = without_deleted(c, {{15, 30}, {50, 50}});
  CAF_REQUIRE(some.is_ok());
  CAF_REQUIRE(*some != nullptr);
  CAF_CHECK_EQUAL(times(**some), (std::vector<int64_t>{10, 40}));
  CAF_CHECK_EQUAL((*some)->min_time(), 10);
  CAF_CHECK_EQUAL((*some)->max_time(), 40);
  auto none = without_deleted(c, {{10, 50}});
  CAF_REQUIRE(none.is_ok());
  CAF_CHECK(*none == nullptr);
}

#define CAF_SUITE storage.block.meta
#include "test_support.hpp"

#include <nlohmann/json.hpp>

#include "storage/block/meta.hpp"
#include "storage/coding.hpp"

using namespace nl::storage;

namespace {

block_meta sample_meta() {
  block_meta m;
  m.ulid = "01HZZZZZZZZZZZZZZZZZZZZZZA";
  m.min_time = 1000;
  m.max_time = 2000;
  m.num_series = 3;
  m.num_chunks = 4;
  m.num_samples = 5;
  m.level = 2;
  m.sources = {"01HZZZZZZZZZZZZZZZZZZZZZZA"};
  m.index_bytes = 6;
  m.chunks_bytes = 7;
  return m;
}

// meta.json with one member replaced by `raw` (JSON text), its checksum
// made to match again unless `member` is the checksum itself.
std::string with_member(const std::string& path, const std::string& raw) {
  auto j = nlohmann::json::parse(encode_block_meta(sample_meta()));
  j.erase("crc32c");
  nlohmann::json::json_pointer p{path};
  j[p] = nlohmann::json::parse(raw);
  if (path == "/crc32c")
    return j.dump();
  j["crc32c"] = crc32c(j.dump());
  return j.dump();
}

std::string error_of(const std::string& text) {
  auto m = decode_block_meta(text);
  return m.is_ok() ? "" : m.error().message();
}

}  // namespace

CAF_TEST(meta.json round-trips) {
  auto m = decode_block_meta(encode_block_meta(sample_meta()));
  CAF_REQUIRE(m.is_ok());
  CAF_CHECK_EQUAL(m->ulid, sample_meta().ulid);
  CAF_CHECK_EQUAL(m->min_time, 1000);
  CAF_CHECK_EQUAL(m->max_time, 2000);
  CAF_CHECK_EQUAL(m->level, 2u);
  CAF_CHECK_EQUAL(m->chunks_bytes, 7u);
  // A member rewritten with its checksum fixed up still reads.
  CAF_CHECK_EQUAL(error_of(with_member("/compaction/level", "3")), "");
}

// Every integer member must be an integer within its type's range. Found
// by fuzz_block_reader: a crc32c of 1.5e23 was converted to uint32_t,
// which is undefined behaviour (UBSan: "outside the range of representable
// values"); negative numbers wrapped into unsigned members.
CAF_TEST(integer members out of range or not integers are corruption) {
  const char* members[] = {"/crc32c",           "/version",          "/minTime",
                           "/maxTime",          "/stats/numSeries",  "/stats/numChunks",
                           "/stats/numSamples", "/compaction/level", "/files/index",
                           "/files/chunks"};
  for (const char* path : members) {
    for (const char* raw : {"1.5e23", "-1.5e23", "0.5", "\"7\"", "true", "null"}) {
      auto err = error_of(with_member(path, raw));
      CAF_CHECK(!err.empty());
      CAF_CHECK(err.find("meta.json") != std::string::npos);
    }
  }
  for (const char* path : {"/crc32c", "/stats/numSeries", "/compaction/level", "/files/index"}) {
    auto err = error_of(with_member(path, "-1"));
    CAF_CHECK(err.find("not an integer in range") != std::string::npos);
  }
  for (const char* path : {"/crc32c", "/compaction/level"}) {
    auto err = error_of(with_member(path, "4294967296"));  // 2^32
    CAF_CHECK(err.find("not an integer in range") != std::string::npos);
  }
  auto err = error_of(with_member("/minTime", "9223372036854775808"));  // 2^63
  CAF_CHECK(err.find("not an integer in range") != std::string::npos);
  // Negative times are valid (before 1970).
  CAF_CHECK_EQUAL(error_of(with_member("/minTime", "-5")), "");
}

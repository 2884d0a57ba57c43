#define CAF_SUITE storage.block.meta
#include "test_support.hpp"

#include <string>
#include <vector>

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
// values"); negative numbers wrapped into unsigned members. Each case must
// be refused by the member check itself (its message names the member),
// not only by a later check (the checksum, the version, minTime < maxTime)
// that an out-of-range conversion may happen to trip.
CAF_TEST(integer members out of range or not integers are corruption) {
  struct member {
    const char* path;
    const char* shown;
    const char* just_past;  // one more than the type's maximum
    bool is_unsigned;
  };
  const member members[] = {
    {"/crc32c", "crc32c", "4294967296", true},
    {"/version", "version", "9223372036854775808", false},
    {"/minTime", "minTime", "9223372036854775808", false},
    {"/maxTime", "maxTime", "9223372036854775808", false},
    {"/stats/numSeries", "stats.numSeries", "18446744073709551616", true},
    {"/stats/numChunks", "stats.numChunks", "18446744073709551616", true},
    {"/stats/numSamples", "stats.numSamples", "18446744073709551616", true},
    {"/compaction/level", "compaction.level", "4294967296", true},
    {"/files/index", "files.index", "18446744073709551616", true},
    {"/files/chunks", "files.chunks", "18446744073709551616", true},
  };
  for (const auto& m : members) {
    std::vector<std::string> bad = {"1.5e23", "-1.5e23", "0.5", "\"7\"", "true", "null", m.just_past};
    if (m.is_unsigned) bad.push_back("-1");
    else bad.push_back("-9223372036854775809");  // one below INT64_MIN
    for (const auto& raw : bad) {
      auto err = error_of(with_member(m.path, raw));
      CAF_CHECK(err.find(std::string{m.shown} + " is not an integer in range") != std::string::npos);
      if (err.find(" is not an integer in range") == std::string::npos)
        CAF_MESSAGE(m.path << " = " << raw << ": " << err);
    }
  }
  // Negative times are valid (before 1970), and so is the largest value of
  // each unsigned type.
  CAF_CHECK_EQUAL(error_of(with_member("/minTime", "-5")), "");
  CAF_CHECK_EQUAL(error_of(with_member("/compaction/level", "4294967295")), "");
  CAF_CHECK_EQUAL(error_of(with_member("/stats/numSamples", "18446744073709551615")), "");
}

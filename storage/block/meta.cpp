#include "storage/block/meta.hpp"

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "storage/block/ulid.hpp"
#include "storage/coding.hpp"

namespace nl::storage {

namespace {

constexpr int meta_version = 1;

// The checksum covers the compact serialisation of every member but
// "crc32c" itself; nlohmann::json keeps object keys sorted, so the text is
// canonical.
uint32_t checksum_of(const nlohmann::json& without_crc) { return crc32c(without_crc.dump()); }

struct bad_member : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The integer member `name` of `j`, when it is an integer within T's range
// (`shown` names it in the error: a path such as "files.index").
// nlohmann's get<T>() converts whatever number is there: a float out of
// T's range is undefined behaviour (found by fuzz_block_reader: a crc32c of
// 1.5e23), a negative number wraps into an unsigned T.
template <class T>
T integer_member(const nlohmann::json& j, const char* name, const char* shown = nullptr) {
  const auto& v = j.at(name);
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<T>::max()))
      return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if constexpr (std::is_signed_v<T>) {
      if (i >= std::numeric_limits<T>::min() && i <= std::numeric_limits<T>::max())
        return static_cast<T>(i);
    } else if (i >= 0 && static_cast<uint64_t>(i) <= std::numeric_limits<T>::max()) {
      return static_cast<T>(i);
    }
  }
  throw bad_member(std::string{shown ? shown : name} + " is not an integer in range: " + v.dump());
}

nlohmann::json to_json(const block_meta& m) {
  nlohmann::json j;
  j["version"] = meta_version;
  j["ulid"] = m.ulid;
  j["minTime"] = m.min_time;
  j["maxTime"] = m.max_time;
  j["stats"] = {{"numSeries", m.num_series}, {"numChunks", m.num_chunks}, {"numSamples", m.num_samples}};
  j["compaction"] = {{"level", m.level}, {"sources", m.sources}, {"parents", m.parents}};
  j["files"] = {{"index", m.index_bytes}, {"chunks", m.chunks_bytes}};
  return j;
}

}  // namespace

std::string encode_block_meta(const block_meta& m) {
  auto j = to_json(m);
  j["crc32c"] = checksum_of(j);
  return j.dump(2) + "\n";
}

result<block_meta> decode_block_meta(std::string_view text) {
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.is_object() || !j.contains("crc32c"))
      return status::corruption("meta.json: no crc32c member");
    auto crc = integer_member<uint32_t>(j, "crc32c");
    j.erase("crc32c");
    if (checksum_of(j) != crc)
      return status::corruption("meta.json: checksum mismatch");
    if (integer_member<int64_t>(j, "version") != meta_version)
      return status::corruption("meta.json: unknown version " + j.at("version").dump());
    block_meta m;
    m.ulid = j.at("ulid").get<std::string>();
    m.min_time = integer_member<int64_t>(j, "minTime");
    m.max_time = integer_member<int64_t>(j, "maxTime");
    const auto& st = j.at("stats");
    m.num_series = integer_member<uint64_t>(st, "numSeries", "stats.numSeries");
    m.num_chunks = integer_member<uint64_t>(st, "numChunks", "stats.numChunks");
    m.num_samples = integer_member<uint64_t>(st, "numSamples", "stats.numSamples");
    const auto& c = j.at("compaction");
    m.level = integer_member<uint32_t>(c, "level", "compaction.level");
    m.sources = c.at("sources").get<std::vector<std::string>>();
    m.parents = c.at("parents").get<std::vector<std::string>>();
    m.index_bytes = integer_member<uint64_t>(j.at("files"), "index", "files.index");
    m.chunks_bytes = integer_member<uint64_t>(j.at("files"), "chunks", "files.chunks");
    if (!is_ulid(m.ulid))
      return status::corruption("meta.json: ulid is not a ULID: " + m.ulid);
    if (m.min_time >= m.max_time)
      return status::corruption("meta.json: minTime is not before maxTime");
    return m;
  } catch (const nlohmann::json::exception& e) {
    return status::corruption(std::string{"meta.json: "} + e.what());
  } catch (const bad_member& e) {
    return status::corruption(std::string{"meta.json: "} + e.what());
  }
}

}  // namespace nl::storage

#include "storage/block/meta.hpp"

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
    auto crc = j.at("crc32c").get<uint32_t>();
    j.erase("crc32c");
    if (checksum_of(j) != crc)
      return status::corruption("meta.json: checksum mismatch");
    if (j.at("version").get<int>() != meta_version)
      return status::corruption("meta.json: unknown version " + j.at("version").dump());
    block_meta m;
    m.ulid = j.at("ulid").get<std::string>();
    m.min_time = j.at("minTime").get<int64_t>();
    m.max_time = j.at("maxTime").get<int64_t>();
    const auto& st = j.at("stats");
    m.num_series = st.at("numSeries").get<uint64_t>();
    m.num_chunks = st.at("numChunks").get<uint64_t>();
    m.num_samples = st.at("numSamples").get<uint64_t>();
    const auto& c = j.at("compaction");
    m.level = c.at("level").get<uint32_t>();
    m.sources = c.at("sources").get<std::vector<std::string>>();
    m.parents = c.at("parents").get<std::vector<std::string>>();
    m.index_bytes = j.at("files").at("index").get<uint64_t>();
    m.chunks_bytes = j.at("files").at("chunks").get<uint64_t>();
    if (!is_ulid(m.ulid))
      return status::corruption("meta.json: ulid is not a ULID: " + m.ulid);
    if (m.min_time >= m.max_time)
      return status::corruption("meta.json: minTime is not before maxTime");
    return m;
  } catch (const nlohmann::json::exception& e) {
    return status::corruption(std::string{"meta.json: "} + e.what());
  }
}

}  // namespace nl::storage

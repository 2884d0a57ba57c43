#include "storage/prometheus/meta.hpp"

#include <cstdint>

#include <nlohmann/json.hpp>

#include "storage/file.hpp"
#include "storage/prometheus/format.hpp"

namespace nl::storage {

namespace {

// nlohmann's checked accessors throw; these do not (storage/ paths return
// status).
bool get_int(const nlohmann::json& j, const char* key, int64_t& out) {
  auto it = j.find(key);
  // An unsigned value past INT64_MAX would wrap into a negative time.
  if (it == j.end() || !it->is_number_integer()
      || (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)))
    return false;
  out = it->get<int64_t>();
  return true;
}

uint64_t get_stat(const nlohmann::json& j, const char* key) {
  auto st = j.find("stats");
  if (st == j.end() || !st->is_object())
    return 0;
  auto it = st->find(key);
  return it != st->end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

}  // namespace

result<prometheus_block_meta> read_prometheus_block_meta(const std::string& dir) {
  auto path = dir + "/" + std::string{prometheus_format::meta_file};
  auto text = read_whole_file(path);
  if (!text)
    return status::corruption(path + ": " + text.error().message());
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return status::corruption(path + ": not a JSON object");
  auto bad = [&](const std::string& what) { return status::corruption(path + ": " + what); };
  int64_t version = 0;
  if (!get_int(j, "version", version))
    return bad("no integer \"version\"");
  if (version != 1)
    return status::invalid_argument(path + ": unsupported meta.json version " + std::to_string(version));
  prometheus_block_meta m;
  auto ulid = j.find("ulid");
  if (ulid == j.end() || !ulid->is_string())
    return bad("no string \"ulid\"");
  m.ulid = ulid->get<std::string>();
  if (!get_int(j, "minTime", m.min_time) || !get_int(j, "maxTime", m.max_time))
    return bad("no integer \"minTime\" and \"maxTime\"");
  if (m.min_time >= m.max_time)
    return bad("minTime " + std::to_string(m.min_time) + " is not before maxTime " + std::to_string(m.max_time));
  m.num_series = get_stat(j, "numSeries");
  m.num_samples = get_stat(j, "numSamples");
  m.num_tombstones = get_stat(j, "numTombstones");
  return m;
}

}  // namespace nl::storage

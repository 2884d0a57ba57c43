// Prometheus tombstones file (fixed-width fields big-endian):
//
//   magic 0x0130BA30 <4b> | version 1 <1b>
//   entries up to the CRC: series ref <uvarint> | mint <varint> | maxt <varint>
//   crc32c <4b>   over the entries only (not magic, not version)
#include "storage/prometheus/tombstones.hpp"

#include "storage/coding.hpp"
#include "storage/file.hpp"
#include "storage/prometheus/format.hpp"

namespace nl::storage {

namespace pfmt = prometheus_format;

result<prometheus_tombstones> prometheus_tombstones::read(const std::string& path) {
  prometheus_tombstones t;
  auto exists = path_exists(path);
  if (!exists)
    return exists.error();
  if (!*exists)
    return t;
  auto text = read_whole_file(path);
  if (!text)
    return text.error();
  std::string_view b = *text;
  auto damaged = [&](uint64_t off, const std::string& what) {
    return status::corruption(path + ": " + what + " at offset " + std::to_string(off));
  };
  if (b.size() < 4 + 1 + 4)
    return damaged(0, "too short for a tombstones file (" + std::to_string(b.size()) + " bytes)");
  if (pfmt::load_be32(b.data()) != pfmt::tombstones_magic)
    return damaged(0, "not a Prometheus tombstones file (bad magic)");
  if (static_cast<uint8_t>(b[4]) != pfmt::tombstones_v1)
    return status::invalid_argument(path + ": unsupported tombstones version "
                                    + std::to_string(static_cast<uint8_t>(b[4])));
  auto entries = b.substr(5, b.size() - 9);
  if (crc32c(entries) != pfmt::load_be32(b.data() + b.size() - 4))
    return damaged(b.size() - 4, "checksum mismatch");
  while (!entries.empty()) {
    uint64_t at = static_cast<uint64_t>(entries.data() - b.data());
    uint64_t ref = 0;
    prometheus_interval iv;
    if (!get_uvarint(entries, ref) || !get_varint(entries, iv.min_time) || !get_varint(entries, iv.max_time))
      return damaged(at, "truncated entry");
    t.by_series_[ref].push_back(iv);
    t.entries_ += 1;
  }
  return t;
}

const std::vector<prometheus_interval>* prometheus_tombstones::find(uint64_t id) const {
  auto it = by_series_.find(id);
  return it == by_series_.end() ? nullptr : &it->second;
}

}  // namespace nl::storage

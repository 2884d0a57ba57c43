// Prometheus chunk segment file (fixed-width fields big-endian):
//
//   magic 0x85BD40DD <4b> | version 1 <1b> | 0 0 0 <3b>
//   then records, each referenced by its offset:
//   len <uvarint> | encoding <1b> | data <len bytes> | crc32c(encoding, data) <4b>
#include "storage/prometheus/chunk_reader.hpp"

#include <algorithm>

#include "storage/coding.hpp"
#include "storage/prometheus/format.hpp"

namespace nl::storage {

namespace pfmt = prometheus_format;

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

status check_segment_header(const mapped_file& f) {
  auto b = f.bytes();
  if (b.size() < pfmt::chunks_header_size)
    return status::corruption(f.path() + ": shorter than a chunk segment header (" + std::to_string(b.size())
                              + " bytes)");
  if (pfmt::load_be32(b.data()) != pfmt::chunks_magic)
    return status::corruption(f.path() + ": not a Prometheus chunk segment (bad magic) at offset 0");
  if (static_cast<uint8_t>(b[4]) != pfmt::chunks_v1)
    return status::invalid_argument(f.path() + ": unsupported chunk segment version "
                                    + std::to_string(static_cast<uint8_t>(b[4])));
  return status::ok();
}

}  // namespace

result<std::unique_ptr<prometheus_chunk_reader>> prometheus_chunk_reader::open(const std::string& dir) {
  auto names = list_dir(dir);
  if (!names)
    return status::corruption(dir + ": cannot list the chunks directory: " + names.error().message());
  std::vector<std::string> files;
  for (auto& n : *names)
    if (all_digits(n))
      files.push_back(std::move(n));
  // Numeric order (shorter first, then bytes), which for Prometheus'
  // zero-padded names is its own order.
  std::sort(files.begin(), files.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  std::unique_ptr<prometheus_chunk_reader> r{new prometheus_chunk_reader()};
  r->dir_ = dir;
  for (const auto& n : files) {
    auto f = mapped_file::open(dir + "/" + n);
    if (!f)
      return f.error();
    if (auto st = check_segment_header(**f); !st)
      return st;
    r->segments_.push_back(std::move(*f));
  }
  return r;
}

result<prometheus_raw_chunk> prometheus_chunk_reader::read(uint64_t ref) const {
  uint64_t seg = ref >> 32;
  uint64_t off = ref & 0xffffffffu;
  if (seg >= segments_.size())
    return status::corruption(dir_ + ": chunk reference " + std::to_string(ref) + " names segment "
                              + std::to_string(seg) + " but there are "
                              + std::to_string(segments_.size()) + " segment files");
  const auto& f = *segments_[seg];
  auto b = f.bytes();
  auto damaged = [&](const std::string& what) {
    return status::corruption(f.path() + ": chunk at offset " + std::to_string(off) + ": " + what);
  };
  if (off < pfmt::chunks_header_size || off >= b.size())
    return damaged("offset outside the file (" + std::to_string(b.size()) + " bytes)");
  auto in = b.substr(off);
  uint64_t len = 0;
  if (!get_uvarint(in, len))
    return damaged("length truncated");
  // encoding <1b> + data + crc <4b> must fit.
  if (in.size() < 5 || len > in.size() - 5)
    return damaged("record of " + std::to_string(len) + " data bytes runs past the end of the file");
  auto covered = in.substr(0, 1 + len);
  if (crc32c(covered) != pfmt::load_be32(in.data() + 1 + len))
    return damaged("checksum mismatch");
  return prometheus_raw_chunk{static_cast<uint8_t>(in[0]), covered.substr(1)};
}

std::string prometheus_chunk_reader::describe(uint64_t ref) const {
  uint64_t seg = ref >> 32;
  auto file = seg < segments_.size() ? segments_[seg]->path() : dir_ + "/<segment " + std::to_string(seg) + ">";
  return file + " at offset " + std::to_string(ref & 0xffffffffu);
}

}  // namespace nl::storage

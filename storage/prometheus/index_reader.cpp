// Prometheus index v2, the parts read here (fixed-width fields big-endian,
// varints Go's; every CRC is CRC32C over exactly the `len` bytes before it):
//
//   header:   magic 0xBAAAD700 <4b> | version 2 <1b>
//   symbols:  len <4b> | count <4b> | count x (len <uvarint> | bytes) | crc <4b>
//   series:   entries at 16-byte aligned offsets, zero padding between:
//             len <uvarint> | body | crc <4b>
//             body: n <uvarint> | n x (name ref <uvarint> | value ref <uvarint>)
//                   k <uvarint> | mint_0 <varint> | maxt_0 - mint_0 <uvarint>
//                   | ref_0 <uvarint> | (k-1) x (mint_i - maxt_i-1 <uvarint>
//                   | maxt_i - mint_i <uvarint> | ref_i - ref_i-1 <varint>)
//   ... label indices, postings, offset tables (not read) ...
//   TOC:      6 x section offset <8b> | crc <4b>   (the last 52 bytes)
//
// The series section has no length of its own: it ends where the next
// section listed in the TOC starts.
#include "storage/prometheus/index_reader.hpp"

#include <algorithm>

#include "storage/coding.hpp"
#include "storage/prometheus/format.hpp"

namespace nl::storage {

namespace pfmt = prometheus_format;

result<std::unique_ptr<prometheus_index_reader>> prometheus_index_reader::open(const std::string& path) {
  auto f = mapped_file::open(path);
  if (!f)
    return f.error();
  std::unique_ptr<prometheus_index_reader> r{new prometheus_index_reader(std::move(*f))};
  if (auto st = r->load(); !st)
    return st;
  return r;
}

status prometheus_index_reader::damaged(uint64_t offset, const std::string& what) const {
  return status::corruption(path() + ": " + what + " at offset " + std::to_string(offset));
}

status prometheus_index_reader::load() {
  auto b = file_->bytes();
  if (b.size() < pfmt::index_header_size + pfmt::toc_size)
    return status::corruption(path() + ": too short for a Prometheus index (" + std::to_string(b.size())
                              + " bytes)");
  if (pfmt::load_be32(b.data()) != pfmt::index_magic)
    return damaged(0, "not a Prometheus index (bad magic)");
  auto version = static_cast<uint8_t>(b[4]);
  if (version == 1)
    return status::invalid_argument(path() + ": Prometheus index format v1 (early 2.x releases) is not "
                                    "supported; only v2 is read");
  if (version != pfmt::index_v2)
    return status::invalid_argument(path() + ": unsupported Prometheus index format v"
                                    + std::to_string(version) + " (only v2 is read)");

  uint64_t toc_at = b.size() - pfmt::toc_size;
  const char* toc = b.data() + toc_at;
  if (crc32c(toc, 48) != pfmt::load_be32(toc + 48))
    return damaged(toc_at, "table of contents checksum mismatch");
  uint64_t offs[6];
  for (int i = 0; i < 6; ++i)
    offs[i] = pfmt::load_be64(toc + 8 * i);
  uint64_t symbols = offs[0];
  uint64_t series = offs[1];
  if (symbols < pfmt::index_header_size || symbols >= toc_at)
    return damaged(toc_at, "symbol table offset " + std::to_string(symbols) + " out of range");
  if (series < pfmt::index_header_size || series > toc_at)
    return damaged(toc_at, "series offset " + std::to_string(series) + " out of range");
  // The series section runs up to the next section in the file (sections
  // absent from this index have offset 0 and are skipped by the >=).
  series_end_ = toc_at;
  for (int i = 2; i < 6; ++i)
    if (offs[i] >= series && offs[i] < series_end_)
      series_end_ = offs[i];
  pos_ = series;
  return load_symbols(symbols, toc_at);
}

status prometheus_index_reader::load_symbols(uint64_t off, uint64_t end) {
  auto b = file_->bytes();
  if (end - off < 8)
    return damaged(off, "symbol table truncated");
  uint64_t len = pfmt::load_be32(b.data() + off);
  if (len < 4 || len > end - off - 8)
    return damaged(off, "symbol table length " + std::to_string(len) + " out of range");
  auto body = b.substr(off + 4, len);
  if (crc32c(body) != pfmt::load_be32(b.data() + off + 4 + len))
    return damaged(off, "symbol table checksum mismatch");
  uint32_t count = pfmt::load_be32(body.data());
  body.remove_prefix(4);
  // Each symbol takes at least one byte: a count beyond that is damage,
  // not a reason to reserve gigabytes.
  if (count > body.size())
    return damaged(off, "symbol count " + std::to_string(count) + " exceeds the table");
  symbols_.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view s;
    if (!get_length_prefixed(body, s))
      return damaged(off, "symbol " + std::to_string(i) + " truncated");
    symbols_.push_back(s);
  }
  if (!body.empty())
    return damaged(off, "trailing bytes after " + std::to_string(count) + " symbols");
  return status::ok();
}

result<bool> prometheus_index_reader::next(prometheus_series& out) {
  auto b = file_->bytes();
  pos_ = (pos_ + pfmt::series_alignment - 1) / pfmt::series_alignment * pfmt::series_alignment;
  if (pos_ >= series_end_)
    return false;
  if (b[pos_] == 0) {
    // No entry starts with a zero length: this is padding up to the next
    // section, and must be padding all the way.
    for (uint64_t i = pos_; i < series_end_; ++i)
      if (b[i] != 0)
        return damaged(i, "non-zero byte in series padding");
    pos_ = series_end_;
    return false;
  }
  uint64_t at = pos_;
  auto in = b.substr(at, series_end_ - at);
  uint64_t len = 0;
  if (!get_uvarint(in, len) || len > in.size() || in.size() - len < 4)
    return damaged(at, "series entry truncated");
  auto body = in.substr(0, len);
  if (crc32c(body) != pfmt::load_be32(in.data() + len))
    return damaged(at, "series entry checksum mismatch");
  pos_ = static_cast<uint64_t>(in.data() - b.data()) + len + 4;

  out.id = at / pfmt::series_alignment;
  out.offset = at;
  out.chunks.clear();
  uint64_t n = 0;
  if (!get_uvarint(body, n) || n == 0 || n > body.size() / 2)
    return damaged(at, "series entry: bad label count");
  std::vector<label> labels;
  labels.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t name = 0;
    uint64_t value = 0;
    if (!get_uvarint(body, name) || !get_uvarint(body, value))
      return damaged(at, "series entry: labels truncated");
    if (name >= symbols_.size() || value >= symbols_.size())
      return damaged(at, "series entry: unknown symbol");
    auto nm = symbols_[name];
    auto val = symbols_[value];
    if (nm.empty() || val.empty())
      return damaged(at, "series entry: empty label name or value");
    if (!labels.empty() && !(labels.back().name < nm))
      return damaged(at, "series entry: label names not strictly ascending");
    labels.push_back({std::string{nm}, std::string{val}});
  }
  out.labels = label_set{std::move(labels)};

  uint64_t k = 0;
  if (!get_uvarint(body, k) || k > body.size() / 3)
    return damaged(at, "series entry: bad chunk count");
  out.chunks.reserve(k);
  // Deltas are added in uint64 so that damaged values wrap instead of
  // overflowing; the block's range check catches what they produce.
  uint64_t maxt = 0;
  uint64_t ref = 0;
  for (uint64_t i = 0; i < k; ++i) {
    uint64_t mint_part = 0;
    uint64_t span = 0;
    bool ok;
    uint64_t mint;
    if (i == 0) {
      int64_t first = 0;
      ok = get_varint(body, first) && get_uvarint(body, span) && get_uvarint(body, ref);
      mint = static_cast<uint64_t>(first);
    } else {
      int64_t ref_delta = 0;
      ok = get_uvarint(body, mint_part) && get_uvarint(body, span) && get_varint(body, ref_delta);
      mint = maxt + mint_part;
      ref += static_cast<uint64_t>(ref_delta);
    }
    if (!ok)
      return damaged(at, "series entry: chunk " + std::to_string(i) + " truncated");
    maxt = mint + span;
    out.chunks.push_back({static_cast<int64_t>(mint), static_cast<int64_t>(maxt), ref});
  }
  if (!body.empty())
    return damaged(at, "series entry: trailing bytes");
  return true;
}

}  // namespace nl::storage

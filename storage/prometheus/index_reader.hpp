#pragma once
// Reads the `index` file of a Prometheus 2.x block (format v2) series by
// series, in the file's order, which Prometheus guarantees is label order.
// Only what the importer needs is decoded: the table of contents, the
// symbol table and the series section; label indices and postings are
// ignored. Every section read is checked against its CRC32C; damage is
// corruption naming the file and the offset. Layout: Prometheus'
// tsdb/docs/format/index.md; summary in storage/FORMAT.md, "Appendix:
// Prometheus blocks read by the importer".
//
// Thread-safety: none; one owner (next() moves a cursor).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/file.hpp"
#include "storage/labels.hpp"
#include "storage/status.hpp"

namespace nl::storage {

/// A chunk as the index lists it: times of its first and last sample (ms,
/// inclusive) and where it is: segment file index << 32 | offset in it.
struct prometheus_chunk_meta {
  int64_t min_time = 0;
  int64_t max_time = 0;
  uint64_t ref = 0;
};

struct prometheus_series {
  /// Entry offset / 16: the series reference tombstones use.
  uint64_t id = 0;
  /// File offset of the entry, for messages.
  uint64_t offset = 0;
  label_set labels;
  /// In time order, as written (not re-checked here).
  std::vector<prometheus_chunk_meta> chunks;
};

class prometheus_index_reader {
 public:
  /// Maps `path` read-only and checks the header (magic, version 2), the
  /// table of contents and the symbol table. A version-1 index is
  /// invalid_argument; anything damaged is corruption.
  static result<std::unique_ptr<prometheus_index_reader>> open(const std::string& path);

  /// Decodes the next series into `out`: true, or false after the last
  /// one. corruption on a bad checksum, a truncated or malformed entry, an
  /// unknown symbol or labels out of order.
  result<bool> next(prometheus_series& out);

  const std::string& path() const { return file_->path(); }
  size_t num_symbols() const { return symbols_.size(); }

 private:
  explicit prometheus_index_reader(std::unique_ptr<mapped_file> f) : file_(std::move(f)) {}
  status load();
  status load_symbols(uint64_t off, uint64_t end);
  status damaged(uint64_t offset, const std::string& what) const;

  std::unique_ptr<mapped_file> file_;
  std::vector<std::string_view> symbols_;  // views into the mapping
  uint64_t pos_ = 0;                       // where the next entry may start
  uint64_t series_end_ = 0;                // first byte after the series section
};

}  // namespace nl::storage

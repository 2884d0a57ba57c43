#pragma once
// Reads chunks from the segment files of a Prometheus 2.x block
// (`<block>/chunks/000001`, `000002`, ...), mapped read-only. A chunk
// reference from the index is segment index << 32 | offset, the segment
// index counting the numerically named files in name order from 0 (so
// `000001` is 0). Each chunk's CRC32C is verified when it is read.
// Layout: Prometheus' tsdb/docs/format/chunks.md; summary in
// storage/FORMAT.md, "Appendix: Prometheus blocks read by the importer".
//
// Thread-safety: immutable after open(); any thread may read.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/file.hpp"
#include "storage/status.hpp"

namespace nl::storage {

/// A chunk as stored: its encoding byte and its data, a view into the
/// mapping (valid while the reader lives).
struct prometheus_raw_chunk {
  uint8_t encoding = 0;
  std::string_view data;
};

class prometheus_chunk_reader {
 public:
  /// Maps every numerically named file in `dir` and checks its header
  /// (magic 0x85BD40DD, version 1). A missing directory is corruption (a
  /// block always has one, even when empty).
  static result<std::unique_ptr<prometheus_chunk_reader>> open(const std::string& dir);

  /// The chunk at `ref`: corruption naming the segment file and offset
  /// when the reference points outside the files, the record is truncated
  /// or its CRC does not match. The encoding is not interpreted.
  result<prometheus_raw_chunk> read(uint64_t ref) const;

  /// "<segment file> at offset N" for `ref`, for messages.
  std::string describe(uint64_t ref) const;
  size_t num_segments() const { return segments_.size(); }

 private:
  prometheus_chunk_reader() = default;
  std::string dir_;
  std::vector<std::unique_ptr<mapped_file>> segments_;
};

}  // namespace nl::storage

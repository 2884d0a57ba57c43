#pragma once
// Constants of Prometheus 2.x TSDB blocks as the importer reads them, and
// the big-endian loads their fixed-width fields need (Prometheus writes
// them big-endian, unlike Nightlight's files). Layout: Prometheus'
// tsdb/docs/format/{index,chunks,tombstones}.md; what Nightlight reads and
// refuses: storage/FORMAT.md, "Appendix: Prometheus blocks read by the
// importer".
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nl::storage::prometheus_format {

// -- index --------------------------------------------------------------------

constexpr uint32_t index_magic = 0xBAAAD700;
/// Magic <4b> then version <1b>; no padding.
constexpr size_t index_header_size = 5;
/// The only index version read: series entries 16-byte aligned, referenced
/// by offset / 16, symbols referenced by position.
constexpr uint8_t index_v2 = 2;
/// Series entries start at multiples of this; a series' id (the reference
/// tombstones use) is its entry's offset divided by it.
constexpr uint64_t series_alignment = 16;
/// Six section offsets <8b> and a CRC32C of them <4b>, at the very end.
constexpr size_t toc_size = 6 * 8 + 4;

// -- chunk segment files (`chunks/000001`, ...) -------------------------------

constexpr uint32_t chunks_magic = 0x85BD40DD;
constexpr uint8_t chunks_v1 = 1;
/// Magic <4b>, version <1b>, 3 zero bytes.
constexpr size_t chunks_header_size = 8;

/// Chunk encodings (tsdb/chunkenc/chunk.go).
enum chunk_encoding : uint8_t {
  enc_xor = 1,
  enc_histogram = 2,
  enc_float_histogram = 3,
  enc_xor2 = 4,
  enc_histogram_st = 5,
  enc_float_histogram_st = 6,
};

// -- tombstones ---------------------------------------------------------------

constexpr uint32_t tombstones_magic = 0x0130BA30;
constexpr uint8_t tombstones_v1 = 1;

// -- names in a block directory ------------------------------------------------

constexpr std::string_view meta_file = "meta.json";
constexpr std::string_view index_file = "index";
constexpr std::string_view chunks_dir = "chunks";
constexpr std::string_view tombstones_file = "tombstones";

// -- big-endian loads ----------------------------------------------------------

/// REQUIRES: 4 (8) readable bytes at `p`.
inline uint32_t load_be32(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16
         | static_cast<uint32_t>(b[2]) << 8 | static_cast<uint32_t>(b[3]);
}
inline uint64_t load_be64(const char* p) {
  return static_cast<uint64_t>(load_be32(p)) << 32 | load_be32(p + 4);
}

}  // namespace nl::storage::prometheus_format

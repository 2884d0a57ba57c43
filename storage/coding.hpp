#pragma once
// Byte-level building blocks shared by every on-disk format: fixed-width
// little-endian integers, LEB128 varints (Go's encoding/binary flavour, so
// zigzag for signed values) and CRC32C. Layouts that use them are specified
// in storage/FORMAT.md.
//
// Every get_* reads from the front of a std::string_view and advances it on
// success. On failure (input too short, overlong varint) it returns false,
// leaves the view untouched and never reads past its end, so decoders of
// outside bytes can chain gets and turn the first false into corruption.
//
// Thread-safety: all functions are pure and may be called concurrently.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nl::storage {

/// Longest uvarint/varint encoding of a 64-bit value.
constexpr size_t max_varint64_bytes = 10;

// -- fixed width, little-endian ----------------------------------------------

/// Writes `v` as 4 little-endian bytes to `dst[0..3]`.
void encode_fixed32(char* dst, uint32_t v);
/// Writes `v` as 8 little-endian bytes to `dst[0..7]`.
void encode_fixed64(char* dst, uint64_t v);
/// Reads 4 little-endian bytes. REQUIRES: 4 readable bytes at `p`.
uint32_t decode_fixed32(const char* p);
/// Reads 8 little-endian bytes. REQUIRES: 8 readable bytes at `p`.
uint64_t decode_fixed64(const char* p);

void put_fixed32(std::string& dst, uint32_t v);
void put_fixed64(std::string& dst, uint64_t v);
bool get_fixed32(std::string_view& in, uint32_t& v);
bool get_fixed64(std::string_view& in, uint64_t& v);

// -- varints -------------------------------------------------------------------

/// Unsigned LEB128: 7 bits per byte, low group first, high bit = "more".
void put_uvarint(std::string& dst, uint64_t v);
/// Writes the uvarint / zigzag varint of `v` at `dst` and returns the end.
/// REQUIRES: uvarint_length (varint_length) of `v` writable bytes at `dst`,
/// at most max_varint64_bytes; nothing past them is touched.
char* encode_uvarint(char* dst, uint64_t v);
char* encode_varint(char* dst, int64_t v);
/// Signed values are zigzag-mapped first ((v << 1) ^ (v >> 63)), so small
/// negative numbers stay short.
void put_varint(std::string& dst, int64_t v);
/// Bytes put_uvarint / put_varint would write for `v`.
inline size_t uvarint_length(uint64_t v) {
  return 1 + static_cast<size_t>(63 - __builtin_clzll(v | 1)) / 7;
}
inline size_t varint_length(int64_t v) {
  return uvarint_length((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
/// Multi-byte case of get_uvarint.
bool get_uvarint_slow(std::string_view& in, uint64_t& v);
/// Fails on truncation and on encodings longer than 10 bytes or overflowing
/// 64 bits. Inline for one and two bytes (label lengths, small deltas):
/// label keys are walked on every append that crosses a node link, and a
/// call per length was a tenth of a receiving node's CPU.
inline bool get_uvarint(std::string_view& in, uint64_t& v) {
  if (!in.empty() && static_cast<unsigned char>(in[0]) < 0x80) {
    v = static_cast<unsigned char>(in[0]);
    in.remove_prefix(1);
    return true;
  }
  // Two bytes (128..16383: a block's symbol references, timestamp deltas).
  if (in.size() >= 2 && static_cast<unsigned char>(in[1]) < 0x80) {
    v = (static_cast<unsigned char>(in[0]) & 0x7fu) | (uint64_t{static_cast<unsigned char>(in[1])} << 7);
    in.remove_prefix(2);
    return true;
  }
  return get_uvarint_slow(in, v);
}
bool get_varint(std::string_view& in, int64_t& v);

/// uvarint length followed by that many bytes.
void put_length_prefixed(std::string& dst, std::string_view bytes);
/// On success `bytes` views into the input (no copy); on failure `in` is
/// unchanged.
inline bool get_length_prefixed(std::string_view& in, std::string_view& bytes) {
  auto rest = in;
  uint64_t n;
  if (!get_uvarint(rest, n) || n > rest.size())
    return false;
  bytes = rest.substr(0, n);
  in = rest.substr(n);
  return true;
}

// -- CRC32C (Castagnoli, reflected polynomial 0x82F63B78) ------------------------

/// Continues a CRC32C over `n` more bytes. `crc` is a finished CRC value
/// (start with 0), so crc32c_extend(crc32c(a), b) == crc32c(a + b). Uses the
/// SSE4.2 crc32 instruction when the CPU has it (checked once at run time),
/// a table-driven software version otherwise; both give identical results.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);

inline uint32_t crc32c(const void* data, size_t n) { return crc32c_extend(0, data, n); }
inline uint32_t crc32c(std::string_view s) { return crc32c_extend(0, s.data(), s.size()); }

/// The portable implementation, exposed so tests can compare both paths.
uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t n);
/// True when crc32c_extend uses the hardware instruction.
bool crc32c_hardware_accelerated();

}  // namespace nl::storage

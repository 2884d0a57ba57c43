#include "storage/coding.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace nl::storage {

// -- fixed width ---------------------------------------------------------------

// Byte-by-byte shifts instead of memcpy of the native integer: the layout is
// little-endian by definition, whatever the host. Compilers fold this into a
// single load/store on little-endian machines.
void encode_fixed32(char* dst, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    dst[i] = static_cast<char>(v >> (8 * i));
}

void encode_fixed64(char* dst, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    dst[i] = static_cast<char>(v >> (8 * i));
}

uint32_t decode_fixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

uint64_t decode_fixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

void put_fixed32(std::string& dst, uint32_t v) {
  char buf[4];
  encode_fixed32(buf, v);
  dst.append(buf, sizeof buf);
}

void put_fixed64(std::string& dst, uint64_t v) {
  char buf[8];
  encode_fixed64(buf, v);
  dst.append(buf, sizeof buf);
}

bool get_fixed32(std::string_view& in, uint32_t& v) {
  if (in.size() < 4)
    return false;
  v = decode_fixed32(in.data());
  in.remove_prefix(4);
  return true;
}

bool get_fixed64(std::string_view& in, uint64_t& v) {
  if (in.size() < 8)
    return false;
  v = decode_fixed64(in.data());
  in.remove_prefix(8);
  return true;
}

// -- varints -------------------------------------------------------------------

char* encode_uvarint(char* dst, uint64_t v) {
  while (v >= 0x80) {
    *dst++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *dst++ = static_cast<char>(v);
  return dst;
}

char* encode_varint(char* dst, int64_t v) {
  // Shift as unsigned: left-shifting a negative value is undefined in C++17.
  auto u = static_cast<uint64_t>(v);
  return encode_uvarint(dst, (u << 1) ^ (v < 0 ? ~uint64_t{0} : 0));
}

void put_uvarint(std::string& dst, uint64_t v) {
  char buf[max_varint64_bytes];
  dst.append(buf, encode_uvarint(buf, v) - buf);
}

void put_varint(std::string& dst, int64_t v) {
  char buf[max_varint64_bytes];
  dst.append(buf, encode_varint(buf, v) - buf);
}

bool get_uvarint_slow(std::string_view& in, uint64_t& v) {
  uint64_t result = 0;
  for (size_t i = 0; i < in.size() && i < max_varint64_bytes; ++i) {
    auto b = static_cast<unsigned char>(in[i]);
    // The tenth byte holds only bit 63; anything larger overflows.
    if (i == max_varint64_bytes - 1 && b > 1)
      return false;
    result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      v = result;
      in.remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

bool get_varint(std::string_view& in, int64_t& v) {
  uint64_t u;
  if (!get_uvarint(in, u))
    return false;
  v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

void put_length_prefixed(std::string& dst, std::string_view bytes) {
  put_uvarint(dst, bytes.size());
  dst.append(bytes.data(), bytes.size());
}

// -- CRC32C ---------------------------------------------------------------------

namespace {

constexpr uint32_t crc32c_poly = 0x82F63B78;  // Castagnoli, bit-reflected

constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? (c >> 1) ^ crc32c_poly : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr auto crc32c_table = make_crc32c_table();

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_extend_sse42(uint32_t crc, const void* data,
                                                               size_t n) {
  auto p = static_cast<const unsigned char*>(data);
  uint64_t c = ~crc;
  // The instruction handles unaligned loads; 8 bytes per step is the fast
  // path, the tail goes byte by byte.
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n > 0) {
    c32 = _mm_crc32_u8(c32, *p++);
    --n;
  }
  return ~c32;
}
#endif

using crc_fn = uint32_t (*)(uint32_t, const void*, size_t);

crc_fn select_crc32c() {
#if defined(__x86_64__)
  // Needed when the first CRC runs from a static initialiser, before the
  // runtime has probed the CPU.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse4.2"))
    return crc32c_extend_sse42;
#endif
  return crc32c_extend_portable;
}

// Resolved once; function-local statics are initialised thread-safely.
crc_fn crc32c_impl() {
  static const crc_fn fn = select_crc32c();
  return fn;
}

}  // namespace

uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t n) {
  auto p = static_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  for (size_t i = 0; i < n; ++i)
    c = crc32c_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return ~c;
}

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n) {
  return crc32c_impl()(crc, data, n);
}

bool crc32c_hardware_accelerated() {
  return crc32c_impl() != &crc32c_extend_portable;
}

}  // namespace nl::storage

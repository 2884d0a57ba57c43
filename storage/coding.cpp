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
// The crc32 instruction has a latency of three cycles and a throughput of
// one, so one chain of it runs at a third of its speed. Long inputs are
// taken as three streams of crc32c_stream_bytes side by side, each from
// its own register, and joined: the CRC register after a stream A then B
// is the register after A moved past |B| zero bytes, xor the register of
// B alone (CRC is linear over GF(2)). Moving past a fixed count of zero
// bytes is a 32x32 bit matrix, applied here as four byte tables.
constexpr size_t crc32c_stream_bytes = 512;

// Register (not finished CRC) arithmetic, bit-reflected as the instruction.
// A 32x32 matrix over GF(2) as 32 columns: col[i] is the image of bit i.
using gf2_matrix = std::array<uint32_t, 32>;

constexpr uint32_t gf2_times(const gf2_matrix& m, uint32_t v) {
  uint32_t out = 0;
  for (int i = 0; v != 0; ++i, v >>= 1)
    if (v & 1)
      out ^= m[static_cast<size_t>(i)];
  return out;
}

constexpr gf2_matrix gf2_product(const gf2_matrix& a, const gf2_matrix& b) {  // a after b
  gf2_matrix out{};
  for (size_t i = 0; i < 32; ++i)
    out[i] = gf2_times(a, b[i]);
  return out;
}

// The register moved past `n` zero bytes, as four tables of 256 (one per
// byte of the register).
constexpr std::array<std::array<uint32_t, 256>, 4> make_zeros_tables(size_t n) {
  // One zero bit: shift right, folding the polynomial in for the low bit.
  gf2_matrix bit{};
  bit[0] = crc32c_poly;
  for (size_t i = 1; i < 32; ++i)
    bit[i] = uint32_t{1} << (i - 1);
  gf2_matrix byte = gf2_product(bit, bit);  // 2 bits
  byte = gf2_product(byte, byte);           // 4
  byte = gf2_product(byte, byte);           // 8
  gf2_matrix op{};  // identity, then byte^n by squaring
  for (size_t i = 0; i < 32; ++i)
    op[i] = uint32_t{1} << i;
  for (gf2_matrix sq = byte; n != 0; n >>= 1, sq = gf2_product(sq, sq))
    if (n & 1)
      op = gf2_product(sq, op);
  std::array<std::array<uint32_t, 256>, 4> t{};
  for (size_t k = 0; k < 4; ++k)
    for (uint32_t v = 0; v < 256; ++v)
      t[k][v] = gf2_times(op, v << (8 * k));
  return t;
}

// Built by the compiler: a CRC may run from a static initialiser.
constexpr auto crc32c_stream_zeros = make_zeros_tables(crc32c_stream_bytes);

inline uint32_t crc32c_shift_stream(uint32_t c) {
  const auto& t = crc32c_stream_zeros;
  return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
}

__attribute__((target("sse4.2"))) uint32_t crc32c_extend_sse42(uint32_t crc, const void* data,
                                                               size_t n) {
  auto p = static_cast<const unsigned char*>(data);
  uint64_t c = ~crc;
  while (n >= 3 * crc32c_stream_bytes) {
    uint64_t c1 = 0, c2 = 0;
    for (size_t i = 0; i < crc32c_stream_bytes; i += 8) {
      uint64_t w0, w1, w2;
      std::memcpy(&w0, p + i, 8);
      std::memcpy(&w1, p + crc32c_stream_bytes + i, 8);
      std::memcpy(&w2, p + 2 * crc32c_stream_bytes + i, 8);
      c = _mm_crc32_u64(c, w0);
      c1 = _mm_crc32_u64(c1, w1);
      c2 = _mm_crc32_u64(c2, w2);
    }
    c = crc32c_shift_stream(static_cast<uint32_t>(c)) ^ static_cast<uint32_t>(c1);
    c = crc32c_shift_stream(static_cast<uint32_t>(c)) ^ static_cast<uint32_t>(c2);
    p += 3 * crc32c_stream_bytes;
    n -= 3 * crc32c_stream_bytes;
  }
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

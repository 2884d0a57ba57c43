#include "storage/chunk/bitstream.hpp"

#include <algorithm>
#include <cstring>

namespace nl::storage {

bit_writer::bit_writer(size_t prefix, size_t reserve) {
  bytes_.reserve(std::max(prefix, reserve));
  bytes_.resize(prefix, 0);
}

namespace {

// The allocation size above `n` that malloc would round it up to anyway:
// multiples of 16 up to 128 bytes, then four sizes per doubling (160, 192,
// 224, 256, 320, ...), which are jemalloc's size classes. Growing through
// them wastes no rounding and adds about a quarter each time: chunks are
// many and small (one open chunk per series), so slack is memory per series,
// while a few more copies of a few hundred bytes per chunk cost nothing.
size_t next_allocation_size(size_t n) {
  if (n < 128)
    return (n + 16) & ~size_t{15};
  size_t step = (size_t{1} << (63 - __builtin_clzll(n))) / 4;
  return (n + step) & ~(step - 1);
}

}  // namespace

void bit_writer::grow() {
  if (bytes_.size() == bytes_.capacity())
    bytes_.reserve(next_allocation_size(bytes_.capacity()));
  bytes_.push_back(0);
  free_ = 8;
}

void bit_writer::write_bits(uint64_t u, int n) {
  if (n <= 0)
    return;
  if (n < 64)
    u &= (uint64_t{1} << n) - 1;
  if (n <= free_) {  // inside the last byte
    bytes_.back() |= static_cast<uint8_t>(u << (free_ - n));
    free_ = static_cast<uint8_t>(free_ - n);
    return;
  }
  if (free_ > 0) {  // the top bits fill the last byte; n < 64 is left
    n -= free_;
    bytes_.back() |= static_cast<uint8_t>(u >> n);
    u &= (uint64_t{1} << n) - 1;
  }
  // n (1..64) bits from a byte boundary: k whole bytes, big-endian, the
  // last one's low `pad` bits free. Capacity grows through the same sizes
  // as one byte at a time would take it.
  const size_t k = (static_cast<size_t>(n) + 7) / 8;
  const int pad = static_cast<int>(k * 8) - n;
  const size_t need = bytes_.size() + k;
  if (need > bytes_.capacity()) {
    size_t cap = bytes_.capacity();
    while (cap < need)
      cap = next_allocation_size(cap);
    bytes_.reserve(cap);
  }
  const unsigned __int128 v = static_cast<unsigned __int128>(u) << pad;
  uint8_t buf[9];
  for (size_t i = 0; i < k; ++i)
    buf[i] = static_cast<uint8_t>(v >> (8 * (k - 1 - i)));
  bytes_.insert(bytes_.end(), buf, buf + k);
  free_ = static_cast<uint8_t>(pad);
}

void bit_writer::write_uvarint(uint64_t u) {
  while (u >= 0x80) {
    write_byte(static_cast<uint8_t>(u | 0x80));
    u >>= 7;
  }
  write_byte(static_cast<uint8_t>(u));
}

void bit_writer::write_varint(int64_t v) {
  // Zigzag: 0,-1,1,-2 -> 0,1,2,3. Shift on the unsigned value (no UB).
  uint64_t u = static_cast<uint64_t>(v) << 1;
  if (v < 0)
    u = ~u;
  write_uvarint(u);
}

bool bit_reader::read_bits_slow(int n, uint64_t& out) {
  if (static_cast<size_t>(n) > size_bits_ - pos_)
    return false;
  if (n == 0) {
    out = 0;
    return true;
  }
  if (n > 32) {
    uint64_t hi, lo;
    if (!read_bits(n - 32, hi) || !read_bits(32, lo))
      return false;
    out = hi << 32 | lo;
    return true;
  }
  uint64_t u = 0;
  while (n > 0) {
    int avail = 8 - static_cast<int>(pos_ & 7);
    int take = std::min(n, avail);
    uint64_t byte = data_[pos_ >> 3];
    uint64_t piece = (byte >> (avail - take)) & ((uint64_t{1} << take) - 1);
    u = (u << take) | piece;
    pos_ += take;
    n -= take;
  }
  out = u;
  return true;
}

bool bit_reader::read_byte(uint8_t& out) {
  uint64_t u;
  if (!read_bits(8, u))
    return false;
  out = static_cast<uint8_t>(u);
  return true;
}

bool bit_reader::read_uvarint(uint64_t& out) {
  uint64_t x = 0;
  for (int i = 0, shift = 0; i < 10; ++i, shift += 7) {
    uint8_t b;
    if (!read_byte(b))
      return false;
    if (b < 0x80) {
      if (i == 9 && b > 1)
        return false;  // overflows 64 bits
      out = x | static_cast<uint64_t>(b) << shift;
      return true;
    }
    x |= static_cast<uint64_t>(b & 0x7f) << shift;
  }
  return false;
}

bool bit_reader::read_varint(int64_t& out) {
  uint64_t u;
  if (!read_uvarint(u))
    return false;
  out = static_cast<int64_t>(u >> 1);
  if (u & 1)
    out = ~out;
  return true;
}

}  // namespace nl::storage

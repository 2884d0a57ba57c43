#pragma once
// Bit-level writer and reader, most significant bit first, as used by the
// XOR (Gorilla) chunk encoding. The reader never reads past the bytes it was
// given: every read reports whether the bits were there.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace nl::storage {

/// Appends bits to a growing byte buffer it owns. Unused low bits of the last
/// byte are zero, so bytes() is always a valid prefix encoding.
class bit_writer {
 public:
  bit_writer() = default;
  /// Starts with `prefix` bytes already written (e.g. a zeroed header) and
  /// room for `reserve` bytes.
  bit_writer(size_t prefix, size_t reserve);

  /// Continues after `bytes`, whose last byte has `free_bits` (0..7) unused
  /// low bits (zero), e.g. a chunk read back from disk.
  void assign(std::string_view bytes, int free_bits) {
    bytes_.assign(bytes.begin(), bytes.end());
    free_ = static_cast<uint8_t>(free_bits);
  }
  /// Back to `prefix` zero bytes, keeping the buffer's capacity.
  void restart(size_t prefix) {
    bytes_.assign(prefix, 0);
    free_ = 0;
  }
  void write_bit(bool bit) {
    if (free_ == 0)
      grow();
    --free_;
    bytes_.back() |= static_cast<uint8_t>(static_cast<unsigned>(bit) << free_);
  }
  /// Writes the low `n` bits of `u`, high bit first. REQUIRES: 0 <= n <= 64.
  void write_bits(uint64_t u, int n);
  void write_byte(uint8_t b) { write_bits(b, 8); }
  void write_uvarint(uint64_t u);
  /// Zigzag-encoded signed varint (Go's binary.PutVarint).
  void write_varint(int64_t v);

  std::vector<uint8_t>& buffer() { return bytes_; }
  const std::vector<uint8_t>& buffer() const { return bytes_; }
  std::string_view bytes() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  /// Bits still free in the last byte (0..7).
  int free_bits() const { return free_; }

 private:
  void grow();

  std::vector<uint8_t> bytes_;
  uint8_t free_ = 0;
};

/// Reads bits from a byte range it does not own; the range must outlive it.
/// Each read returns false, and leaves the output unspecified, when the
/// range holds too few bits.
class bit_reader {
 public:
  bit_reader() = default;
  explicit bit_reader(std::string_view bytes)
    : data_(reinterpret_cast<const uint8_t*>(bytes.data())), size_bits_(bytes.size() * 8) {}

  // read_bit and read_bits' common case are inline: chunk decoding calls
  // them a few times per sample and is the hot loop of every query.
  bool read_bit(bool& bit) {
    if (pos_ >= size_bits_)
      return false;
    bit = (data_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1;
    ++pos_;
    return true;
  }
  /// REQUIRES: 0 <= n <= 64.
  bool read_bits(int n, uint64_t& out) {
    size_t byte = pos_ >> 3;
    if (n > 0 && n <= 56 && byte + 8 <= size_bits_ / 8) {
      // One big-endian 8-byte load covers the at most 7 + 56 bits.
      uint64_t w;
      std::memcpy(&w, data_ + byte, 8);
      if constexpr (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
        w = __builtin_bswap64(w);
      out = (w << (pos_ & 7)) >> (64 - n);
      pos_ += n;
      return true;
    }
    return read_bits_slow(n, out);
  }
  bool read_byte(uint8_t& out);
  /// Go's binary.ReadUvarint: at most 10 bytes, the 10th at most 1.
  bool read_uvarint(uint64_t& out);
  bool read_varint(int64_t& out);

  /// The next bits, most significant first, in `w`: at least 57 of them
  /// are valid. False (nothing read) when fewer than 8 bytes are left from
  /// the current byte on; the reads above still work there.
  bool peek(uint64_t& w) const {
    size_t byte = pos_ >> 3;
    if (byte + 8 > size_bits_ / 8)
      return false;
    std::memcpy(&w, data_ + byte, 8);
    if constexpr (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
      w = __builtin_bswap64(w);
    w <<= pos_ & 7;
    return true;
  }
  /// Moves past `n` bits a peek() returned. REQUIRES: n <= 57.
  void skip(int n) { pos_ += static_cast<size_t>(n); }

  size_t remaining_bits() const { return size_bits_ - pos_; }

 private:
  /// read_bits near the end of the range, for n == 0 and n > 56.
  bool read_bits_slow(int n, uint64_t& out);

  const uint8_t* data_ = nullptr;
  size_t size_bits_ = 0;
  size_t pos_ = 0;  // in bits
};

}  // namespace nl::storage

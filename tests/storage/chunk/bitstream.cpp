#define CAF_SUITE storage.chunk.bitstream
#include "test_support.hpp"

#include <random>
#include <vector>

#include "storage/chunk/bitstream.hpp"

using namespace nl::storage;

namespace {

// The writer's contract, one bit at a time: the low n bits of u, high bit
// first.
void write_bitwise(bit_writer& w, uint64_t u, int n) {
  for (int i = n - 1; i >= 0; --i)
    w.write_bit((u >> i) & 1);
}

}  // namespace

CAF_TEST(write_bits writes what single bits would) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 2000; ++round) {
    bit_writer fast, slow;
    std::vector<std::pair<uint64_t, int>> writes;
    const int count = static_cast<int>(rng() % 40);
    for (int i = 0; i < count; ++i) {
      // Any width 0..64, and bits above the width that must be ignored.
      const int n = static_cast<int>(rng() % 65);
      writes.emplace_back(rng(), n);
    }
    for (auto [u, n] : writes) {
      fast.write_bits(u, n);
      write_bitwise(slow, u, n);
    }
    CAF_REQUIRE_EQUAL(fast.bytes(), slow.bytes());
    CAF_REQUIRE_EQUAL(fast.free_bits(), slow.free_bits());
    // Memory per open chunk: the buffer grows through the same sizes.
    CAF_REQUIRE_EQUAL(fast.buffer().capacity(), slow.buffer().capacity());
    // Reading back gives every value's low bits.
    bit_reader r(fast.bytes());
    for (auto [u, n] : writes) {
      uint64_t got = 0;
      CAF_REQUIRE(r.read_bits(n, got));
      const uint64_t want = n == 64 ? u : u & ((uint64_t{1} << n) - 1);
      CAF_REQUIRE_EQUAL(got, want);
    }
    CAF_CHECK_LESS(r.remaining_bits(), 8u);
  }
}

CAF_TEST(write_bits continues after assigned bytes) {
  bit_writer w;
  w.assign(std::string_view{"\xA0", 1}, 5);  // 101 then five free bits
  w.write_bits(0x1F3, 9);                      // 11111 0011
  CAF_CHECK_EQUAL(w.bytes(), std::string_view("\xBF\x30", 2));  // 101 11111, 0011 0000
  CAF_CHECK_EQUAL(w.free_bits(), 4);
}

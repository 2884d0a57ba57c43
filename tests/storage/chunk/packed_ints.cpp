#define CAF_SUITE storage.chunk.packed_ints
#include "test_support.hpp"

#include <random>
#include <string>
#include <vector>

#include "storage/chunk/packed_ints.hpp"
#include "storage/hex.hpp"

using namespace nl::storage;
using nl::test::hex;

namespace {

std::string pack(const std::vector<int64_t>& x) {
  auto plan = plan_packed_ints(x.data(), x.size());
  std::string out;
  put_packed_ints(out, x.data(), x.size(), plan);
  CAF_CHECK_EQUAL(out.size(), plan.bytes);
  return out;
}

bool round_trips(const std::vector<int64_t>& x) {
  auto bytes = pack(x);
  std::string_view in = bytes;
  std::vector<int64_t> got(x.size(), 12345);
  if (!get_packed_ints(in, x.size(), got.data()) || !in.empty())
    return false;
  return got == x;
}

}  // namespace

CAF_TEST(an empty sequence takes no bytes) {
  CAF_CHECK_EQUAL(pack({}).size(), 0u);
  std::string_view in;
  CAF_CHECK(get_packed_ints(in, 0, nullptr));
}

CAF_TEST(equal values cost only the header) {
  // base 15000 (zigzag 30000), max 0 without exceptions: 4 bytes for any n.
  CAF_CHECK_EQUAL(hex(pack(std::vector<int64_t>(1000, 15000))), "b0ea0100");
  CAF_CHECK(round_trips(std::vector<int64_t>(1000, 15000)));
}

CAF_TEST(offsets in the truncated binary code of their range decode) {
  // [0, 4]: w 3, u 3: 0..2 in 2 bits, 3 and 4 in 3 bits (codes 3+0, 3+1
  // then the low bit). 0,1,2,3,4 -> 00 10 01 110 111 (LSB first) =
  // bits 0,0,1,0,0,1,1,1,0,1,1,1 -> bytes 0xe4 0x0e: FORMAT.md's example,
  // as a writer that chose the truncated code wrote it.
  std::string bytes = "\x14\x08\xe4\x0e";  // base 10, max 4 << 1, 12 bits of codes
  std::string_view in = bytes;
  std::vector<int64_t> got(5);
  CAF_REQUIRE(get_packed_ints(in, 5, got.data()));
  CAF_CHECK(in.empty());
  CAF_CHECK_EQUAL(got, (std::vector<int64_t>{10, 11, 12, 13, 14}));
}

CAF_TEST(the writer takes a fixed width unless the truncated code saves an eighth) {
  // 10..14 in 5 codes: 2 bytes of codes either way, so max becomes 7 (w 3,
  // every code 3 bits): 0,1,2,3,4 -> 000 100 010 110 001 (LSB first).
  std::vector<int64_t> x = {10, 11, 12, 13, 14};
  CAF_CHECK_EQUAL(hex(pack(x)), "140e8846");
  CAF_CHECK(round_trips(x));
  // Offsets 0..6 (u = 1: only 0 is short): 2.86 bits against 3, fixed.
  std::vector<int64_t> sevens(700);
  for (size_t i = 0; i < sevens.size(); ++i)
    sevens[i] = static_cast<int64_t>(i % 7);
  auto b = pack(sevens);
  CAF_CHECK_EQUAL(hex(b.substr(0, 2)), "000e");  // base 0, max 7
  CAF_CHECK_EQUAL(b.size(), 2u + 700 * 3 / 8 + 1);
  CAF_CHECK(round_trips(sevens));
  // Offsets 0..4 (u = 3): 2.4 bits against 3 is a quarter more: truncated.
  std::vector<int64_t> fives(700);
  for (size_t i = 0; i < fives.size(); ++i)
    fives[i] = static_cast<int64_t>(i % 5);
  b = pack(fives);
  CAF_CHECK_EQUAL(hex(b.substr(0, 2)), "0008");  // base 0, max 4
  CAF_CHECK_EQUAL(b.size(), 2u + (700 * 12 / 5 + 7) / 8);
  CAF_CHECK(round_trips(fives));
}

CAF_TEST(rare outliers become exceptions instead of widening every slot) {
  std::vector<int64_t> x(500, 0);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<int64_t>(i % 7);
  x[100] = -15000;           // below the base
  x[300] = 1'000'000'000;    // far above the range
  auto b = pack(x);
  CAF_CHECK(b.size() < 500 * 3 / 8 + 20);
  CAF_CHECK(round_trips(x));
}

CAF_TEST(any int64 sequence round trips) {
  std::mt19937_64 rng{7};
  std::vector<std::vector<int64_t>> cases = {
    {INT64_MIN, INT64_MAX, 0, -1, 1, INT64_MIN, INT64_MAX},
    {INT64_MAX},
    {INT64_MIN},
    {INT64_MIN, INT64_MIN + 1},
    {INT64_MAX - 1, INT64_MAX},
  };
  for (int round = 0; round < 400; ++round) {
    size_t n = rng() % 300;
    std::vector<int64_t> x(n);
    int shape = round % 5;
    int bits = static_cast<int>(rng() % 64) + 1;
    for (auto& v : x) {
      switch (shape) {
        case 0: v = static_cast<int64_t>(rng()); break;                              // anything
        case 1: v = static_cast<int64_t>(rng() >> (64 - bits)); break;              // w bits
        case 2: v = static_cast<int64_t>(rng() >> (64 - bits)) - (int64_t{1} << (bits - 1)); break;
        case 3: v = rng() % 50 == 0 ? static_cast<int64_t>(rng()) : static_cast<int64_t>(rng() % 100); break;
        default: v = INT64_MAX - static_cast<int64_t>(rng() % 3); break;
      }
    }
    cases.push_back(std::move(x));
  }
  for (const auto& x : cases)
    CAF_CHECK(round_trips(x));
}

CAF_TEST(truncated or malformed bytes are refused without reading past them) {
  std::mt19937_64 rng{3};
  std::vector<int64_t> x(200);
  for (auto& v : x)
    v = rng() % 40 == 0 ? static_cast<int64_t>(rng()) : static_cast<int64_t>(rng() % 1000);
  auto b = pack(x);
  std::vector<int64_t> got(x.size());
  for (size_t len = 0; len < b.size(); ++len) {
    // A copy of exactly len bytes, so that a read past it is an error a
    // sanitizer sees.
    std::string cut = b.substr(0, len);
    std::string_view in = cut;
    CAF_CHECK(!get_packed_ints(in, x.size(), got.data()));
  }
  // An exception position past the end.
  std::vector<int64_t> one = {5, 5, 5, 1'000'000};
  auto e = pack(one);
  std::string_view in = e;
  CAF_CHECK(!get_packed_ints(in, 3, got.data()) || !in.empty());
  for (int round = 0; round < 2000; ++round) {
    std::string junk = b;
    junk[rng() % junk.size()] ^= static_cast<char>(1 + rng() % 255);
    std::string_view j = junk;
    (void)get_packed_ints(j, x.size(), got.data());
  }
}

CAF_TEST(fixed width codes of every width decode exactly and never past the bytes) {
  // Offsets spanning [0, 2^w - 1] exactly (so every code is w bits), one
  // exception, for every width and short to medium lengths: the fast path's
  // last 8-byte load and the hand-over to the bit-by-bit tail are hit at
  // every alignment. Each shorter copy is refused; a copy of exactly its
  // size (heap, no spare capacity) lets a sanitizer see a read past it.
  std::vector<int64_t> got;
  for (int w = 1; w <= 63; ++w) {
    const uint64_t top = (uint64_t{1} << w) - 1;
    for (size_t n = 1; n <= 80; ++n) {
      std::vector<int64_t> x(n);
      for (size_t i = 0; i < n; ++i)
        x[i] = static_cast<int64_t>(i % 2 == 0 ? (top - i) & top : (i * 0x9e3779b97f4a7c15ull) & top);
      x[0] = 0;
      if (n > 1)
        x[n - 1] = static_cast<int64_t>(top);
      if (n > 2)
        x[n / 2] = INT64_MIN;  // below the base 0: an exception
      auto b = pack(x);
      got.assign(n, 12345);
      std::vector<char> exact(b.begin(), b.end());
      std::string_view in{exact.data(), exact.size()};
      CAF_CHECK(get_packed_ints(in, n, got.data()) && in.empty());
      CAF_CHECK(got == x);
      for (size_t len = 0; len < b.size(); ++len) {
        std::vector<char> cut(b.begin(), b.begin() + static_cast<ptrdiff_t>(len));
        std::string_view part{cut.data(), cut.size()};
        CAF_CHECK(!get_packed_ints(part, n, got.data()));
      }
    }
  }
}

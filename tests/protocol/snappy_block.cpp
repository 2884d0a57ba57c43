#define CAF_SUITE protocol.snappy_block
#include "test_support.hpp"

#include <random>
#include <string>

#include "protocol/snappy_block.hpp"

using namespace nl::protocol;
using nl::storage::status;

namespace {

std::string payload(size_t n) {
  std::string s;
  std::mt19937 rng(7);
  while (s.size() < n)
    s += "__name__ http_requests_total job api instance 10.0.0." + std::to_string(rng() % 50);
  s.resize(n);
  return s;
}

}  // namespace

CAF_TEST(round trip of empty and large bodies) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{200000}}) {
    auto in = payload(n);
    std::string out = "junk";
    CAF_CHECK(snappy_decode(snappy_encode(in), out).is_ok());
    CAF_CHECK(out == in);
  }
  // Snappy of zero bytes is the single preamble byte 0x00 (spec §1.2).
  CAF_CHECK_EQUAL(snappy_encode(""), std::string(1, '\0'));
}

CAF_TEST(framing format stream is corrupt input) {
  std::string framed("\xff\x06\x00\x00sNaPpY", 10);
  framed += std::string("\x01\x09\x00\x00\x00\x00\x00\x00hello", 13);
  std::string out;
  auto st = snappy_decode(framed, out);
  CAF_CHECK(!st.is_ok());
  CAF_CHECK_EQUAL(st.message(), "snappy: corrupt input");
  CAF_CHECK(st.error_code() == status::code::corruption);
}

CAF_TEST(bomb preamble is refused before allocation) {
  // Preamble announces 2^32-1 bytes, followed by nothing.
  std::string bomb("\xff\xff\xff\xff\x0f", 5);
  std::string out;
  auto st = snappy_decode(bomb, out, 32u << 20);
  CAF_CHECK(st.error_code() == status::code::limit_exceeded);
  CAF_CHECK_EQUAL(st.message(), "snappy: decoded length 4294967295 exceeds limit 33554432");
  CAF_CHECK(out.capacity() < 1024);
  // A real body just above the limit is refused the same way.
  auto big = snappy_encode(payload(1001));
  CAF_CHECK(snappy_decode(big, out, 1000).error_code() == status::code::limit_exceeded);
  CAF_CHECK(snappy_decode(big, out, 1001).is_ok());
}

CAF_TEST(every truncation of a valid block is rejected) {
  auto in = payload(5000);
  auto enc = snappy_encode(in);
  std::string out;
  for (size_t n = 0; n < enc.size(); ++n) {
    auto st = snappy_decode(std::string_view(enc).substr(0, n), out);
    if (st.is_ok())
      CAF_FAIL("truncation to " << n << " bytes decoded");
  }
}

CAF_TEST(random and flipped bytes give a clean error or a consistent result) {
  std::mt19937 rng(42);
  auto enc = snappy_encode(payload(3000));
  std::string out;
  size_t errors = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string junk;
    if (i % 2 == 0) {
      junk.resize(rng() % 64);
      for (auto& c : junk)
        c = static_cast<char>(rng());
    } else {
      junk = enc;
      for (int k = 0; k < 3; ++k)
        junk[rng() % junk.size()] ^= static_cast<char>(1 + rng() % 255);
    }
    auto st = snappy_decode(junk, out, 1 << 20);
    if (!st.is_ok()) {
      ++errors;
      CAF_CHECK(st.message().rfind("snappy: ", 0) == 0);
    }
  }
  CAF_CHECK(errors > 1000);
}

CAF_TEST(copy with offset zero or before the start is corrupt) {
  std::string out;
  // preamble 4, copy-1 (tag 01, len 4, offset 0): offset 0 is invalid.
  CAF_CHECK(!snappy_decode(std::string("\x04\x01\x00", 3), out).is_ok());
  // preamble 8, literal "ab", copy-1 len 4 offset 5 (> 2 bytes produced).
  CAF_CHECK(!snappy_decode(std::string("\x08\x04" "ab\x01\x05", 6), out).is_ok());
  // Valid overlapping copy: literal "ab" then copy len 6 offset 2 → "abababab".
  CAF_CHECK(snappy_decode(std::string("\x08\x04" "ab\x09\x02", 6), out).is_ok());
  CAF_CHECK_EQUAL(out, "abababab");
}

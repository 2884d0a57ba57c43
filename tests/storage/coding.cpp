#define CAF_SUITE storage.coding
#include "test_support.hpp"

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "storage/coding.hpp"

using namespace nl::storage;

CAF_TEST(crc32c matches the published check values on both paths) {
  std::string digits = "123456789";
  CAF_CHECK_EQUAL(crc32c(digits), 0xE3069283u);
  CAF_CHECK_EQUAL(crc32c_extend_portable(0, digits.data(), digits.size()), 0xE3069283u);
  std::string zeros(32, '\0');
  CAF_CHECK_EQUAL(crc32c(zeros), 0x8A9136AAu);
  CAF_CHECK_EQUAL(crc32c_extend_portable(0, zeros.data(), zeros.size()), 0x8A9136AAu);
  std::string ones(32, '\xff');
  CAF_CHECK_EQUAL(crc32c(ones), 0x62A8AB43u);
  CAF_CHECK_EQUAL(crc32c(std::string_view{}), 0u);
  CAF_MESSAGE("hardware crc32c: " << crc32c_hardware_accelerated());
#if defined(__x86_64__)
  // Every x86-64 CPU this runs on has SSE4.2; without it the comparisons
  // of the next test would compare the portable path with itself.
  CAF_CHECK(crc32c_hardware_accelerated());
#endif
}

CAF_TEST(crc32c hardware and portable paths agree at every length and alignment) {
  std::mt19937_64 rng{42};
  std::string buf(300, '\0');
  for (auto& c : buf)
    c = static_cast<char>(rng());
  for (size_t start = 0; start < 9; ++start)
    for (size_t len = 0; start + len <= buf.size(); len += 7) {
      auto hw = crc32c(buf.data() + start, len);
      auto sw = crc32c_extend_portable(0, buf.data() + start, len);
      if (hw != sw) {
        CAF_FAIL("crc mismatch at start " << start << " len " << len);
      }
    }
  // Past 1536 bytes the hardware path runs three streams and joins them:
  // lengths around and across its blocks, from every alignment.
  std::string big(20000, '\0');
  for (auto& c : big)
    c = static_cast<char>(rng());
  for (size_t start = 0; start < 9; ++start)
    for (size_t len : {size_t{1535}, size_t{1536}, size_t{1537}, size_t{3071}, size_t{3072}, size_t{3080},
                       size_t{4608}, size_t{9999}, size_t{19991}})
      if (crc32c(big.data() + start, len) != crc32c_extend_portable(0, big.data() + start, len))
        CAF_FAIL("crc mismatch at start " << start << " len " << len);
  for (size_t len = 0; len <= big.size(); len += 97)
    if (crc32c(big.data(), len) != crc32c_extend_portable(0, big.data(), len))
      CAF_FAIL("crc mismatch at len " << len);
  // Continuing from a CRC other than 0 through the three streams.
  const uint32_t head = crc32c(buf);
  CAF_CHECK_EQUAL(crc32c_extend(head, big.data(), big.size()),
                  crc32c_extend_portable(head, big.data(), big.size()));
  // Long runs of zeros and of ones (the join tables' extremes).
  for (char fill : {'\0', '\xff'}) {
    std::string same(6000, fill);
    CAF_CHECK_EQUAL(crc32c(same), crc32c_extend_portable(0, same.data(), same.size()));
  }
  // Extending equals one pass over the concatenation.
  auto whole = crc32c(buf);
  auto split = crc32c_extend(crc32c(buf.data(), 123), buf.data() + 123, buf.size() - 123);
  CAF_CHECK_EQUAL(whole, split);
}

CAF_TEST(fixed width integers are little endian) {
  std::string out;
  put_fixed32(out, 0x01020304u);
  put_fixed64(out, 0x0102030405060708ull);
  CAF_REQUIRE_EQUAL(out.size(), 12u);
  CAF_CHECK_EQUAL(out.substr(0, 4), std::string("\x04\x03\x02\x01", 4));
  CAF_CHECK_EQUAL(out.substr(4), std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  std::string_view in = out;
  uint32_t a = 0;
  uint64_t b = 0;
  CAF_CHECK(get_fixed32(in, a));
  CAF_CHECK(get_fixed64(in, b));
  CAF_CHECK_EQUAL(a, 0x01020304u);
  CAF_CHECK_EQUAL(b, 0x0102030405060708ull);
  CAF_CHECK(in.empty());
}

CAF_TEST(fixed width gets fail on short input without consuming) {
  std::string out;
  put_fixed64(out, 0xffffffffffffffffull);
  for (size_t n = 0; n < 8; ++n) {
    std::string_view in{out.data(), n};
    uint64_t v = 7;
    CAF_CHECK(!get_fixed64(in, v));
    CAF_CHECK_EQUAL(in.size(), n);
    CAF_CHECK_EQUAL(v, 7u);
    uint32_t w = 7;
    std::string_view in32{out.data(), n};
    CAF_CHECK_EQUAL(get_fixed32(in32, w), n >= 4);
  }
}

CAF_TEST(uvarint round trips edge values with the expected length) {
  const std::vector<std::pair<uint64_t, size_t>> cases = {
    {0, 1},           {1, 1},
    {127, 1},         {128, 2},
    {16383, 2},       {16384, 3},
    {1ull << 32, 5},  {(1ull << 63) - 1, 9},
    {1ull << 63, 10}, {std::numeric_limits<uint64_t>::max(), 10},
  };
  for (auto [value, len] : cases) {
    std::string out;
    put_uvarint(out, value);
    CAF_CHECK_EQUAL(out.size(), len);
    CAF_CHECK_EQUAL(uvarint_length(value), len);
    std::string_view in = out;
    uint64_t back = 0;
    CAF_CHECK(get_uvarint(in, back));
    CAF_CHECK_EQUAL(back, value);
    CAF_CHECK(in.empty());
  }
  std::string out;
  put_uvarint(out, 300);
  CAF_CHECK_EQUAL(out, std::string("\xac\x02", 2));
}

CAF_TEST(varint zigzag maps small negatives to short codes) {
  const std::vector<std::pair<int64_t, uint64_t>> zigzag = {
    {0, 0}, {-1, 1}, {1, 2}, {-2, 3}, {2, 4},
    {std::numeric_limits<int64_t>::max(), std::numeric_limits<uint64_t>::max() - 1},
    {std::numeric_limits<int64_t>::min(), std::numeric_limits<uint64_t>::max()},
  };
  for (auto [value, mapped] : zigzag) {
    std::string signed_out;
    std::string unsigned_out;
    put_varint(signed_out, value);
    put_uvarint(unsigned_out, mapped);
    CAF_CHECK_EQUAL(signed_out, unsigned_out);
    CAF_CHECK_EQUAL(varint_length(value), signed_out.size());
    std::string_view in = signed_out;
    int64_t back = 1;
    CAF_CHECK(get_varint(in, back));
    CAF_CHECK_EQUAL(back, value);
  }
}

CAF_TEST(varint lengths match what put writes at every bit length) {
  for (int bits = 0; bits <= 64; ++bits) {
    uint64_t top = bits == 0 ? 0 : bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    for (uint64_t u : {top, top == 0 ? 0 : (top >> 1) + 1}) {
      std::string out;
      put_uvarint(out, u);
      CAF_CHECK_EQUAL(uvarint_length(u), out.size());
      // The negation in uint64_t: -INT64_MIN is undefined in int64_t.
      for (int64_t v : {static_cast<int64_t>(u), static_cast<int64_t>(0 - u)}) {
        out.clear();
        put_varint(out, v);
        CAF_CHECK_EQUAL(varint_length(v), out.size());
      }
    }
  }
}

CAF_TEST(truncated varints fail and leave the input untouched) {
  std::string out;
  put_uvarint(out, std::numeric_limits<uint64_t>::max());
  for (size_t n = 0; n < out.size(); ++n) {
    std::string_view in{out.data(), n};
    uint64_t v = 5;
    CAF_CHECK(!get_uvarint(in, v));
    CAF_CHECK_EQUAL(in.size(), n);
    CAF_CHECK_EQUAL(v, 5u);
    int64_t s = 5;
    std::string_view sin{out.data(), n};
    CAF_CHECK(!get_varint(sin, s));
  }
}

CAF_TEST(overlong and overflowing varints are rejected) {
  // Eleven continuation bytes: longer than any 64-bit value.
  std::string overlong(11, '\x80');
  std::string_view in = overlong;
  uint64_t v = 0;
  CAF_CHECK(!get_uvarint(in, v));
  // Ten bytes whose last carries more than bit 63.
  std::string overflow(9, '\xff');
  overflow.push_back('\x02');
  in = overflow;
  CAF_CHECK(!get_uvarint(in, v));
  overflow.back() = '\x01';
  in = overflow;
  CAF_CHECK(get_uvarint(in, v));
  CAF_CHECK_EQUAL(v, std::numeric_limits<uint64_t>::max());
}

CAF_TEST(length prefixed strings reject lengths past the end) {
  std::string out;
  put_length_prefixed(out, "hello");
  std::string_view in = out;
  std::string_view s;
  CAF_CHECK(get_length_prefixed(in, s));
  CAF_CHECK_EQUAL(s, "hello");
  CAF_CHECK(in.empty());
  for (size_t n = 0; n < out.size(); ++n) {
    std::string_view cut{out.data(), n};
    CAF_CHECK(!get_length_prefixed(cut, s));
    CAF_CHECK_EQUAL(cut.size(), n);
  }
  std::string huge;
  put_uvarint(huge, std::numeric_limits<uint64_t>::max());
  huge += "abc";
  in = huge;
  CAF_CHECK(!get_length_prefixed(in, s));
  CAF_CHECK_EQUAL(in.size(), huge.size());
}

#define CAF_SUITE storage.chunk.dense_chunk
#include "test_support.hpp"

#include <cfloat>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "storage/chunk/dense_chunk.hpp"

using namespace nl::storage;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

std::string encode(const std::vector<sample>& s) {
  std::string out;
  encode_dense_chunk(s.data(), s.size(), out);
  return out;
}

bool same(const std::vector<sample>& a, const std::vector<sample>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].t != b[i].t || float_bits(a[i].v) != float_bits(b[i].v))
      return false;
  return true;
}

// Encodes, decodes and compares bit for bit; returns the encoded size.
size_t round_trip(const std::vector<sample>& s) {
  auto bytes = encode(s);
  // Decoding appends: keep something in front to see that it stays.
  std::vector<sample> got = {{-1, 42.0}};
  auto st = decode_dense_chunk(bytes, s.front().t, got);
  CAF_CHECK(st.is_ok());
  if (!st)
    CAF_MESSAGE(st.message());
  CAF_CHECK_EQUAL(got.front().t, -1);
  got.erase(got.begin());
  CAF_CHECK(same(got, s));
  CAF_CHECK_EQUAL(dense_chunk_samples(bytes), s.size());
  return bytes.size();
}

std::vector<sample> regular(const std::vector<double>& values, int64_t t0 = 1'700'000'000'000, int64_t step = 15000) {
  std::vector<sample> out;
  for (size_t i = 0; i < values.size(); ++i)
    out.push_back({t0 + static_cast<int64_t>(i) * step, values[i]});
  return out;
}

std::string hex(std::string_view b) {
  std::string out;
  char buf[4];
  for (size_t i = 0; i < b.size(); ++i) {
    std::snprintf(buf, sizeof buf, i ? " %02x" : "%02x", static_cast<unsigned char>(b[i]));
    out += buf;
  }
  return out;
}

const double special[] = {0.0,
                          -0.0,
                          inf,
                          -inf,
                          stale_nan(),
                          float_from_bits(normal_nan_bits),
                          float_from_bits(0x7ff8000000000000ULL),
                          float_from_bits(0xfff8000000000000ULL),
                          float_from_bits(0x7ff0000000000001ULL),
                          float_from_bits(0x7fffffffffffffffULL),
                          float_from_bits(0xffffffffffffffffULL),
                          1e-300,
                          -1e-300,
                          5e-324,
                          DBL_MIN,
                          DBL_MAX,
                          -DBL_MAX,
                          1e300,
                          0.1 + 0.2,
                          9007199254740993.0,
                          -123.456};

}  // namespace

CAF_TEST(the worked example of FORMAT.md) {
  // Chunks (dense), "Worked example": a cent-rounded gauge with a
  // staleness marker at the end.
  std::vector<sample> s = {{1000, 12.5}, {16000, 13.75}, {31000, 15.0}, {46005, 16.25}, {61000, stale_nan()}};
  auto bytes = encode(s);
  CAF_CHECK_EQUAL(hex(bytes), "05 b0 ea 01 13 1e fa 00 25 c4 13 fa 01 00 01 04 02 00 00 00 00 00 f0 7f");
  CAF_CHECK_EQUAL(round_trip(s), bytes.size());
}

CAF_TEST(single samples of every special value round trip) {
  for (double v : special)
    for (int64_t t : {int64_t{0}, int64_t{-1}, INT64_MIN, INT64_MAX, int64_t{1'700'000'000'000}})
      round_trip({{t, v}});
}

CAF_TEST(special values inside decimal and sum series are exceptions) {
  for (double v : special) {
    // A cent-rounded gauge (decimal) and a counter adding cents to an
    // arbitrary float (sum), with the special value at the start, in the
    // middle and at the end.
    std::vector<double> gauge, counter;
    double c = 12345.678901234567;
    for (int i = 0; i < 200; ++i) {
      gauge.push_back(std::round((100 + std::sin(i) * 50) * 100) / 100);
      c += std::round(1000 * std::fabs(std::cos(i))) / 100;
      counter.push_back(c);
    }
    for (auto* vs : {&gauge, &counter}) {
      for (size_t at : {size_t{0}, size_t{77}, size_t{199}}) {
        auto copy = *vs;
        copy[at] = v;
        round_trip(regular(copy));
      }
    }
  }
}

CAF_TEST(integer kinds make typical series small) {
  std::mt19937_64 rng{1};
  std::uniform_real_distribution<double> u{0, 1};
  std::vector<double> counter, gauge, cents, constant;
  double c = 1e5 * u(rng), g = 8e9, k = 0;
  for (int i = 0; i < 120; ++i) {
    c += std::round(0.9 * 15 * (0.5 + u(rng)) * 100) / 100;  // 675..2025 cents onto a random float
    g = std::round((g + 1e6 * (u(rng) - 0.5)) * 100) / 100;  // random walk in cents
    k += std::floor(300 * u(rng));                            // integer counter
    counter.push_back(c);
    gauge.push_back(g);
    cents.push_back(k);
    constant.push_back(1);
  }
  // Header overhead ~20 bytes, then about the log2 of each range per value.
  CAF_CHECK(round_trip(regular(counter)) <= 20 + 120 * 11 / 8 + 2);
  CAF_CHECK(round_trip(regular(gauge)) <= 20 + 120 * 27 / 8 + 2);
  CAF_CHECK(round_trip(regular(cents)) <= 20 + 120 * 9 / 8 + 2);
  // n, step, dods (2), head, ints (2), no exceptions.
  CAF_CHECK_EQUAL(round_trip(regular(constant)), 10u);
}

CAF_TEST(huge small and mixed magnitudes round trip) {
  std::mt19937_64 rng{2};
  std::vector<std::vector<double>> cases;
  std::vector<double> tiny, huge, mixed, subnormal, alternating, random_bits;
  for (int i = 0; i < 300; ++i) {
    tiny.push_back(1e-300 * (1 + i));
    huge.push_back(1e300 / (1 + i));
    mixed.push_back(i % 3 == 0 ? 1e-300 : i % 3 == 1 ? -1e300 : static_cast<double>(i));
    subnormal.push_back(5e-324 * i);
    alternating.push_back(i % 2 ? -0.0 : 0.0);
    random_bits.push_back(float_from_bits(rng()));
  }
  for (const auto* c : {&tiny, &huge, &mixed, &subnormal, &alternating, &random_bits})
    round_trip(regular(*c));
}

CAF_TEST(irregular and negative timestamps round trip) {
  std::mt19937_64 rng{3};
  std::vector<std::vector<int64_t>> times = {
    {INT64_MIN, INT64_MAX},
    {INT64_MAX, INT64_MIN, 0},
    {-5, -4, -2, 1, 100000000000, 100000000001},
    {0, 0, 0},  // not increasing: the codec does not care
    {INT64_MIN, INT64_MIN + 1, INT64_MIN + 3, INT64_MAX - 1, INT64_MAX},
  };
  for (int r = 0; r < 50; ++r) {
    std::vector<int64_t> t;
    int64_t now = static_cast<int64_t>(rng()) >> (r % 40);
    for (int i = 0; i < 500; ++i) {
      int64_t jitter = static_cast<int64_t>(rng() % 200) - 100;
      int64_t step = rng() % 50 == 0 ? 3'600'000 : 15000;  // a gap now and then
      now += step + jitter;
      t.push_back(now);
    }
    times.push_back(t);
  }
  for (const auto& ts : times) {
    std::vector<sample> s;
    for (size_t i = 0; i < ts.size(); ++i)
      s.push_back({ts[i], static_cast<double>(i)});
    round_trip(s);
  }
}

CAF_TEST(the largest chunk round trips) {
  std::mt19937_64 rng{4};
  std::vector<sample> s;
  double v = 0;
  for (size_t i = 0; i < dense_chunk_max_samples; ++i) {
    v += static_cast<double>(rng() % 1000) / 100;
    s.push_back({static_cast<int64_t>(i) * 15000 - 1'000'000'000, i % 10000 == 5 ? stale_nan() : v});
  }
  CAF_CHECK(round_trip(s) < dense_chunk_max_samples * 2);
}

CAF_TEST(random series of every shape round trip bit for bit) {
  std::mt19937_64 rng{5};
  std::uniform_real_distribution<double> u{0, 1};
  for (int round = 0; round < 3000; ++round) {
    size_t n = 1 + rng() % (round % 10 == 0 ? 3000 : 150);
    int shape = static_cast<int>(rng() % 8);
    int p = static_cast<int>(rng() % 18);
    double scale = std::pow(10.0, p);
    double v = (u(rng) - 0.5) * std::pow(10.0, static_cast<int>(rng() % 30) - 10);
    std::vector<sample> s;
    int64_t t = static_cast<int64_t>(rng() >> 20) - (int64_t{1} << 43);
    int64_t step = 1 + static_cast<int64_t>(rng() % 60000);
    for (size_t i = 0; i < n; ++i) {
      t += rng() % 4 == 0 ? step + static_cast<int64_t>(rng() % 7) - 3 : step;
      switch (shape) {
        case 0: v = std::round((v + u(rng) - 0.5) * scale) / scale; break;   // decimal, p digits
        case 1: v += std::round(u(rng) * scale) / scale; break;              // sum
        case 2: v = float_from_bits(rng()); break;                            // anything
        case 3: v = special[rng() % std::size(special)]; break;               // only specials
        case 4: v = std::floor(u(rng) * 1e6); break;                          // integers
        case 5: v *= 1 + (u(rng) - 0.5) * 1e-3; break;                        // drifting float
        case 6: v = rng() % 10 ? std::round(u(rng) * 1000) / 10 : special[rng() % std::size(special)]; break;
        default: break;                                                       // constant
      }
      s.push_back({t, v});
    }
    round_trip(s);
  }
}

CAF_TEST(truncated trailing and flipped bytes are corruption never a crash) {
  std::mt19937_64 rng{6};
  std::vector<std::vector<sample>> inputs;
  std::vector<double> counter, floats;
  double c = 1234.5678;
  for (int i = 0; i < 300; ++i) {
    c += static_cast<double>(rng() % 500) / 100;
    counter.push_back(i == 100 ? stale_nan() : c);
    floats.push_back(float_from_bits(rng()));
  }
  inputs.push_back(regular(counter));
  inputs.push_back(regular(floats));
  inputs.push_back(regular({1.0}));
  for (const auto& s : inputs) {
    auto bytes = encode(s);
    std::vector<sample> got;
    for (size_t len = 0; len < bytes.size(); ++len) {
      std::string cut = bytes.substr(0, len);  // exactly len bytes: a sanitizer sees over-reads
      got.clear();
      CAF_CHECK_EQUAL(decode_dense_chunk(cut, 0, got).error_code(), status::code::corruption);
      CAF_CHECK(got.empty());
    }
    got.clear();
    CAF_CHECK_EQUAL(decode_dense_chunk(bytes + '\0', 0, got).error_code(), status::code::corruption);
    CAF_CHECK(got.empty());
    for (int round = 0; round < 3000; ++round) {
      std::string junk = bytes;
      for (int k = 0; k <= round % 3; ++k)
        junk[rng() % junk.size()] ^= static_cast<char>(1 + rng() % 255);
      got.clear();
      auto st = decode_dense_chunk(junk, 0, got);
      CAF_CHECK(st.is_ok() || got.empty());
      CAF_CHECK(got.size() <= dense_chunk_max_samples);
    }
  }
  // Sample counts out of range.
  std::vector<sample> got;
  CAF_CHECK(!decode_dense_chunk(std::string("\x00", 1), 0, got).is_ok());
  CAF_CHECK(!decode_dense_chunk("\x80\x80\x04", 0, got).is_ok());  // 65536
  CAF_CHECK(!decode_dense_chunk("", 0, got).is_ok());
  CAF_CHECK_EQUAL(dense_chunk_samples(""), 0u);
}

#define CAF_SUITE storage.chunk.xor_chunk
#include "test_support.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "storage/chunk/xor_chunk.hpp"
#include "storage/hex.hpp"

using namespace nl::storage;
using nl::test::hex;
using nl::test::unhex;

namespace {

// Compares timestamps and value bits; returns the first differing index or -1.
int first_difference(const std::vector<sample>& a, const std::vector<sample>& b) {
  if (a.size() != b.size())
    return static_cast<int>(std::min(a.size(), b.size()));
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].t != b[i].t || float_bits(a[i].v) != float_bits(b[i].v))
      return static_cast<int>(i);
  return -1;
}

// Decodes with the iterator, and checks that the bulk decoder
// (xor_chunk::decode, with its own fast path) gives the same samples and
// the same error.
std::vector<sample> decode_all(std::string_view bytes, status& err) {
  std::vector<sample> out;
  xor_iterator it{bytes};
  while (it.next())
    out.push_back(it.at());
  err = it.error();
  xor_chunk c{std::vector<uint8_t>(bytes.begin(), bytes.end()), INT64_MIN, INT64_MAX, 0.0};
  std::vector<sample> bulk;
  auto st = c.decode(INT64_MIN, INT64_MAX, bulk);
  CAF_CHECK_EQUAL(first_difference(out, bulk), -1);
  CAF_CHECK_EQUAL(st.error_code(), err.error_code());
  CAF_CHECK_EQUAL(st.message(), err.message());
  return out;
}

std::string encode(const std::vector<sample>& in) {
  xor_appender app;
  for (auto& s : in)
    app.append(s.t, s.v);
  return std::string(app.bytes());
}

void check_round_trip(const std::vector<sample>& in) {
  status err;
  auto out = decode_all(encode(in), err);
  CAF_CHECK(err.is_ok());
  CAF_CHECK_EQUAL(first_difference(in, out), -1);
}

}  // namespace

CAF_TEST(one sample matches the bytes prometheus sent) {
  // From the spec: data = 0001 fc9fc6f7c268 3ff0000000000000; the zigzag
  // varint fc9fc6f7c268 decodes to t = 1795690121214.
  xor_appender app;
  app.append(1795690121214, 1.0);
  CAF_CHECK_EQUAL(hex(app.bytes()), "0001fc9fc6f7c2683ff0000000000000");
  status err;
  auto out = decode_all(app.bytes(), err);
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK_EQUAL(out[0].t, 1795690121214);
  CAF_CHECK_EQUAL(out[0].v, 1.0);
}

// Each case in a golden file lists samples and the chunk bytes expected
// for them: our encoder must produce those bytes and decode them back.
// Returns the number of cases checked.
static int check_golden_file(const std::string& path) {
  std::ifstream in{path};
  if (!in.good()) {
    CAF_FAIL("cannot open " << path);
    return 0;
  }
  std::string line, name;
  std::vector<sample> samples;
  int cases = 0;
  while (std::getline(in, line)) {
    std::istringstream ls{line};
    std::string kind;
    ls >> kind;
    if (kind == "case") {
      ls >> name;
      samples.clear();
    } else if (kind == "s") {
      int64_t t;
      std::string vhex;
      ls >> t >> vhex;
      samples.push_back({t, float_from_bits(std::stoull(vhex, nullptr, 16))});
    } else if (kind == "chunk") {
      std::string chunk_hex;
      ls >> chunk_hex;
      CAF_MESSAGE("case " << name);
      CAF_CHECK_EQUAL(hex(encode(samples)), chunk_hex);
      status err;
      auto out = decode_all(unhex(chunk_hex), err);
      CAF_CHECK(err.is_ok());
      CAF_CHECK_EQUAL(first_difference(samples, out), -1);
      ++cases;
    }
  }
  return cases;
}

CAF_TEST(golden chunks from an independent encoder match byte for byte) {
  CAF_CHECK_EQUAL(check_golden_file(NL_TEST_DATA_DIR "/xor_golden.txt"), 6);
}

CAF_TEST(chunks captured from prometheus 2.42 match byte for byte) {
  // tests/testdata/xor_prometheus.py: remote write to a real Prometheus,
  // remote read STREAMED_XOR_CHUNKS back.
  CAF_CHECK_EQUAL(check_golden_file(NL_TEST_DATA_DIR "/xor_prometheus.txt"), 7);
}

CAF_TEST(random values and timestamps round trip bit exactly) {
  std::mt19937_64 rng{42};
  for (int round = 0; round < 200; ++round) {
    std::vector<sample> in;
    int64_t t = static_cast<int64_t>(rng()) >> (rng() % 64);
    int n = 1 + static_cast<int>(rng() % 120);
    for (int i = 0; i < n; ++i) {
      switch (rng() % 4) {
        case 0: t += 15000; break;
        case 1: t += static_cast<int64_t>(rng() % 100000); break;
        case 2: t += static_cast<int64_t>(rng() >> (rng() % 64)) >> 2; break;
        default: break;  // equal timestamps: delta 0
      }
      double v;
      switch (rng() % 5) {
        case 0: v = float_from_bits(rng()); break;  // any bits, NaN payloads too
        case 1: v = static_cast<double>(rng() % 1000); break;
        case 2: v = in.empty() ? 0.5 : in.back().v; break;
        case 3: v = std::ldexp(static_cast<double>(rng() % 4096), static_cast<int>(rng() % 200) - 100); break;
        default: v = (rng() & 1) ? stale_nan() : -0.0;
      }
      in.push_back({t, v});
    }
    check_round_trip(in);
  }
}

CAF_TEST(counter shaped series round trip through the one load fast path) {
  // Regular 15 s steps with the odd jitter or jump (every dod bucket, the
  // 64-bit one too), values that stay, grow by a few mantissa bits, or jump
  // to a wide new window (more significant bits than one load holds).
  std::mt19937_64 rng{11};
  for (int round = 0; round < 100; ++round) {
    std::vector<sample> in;
    int64_t t = 1'700'000'000'000;
    double v = static_cast<double>(rng() % 100000);
    for (int i = 0; i < 120 + static_cast<int>(rng() % 400); ++i) {
      switch (rng() % 16) {
        case 0: t += 15000 + static_cast<int64_t>(rng() % 16000) - 8000; break;
        case 1: t += 15000 + static_cast<int64_t>(rng() % 1000000) - 500000; break;
        case 2: t += static_cast<int64_t>(rng() % 1'000'000'000); break;
        default: t += 15000;
      }
      switch (rng() % 8) {
        case 0: break;
        case 1: v = float_from_bits(rng()); break;
        case 2: v += static_cast<double>(rng() % 7) / 100; break;
        default: v += static_cast<double>(rng() % 300);
      }
      in.push_back({t, v});
    }
    check_round_trip(in);
  }
}

CAF_TEST(special values keep their bits) {
  std::vector<sample> in{{1, stale_nan()},
                         {2, float_from_bits(normal_nan_bits)},
                         {3, std::numeric_limits<double>::infinity()},
                         {4, -std::numeric_limits<double>::infinity()},
                         {5, float_from_bits(0x7ff0deadbeef0001ULL)},
                         {6, float_from_bits(0xfff8000000000000ULL)},
                         {7, std::numeric_limits<double>::denorm_min()},
                         {8, stale_nan()},
                         {9, stale_nan()}};
  check_round_trip(in);
  status err;
  auto out = decode_all(encode(in), err);
  CAF_REQUIRE_EQUAL(out.size(), in.size());
  CAF_CHECK_EQUAL(float_bits(out[0].v), stale_nan_bits);
  CAF_CHECK_EQUAL(float_bits(out[8].v), stale_nan_bits);
}

CAF_TEST(extreme and negative timestamp steps need the 64 bit bucket) {
  constexpr int64_t lo = std::numeric_limits<int64_t>::min();
  constexpr int64_t hi = std::numeric_limits<int64_t>::max();
  check_round_trip({{lo, 1}, {hi, 2}, {lo, 3}, {0, 4}, {hi, 5}, {hi, 6}, {-1, 7}});
  check_round_trip({{0, 1}, {-5, 2}, {-10, 3}, {-10, 4}, {1'000'000'000'000, 5}, {-3, 6}});
  check_round_trip({{100, 1}, {100, 1}, {100, 1}});
  // Bucket edges: dod = 2^13, -(2^13-1), 2^13+1, 2^16, 2^19, 2^19+1.
  std::vector<sample> edges;
  int64_t t = 0, delta = 0;
  edges.push_back({t, 0});
  for (int64_t dod : {int64_t{0}, int64_t{8192}, int64_t{-8191}, int64_t{8193}, int64_t{-8192},
                      int64_t{65536}, int64_t{-65535}, int64_t{524288}, int64_t{524289},
                      int64_t{-524288}}) {
    delta += dod;
    t += delta;
    edges.push_back({t, static_cast<double>(t)});
  }
  check_round_trip(edges);
}

CAF_TEST(truncated chunks stop with an error) {
  std::vector<sample> in;
  for (int i = 0; i < 120; ++i)
    in.push_back({1000 * i + (i % 7) * 13, i * 1.25});
  std::string full = encode(in);
  for (size_t len = 0; len < full.size(); ++len) {
    status err;
    auto out = decode_all(std::string_view(full).substr(0, len), err);
    // The last byte may hold only padding, so only the last cut may succeed.
    if (len + 1 < full.size()) {
      CAF_CHECK(!err.is_ok());
      CAF_CHECK(out.size() < in.size());
    }
    if (!err.is_ok())
      CAF_CHECK_EQUAL(err.error_code(), status::code::corruption);
  }
  CAF_CHECK(!xor_chunk::from_bytes(full.substr(0, full.size() / 2)).is_ok());
  CAF_CHECK(!xor_chunk::from_bytes("").is_ok());
  CAF_CHECK(!xor_chunk::from_bytes(std::string("\x00\x00", 2)).is_ok());
  auto ok = xor_chunk::from_bytes(full);
  CAF_REQUIRE(ok.is_ok());
  CAF_CHECK_EQUAL(ok->num_samples(), 120);
  CAF_CHECK_EQUAL(ok->min_time(), 0);
  CAF_CHECK_EQUAL(ok->max_time(), in.back().t);
}

CAF_TEST(garbage and flipped bytes never crash) {
  std::mt19937_64 rng{7};
  std::vector<sample> in;
  for (int i = 0; i < 50; ++i)
    in.push_back({15000 * i, std::sin(i)});
  std::string good = encode(in);
  for (int round = 0; round < 2000; ++round) {
    std::string b = good;
    if (round % 2 == 0) {
      b[rng() % b.size()] ^= static_cast<char>(1 + rng() % 255);
    } else {
      b.resize(rng() % 64);
      for (auto& c : b)
        c = static_cast<char>(rng());
    }
    status err;
    auto out = decode_all(b, err);
    CAF_CHECK(out.size() <= 0xffff);
  }
  // A window claiming 31 leading and 64 significant bits is rejected.
  bit_writer w{2, 32};
  w.buffer()[1] = 2;
  w.write_varint(0);
  w.write_bits(0, 64);
  w.write_uvarint(1);
  w.write_bits(0b11, 2);
  w.write_bits(31, 5);
  w.write_bits(0, 6);
  w.write_bits(~uint64_t{0}, 64);
  status err;
  auto out = decode_all(w.bytes(), err);
  CAF_CHECK_EQUAL(out.size(), 1u);
  CAF_CHECK(!err.is_ok());
  // A huge sample count with few bytes ends in an error, not a long loop.
  std::string huge = good;
  huge[0] = '\xff';
  huge[1] = '\xff';
  decode_all(huge, err);
  CAF_CHECK(!err.is_ok());
}

CAF_TEST(cut hands over the chunk and starts a fresh one) {
  xor_appender app;
  for (int i = 0; i < 120; ++i)
    app.append(15000 * i, 1.0 * i);
  auto snap = app.snapshot();
  auto chunk = app.cut();
  CAF_CHECK_EQUAL(chunk->bytes(), snap->bytes());
  CAF_CHECK_EQUAL(chunk->num_samples(), 120);
  CAF_CHECK_EQUAL(chunk->min_time(), 0);
  CAF_CHECK_EQUAL(chunk->max_time(), 15000 * 119);
  CAF_CHECK(app.empty());
  CAF_MESSAGE("120 regular samples take " << chunk->bytes().size() << " bytes");
  CAF_CHECK(chunk->bytes().size() < 260);
  app.append(5, 2.0);
  app.append(6, 2.0);
  status err;
  auto out = decode_all(app.bytes(), err);
  CAF_REQUIRE_EQUAL(out.size(), 2u);
  CAF_CHECK_EQUAL(out[1].t, 6);
  CAF_CHECK(app.snapshot()->overlaps(6, 100));
  CAF_CHECK(!app.snapshot()->overlaps(7, 100));
}

CAF_TEST(decode keeps only the window and decode_chunks drops overlaps) {
  xor_appender app;
  for (int i = 0; i < 10; ++i)
    app.append(i * 1000, i);
  auto a = app.cut();  // t 0..9000
  for (int i = 8; i < 20; ++i)
    app.append(i * 1000, i * 10);  // overlaps a at 8000 and 9000
  auto b = app.cut();
  std::vector<sample> out;
  CAF_CHECK(a->decode(2500, 4000, out).is_ok());
  CAF_REQUIRE_EQUAL(out.size(), 2u);
  CAF_CHECK_EQUAL(out[0].t, 3000);
  CAF_CHECK_EQUAL(out[1].t, 4000);
  out.clear();
  CAF_CHECK(a->decode(10000, 20000, out).is_ok());  // outside: nothing
  CAF_CHECK(out.empty());
  CAF_CHECK(decode_chunks({a, b}, 5000, 12000, out).is_ok());
  std::vector<int64_t> ts;
  for (auto& s : out)
    ts.push_back(s.t);
  CAF_CHECK_EQUAL(ts, (std::vector<int64_t>{5000, 6000, 7000, 8000, 9000, 10000, 11000, 12000}));
  CAF_CHECK_EQUAL(out[3].v, 8);    // a's sample wins over b's at 8000
  CAF_CHECK_EQUAL(out[5].v, 100);  // b from 10000 on
  auto bad = std::make_shared<const xor_chunk>(std::vector<uint8_t>{0, 5, 1}, 0, 100, 0.0);
  out.clear();
  CAF_CHECK_EQUAL(decode_chunks({a, bad}, 0, 100000, out).error_code(), status::code::corruption);
}

CAF_TEST(a chunk knows its last value bit for bit however it was made) {
  // Instant selectors read the newest sample from here instead of decoding.
  for (double last : {2.5, stale_nan(), -0.0}) {
    xor_appender app;
    app.append(1000, 1);
    app.append(2000, last);
    auto snap = app.snapshot();
    CAF_CHECK_EQUAL(snap->max_time(), 2000);
    CAF_CHECK_EQUAL(float_bits(snap->last_value()), float_bits(last));
    auto parsed = xor_chunk::from_bytes(snap->bytes());
    CAF_REQUIRE(parsed.is_ok());
    CAF_CHECK_EQUAL(float_bits(parsed->last_value()), float_bits(last));
    auto cut = app.cut();
    CAF_CHECK_EQUAL(float_bits(cut->last_value()), float_bits(last));
  }
}

CAF_TEST(an appender restored from its bytes and state goes on as the original) {
  std::mt19937_64 rng{7};
  for (int round = 0; round < 300; ++round) {
    int n = 1 + static_cast<int>(rng() % 130);
    int split = 1 + static_cast<int>(rng() % n);
    std::vector<sample> want;
    int64_t t = static_cast<int64_t>(rng() % 100000) - 50000;
    double v = 0;
    for (int i = 0; i < n; ++i) {
      t += (round % 3 == 0) ? 15000 : static_cast<int64_t>(rng() % 40000);
      if (round % 4 == 1 && i < split)
        v = 42;  // unchanged until the split: no value window yet
      else if (rng() % 3 != 0)
        v += static_cast<double>(rng() % 1000) / 8;
      want.push_back({t, v});
    }
    xor_appender original;
    for (int i = 0; i < split; ++i)
      original.append(want[i].t, want[i].v);
    // Into an appender that was used before: nothing of it is left.
    std::optional<xor_appender> restored{std::in_place};
    restored->append(1, 1);
    restored->append(2, 3);
    CAF_REQUIRE(restored->restore(original.bytes(), original.saved_state()).is_ok());
    CAF_CHECK_EQUAL(restored->num_samples(), split);
    CAF_CHECK_EQUAL(restored->min_time(), want[0].t);
    CAF_CHECK_EQUAL(restored->max_time(), want[split - 1].t);
    for (int i = split; i < n; ++i) {
      original.append(want[i].t, want[i].v);
      restored->append(want[i].t, want[i].v);
    }
    // The very same bytes, so the same samples.
    CAF_REQUIRE_EQUAL(original.bytes() == restored->bytes(), true);
    std::vector<sample> got;
    CAF_REQUIRE(restored->snapshot()->decode(INT64_MIN, INT64_MAX, got).is_ok());
    CAF_REQUIRE_EQUAL(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      CAF_CHECK_EQUAL(got[i].t, want[i].t);
      CAF_CHECK_EQUAL(float_bits(got[i].v), float_bits(want[i].v));
    }
  }
  // States that cannot belong to the bytes.
  xor_appender one;
  one.append(1000, 1);
  auto good = one.saved_state();
  auto refused = [&](std::string_view bytes, xor_appender::state s) {
    xor_appender a;  // one in use: a refusal leaves it as it was
    a.append(5, 5);
    std::string before{a.bytes()};
    return a.restore(bytes, s).error_code() == status::code::corruption && a.num_samples() == 1
           && a.max_time() == 5 && a.bytes() == before;
  };
  CAF_CHECK(xor_appender{}.restore(one.bytes(), good).is_ok());
  xor_appender empty;
  CAF_CHECK(refused(empty.bytes(), good));
  CAF_CHECK(refused("", good));
  auto s = good;
  s.t = 999;  // before the first
  CAF_CHECK(refused(one.bytes(), s));
  s = good;
  s.t_delta = 15000;  // one sample has no step
  CAF_CHECK(refused(one.bytes(), s));
  s = good;
  s.leading = 3;  // a value window after one sample
  CAF_CHECK(refused(one.bytes(), s));
  xor_appender two;
  two.append(1000, 1);
  two.append(16000, 2);
  CAF_CHECK(xor_appender{}.restore(two.bytes(), two.saved_state()).is_ok());
  s = two.saved_state();
  s.t_delta = 14000;  // two samples: the step is the span
  CAF_CHECK(refused(two.bytes(), s));
  s = two.saved_state();
  s.leading = 40;
  CAF_CHECK(refused(two.bytes(), s));
  s = two.saved_state();
  s.leading = 30;
  s.trailing = 40;
  CAF_CHECK(refused(two.bytes(), s));
  s = good;
  s.free_bits = 8;
  CAF_CHECK(refused(one.bytes(), s));
  std::string set_tail{one.bytes()};
  set_tail.back() = static_cast<char>(set_tail.back() | 1);
  s = good;
  s.free_bits = 7;
  CAF_CHECK(refused(set_tail, s));
}

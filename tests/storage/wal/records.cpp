#define CAF_SUITE storage.wal.records
#include "test_support.hpp"

#include <algorithm>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "storage/coding.hpp"
#include "storage/hex.hpp"
#include "storage/label_key.hpp"
#include "storage/sample.hpp"
#include "storage/wal/records.hpp"

using namespace nl::storage;
using nl::test::hex;

namespace {

std::vector<series_record> some_series() {
  return {
    {5, label_set::from_unsorted({{"__name__", "up"}, {"job", "a"}})},
    {1ull << 40, label_set::from_unsorted({{"__name__", "http_requests_total"},
                                           {"code", "200"},
                                           {"path", std::string(300, 'p')}})},
    {0, label_set{}},
  };
}

std::vector<sample_record> some_samples() {
  return {
    {100, 1700000000000, 1.5},
    {99, 1699999999999, -0.0},  // refs and times may go backwards
    {std::numeric_limits<uint64_t>::max(), std::numeric_limits<int64_t>::min(), 3.0},
    {0, std::numeric_limits<int64_t>::max(), std::numeric_limits<double>::infinity()},
    {7, -5, stale_nan()},
    {7, 0, float_from_bits(normal_nan_bits)},
  };
}

bool same_bits(const std::vector<sample_record>& a, const std::vector<sample_record>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].ref != b[i].ref || a[i].t != b[i].t || float_bits(a[i].v) != float_bits(b[i].v))
      return false;
  return true;
}

bool same_series(const std::vector<series_record>& a, const std::vector<series_record>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].ref != b[i].ref || a[i].labels != b[i].labels)
      return false;
  return true;
}

}  // namespace

CAF_TEST(samples record matches the documented bytes) {
  // The worked example in storage/FORMAT.md, "WAL records".
  std::string out;
  encode_samples({{5, 1000, 1.0}, {6, 1015, stale_nan()}}, out);
  CAF_CHECK_EQUAL(hex(out), "0205d00f0000000000000000f03f021e020000000000f07f");
}

CAF_TEST(series record matches the documented bytes) {
  std::string out;
  encode_series({{5, label_set::from_unsorted({{"__name__", "up"}, {"job", "a"}})}}, out);
  CAF_CHECK_EQUAL(hex(out), "01050208" + hex("__name__") + "02" + hex("up") + "03" + hex("job")
                              + "01" + hex("a"));
}

CAF_TEST(piecewise writers give the same bytes as the vector encoders) {
  std::vector<sample_record> xs{{5, 1000, 1.0}, {3, 990, stale_nan()}, {9, 2000, -0.5}};
  std::string whole;
  encode_samples(xs, whole);
  std::string piecewise;
  samples_record_writer w(piecewise, 0);
  for (const auto& x : xs)
    w.add(x.ref, x.t, float_bits(x.v));
  CAF_CHECK_EQUAL(w.size(), 3u);
  CAF_CHECK_EQUAL(hex(piecewise), hex(whole));
  whole.clear();
  encode_series(some_series(), whole);
  piecewise.assign(1, static_cast<char>(wal_record_type::series));
  for (const auto& s : some_series())
    append_series_entry(piecewise, s.ref, label_key(s.labels));
  CAF_CHECK_EQUAL(hex(piecewise), hex(whole));
}

CAF_TEST(series round trip) {
  std::string out;
  encode_series(some_series(), out);
  auto type = record_type(out);
  CAF_REQUIRE(type.is_ok());
  CAF_CHECK(*type == wal_record_type::series);
  std::vector<series_record> back{{1, label_set{}}};  // cleared by decode
  CAF_CHECK(decode_series(out, back).is_ok());
  CAF_CHECK(same_series(back, some_series()));
  out.clear();
  encode_series({}, out);
  CAF_CHECK_EQUAL(out.size(), 1u);
  CAF_CHECK(decode_series(out, back).is_ok());
  CAF_CHECK(back.empty());
}

CAF_TEST(series keys decode as the series do) {
  std::string out;
  encode_series(some_series(), out);
  std::vector<series_key_record> keys{{7, "x", 1}};  // cleared by decode
  CAF_REQUIRE(decode_series_keys(out, keys).is_ok());
  auto want = some_series();
  CAF_REQUIRE_EQUAL(keys.size(), want.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    CAF_CHECK_EQUAL(keys[i].ref, want[i].ref);
    CAF_CHECK_EQUAL(keys[i].key, label_key(want[i].labels));
    CAF_CHECK_EQUAL(keys[i].hash, want[i].labels.hash());
  }
  // A cut inside an entry is corruption (nothing given back); a cut
  // between entries is a shorter valid record.
  std::vector<size_t> ends;
  {
    std::string one(1, '\x01');
    for (const auto& x : want) {
      put_uvarint(one, x.ref);
      one += label_key(x.labels);
      ends.push_back(one.size());
    }
    CAF_REQUIRE_EQUAL(one, out);
  }
  for (size_t cut = 1; cut < out.size(); ++cut) {
    auto st = decode_series_keys(std::string_view{out}.substr(0, cut), keys);
    size_t whole = static_cast<size_t>(std::count_if(ends.begin(), ends.end(), [cut](size_t e) { return e <= cut; }));
    bool at_boundary = cut == 1 || std::find(ends.begin(), ends.end(), cut) != ends.end();
    if (at_boundary) {
      CAF_CHECK(st.is_ok());
      CAF_CHECK_EQUAL(keys.size(), whole);
    } else {
      CAF_CHECK(st.error_code() == status::code::corruption);
      CAF_CHECK(keys.empty());
    }
  }
}

CAF_TEST(samples round trip bit exactly including StaleNaN) {
  std::string out;
  encode_samples(some_samples(), out);
  auto type = record_type(out);
  CAF_REQUIRE(type.is_ok());
  CAF_CHECK(*type == wal_record_type::samples);
  std::vector<sample_record> back;
  CAF_CHECK(decode_samples(out, back).is_ok());
  CAF_REQUIRE(same_bits(back, some_samples()));
  CAF_CHECK_EQUAL(float_bits(back[4].v), stale_nan_bits);
  CAF_CHECK(is_stale_nan(back[4].v));
  CAF_CHECK_EQUAL(float_bits(back[5].v), normal_nan_bits);
  CAF_CHECK(std::signbit(back[1].v));
  out.clear();
  encode_samples({}, out);
  CAF_CHECK_EQUAL(out.size(), 1u);
  CAF_CHECK(decode_samples(out, back).is_ok());
  CAF_CHECK(back.empty());
}

CAF_TEST(a thousand regular samples cost under thirteen bytes each) {
  std::vector<sample_record> samples;
  for (uint64_t i = 0; i < 1000; ++i)
    samples.push_back({1000 + i, 1700000000000 + static_cast<int64_t>(i) * 15, double(i)});
  std::string out;
  encode_samples(samples, out);
  CAF_CHECK_LESS(out.size(), 1000u * 13);
  std::vector<sample_record> back;
  CAF_CHECK(decode_samples(out, back).is_ok());
  CAF_CHECK(same_bits(back, samples));
}

CAF_TEST(truncated records are corruption or a shorter valid prefix) {
  // The format has no count: a cut exactly between two entries decodes as
  // fewer entries. The framing's CRC is what rules that out on disk; here
  // we only demand a clean error or a true prefix, never garbage.
  std::string series;
  encode_series(some_series(), series);
  for (size_t n = 0; n < series.size(); ++n) {
    std::vector<series_record> back;
    auto st = decode_series(std::string_view{series}.substr(0, n), back);
    if (st.is_ok()) {
      auto expected = some_series();
      expected.resize(back.size());
      CAF_CHECK(back.size() < some_series().size());
      CAF_CHECK(same_series(back, expected));
    } else {
      CAF_CHECK(st.error_code() == status::code::corruption);
      CAF_CHECK(back.empty());
    }
  }
  std::string samples;
  encode_samples(some_samples(), samples);
  for (size_t n = 0; n < samples.size(); ++n) {
    std::vector<sample_record> back;
    auto st = decode_samples(std::string_view{samples}.substr(0, n), back);
    if (st.is_ok()) {
      auto expected = some_samples();
      expected.resize(back.size());
      CAF_CHECK(back.size() < some_samples().size());
      CAF_CHECK(same_bits(back, expected));
    } else {
      CAF_CHECK(st.error_code() == status::code::corruption);
    }
  }
}

CAF_TEST(huge counts and lengths are rejected without allocating) {
  std::string rec(1, '\x01');
  put_uvarint(rec, 1);                                       // ref
  put_uvarint(rec, std::numeric_limits<uint64_t>::max() / 2);  // label count
  rec += "ab";
  std::vector<series_record> series;
  auto st = decode_series(rec, series);
  CAF_CHECK(st.error_code() == status::code::corruption);
  CAF_CHECK(st.message().find("label count") != std::string::npos);
  rec.assign(1, '\x01');
  put_uvarint(rec, 1);
  put_uvarint(rec, 1);
  put_uvarint(rec, std::numeric_limits<uint64_t>::max());  // name length
  rec += "abc";
  CAF_CHECK(decode_series(rec, series).error_code() == status::code::corruption);
}

CAF_TEST(labels that break the label_set invariant are corruption) {
  auto encode_pairs = [](std::vector<std::pair<std::string, std::string>> pairs) {
    std::string rec(1, '\x01');
    put_uvarint(rec, 1);
    put_uvarint(rec, pairs.size());
    for (auto& [n, v] : pairs) {
      put_length_prefixed(rec, n);
      put_length_prefixed(rec, v);
    }
    return rec;
  };
  std::vector<series_record> out;
  CAF_CHECK(decode_series(encode_pairs({{"a", "1"}, {"b", "2"}}), out).is_ok());
  CAF_CHECK(!decode_series(encode_pairs({{"b", "1"}, {"a", "2"}}), out).is_ok());
  CAF_CHECK(!decode_series(encode_pairs({{"a", "1"}, {"a", "2"}}), out).is_ok());
  CAF_CHECK(!decode_series(encode_pairs({{"a", ""}}), out).is_ok());
  CAF_CHECK(out.empty());
  // The same checks when only the keys are taken (replay, checkpoints).
  std::vector<series_key_record> keys;
  CAF_CHECK(decode_series_keys(encode_pairs({{"a", "1"}, {"b", "2"}}), keys).is_ok());
  CAF_CHECK_EQUAL(keys.size(), 1u);
  for (auto bad : {encode_pairs({{"b", "1"}, {"a", "2"}}), encode_pairs({{"a", "1"}, {"a", "2"}}),
                   encode_pairs({{"a", ""}})}) {
    auto st = decode_series_keys(bad, keys);
    CAF_CHECK(st.error_code() == status::code::corruption);
    CAF_CHECK(st.message().find("not sorted, not unique or with an empty value") != std::string::npos);
    CAF_CHECK(keys.empty());
  }
}

CAF_TEST(wrong or unknown record types are corruption) {
  CAF_CHECK(!record_type("").is_ok());
  CAF_CHECK(!record_type("\x05").is_ok());
  CAF_CHECK(!record_type(std::string_view{"\0", 1}).is_ok());
  std::string samples;
  encode_samples(some_samples(), samples);
  std::vector<series_record> series;
  CAF_CHECK(decode_series(samples, series).error_code() == status::code::corruption);
  std::vector<sample_record> back;
  CAF_CHECK(decode_samples("", back).error_code() == status::code::corruption);
  CAF_CHECK(decode_samples("\x01", back).error_code() == status::code::corruption);
  // A base with no sample behind it is not something the encoder writes.
  std::string base_only(1, '\x02');
  put_uvarint(base_only, 3);
  put_varint(base_only, 4);
  CAF_CHECK(decode_samples(base_only, back).error_code() == status::code::corruption);
}

CAF_TEST(random garbage never crashes the decoders) {
  std::mt19937_64 rng{7};
  std::vector<series_record> series;
  std::vector<sample_record> samples;
  size_t ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string rec(rng() % 64, '\0');
    for (auto& c : rec)
      c = static_cast<char>(rng());
    if (!rec.empty())
      rec[0] = static_cast<char>(1 + i % 2);
    ok += decode_series(rec, series).is_ok();
    ok += decode_samples(rec, samples).is_ok();
    for (auto& s : series)
      CAF_CHECK_LESS(s.labels.size(), rec.size());
  }
  CAF_MESSAGE(ok << " of 40000 random records decoded");
  std::vector<metadata_record> metadata;
  for (int i = 0; i < 20000; ++i) {
    std::string rec(rng() % 64, '\0');
    for (auto& c : rec)
      c = static_cast<char>(rng());
    if (!rec.empty())
      rec[0] = static_cast<char>(wal_record_type::metadata);
    if (decode_metadata_records(rec, metadata).is_ok())
      for (auto& m : metadata)
        CAF_CHECK(!m.metadata.metric_family_name.empty());
  }
  // Flipped bytes in a valid record: still no crash, and whatever decodes
  // stays within the input's size.
  std::string good;
  encode_series(some_series(), good);
  for (size_t pos = 0; pos < good.size(); ++pos)
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = good;
      bad[pos] ^= static_cast<char>(1 << bit);
      if (decode_series(bad, series).is_ok())
        CAF_CHECK_LESS(series.size(), bad.size());
    }
}

namespace {

std::vector<metadata_record> some_metadata() {
  return {
    {1700000000000, {"rpc_seconds", metric_type::histogram, "RPC latency.", "seconds"}},
    {-1, {"a", metric_type::unknown, "", ""}},  // any time, empty help and unit
    {std::numeric_limits<int64_t>::max(), {"x_total", metric_type::stateset, std::string(300, 'h'), "u"}},
    {0, {"\xe2\x82\xac", metric_type::gauge, "line\nbreak \"quoted\"", ""}},  // bytes as they are
  };
}

bool same_metadata(const std::vector<metadata_record>& a, const std::vector<metadata_record>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].seen_ms != b[i].seen_ms || !(a[i].metadata == b[i].metadata))
      return false;
  return true;
}

}  // namespace

CAF_TEST(metadata record matches the documented bytes) {
  // The worked example in storage/FORMAT.md, "Metadata record".
  std::string out;
  encode_metadata_records({{1700000000000, {"rpc_seconds", metric_type::histogram, "RPC latency.", "seconds"}}},
                          out);
  CAF_CHECK_EQUAL(hex(out), "04" "80a0abfef962" "03" "0b" + hex("rpc_seconds") + "0c" + hex("RPC latency.") + "07"
                              + hex("seconds"));
  CAF_CHECK_EQUAL(out.size(), 41u);
}

CAF_TEST(metadata round trip) {
  std::string out;
  encode_metadata_records(some_metadata(), out);
  auto type = record_type(out);
  CAF_REQUIRE(type.is_ok());
  CAF_CHECK(*type == wal_record_type::metadata);
  std::vector<metadata_record> back{{5, {"stale", metric_type::gauge, "", ""}}};  // cleared
  CAF_CHECK(decode_metadata_records(out, back).is_ok());
  CAF_CHECK(same_metadata(back, some_metadata()));
  // Piecewise: the entries without the type byte, as a checkpoint gets them.
  std::string entries;
  for (const auto& e : some_metadata())
    append_metadata_entry(entries, e);
  CAF_CHECK_EQUAL(hex(entries), hex(out.substr(1)));
  std::vector<metadata_record> appended{{5, {"kept", metric_type::gauge, "", ""}}};
  CAF_CHECK(decode_metadata_entries(entries, appended).is_ok());
  CAF_REQUIRE_EQUAL(appended.size(), 5u);
  CAF_CHECK_EQUAL(appended[0].metadata.metric_family_name, "kept");
  out.clear();
  encode_metadata_records({}, out);
  CAF_CHECK_EQUAL(hex(out), "04");
  CAF_CHECK(decode_metadata_records(out, back).is_ok());
  CAF_CHECK(back.empty());
}

CAF_TEST(damaged metadata records are corruption naming the fault) {
  std::string good;
  encode_metadata_records(some_metadata(), good);
  // Every truncation is a clean error or a true prefix, never garbage.
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<metadata_record> back;
    auto st = decode_metadata_records(std::string_view{good}.substr(0, n), back);
    if (st.is_ok()) {
      auto expected = some_metadata();
      expected.resize(back.size());
      CAF_CHECK(back.size() < some_metadata().size());
      CAF_CHECK(same_metadata(back, expected));
    } else {
      CAF_CHECK(st.error_code() == status::code::corruption);
      CAF_CHECK(back.empty());
    }
  }
  auto bad = [](std::string rec, const char* what) {
    std::vector<metadata_record> back;
    auto st = decode_metadata_records(rec, back);
    CAF_CHECK(st.error_code() == status::code::corruption);
    CAF_MESSAGE(st.message());
    CAF_CHECK(st.message().find(what) != std::string::npos);
    CAF_CHECK(back.empty());
  };
  std::string rec = "\x04";
  put_varint(rec, 1);
  rec += '\x08';  // no type 8
  put_length_prefixed(rec, "a");
  put_length_prefixed(rec, "");
  put_length_prefixed(rec, "");
  bad(rec, "unknown metric type 8");
  rec = "\x04";
  put_varint(rec, 1);
  rec += '\x01';
  put_length_prefixed(rec, "");  // a family needs a name
  put_length_prefixed(rec, "h");
  put_length_prefixed(rec, "");
  bad(rec, "empty metric family name");
  rec = "\x04";
  put_varint(rec, 1);
  rec += '\x01';
  put_uvarint(rec, std::numeric_limits<uint64_t>::max());  // name length past the end
  rec += "abc";
  bad(rec, "truncated entry");
  bad(std::string("\x02", 1), "not a metadata record");
  std::vector<metadata_record> back;
  CAF_CHECK(decode_metadata_records("", back).error_code() == status::code::corruption);
}

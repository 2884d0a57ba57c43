#define CAF_SUITE protocol.remote_read
#include "test_support.hpp"

#include <random>
#include <string>

#include "protocol/pb_wire.hpp"
#include "protocol/remote_read.hpp"
#include "remote.pb.h"

using namespace nl::protocol;
using nl::storage::label_set;
using nl::storage::match_type;
using nl::storage::sample;

namespace {

prometheus::ReadRequest one_query() {
  prometheus::ReadRequest req;
  auto* q = req.add_queries();
  q->set_start_timestamp_ms(1000);
  q->set_end_timestamp_ms(-5);  // negative: 10-byte varint
  auto* m = q->add_matchers();
  m->set_type(prometheus::LabelMatcher::EQ);
  m->set_name("__name__");
  m->set_value("up");
  m = q->add_matchers();
  m->set_type(prometheus::LabelMatcher::RE);
  m->set_name("job");
  m->set_value("a|b");
  q->mutable_hints()->set_step_ms(15000);
  q->mutable_hints()->add_grouping("job");
  return req;
}

std::string msg_of(const nl::storage::result<read_request>& r) {
  return r.is_ok() ? std::string("ok") : r.error().message();
}

// Bitwise CRC-32C, independent of the table version under test.
uint32_t crc32c_reference(std::string_view s) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k)
      c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
  }
  return ~c;
}

struct frame {
  uint32_t crc;
  std::string msg;
};

// Splits a chunked body into frames; fails the test on malformed framing.
std::vector<frame> frames_of(std::string_view body) {
  std::vector<frame> out;
  const char* p = body.data();
  const char* end = p + body.size();
  while (p < end) {
    uint64_t len = 0;
    if (!pb::reader::decode_varint(p, end, len) || end - p < 4 ||
        static_cast<uint64_t>(end - p - 4) < len) {
      CAF_FAIL("bad framing");
      return out;
    }
    auto u = [&](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
    frame f{u(0) << 24 | u(1) << 16 | u(2) << 8 | u(3), std::string(p + 4, len)};
    p += 4 + len;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

CAF_TEST(decodes queries and matchers) {
  auto r = decode_read_request(one_query().SerializeAsString());
  CAF_REQUIRE(r.is_ok());
  CAF_REQUIRE_EQUAL(r->queries.size(), 1u);
  const auto& q = r->queries[0];
  CAF_CHECK_EQUAL(q.start_ms, 1000);
  CAF_CHECK_EQUAL(q.end_ms, -5);
  CAF_REQUIRE_EQUAL(q.matchers.size(), 2u);
  CAF_CHECK(q.matchers[0].type() == match_type::equal);
  CAF_CHECK(q.matchers[1].type() == match_type::regex);
  CAF_CHECK(q.matchers[1].matches("a"));
  CAF_CHECK(!q.matchers[1].matches("xa"));  // fully anchored
  CAF_CHECK(r->response_type == read_response_type::samples);
}

CAF_TEST(hints decide the range and series only lookups) {
  // Without hints the query's own range.
  auto plain = decode_read_request(one_query().SerializeAsString());
  CAF_REQUIRE(plain.is_ok());
  CAF_CHECK(plain->queries[0].hints.has_value());  // one_query() sets a step
  prometheus::ReadRequest bare;
  auto* q = bare.add_queries();
  q->set_start_timestamp_ms(100);
  q->set_end_timestamp_ms(900);
  auto r = decode_read_request(bare.SerializeAsString());
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK(!r->queries[0].hints);
  CAF_CHECK_EQUAL(r->queries[0].select_start(), 100);
  CAF_CHECK_EQUAL(r->queries[0].select_end(), 900);
  CAF_CHECK(!r->queries[0].series_only());
  // With hints their start and end, as Prometheus' querier selects.
  q->mutable_hints()->set_start_ms(300);
  q->mutable_hints()->set_end_ms(600);
  q->mutable_hints()->set_func("rate");
  q->mutable_hints()->set_range_ms(60000);
  r = decode_read_request(bare.SerializeAsString());
  CAF_REQUIRE(r.is_ok());
  CAF_REQUIRE(r->queries[0].hints.has_value());
  CAF_CHECK_EQUAL(r->queries[0].select_start(), 300);
  CAF_CHECK_EQUAL(r->queries[0].select_end(), 600);
  CAF_CHECK_EQUAL(r->queries[0].hints->func, "rate");
  CAF_CHECK(!r->queries[0].series_only());
  q->mutable_hints()->set_func("series");
  CAF_CHECK(decode_read_request(bare.SerializeAsString())->queries[0].series_only());
  // An empty hints message still counts: its zeros are the range.
  q->clear_hints();
  q->mutable_hints();
  std::string with_empty = bare.SerializeAsString();
  CAF_CHECK(with_empty.find(std::string("\x22\x00", 2)) != std::string::npos);
  r = decode_read_request(with_empty);
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK(r->queries[0].hints.has_value());
  CAF_CHECK_EQUAL(r->queries[0].select_end(), 0);
  // Malformed hints are refused like any malformed field.
  std::string broken = bare.SerializeAsString();
  broken += std::string("\x0a\x04\x22\x02\x18\x80", 6);  // a second query, hints with a cut varint
  CAF_CHECK(!decode_read_request(broken).is_ok());
}

CAF_TEST(response type negotiation packed and unpacked) {
  auto req = one_query();
  req.add_accepted_response_types(prometheus::ReadRequest::STREAMED_XOR_CHUNKS);
  req.add_accepted_response_types(prometheus::ReadRequest::SAMPLES);
  auto packed = req.SerializeAsString();  // proto3 packs repeated enums
  auto r = decode_read_request(packed);
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK(r->response_type == read_response_type::streamed_xor_chunks);
  CAF_CHECK(decode_read_request(packed, false)->response_type == read_response_type::samples);
  // The same list unpacked (one varint field per element).
  std::string unpacked = one_query().SerializeAsString();
  pb::writer w(unpacked);
  w.varint_field(2, 1);
  w.varint_field(2, 0);
  auto u = decode_read_request(unpacked);
  CAF_REQUIRE(u.is_ok());
  CAF_CHECK(u->response_type == read_response_type::streamed_xor_chunks);
  // Nothing supported.
  prometheus::ReadRequest bad;
  bad.add_accepted_response_types(static_cast<prometheus::ReadRequest_ResponseType>(5));
  CAF_CHECK_EQUAL(msg_of(decode_read_request(bad.SerializeAsString())),
                  "server does not support any of the requested response types: [5]; "
                  "supported: map[SAMPLES:{} STREAMED_XOR_CHUNKS:{}]");
  prometheus::ReadRequest only_chunks;
  only_chunks.add_accepted_response_types(prometheus::ReadRequest::STREAMED_XOR_CHUNKS);
  CAF_CHECK_EQUAL(msg_of(decode_read_request(only_chunks.SerializeAsString(), false)),
                  "server does not support any of the requested response types: "
                  "[STREAMED_XOR_CHUNKS]; supported: map[SAMPLES:{}]");
}

CAF_TEST(bad matchers are invalid arguments) {
  auto req = one_query();
  req.mutable_queries(0)->mutable_matchers(1)->set_value("(");
  auto r = decode_read_request(req.SerializeAsString());
  CAF_REQUIRE(!r.is_ok());
  CAF_CHECK(r.error().error_code() == nl::storage::status::code::invalid_argument);
  req = one_query();
  req.mutable_queries(0)->mutable_matchers(0)->set_type(
    static_cast<prometheus::LabelMatcher_Type>(7));
  CAF_CHECK_EQUAL(msg_of(decode_read_request(req.SerializeAsString())), "invalid matcher type 7");
}

CAF_TEST(malformed requests give clean errors) {
  auto bytes = one_query().SerializeAsString();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode_read_request(bytes.substr(0, n));
    if (!r.is_ok())
      CAF_CHECK(!r.error().message().empty());
  }
  std::mt19937 rng(9);
  for (int i = 0; i < 5000; ++i) {
    auto junk = bytes;
    junk[rng() % junk.size()] = static_cast<char>(rng());
    auto r = decode_read_request(junk);
    if (!r.is_ok())
      CAF_CHECK(!r.error().message().empty());
  }
  CAF_CHECK_EQUAL(msg_of(decode_read_request(std::string("\x12\x02\x01\x80", 4))),
                  "protobuf: truncated varint in packed accepted_response_types at offset 4");
  CAF_CHECK_EQUAL(msg_of(decode_read_request(std::string("\x0a\x05\x1a\x10", 4))),
                  "protobuf: length 5 exceeds the enclosing message at offset 2");
}

CAF_TEST(samples response matches libprotobuf) {
  auto stale = nl::storage::stale_nan();
  samples_response_builder b;
  std::vector<sample> xs{{1000, 1}, {2000, stale}, {0, 0}, {-1, -0.0}};
  b.add_series(label_set::from_unsorted({{"__name__", "up"}, {"job", "a"}}), xs.data(), xs.size());
  b.add_series(label_set::from_unsorted({{"__name__", "up"}, {"job", "b"}}), nullptr, 0);
  b.end_query();
  b.end_query();  // a query without series still gets its (empty) result
  auto bytes = b.take();
  prometheus::ReadResponse resp;
  CAF_REQUIRE(resp.ParseFromString(bytes));
  CAF_REQUIRE_EQUAL(resp.results_size(), 2);
  CAF_CHECK_EQUAL(resp.results(1).timeseries_size(), 0);
  CAF_REQUIRE_EQUAL(resp.results(0).timeseries_size(), 2);
  const auto& ts = resp.results(0).timeseries(0);
  CAF_REQUIRE_EQUAL(ts.labels_size(), 2);
  CAF_CHECK_EQUAL(ts.labels(1).value(), "a");
  CAF_REQUIRE_EQUAL(ts.samples_size(), 4);
  CAF_CHECK_EQUAL(nl::storage::float_bits(ts.samples(1).value()), nl::storage::stale_nan_bits);
  CAF_CHECK_EQUAL(ts.samples(3).timestamp(), -1);
  CAF_CHECK_EQUAL(nl::storage::float_bits(ts.samples(3).value()), nl::storage::float_bits(-0.0));
  CAF_CHECK(resp.SerializeAsString() == bytes);  // canonical bytes
  // The observed one-sample answer from spec §2.2, byte for byte
  // (0a2b 0a29 0a15 0a08 "__name__" 1209 "nl_part_b" 1210 09 <1.0> 10 <ts>).
  int64_t t = 1795690127280;
  samples_response_builder one;
  sample s1{t, 1};
  one.add_series(label_set::from_unsorted({{"__name__", "nl_part_b"}}), &s1, 1);
  one.end_query();
  std::string want("\x0a\x2b\x0a\x29\x0a\x15\x0a\x08__name__\x12\x09nl_part_b\x12\x10\x09"
                   "\x00\x00\x00\x00\x00\x00\xf0\x3f\x10",
                   39);
  std::string ts_varint;
  pb::writer(ts_varint).put_varint(static_cast<uint64_t>(t));
  CAF_CHECK_EQUAL(ts_varint.size(), 6u);
  CAF_CHECK(one.take() == want + ts_varint);
}

CAF_TEST(chunked frames carry crc32c and split at the frame limit) {
  CAF_CHECK_EQUAL(crc32c_reference("123456789"), 0xe3069283u);
  auto ls = label_set::from_unsorted({{"__name__", "nl_part_b"}, {"job", "x"}});
  std::string xor_data("\x00\x01\xfc\x9f\xc6\xf7\xc2\x68\x3f\xf0\x00\x00\x00\x00\x00\x00", 16);
  std::string big(3000, 'z');
  std::vector<chunk_ref> chunks{{1000, 1000, xor_data}, {2000, 5000, big}, {6000, 7000, big},
                                {8000, 9000, xor_data}};
  std::string out;
  size_t emitted = 0;
  encode_chunked_series(3, ls, chunks, 4000, [&](std::string f) {
    out += f;
    ++emitted;
  });
  auto fs = frames_of(out);
  CAF_CHECK_EQUAL(emitted, fs.size());  // one frame per call
  CAF_REQUIRE_EQUAL(fs.size(), 2u);  // [small, big] [big, small]: two bigs exceed 4000
  size_t seen = 0;
  for (const auto& f : fs) {
    CAF_CHECK_EQUAL(f.crc, crc32c_reference(f.msg));
    CAF_CHECK(f.msg.size() <= 4000);
    prometheus::ChunkedReadResponse r;
    CAF_REQUIRE(r.ParseFromString(f.msg));
    CAF_CHECK_EQUAL(r.query_index(), 3);
    CAF_REQUIRE_EQUAL(r.chunked_series_size(), 1);
    const auto& s = r.chunked_series(0);
    CAF_CHECK_EQUAL(s.labels_size(), 2);
    for (const auto& c : s.chunks()) {
      CAF_CHECK_EQUAL(c.type(), prometheus::Chunk::XOR);
      CAF_CHECK_EQUAL(c.min_time_ms(), chunks[seen].min_time_ms);
      CAF_CHECK_EQUAL(c.max_time_ms(), chunks[seen].max_time_ms);
      CAF_CHECK(c.data() == chunks[seen].data);
      ++seen;
    }
    CAF_CHECK(r.SerializeAsString() == f.msg);
  }
  CAF_CHECK_EQUAL(seen, chunks.size());
  // A chunk larger than the limit still goes out, alone.
  std::string one;
  encode_chunked_series(0, ls, {{1, 2, big}}, 100, [&](std::string f) { one += f; });
  CAF_CHECK_EQUAL(frames_of(one).size(), 1u);
  std::string none;
  encode_chunked_series(0, ls, {}, default_max_frame_bytes, [&](std::string f) { none += f; });
  CAF_CHECK(none.empty());
}

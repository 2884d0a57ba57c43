#define CAF_SUITE protocol.remote_write
#include "test_support.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <random>
#include <string>

#include "protocol/pb_wire.hpp"
#include "protocol/remote_write.hpp"
#include "protocol/snappy_block.hpp"
#include "remote.pb.h"

using namespace nl::protocol;
using nl::storage::label;
using nl::storage::label_set;
using nl::storage::sample;

namespace {

constexpr int64_t now = 1'700'000'000'000;

nl::storage::result<write_batch> decode(std::string body, const write_settings& st = {}) {
  return decode_write_request(std::make_shared<const std::string>(std::move(body)), now, st);
}

write_series ts(std::vector<label> ls, std::vector<sample> ss) {
  return {std::move(ls), std::move(ss)};
}

// An owning copy of an accepted series' labels.
label_set label_set_of(const write_batch& b, const series_entry& s) {
  std::vector<label> ls;
  for (const label_ref* l = b.labels_of(s); l != b.labels_of(s) + s.labels_count; ++l)
    ls.push_back({std::string(l->name), std::string(l->value)});
  return label_set{std::move(ls)};
}

// One accepted series' labels in text form.
std::string text(const write_batch& b, size_t i) {
  return label_set_of(b, b.series.at(i)).to_string();
}

std::string random_string(std::mt19937& rng, size_t max_len, bool name) {
  static const char first[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
  static const char rest[] = "abcdefghijklmnopqrstuvwxyz_0123456789";
  std::string s;
  size_t n = 1 + rng() % max_len;
  for (size_t i = 0; i < n; ++i) {
    if (name)
      s += i == 0 ? first[rng() % (sizeof first - 1)] : rest[rng() % (sizeof rest - 1)];
    else
      s += i % 7 == 3 ? "\xc3\xa9" : std::string(1, rest[rng() % (sizeof rest - 1)]);
  }
  return s;
}

// A random valid request built with libprotobuf.
prometheus::WriteRequest random_request(std::mt19937& rng) {
  prometheus::WriteRequest req;
  size_t n = rng() % 20;
  for (size_t i = 0; i < n; ++i) {
    auto* t = req.add_timeseries();
    std::vector<label> ls{{"__name__", random_string(rng, 20, true)}};
    size_t nl = rng() % 10;
    for (size_t k = 0; k < nl; ++k) {
      auto name = random_string(rng, 12, true);
      if (name == "__name__")
        continue;
      bool dup = false;
      for (auto& l : ls)
        dup |= l.name == name;
      if (!dup)
        ls.push_back({name, k % 4 == 0 ? "" : random_string(rng, 30, false)});
    }
    std::shuffle(ls.begin(), ls.end(), rng);
    for (auto& l : ls) {
      auto* pl = t->add_labels();
      pl->set_name(l.name);
      pl->set_value(l.value);
    }
    size_t ns = 1 + rng() % 3;
    for (size_t k = 0; k < ns; ++k) {
      auto* s = t->add_samples();
      s->set_timestamp(static_cast<int64_t>(rng() % 2 ? now - rng() % 100000 : -(rng() % 1000)));
      s->set_value(std::ldexp(static_cast<double>(rng()), static_cast<int>(rng() % 40) - 20));
    }
  }
  if (rng() % 3 == 0) {
    auto* m = req.add_metadata();
    m->set_type(prometheus::MetricMetadata::COUNTER);
    m->set_metric_family_name("http_requests_total");
    m->set_help("Requests.");
  }
  return req;
}

std::string read_testdata(const std::string& name) {
  std::ifstream in(std::string(NL_TEST_DATA_DIR) + "/protocol/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

CAF_TEST(payloads captured from prometheus 2.42 decode cleanly) {
  auto samples = read_testdata("prometheus-2.42-write-samples.snappy");
  CAF_REQUIRE(!samples.empty());
  // Its timestamps are from the capture; accept them regardless of "now".
  write_settings st;
  st.max_future_ms = -1;
  auto b = decode_remote_write(samples, now, st, default_max_decoded_bytes);
  CAF_REQUIRE(b.is_ok());
  CAF_CHECK_EQUAL(b->series.size(), 394u);
  CAF_CHECK_EQUAL(b->samples.size(), 394u);
  CAF_CHECK(!b->report.any_rejected());
  std::string raw;
  CAF_REQUIRE(snappy_decode(samples, raw).is_ok());
  prometheus::WriteRequest ref;
  CAF_REQUIRE(ref.ParseFromString(raw));
  CAF_REQUIRE_EQUAL(ref.timeseries_size(), 394);
  bool saw_up = false;
  for (int i = 0; i < ref.timeseries_size(); ++i) {
    const auto& t = ref.timeseries(i);
    std::vector<label> ls;
    for (const auto& l : t.labels())
      ls.push_back({l.name(), l.value()});
    auto got = label_set_of(*b, b->series[i]);
    CAF_CHECK(got == label_set::from_unsorted(ls));
    CAF_CHECK_EQUAL(got.get("monitor"), "example");  // external label merged in
    saw_up |= got.metric_name() == "up";
    CAF_CHECK_EQUAL(b->samples_of(b->series[i])[0].t, t.samples(0).timestamp());
  }
  CAF_CHECK(saw_up);
  CAF_CHECK(encode_write_request({}).empty());
  auto md = decode_remote_write(read_testdata("prometheus-2.42-write-metadata.snappy"), now, st,
                                default_max_decoded_bytes);
  CAF_REQUIRE(md.is_ok());
  CAF_CHECK(md->series.empty());
  CAF_CHECK_EQUAL(md->metadata.size(), 202u);
  bool saw_counter = false;
  for (const auto& m : md->metadata)
    saw_counter |= m.type == metric_type::counter && !m.help.empty();
  CAF_CHECK(saw_counter);
}

CAF_TEST(walker agrees with libprotobuf on random requests) {
  std::mt19937 rng(1);
  for (int round = 0; round < 300; ++round) {
    auto req = random_request(rng);
    auto bytes = req.SerializeAsString();
    auto b = decode(bytes);
    CAF_REQUIRE(b.is_ok());
    CAF_REQUIRE_EQUAL(b->series.size(), static_cast<size_t>(req.timeseries_size()));
    CAF_CHECK(!b->report.any_rejected());
    for (int i = 0; i < req.timeseries_size(); ++i) {
      const auto& t = req.timeseries(i);
      std::vector<label> ls;
      for (const auto& l : t.labels())
        ls.push_back({l.name(), l.value()});
      auto want = label_set::from_unsorted(ls);
      auto got = label_set_of(*b, b->series[i]);
      CAF_CHECK_EQUAL(got.to_string(), want.to_string());
      CAF_CHECK_EQUAL(hash_labels(b->labels_of(b->series[i]), b->series[i].labels_count),
                      want.hash());
      CAF_REQUIRE_EQUAL(b->series[i].samples_count, static_cast<uint32_t>(t.samples_size()));
      for (int k = 0; k < t.samples_size(); ++k) {
        auto s = b->samples_of(b->series[i])[k];
        CAF_CHECK_EQUAL(s.t, t.samples(k).timestamp());
        CAF_CHECK_EQUAL(nl::storage::float_bits(s.v), nl::storage::float_bits(t.samples(k).value()));
      }
    }
    CAF_CHECK_EQUAL(b->metadata.size(), static_cast<size_t>(req.metadata_size()));
    // The hand-written encoder produces libprotobuf's bytes exactly.
    std::vector<write_series> mine;
    for (const auto& t : req.timeseries()) {
      write_series w;
      for (const auto& l : t.labels())
        w.labels.push_back({l.name(), l.value()});
      for (const auto& s : t.samples())
        w.samples.push_back({s.timestamp(), s.value()});
      mine.push_back(std::move(w));
    }
    std::vector<metadata_entry> meta;
    for (const auto& m : req.metadata())
      meta.push_back({m.metric_family_name(), static_cast<metric_type>(m.type()), m.help(), m.unit()});
    CAF_CHECK(encode_write_request(mine, meta) == bytes);
  }
}

CAF_TEST(metadata only request decodes its entries) {
  prometheus::WriteRequest req;
  auto* m = req.add_metadata();
  m->set_type(prometheus::MetricMetadata::HISTOGRAM);
  m->set_metric_family_name("rpc_seconds");
  m->set_help("RPC latency.");
  m->set_unit("seconds");
  auto b = decode(req.SerializeAsString());
  CAF_REQUIRE(b.is_ok());
  CAF_CHECK(b->series.empty());
  CAF_REQUIRE_EQUAL(b->metadata.size(), 1u);
  CAF_CHECK_EQUAL(b->metadata[0].metric_family_name, "rpc_seconds");
  CAF_CHECK_EQUAL(to_string(b->metadata[0].type), "histogram");
  CAF_CHECK_EQUAL(b->metadata[0].help, "RPC latency.");
  CAF_CHECK_EQUAL(b->metadata[0].unit, "seconds");
  // An empty body is an empty WriteRequest.
  auto e = decode("");
  CAF_REQUIRE(e.is_ok());
  CAF_CHECK(e->series.empty() && e->metadata.empty());
}

CAF_TEST(metadata entries that cannot be stored are refused by name and the rest kept) {
  auto entry = [](std::string family, std::string help, std::string unit = "") {
    return metadata_entry{std::move(family), metric_type::gauge, std::move(help), std::move(unit)};
  };
  write_settings st;
  st.allow_utf8_names = false;
  std::vector<metadata_entry> md{
    entry("good_one", "Fine."),
    entry("", "No family."),
    entry("bad-name", "Dash."),
    entry("bad_help", "\xff\xfe"),
    entry("bad_unit", "Fine.", "\xc3"),
    entry("long_help", std::string(st.max_help_length + 1, 'h')),
    entry(std::string(st.max_label_value_length + 1, 'n'), "Long name."),
    entry("long_unit", "", std::string(st.max_label_value_length + 1, 'u')),
    entry("\xe2\x82", "Broken name."),
    entry("good_two", std::string(st.max_help_length, 'h'), "seconds"),
  };
  auto b = decode(encode_write_request({}, md), st);
  CAF_REQUIRE(b.is_ok());
  CAF_REQUIRE_EQUAL(b->metadata.size(), 2u);
  CAF_CHECK_EQUAL(b->metadata[0].metric_family_name, "good_one");
  CAF_CHECK_EQUAL(b->metadata[1].metric_family_name, "good_two");
  const auto& rep = b->report;
  CAF_CHECK_EQUAL(rep.metadata_rejected, 8u);
  CAF_CHECK(rep.any_rejected());
  CAF_CHECK_EQUAL(rep.samples_rejected, 0u);
  CAF_REQUIRE_EQUAL(rep.rejections.size(), 8u);
  std::vector<std::pair<std::string, std::string>> expected{
    {"metadata \"\"", "metadata without a metric family name"},
    {"metadata \"bad-name\"", "invalid metric family name \"bad-name\""},
    {"metadata \"bad_help\"", "help is not valid UTF-8"},
    {"metadata \"bad_unit\"", "unit is not valid UTF-8"},
    {"metadata \"long_help\"", "help of 65537 bytes is longer than the limit of 65536"},
    {"metadata \"" + std::string(128, 'n') + "\"...", "metric family name of 4097 bytes is longer than the limit of 4096"},
    {"metadata \"long_unit\"", "unit of 4097 bytes is longer than the limit of 4096"},
    {"metadata \"\\xe2\\x82\"", "metric family name is not valid UTF-8"},
  };
  for (size_t i = 0; i < expected.size(); ++i) {
    CAF_CHECK(rep.rejections[i].reason == reject_reason::invalid_metadata);
    CAF_CHECK_EQUAL(rep.rejections[i].series, expected[i].first);
    CAF_CHECK_EQUAL(rep.rejections[i].message, expected[i].second);
  }
  CAF_CHECK(rep.summary().rfind("8 metadata entries rejected: metadata \"\": metadata without a metric family name; "
                                "metadata \"bad-name\"",
                                0)
            == 0);
  // UTF-8 family names pass when allowed (Prometheus 3 names).
  st.allow_utf8_names = true;
  auto u = decode(encode_write_request({}, {entry("bad-name", "Dash."), entry("http.requests", "")}), st);
  CAF_REQUIRE(u.is_ok());
  CAF_CHECK_EQUAL(u->metadata.size(), 2u);
  CAF_CHECK(!u->report.any_rejected());
  CAF_CHECK_EQUAL(u->report.summary(), "");
}

CAF_TEST(metadata types past stateset read as unknown and malformed entries fail the request) {
  // proto3 enums are open: a sender newer than this schema may send 9.
  std::string body;
  pb::writer w(body);
  std::string inner;
  pb::writer iw(inner);
  iw.varint_field(1, 9);
  iw.bytes_field(2, "future_type");
  w.bytes_field(3, inner);
  auto b = decode(body);
  CAF_REQUIRE(b.is_ok());
  CAF_REQUIRE_EQUAL(b->metadata.size(), 1u);
  CAF_CHECK(b->metadata[0].type == metric_type::unknown);
  // A MetricMetadata whose bytes are cut short is a broken request.
  std::string cut;
  pb::writer cw(cut);
  cw.nested_header(3, 20);
  cut += "\x12\x05" "abc";
  auto c = decode(cut);
  CAF_REQUIRE(!c.is_ok());
  CAF_CHECK(c.error().error_code() == nl::storage::status::code::corruption);
  // A metadata field of the wrong wire type is skipped, like libprotobuf.
  std::string odd;
  pb::writer ow(odd);
  ow.varint_field(3, 7);
  auto o = decode(odd);
  CAF_REQUIRE(o.is_ok());
  CAF_CHECK(o->metadata.empty());
  CAF_CHECK(!o->report.any_rejected());
}

CAF_TEST(unknown fields of every wire type are skipped) {
  auto good = encode_write_request({ts({{"__name__", "up"}, {"job", "a"}}, {{now, 1}})});
  // Re-wrap the TimeSeries with unknown fields before, inside and after.
  std::string inner;
  {
    nl::protocol::pb::reader r(good);
    nl::protocol::pb::field f;
    CAF_REQUIRE(r.next(f));
    inner = std::string(f.bytes);
  }
  std::string junk;
  pb::writer w(junk);
  w.varint_field(9, 300);                 // varint
  w.double_field(10, 2.5);                // fixed64
  w.bytes_field(11, "whatever");          // length-delimited
  w.put_tag(12, pb::fixed32);             // fixed32
  junk.append("\x01\x02\x03\x04", 4);
  w.varint_field(2, 5);                   // reserved field 2 ("source")
  std::string body;
  pb::writer bw(body);
  body += junk;
  bw.bytes_field(1, junk + inner + junk);
  body += junk;
  auto b = decode(body);
  CAF_REQUIRE(b.is_ok());
  CAF_REQUIRE_EQUAL(b->series.size(), 1u);
  CAF_CHECK_EQUAL(text(*b, 0), "up{job=\"a\"}");
  // A known field number with the wrong wire type is skipped, not fatal.
  std::string odd;
  pb::writer ow(odd);
  ow.varint_field(1, 7);  // "timeseries" as a varint
  odd += good;
  auto c = decode(odd);
  CAF_REQUIRE(c.is_ok());
  CAF_CHECK_EQUAL(c->series.size(), 1u);
}

CAF_TEST(every truncation of a valid request is a clean error or a prefix) {
  std::mt19937 rng(3);
  auto bytes = random_request(rng).SerializeAsString();
  while (bytes.size() < 200)
    bytes += random_request(rng).SerializeAsString();
  size_t errors = 0;
  for (size_t n = 0; n < bytes.size(); ++n) {
    // Copy into an exactly sized heap buffer so ASan sees any over-read.
    auto b = decode(bytes.substr(0, n));
    if (!b.is_ok()) {
      ++errors;
      CAF_CHECK(b.error().message().rfind("protobuf: ", 0) == 0);
    }
  }
  CAF_CHECK(errors > bytes.size() / 2);
}

CAF_TEST(flipped bytes never crash) {
  std::mt19937 rng(5);
  auto bytes = random_request(rng).SerializeAsString();
  while (bytes.size() < 500)
    bytes += random_request(rng).SerializeAsString();
  for (int i = 0; i < 20000; ++i) {
    auto junk = bytes;
    for (int k = 0; k < 1 + i % 4; ++k)
      junk[rng() % junk.size()] = static_cast<char>(rng());
    auto b = decode(junk);
    if (!b.is_ok())
      CAF_CHECK(b.error().message().rfind("protobuf: ", 0) == 0);
  }
}

CAF_TEST(malformed structures give the protobuf error) {
  auto msg = [](std::string s) {
    auto b = decode(std::move(s));
    return b.is_ok() ? std::string("ok") : b.error().message();
  };
  // Huge length for the first TimeSeries.
  CAF_CHECK_EQUAL(msg(std::string("\x0a\xff\xff\xff\xff\x0f", 6)),
                  "protobuf: length 4294967295 exceeds the enclosing message at offset 6");
  // Truncated varint tag and an 11-byte varint.
  CAF_CHECK_EQUAL(msg("\x8a"), "protobuf: truncated or overlong varint at offset 0");
  CAF_CHECK_EQUAL(msg(std::string("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12)),
                  "protobuf: truncated or overlong varint at offset 1");
  // Groups and invalid wire types.
  CAF_CHECK_EQUAL(msg("\x0b"), "protobuf: groups (wire type 3) are not supported at offset 1");
  CAF_CHECK_EQUAL(msg("\x0e"), "protobuf: invalid wire type 6 at offset 1");
  CAF_CHECK_EQUAL(msg(std::string("\x00\x01", 2)), "protobuf: invalid field number at offset 1");
  // A label claiming more bytes than its TimeSeries holds (but fewer than
  // the whole body): nested lengths are checked against the parent.
  CAF_CHECK_EQUAL(msg(std::string("\x0a\x02\x0a\x08" "abcdefgh", 12)),
                  "protobuf: length 8 exceeds the enclosing message at offset 4");
  // Truncated fixed64 sample value inside a sample.
  CAF_CHECK_EQUAL(msg(std::string("\x0a\x05\x12\x03\x09\x00\x00", 7)),
                  "protobuf: truncated fixed64 at offset 5");
}

CAF_TEST(label validation table) {
  struct row {
    std::vector<label> labels;
    const char* want;  // "ok" or the rejection message
  };
  std::string long_value(4097, 'v');
  std::vector<label> many{{"__name__", "m"}};
  for (int i = 0; i < 64; ++i)
    many.push_back({"l" + std::to_string(i), "v"});
  std::vector<row> rows{
    {{{"__name__", "up"}, {"job", "a"}}, "ok"},
    {{{"job", "a"}, {"__name__", "up"}}, "ok"},                       // unsorted
    {{{"__name__", "up"}, {"empty", ""}}, "ok"},                      // dropped pair
    {{{"job", "a"}}, "series has no __name__ label"},
    {{{"__name__", ""}, {"job", "a"}}, "series has no __name__ label"},
    {{{"__name__", "up"}, {"a", "1"}, {"a", "2"}}, "duplicate label name \"a\""},
    {{{"__name__", "up"}, {"a-b", "1"}}, "invalid label name \"a-b\""},
    {{{"__name__", "up"}, {"1a", "1"}}, "invalid label name \"1a\""},
    {{{"__name__", "up"}, {"", "1"}}, "empty label name"},
    {{{"__name__", "nl.dot"}}, "invalid metric name \"nl.dot\""},
    {{{"__name__", "job:rate5m"}}, "ok"},
    {{{"__name__", "up"}, {"a", "caf\xc3\xa9"}}, "ok"},
    {{{"__name__", "up"}, {"a", "\xff"}}, "value of label \"a\" is not valid UTF-8"},
    {{{"__name__", "up"}, {"a", "\xed\xa0\x80"}}, "value of label \"a\" is not valid UTF-8"},
    {{{"__name__", "up"}, {"a\xc0", "x"}}, "label name \"a\\xc0\" is not valid UTF-8"},
    {{{"__name__", "up"}, {std::string(1025, 'n'), "x"}},
     "label name of 1025 bytes is longer than the limit of 1024"},
    {{{"__name__", "up"}, {"a", long_value}},
     "value of label \"a\" is 4097 bytes, longer than the limit of 4096"},
    {many, "series has 65 labels, more than the limit of 64"},
  };
  for (const auto& r : rows) {
    auto b = decode(encode_write_request({ts(r.labels, {{now, 1}})}));
    CAF_REQUIRE(b.is_ok());
    std::string got = b->series.size() == 1 ? "ok" : "";
    if (!b->report.rejections.empty())
      got = b->report.rejections[0].message;
    CAF_CHECK_EQUAL(got, r.want);
    if (std::string(r.want) != "ok") {
      CAF_CHECK_EQUAL(b->report.series_rejected, 1u);
      CAF_CHECK_EQUAL(b->report.samples_rejected, 1u);
    }
  }
  // With UTF-8 names, dotted names pass but invalid UTF-8 still does not.
  write_settings utf8;
  utf8.allow_utf8_names = true;
  auto b = decode(encode_write_request({ts({{"__name__", "nl.dot"}, {"a-b", "1"}}, {{now, 1}}),
                                        ts({{"__name__", "x"}, {"\xff", "1"}}, {{now, 1}})}),
                  utf8);
  CAF_REQUIRE(b.is_ok());
  CAF_REQUIRE_EQUAL(b->series.size(), 1u);
  CAF_CHECK_EQUAL(b->report.series_rejected, 1u);
}

CAF_TEST(empty and excess labels do not accumulate) {
  // 100k empty label messages ("0a 00") inside one TimeSeries: dropped as
  // they are read, so the batch keeps only the real label.
  std::string inner;
  pb::writer w(inner);
  for (int i = 0; i < 100000; ++i)
    w.bytes_field(1, "");
  w.bytes_field(1, std::string("\x0a\x08__name__\x12\x01x", 13));
  w.bytes_field(2, std::string("\x10\x01", 2));
  std::string body;
  pb::writer(body).bytes_field(1, inner);
  auto b = decode(body);
  CAF_REQUIRE(b.is_ok());
  CAF_REQUIRE_EQUAL(b->series.size(), 1u);
  CAF_CHECK_EQUAL(b->labels.size(), 1u);
  CAF_CHECK_EQUAL(text(*b, 0), "x{}");
  // 100k distinct labels: only the limit's worth is kept, the count is exact.
  std::vector<label> many{{"__name__", "m"}};
  for (int i = 0; i < 100000; ++i)
    many.push_back({"l" + std::to_string(i), "v"});
  auto c = decode(encode_write_request({ts(many, {{now, 1}})}));
  CAF_REQUIRE(c.is_ok());
  CAF_CHECK(c->series.empty());
  CAF_REQUIRE_EQUAL(c->report.rejections.size(), 1u);
  CAF_CHECK_EQUAL(c->report.rejections[0].message,
                  "series has 100001 labels, more than the limit of 64");
  CAF_CHECK(c->report.rejections[0].series.size() < 600);
}

// Rejected samples counted under `why` (the /metrics split).
static size_t by(const write_report& rep, reject_reason why) {
  return rep.samples_rejected_by[static_cast<size_t>(why)];
}

CAF_TEST(partial write keeps the valid rest and reports the first rejections) {
  std::vector<write_series> req;
  for (int i = 0; i < 30; ++i) {
    if (i % 3 == 0)
      req.push_back(ts({{"__name__", "bad"}, {"a", "1"}, {"a", "2"}}, {{now, 1}}));
    else
      req.push_back(ts({{"__name__", "good"}, {"i", std::to_string(i)}}, {{now, 1}, {now + 1, 2}}));
  }
  auto b = decode(encode_write_request(req));
  CAF_REQUIRE(b.is_ok());
  CAF_CHECK_EQUAL(b->series.size(), 20u);
  CAF_CHECK_EQUAL(b->report.samples_accepted, 40u);
  CAF_CHECK_EQUAL(b->report.series_rejected, 10u);
  CAF_CHECK_EQUAL(by(b->report, reject_reason::duplicate_label_name), 10u);
  CAF_CHECK_EQUAL(b->report.rejections.size(), 10u);
  CAF_CHECK_EQUAL(b->report.rejections_omitted, 0u);
  CAF_CHECK(b->report.rejections[0].reason == reject_reason::duplicate_label_name);
  CAF_CHECK_EQUAL(b->report.rejections[0].series, "bad{a=\"1\", a=\"2\"}");
  write_settings few;
  few.max_reported_rejections = 2;
  auto c = decode(encode_write_request(req), few);
  CAF_REQUIRE(c.is_ok());
  CAF_CHECK_EQUAL(c->report.summary(),
                  "10 series rejected, 10 samples rejected: bad{a=\"1\", a=\"2\"}: duplicate "
                  "label name \"a\"; bad{a=\"1\", a=\"2\"}: duplicate label name \"a\"; and 8 more");
  // Each accepted entry keeps its own sample range.
  CAF_CHECK_EQUAL(b->samples_of(b->series[1])[1].v, 2.0);
  CAF_CHECK_EQUAL(text(*b, 1), "good{i=\"2\"}");
}

CAF_TEST(stale nan survives and non finite values are stored or dropped) {
  double inf = std::numeric_limits<double>::infinity();
  double nan = nl::storage::float_from_bits(nl::storage::normal_nan_bits);
  std::vector<sample> ss{{now, nl::storage::stale_nan()}, {now + 1, nan}, {now + 2, inf},
                         {now + 3, -inf}, {now + 4, -0.0}, {now + 5, 1}};
  auto body = encode_write_request({ts({{"__name__", "x"}}, ss)});
  auto b = decode(body);
  CAF_REQUIRE(b.is_ok());
  CAF_REQUIRE_EQUAL(b->samples.size(), 6u);
  for (size_t i = 0; i < 6; ++i)
    CAF_CHECK_EQUAL(nl::storage::float_bits(b->samples[i].v), nl::storage::float_bits(ss[i].v));
  write_settings drop;
  drop.drop_non_finite = true;
  auto d = decode(body, drop);
  CAF_REQUIRE(d.is_ok());
  CAF_REQUIRE_EQUAL(d->samples.size(), 3u);
  CAF_CHECK(nl::storage::is_stale_nan(d->samples[0].v));
  CAF_CHECK_EQUAL(nl::storage::float_bits(d->samples[1].v), nl::storage::float_bits(-0.0));
  CAF_CHECK_EQUAL(d->report.non_finite_dropped, 3u);
  CAF_CHECK(!d->report.any_rejected());
}

CAF_TEST(future samples are rejected per sample) {
  constexpr int64_t ten_min = 10 * 60 * 1000;
  auto body = encode_write_request(
    {ts({{"__name__", "x"}}, {{now, 1}, {now + ten_min, 2}, {now + ten_min + 1, 3}}),
     ts({{"__name__", "y"}}, {{now + 86'400'000, 1}}),
     ts({{"__name__", "z"}}, {{std::numeric_limits<int64_t>::max(), 1}})});
  auto b = decode(body);
  CAF_REQUIRE(b.is_ok());
  CAF_REQUIRE_EQUAL(b->series.size(), 1u);
  CAF_CHECK_EQUAL(b->series[0].samples_count, 2u);
  CAF_CHECK_EQUAL(b->report.samples_rejected, 3u);
  CAF_CHECK_EQUAL(by(b->report, reject_reason::too_far_in_future), 3u);
  CAF_CHECK_EQUAL(b->report.series_rejected, 2u);
  CAF_REQUIRE_EQUAL(b->report.rejections.size(), 3u);
  CAF_CHECK(b->report.rejections[0].reason == reject_reason::too_far_in_future);
  CAF_CHECK_EQUAL(b->report.rejections[1].message,
                  "out of bounds: timestamp is too far in the future");
  CAF_CHECK_EQUAL(b->report.rejections[1].series, "y");
  write_settings off;
  off.max_future_ms = -1;
  auto c = decode(body, off);
  CAF_REQUIRE(c.is_ok());
  CAF_CHECK_EQUAL(c->samples.size(), 5u);
}

CAF_TEST(histograms reject the series and exemplars are counted) {
  prometheus::WriteRequest req;
  auto* t = req.add_timeseries();
  auto* l = t->add_labels();
  l->set_name("__name__");
  l->set_value("h");
  auto* h = t->add_histograms();
  h->set_count_int(3);
  h->add_positive_deltas(1);
  h->add_positive_deltas(-1);
  h->set_timestamp(now);
  auto* e = req.add_timeseries();
  *e->mutable_labels() = t->labels();
  auto* ex = e->add_exemplars();
  ex->set_value(1);
  ex->set_timestamp(now);
  auto* s = req.add_timeseries();
  *s->mutable_labels() = t->labels();
  s->add_samples()->set_value(4);
  auto b = decode(req.SerializeAsString());
  CAF_REQUIRE(b.is_ok());
  CAF_CHECK_EQUAL(b->series.size(), 1u);
  CAF_CHECK_EQUAL(b->report.histograms_rejected, 1u);
  CAF_CHECK_EQUAL(b->report.exemplars_ignored, 1u);
  CAF_CHECK_EQUAL(b->report.series_rejected, 1u);
  CAF_CHECK_EQUAL(by(b->report, reject_reason::native_histogram), 0u);  // no float samples
  CAF_REQUIRE_EQUAL(b->report.rejections.size(), 1u);
  CAF_CHECK(b->report.rejections[0].reason == reject_reason::native_histogram);
  CAF_CHECK_EQUAL(b->report.rejections[0].message, "native histograms are not supported");
}

CAF_TEST(snappy and protobuf errors keep their codes through decode_remote_write) {
  write_settings st;
  auto body = encode_write_request({ts({{"__name__", "up"}}, {{now, 1}})});
  auto ok = decode_remote_write(snappy_encode(body), now, st, 1 << 20);
  CAF_REQUIRE(ok.is_ok());
  CAF_CHECK_EQUAL(ok->series.size(), 1u);
  // The batch's views stay valid after moving it (the body is on the heap).
  write_batch moved = std::move(ok.value());
  CAF_CHECK_EQUAL(text(moved, 0), "up{}");
  auto big = decode_remote_write(snappy_encode(body), now, st, 4);
  CAF_CHECK(big.error().error_code() == nl::storage::status::code::limit_exceeded);
  auto bad = decode_remote_write("not snappy at all", now, st, 1 << 20).error();
  CAF_CHECK_EQUAL(bad.message(), "snappy: corrupt input");
  auto garbage = decode_remote_write(snappy_encode("\x0a\x09zz"), now, st, 1 << 20).error();
  CAF_CHECK(garbage.message().rfind("protobuf: ", 0) == 0);
}

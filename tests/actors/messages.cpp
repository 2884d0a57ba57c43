#define CAF_SUITE actors.messages
#include "test_support.hpp"

#include <caf/test/dsl.hpp>

#include <cstring>

#include "actors/messages.hpp"
#include "storage/label_key.hpp"
#include "storage/sample.hpp"
#include "storage/chunk/dense_chunk.hpp"
#include "storage/chunk/xor_chunk.hpp"

using namespace nl::actors;
using nl::storage::label_set;

namespace {

struct config : caf::actor_system_config {
  config() {
    register_message_types(*this);
  }
};

struct fixture : test_coordinator_fixture<config> {
  // Serialises a whole message (what BASP sends between nodes) and reads it
  // back through the type registry.
  caf::message round_trip(const caf::message& in) {
    auto buf = serialize(in);
    caf::message out;
    caf::binary_deserializer src{sys, buf};
    if (auto err = src(out))
      CAF_FAIL("deserialization failed: " << sys.render(err));
    return out;
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(messages_tests, fixture)

CAF_TEST(an append batch crosses a node boundary bit exact) {
  append_batch b;
  b.add_series(label_set::from_unsorted({{"job", "a"}, {"__name__", "up"}}));
  // StaleNaN, +Inf and a NaN payload: CAF's own double packing would lose
  // or loop on them; bits must survive.
  b.add_sample(1000, nl::storage::stale_nan_bits);
  b.add_sample(2000, nl::storage::float_bits(1.0 / 0.0));
  b.add_sample(-5, 0x7ff8000000000001ULL);
  b.add_series(label_set::from_unsorted({{"__name__", "down"}}));
  b.add_sample(7, 0);
  b.observed_max_t = 2000;
  b.deadline_unix_ms = 1'700'000'000'123;
  auto out = round_trip(caf::make_message(append_atom_v, b));
  CAF_REQUIRE((out.match_elements<append_atom, append_batch>()));
  auto& x = out.get_as<append_batch>(1);
  CAF_CHECK_EQUAL(x.keys, b.keys);
  CAF_CHECK_EQUAL(x.key_ends, b.key_ends);
  CAF_CHECK_EQUAL(x.hashes, b.hashes);
  CAF_CHECK_EQUAL(x.timestamps, b.timestamps);
  CAF_CHECK_EQUAL(x.value_bits, b.value_bits);
  CAF_CHECK_EQUAL(x.ends, b.ends);
  CAF_CHECK_EQUAL(x.observed_max_t, 2000);
  CAF_CHECK_EQUAL(x.deadline_unix_ms, 1'700'000'000'123);
}

CAF_TEST(a damaged append batch from the wire is refused) {
  append_batch good;
  good.add_series(label_set::from_unsorted({{"__name__", "up"}, {"job", "a"}}));
  good.add_sample(1, 0);
  good.add_series(label_set::from_unsorted({{"__name__", "up"}, {"job", "b"}}));
  good.add_sample(2, 0);
  auto load = [&](append_batch b) {
    auto buf = serialize(b);
    append_batch x;
    caf::binary_deserializer src{sys, buf};
    return src(x);
  };
  CAF_CHECK(!load(good));
  // A wrong hash is not an error: the receiver recomputes it.
  auto rehashed = good;
  rehashed.hashes = {1, 2};
  {
    auto buf = serialize(rehashed);
    append_batch x;
    caf::binary_deserializer src{sys, buf};
    CAF_REQUIRE(!src(x));
    CAF_CHECK_EQUAL(x.hashes, good.hashes);
  }
  std::vector<append_batch> bad(11, good);
  bad[0].key_ends[1] = static_cast<uint32_t>(good.keys.size() + 1);  // past the end
  bad[1].key_ends = {good.key_ends[1], good.key_ends[0]};           // out of order
  bad[2].keys[0] = 9;                                                // count past the key
  bad[3].ends = {2, 1};                                              // sample ranges backwards
  bad[4].ends = {1};                                                 // one range for two keys
  bad[5].value_bits.pop_back();                                      // columns disagree
  bad[6].keys.push_back('x');                                        // bytes after the last key
  bad[7].keys[bad[7].key_ends[0] + 2] = 'z';                         // z_name__ after job: unsorted
  bad[8].key_ends[0] -= 1;                                           // key split mid-label
  bad[9].numbering = 1;                                              // a node's own series slots
  bad[10].numbered_slots = {0, 1};
  for (size_t i = 0; i < bad.size(); ++i) {
    CAF_MESSAGE("damage " << i);
    CAF_CHECK(load(bad[i]));
  }
  append_batch empty_key;
  empty_key.keys.assign(1, '\0');
  empty_key.key_ends = {1};
  empty_key.ends = {0};
  CAF_CHECK(load(empty_key));
}

CAF_TEST(a link batch crosses a node boundary bit exact) {
  append_batch samples;
  samples.add_series(label_set::from_unsorted({{"__name__", "up"}}));
  samples.add_sample(1000, nl::storage::stale_nan_bits);
  samples.add_sample(-5, 0x7ff8000000000001ULL);
  samples.add_series(label_set::from_unsorted({{"__name__", "down"}}));
  samples.add_sample(7, 0);
  samples.observed_max_t = 1000;
  samples.write_id = 77;
  link_batch b;
  b.session = 9;
  b.first_new = 3;
  b.new_count = 1;
  b.new_keys = samples.key(1);
  b.set_columns({1, 3}, samples);
  auto out = round_trip(caf::make_message(append_atom_v, b));
  CAF_REQUIRE((out.match_elements<append_atom, link_batch>()));
  auto& x = out.get_as<link_batch>(1);
  CAF_CHECK_EQUAL(x.session, 9u);
  CAF_CHECK_EQUAL(x.first_new, 3u);
  CAF_CHECK_EQUAL(x.new_keys, b.new_keys);
  CAF_CHECK_EQUAL(x.num_series, 2u);
  CAF_CHECK_EQUAL(x.num_samples, 3u);
  CAF_CHECK_EQUAL(x.ref(0), 1u);
  CAF_CHECK_EQUAL(x.ref(1), 3u);
  CAF_CHECK_EQUAL(x.end(0), 2u);
  CAF_CHECK_EQUAL(x.end(1), 3u);
  int64_t t = 0;
  uint64_t v = 0;
  std::memcpy(&t, x.timestamps_at(1), 8);
  std::memcpy(&v, x.value_bits_at(1), 8);
  CAF_CHECK_EQUAL(t, -5);
  CAF_CHECK_EQUAL(v, 0x7ff8000000000001ULL);
  CAF_CHECK_EQUAL(x.observed_max_t, 1000);
  CAF_CHECK_EQUAL(x.write_id, 77u);
}

CAF_TEST(a damaged link batch from the wire fails validation) {
  append_batch samples;
  samples.add_series(label_set::from_unsorted({{"__name__", "up"}}));
  samples.add_sample(1, 0);
  samples.add_series(label_set::from_unsorted({{"__name__", "down"}}));
  samples.add_sample(2, 0);
  link_batch good;
  good.session = 1;
  good.new_count = 2;
  good.set_columns({0, 1}, samples);
  // Loaded as sent; the gateway's validate() refuses it (answered
  // bad_input rather than dropped by CAF unanswered).
  auto load = [&](const link_batch& b) -> caf::error {
    auto buf = serialize(b);
    link_batch x;
    caf::binary_deserializer src{sys, buf};
    if (auto err = src(x))
      return err;
    return x.validate();
  };
  CAF_CHECK(!load(good));
  auto set_u32 = [](link_batch& b, size_t offset, uint32_t v) { std::memcpy(b.columns.data() + offset, &v, 4); };
  std::vector<link_batch> bad(6, good);
  bad[0].columns.pop_back();              // columns shorter than announced
  bad[1].num_samples = 3;                 // more samples than the columns hold
  bad[2].session = 0;                     // no session
  set_u32(bad[3], 4, 2);                  // series number 2: only 0 and 1 are numbered
  set_u32(bad[4], 8, 3);                  // the first series' samples past the end
  set_u32(bad[5], 12, 1);                 // the last series ends before all samples
  for (size_t i = 0; i < bad.size(); ++i) {
    CAF_MESSAGE("damage " << i);
    CAF_CHECK(load(bad[i]));
  }
}

CAF_TEST(label sets from the wire are canonicalised) {
  // A peer could send pairs unsorted, duplicated or with empty values; the
  // loaded label_set must still hold its invariants.
  std::vector<nl::storage::label> raw{{"z", "1"}, {"a", ""}, {"b", "2"}, {"b", "3"}};
  auto buf = serialize(caf::meta::type_name("nl::label_set"), raw);
  label_set ls;
  caf::binary_deserializer src{sys, buf};
  CAF_REQUIRE(!src(ls));
  CAF_CHECK_EQUAL(ls.to_string(), R"({b="3", z="1"})");
}

CAF_TEST(query messages round trip) {
  using nl::storage::match_type;
  auto m = [](match_type t, std::string name, std::string value) {
    return *nl::storage::matcher::make(t, std::move(name), std::move(value));
  };
  meta_query q;
  q.selectors = {{m(match_type::equal, "__name__", "up"), m(match_type::regex, "job", "a|b")}};
  q.mint = -1;
  q.maxt = 5;
  q.label_name = "job";
  q.limit = 7;
  auto out = round_trip(caf::make_message(label_values_atom_v, q));
  CAF_REQUIRE((out.match_elements<label_values_atom, meta_query>()));
  auto& y = out.get_as<meta_query>(1);
  CAF_CHECK_EQUAL(y.selectors.size(), 1u);
  CAF_CHECK(y.selectors[0][1].type() == match_type::regex);
  CAF_CHECK_EQUAL(y.selectors[0][1].value(), "a|b");
  // Compiled on arrival: the loaded matcher matches.
  CAF_CHECK(y.selectors[0][1].matches("b"));
  CAF_CHECK(!y.selectors[0][1].matches("c"));
  CAF_CHECK_EQUAL(y.limit, 7u);
}

CAF_TEST(cluster read messages keep fetch ids and warnings) {
  select_request r;
  r.mint = 10;
  r.maxt = 20;
  r.max_samples = 1000;
  r.fetch_id = 0xfeedbeefcafe;
  auto out = round_trip(caf::make_message(select_atom_v, r));
  CAF_REQUIRE((out.match_elements<select_atom, select_request>()));
  CAF_CHECK_EQUAL(out.get_as<select_request>(1).fetch_id, 0xfeedbeefcafeu);
  CAF_CHECK_EQUAL(out.get_as<select_request>(1).max_samples, 1000u);
  select_result sr;
  sr.warnings = {"cluster: 2 of 3 nodes did not answer"};
  out = round_trip(caf::make_message(sr));
  CAF_CHECK_EQUAL(out.get_as<select_result>(0).warnings, sr.warnings);
  series_list sl{{label_set::from_unsorted({{"__name__", "up"}})}, true, {"w1", "w2"}};
  out = round_trip(caf::make_message(sl));
  CAF_CHECK(out.get_as<series_list>(0).truncated);
  CAF_CHECK_EQUAL(out.get_as<series_list>(0).warnings, sl.warnings);
  string_list names{{"a", "b"}, false, {"w"}};
  out = round_trip(caf::make_message(names));
  CAF_CHECK_EQUAL(out.get_as<string_list>(0).items, names.items);
  CAF_CHECK_EQUAL(out.get_as<string_list>(0).warnings, names.warnings);
  out = round_trip(caf::make_message(fetch_cancel_atom_v, uint64_t{42}));
  CAF_REQUIRE((out.match_elements<fetch_cancel_atom, uint64_t>()));
  CAF_CHECK_EQUAL(out.get_as<uint64_t>(1), 42u);
}

CAF_TEST(typed query answers cross a node boundary bit exact) {
  using nl::storage::float_bits;
  using nl::storage::float_from_bits;
  auto ls = [](std::string v) { return label_set::from_unsorted({{"__name__", "up"}, {"job", std::move(v)}}); };
  const uint64_t payload_nan = 0x7ff8000000000001ULL;
  // A matrix with StaleNaN, +-Inf, -0 and a NaN payload, and an empty series.
  query_answer m;
  m.value = nl::promql::matrix{
    {ls("a"), {{1000, nl::storage::stale_nan()}, {2000, 1.0 / 0.0}, {3000, -0.0}}},
    {ls("b"), {}},
    {ls("c"), {{-5, float_from_bits(payload_nan)}, {7, -1.0 / 0.0}}}};
  m.warnings = {"results truncated due to limit"};
  auto out = round_trip(caf::make_message(m));
  CAF_REQUIRE((out.match_elements<query_answer>()));
  const auto& back = out.get_as<query_answer>(0);
  CAF_CHECK_EQUAL(back.warnings, m.warnings);
  const auto* mx = std::get_if<nl::promql::matrix>(&back.value);
  CAF_REQUIRE(mx != nullptr);
  CAF_REQUIRE_EQUAL(mx->size(), 3u);
  const auto& want = std::get<nl::promql::matrix>(m.value);
  for (size_t i = 0; i < 3; ++i) {
    CAF_CHECK((*mx)[i].labels == want[i].labels);
    CAF_REQUIRE_EQUAL((*mx)[i].points.size(), want[i].points.size());
    for (size_t k = 0; k < want[i].points.size(); ++k) {
      CAF_CHECK_EQUAL((*mx)[i].points[k].t, want[i].points[k].t);
      CAF_CHECK_EQUAL(float_bits((*mx)[i].points[k].v), float_bits(want[i].points[k].v));
    }
  }
  query_answer v;
  v.value = nl::promql::vector{{ls("a"), 10, nl::storage::stale_nan()}, {ls("b"), 11, float_from_bits(payload_nan)}};
  auto vout = round_trip(caf::make_message(v));
  const auto& vb = std::get<nl::promql::vector>(vout.get_as<query_answer>(0).value);
  CAF_REQUIRE_EQUAL(vb.size(), 2u);
  CAF_CHECK(vb[1].labels == ls("b"));
  CAF_CHECK_EQUAL(vb[1].t, 11);
  CAF_CHECK_EQUAL(float_bits(vb[0].v), nl::storage::stale_nan_bits);
  CAF_CHECK_EQUAL(float_bits(vb[1].v), payload_nan);
  query_answer s;
  s.value = nl::promql::scalar{42, -1.0 / 0.0};
  auto sb = std::get<nl::promql::scalar>(round_trip(caf::make_message(s)).get_as<query_answer>(0).value);
  CAF_CHECK_EQUAL(sb.t, 42);
  CAF_CHECK_EQUAL(float_bits(sb.v), float_bits(-1.0 / 0.0));
  // Stats travel with the value.
  query_answer with_stats;
  with_stats.value = nl::promql::scalar{1, 2};
  nl::promql::query_stats st;
  st.samples.total = 12;
  st.samples.peak = 7;
  st.samples.per_step = {4, 0, 8};
  st.per_step = true;
  st.start = -5;
  st.interval = 15000;
  st.eval_total = 0.5;
  st.exec_total = 0.75;
  with_stats.stats = st;
  auto ws = round_trip(caf::make_message(with_stats)).get_as<query_answer>(0);
  CAF_REQUIRE(ws.stats.has_value());
  CAF_CHECK_EQUAL(ws.stats->samples.total, 12);
  CAF_CHECK_EQUAL(ws.stats->samples.peak, 7);
  CAF_CHECK_EQUAL(ws.stats->samples.per_step, (std::vector<int64_t>{4, 0, 8}));
  CAF_CHECK(ws.stats->per_step);
  CAF_CHECK_EQUAL(ws.stats->start, -5);
  CAF_CHECK_EQUAL(ws.stats->interval, 15000);
  CAF_CHECK_EQUAL(ws.stats->eval_total, 0.5);
  CAF_CHECK_EQUAL(ws.stats->exec_total, 0.75);
  CAF_CHECK(!round_trip(caf::make_message(s)).get_as<query_answer>(0).stats.has_value());
  query_answer str;
  str.value = nl::promql::string_value{43, "hello"};
  auto tb = std::get<nl::promql::string_value>(round_trip(caf::make_message(str)).get_as<query_answer>(0).value);
  CAF_CHECK_EQUAL(tb.t, 43);
  CAF_CHECK_EQUAL(tb.v, "hello");
}

CAF_TEST(a query answer from the wire whose columns disagree is refused) {
  query_answer_columns c;
  c.kind = 2;  // a matrix
  c.labels = {label_set::from_unsorted({{"a", "b"}})};
  c.ends = {5};  // past the one point
  c.times = {1};
  c.values = {0};
  query_answer out;
  CAF_CHECK(std::move(c).to(out) == error_code::bad_input);
  query_answer_columns k;
  k.kind = 9;
  CAF_CHECK(std::move(k).to(out) == error_code::bad_input);
  query_answer_columns short_stats;
  short_stats.kind = 0;
  short_stats.stats_counts = {1, 2};
  short_stats.stats_times = {0, 0, 0, 0, 0, 0};
  CAF_CHECK(std::move(short_stats).to(out) == error_code::bad_input);
}

CAF_TEST(matchers from the wire with a bad type or regex are refused) {
  // What a peer could send; the receiver compiles and rejects it.
  auto load = [&](uint8_t type, std::string value) {
    auto buf = serialize(caf::meta::type_name("nl::matcher"), type, std::string{"job"}, value);
    nl::storage::matcher x;
    caf::binary_deserializer src{sys, buf};
    return src(x);
  };
  CAF_CHECK(!load(2, "a|b"));
  CAF_CHECK(load(2, "("));
  CAF_CHECK(load(4, "a"));
}

CAF_TEST(paged head read messages round trip) {
  auto req = round_trip(caf::make_message(head_page_atom_v, uint64_t{3}, uint64_t{4096}, uint64_t{4096}));
  CAF_REQUIRE((req.match_elements<head_page_atom, uint64_t, uint64_t, uint64_t>()));
  CAF_CHECK_EQUAL(req.get_as<uint64_t>(2), 4096u);
  head_cursor c{3, 100000, -5, 299999};
  auto out = round_trip(caf::make_message(c));
  CAF_REQUIRE((out.match_elements<head_cursor>()));
  auto& y = out.get_as<head_cursor>(0);
  CAF_CHECK_EQUAL(y.id, 3u);
  CAF_CHECK_EQUAL(y.num_series, 100000u);
  CAF_CHECK_EQUAL(y.mint, -5);
  CAF_CHECK_EQUAL(y.maxt, 299999);
  CAF_CHECK((round_trip(caf::make_message(read_head_atom_v)).match_elements<read_head_atom>()));
}

CAF_TEST(series records cross a node boundary as checked series entries) {
  series_records r;
  auto key = nl::storage::label_key(nl::storage::label_set::from_unsorted({{"__name__", "up"}, {"job", "a"}}));
  nl::storage::append_series_entry(r.entries, 7, key);
  r.count = 1;
  auto out = round_trip(caf::make_message(r));
  CAF_REQUIRE((out.match_elements<series_records>()));
  CAF_CHECK_EQUAL(out.get_as<series_records>(0).entries, r.entries);
  CAF_CHECK(!r.validate());
  r.count = 2;
  CAF_CHECK(r.validate());
  r.count = 1;
  r.entries.pop_back();
  CAF_CHECK(r.validate());
}

CAF_TEST(metadata messages round trip and a bad metric type is refused) {
  using nl::storage::metric_type;
  metadata_update u;
  u.entries = {{"rpc_seconds", metric_type::histogram, "RPC latency.", "seconds"},
               {"up", metric_type::unknown, "", ""}};
  u.seen_ms = 1700000000000;
  u.write_id = 9;
  auto out = round_trip(caf::make_message(metadata_put_atom_v, u));
  CAF_REQUIRE((out.match_elements<metadata_put_atom, metadata_update>()));
  const auto& x = out.get_as<metadata_update>(1);
  CAF_CHECK(x.entries == u.entries);
  CAF_CHECK_EQUAL(x.seen_ms, u.seen_ms);
  CAF_CHECK_EQUAL(x.write_id, 9u);
  auto q = round_trip(caf::make_message(metadata_atom_v, metadata_query{"up", 3, -1})).get_as<metadata_query>(1);
  CAF_CHECK_EQUAL(q.metric, "up");
  CAF_CHECK_EQUAL(q.limit, 3);
  CAF_CHECK_EQUAL(q.limit_per_metric, -1);
  auto l = round_trip(caf::make_message(metadata_list{u.entries, {"cluster: node c did not answer"}}))
             .get_as<metadata_list>(0);
  CAF_CHECK(l.items == u.entries);
  CAF_CHECK_EQUAL(l.warnings, std::vector<std::string>{"cluster: node c did not answer"});
  // A type number this version does not know never becomes an enum value.
  metadata_update bad;
  bad.entries = {{"x", static_cast<metric_type>(8), "", ""}};
  auto load = [&](const metadata_update& in) {
    auto buf = serialize(in);
    metadata_update y;
    caf::binary_deserializer src{sys, buf};
    return src(y);
  };
  CAF_CHECK(!load(u));
  CAF_CHECK(load(bad));
  // Records for a checkpoint are checked when they arrive.
  metadata_records r;
  nl::storage::append_metadata_entry(r.entries, {5, {"up", metric_type::gauge, "Up.", ""}});
  r.count = 1;
  auto back = round_trip(caf::make_message(r));
  CAF_CHECK_EQUAL(back.get_as<metadata_records>(0).entries, r.entries);
  CAF_CHECK(!r.validate());
  r.count = 2;
  CAF_CHECK(r.validate());
  r.count = 1;
  r.entries.pop_back();
  CAF_CHECK(r.validate());
  // A peer's part of a metadata read (metadata_fetch_atom) is checked as
  // it is loaded: a wrong count, an unknown type or an empty family name
  // refuses it. (CAF 0.17.6 then loads the whole message as an empty one
  // rather than failing, so no handler ever sees the records.)
  auto fetch = round_trip(caf::make_message(metadata_fetch_atom_v, metadata_query{"", 10, -1}));
  CAF_CHECK((fetch.match_elements<metadata_fetch_atom, metadata_query>()));
  auto arrives = [&](const metadata_records& in) {
    auto buf = serialize(caf::make_message(in));
    caf::message y;
    caf::binary_deserializer src{sys, buf};
    return !src(y) && y.match_elements<metadata_records>() && y.get_as<metadata_records>(0).entries == in.entries;
  };
  metadata_records good;
  nl::storage::append_metadata_entry(good.entries, {5, {"up", metric_type::gauge, "Up.", ""}});
  good.count = 1;
  CAF_CHECK(arrives(good));
  auto wrong_count = good;
  wrong_count.count = 3;
  CAF_CHECK(!arrives(wrong_count));
  metadata_records no_family;
  nl::storage::append_metadata_entry(no_family.entries, {5, {"", metric_type::gauge, "Up.", ""}});
  no_family.count = 1;
  CAF_CHECK(!arrives(no_family));
  auto bad_type = good;
  bad_type.entries[1] = 9;  // after the one-byte varint of seen_ms
  CAF_CHECK(!arrives(bad_type));
}

CAF_TEST(tsdb status messages round trip) {
  nl::storage::head_cardinality c;
  c.num_series = 2;
  c.num_chunks = 3;
  c.min_time = -7;
  c.max_time = INT64_MIN;
  c.labels.push_back({"job", {"a", "b"}, {1, 1}});
  auto out = round_trip(caf::make_message(c));
  CAF_REQUIRE((out.match_elements<nl::storage::head_cardinality>()));
  auto& x = out.get_as<nl::storage::head_cardinality>(0);
  CAF_CHECK_EQUAL(x.num_chunks, 3u);
  CAF_CHECK_EQUAL(x.min_time, -7);
  CAF_CHECK_EQUAL(x.max_time, INT64_MIN);
  CAF_REQUIRE_EQUAL(x.labels.size(), 1u);
  CAF_CHECK_EQUAL(x.labels[0].values, (std::vector<std::string>{"a", "b"}));
  CAF_CHECK_EQUAL(x.labels[0].series, (std::vector<uint64_t>{1, 1}));
  nl::storage::tsdb_status st;
  st.num_label_pairs = 9;
  st.series_count_by_label_value_pair = {{"job=a", 4}};
  auto req = round_trip(caf::make_message(tsdb_status_atom_v, uint64_t{25}));
  CAF_CHECK((req.match_elements<tsdb_status_atom, uint64_t>()));
  auto back = round_trip(caf::make_message(st));
  CAF_REQUIRE((back.match_elements<nl::storage::tsdb_status>()));
  auto& y = back.get_as<nl::storage::tsdb_status>(0);
  CAF_CHECK_EQUAL(y.num_label_pairs, 9u);
  CAF_CHECK_EQUAL(y.min_time, INT64_MAX);
  CAF_REQUIRE_EQUAL(y.series_count_by_label_value_pair.size(), 1u);
  CAF_CHECK_EQUAL(y.series_count_by_label_value_pair[0].name, "job=a");
  CAF_CHECK_EQUAL(y.series_count_by_label_value_pair[0].value, 4u);
}

CAF_TEST(a shared chunk crosses a node boundary as its bytes) {
  nl::storage::xor_appender app;
  app.append(1000, 1.5);
  app.append(16000, nl::storage::float_from_bits(nl::storage::stale_nan_bits));
  select_result sr;
  sr.series.push_back({label_set::from_unsorted({{"__name__", "up"}}), {{app.snapshot()}}});
  auto out = round_trip(caf::make_message(sr));
  auto& z = out.get_as<select_result>(0);
  CAF_REQUIRE_EQUAL(z.series.size(), 1u);
  auto& c = z.series[0].chunks.at(0).chunk;
  CAF_REQUIRE(c != nullptr);
  CAF_CHECK(c != sr.series[0].chunks[0].chunk);  // a new chunk, not the sender's pointer
  CAF_CHECK_EQUAL(c->bytes(), app.bytes());
  CAF_CHECK_EQUAL(c->min_time(), 1000);
  CAF_CHECK_EQUAL(c->max_time(), 16000);
}

CAF_TEST(a malformed chunk from another node is refused) {
  nl::storage::xor_appender app;
  for (int i = 0; i < 10; ++i)
    app.append(i * 15000, i * 0.25);
  select_result sr;
  sr.series.push_back({label_set::from_unsorted({{"__name__", "up"}}), {{app.snapshot()}}});
  auto good = serialize(caf::make_message(sr));
  std::string bytes{app.bytes()};
  // The chunk's bytes are the buffer's tail (a length prefix before them):
  // cut it short, or break its sample count, or empty it.
  auto find_chunk = [&](const std::vector<char>& buf) {
    auto* b = reinterpret_cast<const char*>(buf.data());
    return std::string_view{b, buf.size()}.rfind(bytes);
  };
  auto at = find_chunk(good);
  CAF_REQUIRE(at != std::string_view::npos);
  // CAF 0.17 reports a failed element as an empty message, not an error:
  // either way no select_result arrives.
  auto refuse = [&](const std::vector<char>& buf) {
    caf::message out;
    caf::binary_deserializer src{sys, buf};
    auto err = src(out);
    CAF_CHECK(err != caf::none || !out.match_elements<select_result>());
  };
  {
    caf::message out;
    caf::binary_deserializer src{sys, good};
    CAF_CHECK(src(out) == caf::none && out.match_elements<select_result>());
  }
  // A chunk whose own bytes lack their last three (the message around them
  // intact, so the chunk's validation is what must refuse it).
  {
    auto cut = sr;
    std::vector<uint8_t> short_bytes(bytes.begin(), bytes.end() - 3);
    cut.series[0].chunks[0].chunk = std::make_shared<const nl::storage::xor_chunk>(
      std::move(short_bytes), 0, 135000, 2.25);
    refuse(serialize(caf::make_message(cut)));
  }
  auto more_samples = good;
  more_samples[at] = '\xff';  // count says 65280+ samples, bytes hold 10
  refuse(more_samples);
  sr.series[0].chunks[0].chunk = std::make_shared<const nl::storage::xor_chunk>(
    std::vector<uint8_t>{}, 0, 0, 0.0);
  refuse(serialize(caf::make_message(sr)));
}

CAF_TEST(a dense chunk of a block crosses a node boundary as stored) {
  std::vector<nl::storage::sample> xs;
  for (int i = 0; i < 300; ++i)
    xs.push_back({1000 + i * 15000, i == 7 ? nl::storage::stale_nan() : i * 0.5});
  std::string bytes;
  nl::storage::encode_dense_chunk(xs.data(), xs.size(), bytes);
  auto d = nl::storage::dense_chunk::of_record(bytes, xs.front().t, xs.back().t);
  CAF_REQUIRE(d.is_ok());
  select_result sr;
  sr.series.push_back({label_set::from_unsorted({{"__name__", "up"}}),
                       {{std::make_shared<const nl::storage::dense_chunk>(std::move(*d))}}});
  auto out = round_trip(caf::make_message(sr));
  auto& z = out.get_as<select_result>(0);
  CAF_REQUIRE_EQUAL(z.series.size(), 1u);
  auto& c = z.series[0].chunks.at(0).chunk;
  CAF_REQUIRE(c != nullptr);
  CAF_CHECK(c->encoding() == nl::storage::chunk_encoding::dense);
  CAF_CHECK_EQUAL(c->bytes(), std::string_view{bytes});
  CAF_CHECK_EQUAL(c->min_time(), xs.front().t);
  CAF_CHECK_EQUAL(c->max_time(), xs.back().t);
  std::vector<nl::storage::sample> got;
  CAF_REQUIRE(c->decode(INT64_MIN, INT64_MAX, got).is_ok());
  CAF_REQUIRE_EQUAL(got.size(), xs.size());
  for (size_t i = 0; i < xs.size(); ++i)
    CAF_CHECK(got[i].t == xs[i].t && nl::storage::float_bits(got[i].v) == nl::storage::float_bits(xs[i].v));
}

CAF_TEST(a malformed dense chunk or an unknown encoding from another node is refused) {
  std::vector<nl::storage::sample> xs;
  for (int i = 0; i < 50; ++i)
    xs.push_back({i * 15000, i * 0.25});
  std::string bytes;
  nl::storage::encode_dense_chunk(xs.data(), xs.size(), bytes);
  auto message_with = [&](std::string_view b) {
    auto d = nl::storage::dense_chunk::of_record(b, 0, xs.back().t);  // checks only the count
    CAF_REQUIRE(d.is_ok());
    select_result sr;
    sr.series.push_back({label_set::from_unsorted({{"__name__", "up"}}),
                         {{std::make_shared<const nl::storage::dense_chunk>(std::move(*d))}}});
    return serialize(caf::make_message(sr));
  };
  auto refused = [&](const std::vector<char>& buf) {
    caf::message out;
    caf::binary_deserializer src{sys, buf};
    auto err = src(out);
    return err != caf::none || !out.match_elements<select_result>();
  };
  auto good = message_with(bytes);
  CAF_CHECK(!refused(good));
  CAF_CHECK(refused(message_with(bytes.substr(0, bytes.size() - 2))));  // truncated
  CAF_CHECK(refused(message_with(bytes + '\0')));                      // trailing bytes
  // Timestamps that do not increase decode, but are refused.
  auto flat = xs;
  flat[3].t = flat[2].t;
  std::string flat_bytes;
  nl::storage::encode_dense_chunk(flat.data(), flat.size(), flat_bytes);
  CAF_CHECK(refused(message_with(flat_bytes)));
  // The encoding byte sits before the first timestamp (8 bytes) and the
  // bytes' length (one byte here): 2, dense. 3 is no encoding; 1 says XOR,
  // which these bytes are not.
  auto* b = reinterpret_cast<const char*>(good.data());
  auto at = std::string_view{b, good.size()}.rfind(bytes);
  CAF_REQUIRE(at != std::string_view::npos && at >= 10);
  CAF_REQUIRE_EQUAL(good[at - 10], '\x02');
  for (char e : {'\x03', '\x01', '\x00'}) {
    auto bad = good;
    bad[at - 10] = e;
    CAF_CHECK(refused(bad));
  }
}

CAF_TEST_FIXTURE_SCOPE_END()

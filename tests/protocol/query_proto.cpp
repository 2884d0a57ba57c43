#define CAF_SUITE protocol.query_proto
#include "test_support.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "protocol/query_proto.hpp"
#include "query.pb.h"
#include "storage/sample.hpp"

using namespace nl::protocol;
using nl::storage::float_bits;
using nl::storage::float_from_bits;
using nl::storage::label_set;
namespace pb = nightlight::v1;
namespace promql = nl::promql;

namespace {

label_set series_labels(int i, size_t pad = 0) {
  return label_set::from_unsorted(
    {{"__name__", "m"}, {"instance", "host-" + std::to_string(i)}, {"pad", std::string(pad, 'x')}});
}

// Every part as a client sees it: the encoded bytes parsed by the
// generated class. The bytes must be exactly what that class serializes
// for the parsed message (same fields, order, defaults left out, packing);
// sizes of the parts in `sizes`.
template <class Message, class Encoder>
std::vector<Message> all_parts(Encoder& e, std::vector<size_t>* sizes = nullptr) {
  std::vector<Message> out;
  while (!e.done()) {
    auto bytes = e.next();
    if (sizes)
      sizes->push_back(bytes.size());
    Message back;
    CAF_REQUIRE(back.ParseFromString(bytes));
    CAF_CHECK(back.SerializeAsString() == bytes);
    out.push_back(std::move(back));
    CAF_REQUIRE(out.size() < 100000);
  }
  return out;
}

std::vector<pb::QueryResponse> parts_of(const promql::query_value& v, std::vector<std::string> warnings = {},
                                        size_t target = grpc_part_bytes, std::vector<size_t>* sizes = nullptr) {
  query_response_encoder e{v, std::move(warnings), target};
  return all_parts<pb::QueryResponse>(e, sizes);
}

label_set labels_of(const google::protobuf::RepeatedPtrField<pb::Label>& ls) {
  std::vector<nl::storage::label> v;
  for (const auto& l : ls)
    v.push_back({l.name(), l.value()});
  return label_set::from_unsorted(std::move(v));
}

// A matrix rebuilt from its parts, joining `continued` pieces.
promql::matrix join(const std::vector<pb::QueryResponse>& parts) {
  promql::matrix m;
  for (const auto& p : parts) {
    CAF_CHECK_EQUAL(p.result_type(), pb::RESULT_TYPE_MATRIX);
    for (const auto& s : p.matrix()) {
      if (s.continued()) {
        CAF_REQUIRE(!m.empty());
        CAF_CHECK_EQUAL(s.labels_size(), 0);
      } else {
        m.push_back({labels_of(s.labels()), {}});
      }
      CAF_REQUIRE_EQUAL(s.timestamps_ms_size(), s.values_size());
      for (int k = 0; k < s.values_size(); ++k)
        m.back().points.push_back({s.timestamps_ms(k), s.values(k)});
    }
  }
  return m;
}

bool same_bits(const promql::matrix& a, const promql::matrix& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i].labels == b[i].labels) || a[i].points.size() != b[i].points.size())
      return false;
    for (size_t k = 0; k < a[i].points.size(); ++k)
      if (a[i].points[k].t != b[i].points[k].t || float_bits(a[i].points[k].v) != float_bits(b[i].points[k].v))
        return false;
  }
  return true;
}

constexpr uint64_t nan_payload = 0x7ff8000000000123ULL;

}  // namespace

CAF_TEST(special values cross the wire bit for bit) {
  const double specials[] = {nl::storage::stale_nan(), float_from_bits(nan_payload), INFINITY, -INFINITY, -0.0,
                             0.0, 5e-324, 1.7976931348623157e308};
  promql::vector v;
  promql::matrix m{{series_labels(0), {}}};
  int t = 0;
  for (double d : specials) {
    v.push_back({series_labels(t), 1000 + t, d});
    m[0].points.push_back({1000 + t, d});
    ++t;
  }
  auto vp = parts_of(v);
  CAF_REQUIRE_EQUAL(vp.size(), 1u);
  CAF_CHECK_EQUAL(vp[0].result_type(), pb::RESULT_TYPE_VECTOR);
  CAF_REQUIRE_EQUAL(vp[0].vector_size(), static_cast<int>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) {
    const auto& x = vp[0].vector(static_cast<int>(i));
    CAF_CHECK_EQUAL(float_bits(x.value()), float_bits(v[i].v));
    CAF_CHECK_EQUAL(x.timestamp_ms(), v[i].t);
    CAF_CHECK(labels_of(x.labels()) == v[i].labels);
  }
  CAF_CHECK_EQUAL(float_bits(vp[0].vector(0).value()), nl::storage::stale_nan_bits);
  CAF_CHECK(same_bits(join(parts_of(m)), m));
  // Zero, negative and huge times; defaults (t = 0, +0.0, no labels) are
  // left out of the bytes but the element is still there.
  promql::vector odd{{label_set{}, 0, 0.0}, {series_labels(1), -1, -0.0},
                     {series_labels(2), std::numeric_limits<int64_t>::max(), 1.0},
                     {series_labels(3), std::numeric_limits<int64_t>::min(), 2.0}};
  auto op = parts_of(odd);
  CAF_REQUIRE_EQUAL(op.size(), 1u);
  CAF_REQUIRE_EQUAL(op[0].vector_size(), 4);
  for (int i = 0; i < 4; ++i) {
    CAF_CHECK_EQUAL(op[0].vector(i).timestamp_ms(), odd[static_cast<size_t>(i)].t);
    CAF_CHECK_EQUAL(float_bits(op[0].vector(i).value()), float_bits(odd[static_cast<size_t>(i)].v));
    CAF_CHECK(labels_of(op[0].vector(i).labels()) == odd[static_cast<size_t>(i)].labels);
  }
  promql::matrix mt{{series_labels(0), {{0, 0.0}, {-5, -0.0}, {std::numeric_limits<int64_t>::min(), 1.0}}}};
  CAF_CHECK(same_bits(join(parts_of(mt)), mt));
  auto zp = parts_of(promql::scalar{0, 0.0});
  CAF_REQUIRE_EQUAL(zp.size(), 1u);
  CAF_CHECK(zp[0].has_scalar());
  CAF_CHECK_EQUAL(zp[0].scalar().timestamp_ms(), 0);
  auto sp = parts_of(promql::scalar{42, float_from_bits(nan_payload)});
  CAF_REQUIRE_EQUAL(sp.size(), 1u);
  CAF_CHECK_EQUAL(sp[0].result_type(), pb::RESULT_TYPE_SCALAR);
  CAF_CHECK_EQUAL(sp[0].scalar().timestamp_ms(), 42);
  CAF_CHECK_EQUAL(float_bits(sp[0].scalar().value()), nan_payload);
  auto str = parts_of(promql::string_value{-7, "hello"}, {"w1"});
  CAF_REQUIRE_EQUAL(str.size(), 1u);
  CAF_CHECK_EQUAL(str[0].result_type(), pb::RESULT_TYPE_STRING);
  CAF_CHECK_EQUAL(str[0].string_value().timestamp_ms(), -7);
  CAF_CHECK_EQUAL(str[0].string_value().value(), "hello");
  CAF_REQUIRE_EQUAL(str[0].warnings_size(), 1);
  CAF_CHECK_EQUAL(str[0].warnings(0), "w1");
}

CAF_TEST(a large matrix streams in bounded parts and joins back exactly) {
  promql::matrix m;
  for (int i = 0; i < 400; ++i) {
    promql::series_points s{series_labels(i, i % 7 * 10), {}};
    for (int k = 0; k < 250; ++k)
      s.points.push_back({1700000000000 + k * 15000, (i * 1000 + k) * 0.25});
    m.push_back(std::move(s));
  }
  constexpr size_t target = 64 * 1024;
  std::vector<size_t> sizes;
  auto parts = parts_of(m, {"first", "second"}, target, &sizes);
  CAF_MESSAGE(parts.size() << " parts");
  CAF_CHECK(parts.size() > 20);
  for (size_t i = 0; i < sizes.size(); ++i) {
    CAF_CHECK_LESS_OR_EQUAL(sizes[i], target + target / 10);
    // Near the target: only the last part is short.
    if (i + 1 < sizes.size())
      CAF_CHECK_GREATER_OR_EQUAL(sizes[i], target - target / 10);
    // Warnings only with the last part.
    CAF_CHECK_EQUAL(parts[i].warnings_size(), i + 1 == parts.size() ? 2 : 0);
  }
  // Series that fit a part are never cut.
  for (const auto& p : parts)
    for (const auto& s : p.matrix())
      CAF_CHECK(!s.continued());
  CAF_CHECK(same_bits(join(parts), m));
}

CAF_TEST(a series larger than a part is cut into continued pieces) {
  promql::matrix m;
  m.push_back({series_labels(0), {{1, 1.0}}});
  promql::series_points big{series_labels(1), {}};
  for (int k = 0; k < 20000; ++k)
    big.points.push_back({1700000000000 + k * 15000, k == 7777 ? nl::storage::stale_nan() : k * 0.5});
  m.push_back(std::move(big));
  m.push_back({series_labels(2), {}});  // no points: left out, as the JSON does
  m.push_back({series_labels(3), {{5, -1.0}}});
  constexpr size_t target = 16 * 1024;
  std::vector<size_t> sizes;
  auto parts = parts_of(m, {}, target, &sizes);
  // 14 bytes a point (a 6-byte time, a double): about 17 parts.
  CAF_CHECK(parts.size() >= 17);
  for (auto n : sizes)
    CAF_CHECK_LESS_OR_EQUAL(n, target + target / 10);
  // The pieces of the big series fill their parts.
  for (size_t i = 1; i + 2 < sizes.size(); ++i)
    CAF_CHECK_GREATER_OR_EQUAL(sizes[i], target - target / 10);
  int continued = 0;
  for (const auto& p : parts)
    for (const auto& s : p.matrix())
      continued += s.continued() ? 1 : 0;
  CAF_CHECK_EQUAL(continued, static_cast<int>(parts.size()) - 1);
  // Each piece of the series starts a part: one Series per part but the
  // first and the last (which hold the small neighbours).
  for (size_t i = 1; i + 1 < parts.size(); ++i)
    CAF_CHECK_EQUAL(parts[i].matrix_size(), 1);
  promql::matrix want = m;
  want.erase(want.begin() + 2);
  CAF_CHECK(same_bits(join(parts), want));
}

CAF_TEST(a large vector streams in bounded parts) {
  promql::vector v;
  for (int i = 0; i < 5000; ++i)
    v.push_back({series_labels(i), 1700000000000, i == 17 ? nl::storage::stale_nan() : i * 1.5});
  std::vector<size_t> sizes;
  auto parts = parts_of(v, {}, 8 * 1024, &sizes);
  CAF_CHECK(parts.size() > 10);
  for (size_t k = 0; k < sizes.size(); ++k) {
    CAF_CHECK_LESS_OR_EQUAL(sizes[k], 8 * 1024 + 1024);
    if (k + 1 < sizes.size())
      CAF_CHECK_GREATER_OR_EQUAL(sizes[k], 8 * 1024);
  }
  size_t i = 0;
  for (const auto& p : parts) {
    CAF_CHECK_EQUAL(p.result_type(), pb::RESULT_TYPE_VECTOR);
    for (const auto& x : p.vector()) {
      CAF_REQUIRE_LESS(i, v.size());
      CAF_CHECK(labels_of(x.labels()) == v[i].labels);
      CAF_CHECK_EQUAL(float_bits(x.value()), float_bits(v[i].v));
      ++i;
    }
  }
  CAF_CHECK_EQUAL(i, v.size());
}

CAF_TEST(empty answers are one part with the type and the warnings) {
  auto pv = parts_of(promql::vector{}, {"w"});
  CAF_REQUIRE_EQUAL(pv.size(), 1u);
  CAF_CHECK_EQUAL(pv[0].result_type(), pb::RESULT_TYPE_VECTOR);
  CAF_CHECK_EQUAL(pv[0].vector_size(), 0);
  CAF_CHECK_EQUAL(pv[0].warnings_size(), 1);
  auto pm = parts_of(promql::matrix{{series_labels(1), {}}});
  CAF_REQUIRE_EQUAL(pm.size(), 1u);
  CAF_CHECK_EQUAL(pm[0].result_type(), pb::RESULT_TYPE_MATRIX);
  CAF_CHECK_EQUAL(pm[0].matrix_size(), 0);
}

CAF_TEST(bytes that are not utf8 become U+FFFD as in the JSON) {
  CAF_CHECK_EQUAL(valid_utf8_or_replaced("ok \xc3\xa9"), "ok \xc3\xa9");
  CAF_CHECK_EQUAL(valid_utf8_or_replaced("a\xff" "b"), "a\xef\xbf\xbd" "b");
  CAF_CHECK_EQUAL(valid_utf8_or_replaced("\xc3"), "\xef\xbf\xbd");
  CAF_CHECK_EQUAL(valid_utf8_or_replaced("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // a surrogate
  // A set whose first labels are valid and a later one is not, in a name
  // and in a value; both lengths change with the replacement.
  auto bad = label_set::from_unsorted({{"__name__", "m"}, {"a", "ok"}, {"n\xc3", "v"}, {"x", "bad\xfe\xff"}});
  auto fixed = label_set::from_unsorted(
    {{"__name__", "m"}, {"a", "ok"}, {"n\xef\xbf\xbd", "v"}, {"x", "bad\xef\xbf\xbd\xef\xbf\xbd"}});
  promql::vector v{{bad, 1, 2.0}, {series_labels(1), 2, 3.0}};
  auto parts = parts_of(v, {"warning \xff"});
  CAF_REQUIRE_EQUAL(parts.size(), 1u);
  CAF_REQUIRE_EQUAL(parts[0].vector_size(), 2);
  CAF_CHECK(labels_of(parts[0].vector(0).labels()) == fixed);
  CAF_CHECK_EQUAL(float_bits(parts[0].vector(0).value()), float_bits(2.0));
  CAF_CHECK(labels_of(parts[0].vector(1).labels()) == series_labels(1));
  CAF_REQUIRE_EQUAL(parts[0].warnings_size(), 1);
  CAF_CHECK_EQUAL(parts[0].warnings(0), "warning \xef\xbf\xbd");
  promql::matrix m{{bad, {{1, 1.0}, {2, 2.0}}}};
  CAF_CHECK(same_bits(join(parts_of(m)), promql::matrix{{fixed, {{1, 1.0}, {2, 2.0}}}}));
  auto str = parts_of(promql::string_value{3, "s\xc0"});
  CAF_CHECK_EQUAL(str[0].string_value().value(), "s\xef\xbf\xbd");
  std::vector<label_set> sets{bad};
  series_response_encoder se{sets, false};
  auto sp = all_parts<pb::SeriesResponse>(se);
  CAF_REQUIRE_EQUAL(sp.size(), 1u);
  CAF_REQUIRE_EQUAL(sp[0].series_size(), 1);
  CAF_CHECK(labels_of(sp[0].series(0).labels()) == fixed);
  std::vector<std::string> values{"fine", "\xf5x"};
  strings_response_encoder ve{values, false};
  auto vp = all_parts<pb::LabelValuesResponse>(ve);
  CAF_REQUIRE_EQUAL(vp[0].values_size(), 2);
  CAF_CHECK_EQUAL(vp[0].values(0), "fine");
  CAF_CHECK_EQUAL(vp[0].values(1), "\xef\xbf\xbdx");
}

CAF_TEST(series and label lists stream in bounded parts) {
  std::vector<label_set> series;
  for (int i = 0; i < 3000; ++i)
    series.push_back(series_labels(i));
  series_response_encoder sw{series, true, {}, 4096};
  std::vector<size_t> sizes;
  auto sparts = all_parts<pb::SeriesResponse>(sw, &sizes);
  CAF_CHECK(sparts.size() > 10);
  for (size_t k = 0; k < sizes.size(); ++k) {
    CAF_CHECK_LESS_OR_EQUAL(sizes[k], 4096 + 512);
    if (k + 1 < sizes.size())
      CAF_CHECK_GREATER_OR_EQUAL(sizes[k], 4096);
  }
  size_t i = 0;
  for (size_t p = 0; p < sparts.size(); ++p) {
    for (const auto& s : sparts[p].series())
      CAF_CHECK(labels_of(s.labels()) == series[i++]);
    CAF_CHECK_EQUAL(sparts[p].warnings_size(), p + 1 == sparts.size() ? 1 : 0);
  }
  CAF_CHECK_EQUAL(i, series.size());
  CAF_CHECK_EQUAL(sparts.back().warnings(0), "results truncated due to limit");

  std::vector<std::string> values;
  for (int k = 0; k < 1000; ++k)
    values.push_back("value-" + std::to_string(k));
  strings_response_encoder vw{values, false, {}, 1024};
  auto vparts = all_parts<pb::LabelValuesResponse>(vw);
  std::vector<std::string> back;
  for (const auto& p : vparts) {
    CAF_CHECK_EQUAL(p.warnings_size(), 0);
    back.insert(back.end(), p.values().begin(), p.values().end());
  }
  CAF_CHECK_EQUAL(back, values);

  // Cluster mode: the missing nodes' warning comes first, with the last part.
  std::vector<std::string> names{"a", "b"};
  strings_response_encoder cw{names, true, {"cluster: 2 of 3 nodes did not answer"}};
  auto cparts = all_parts<pb::LabelNamesResponse>(cw);
  CAF_REQUIRE_EQUAL(cparts.size(), 1u);
  CAF_REQUIRE_EQUAL(cparts[0].warnings_size(), 2);
  CAF_CHECK_EQUAL(cparts[0].warnings(0), "cluster: 2 of 3 nodes did not answer");
  CAF_CHECK_EQUAL(cparts[0].warnings(1), "results truncated due to limit");

  std::vector<std::string> none;
  strings_response_encoder nw{none, false};
  auto nparts = all_parts<pb::LabelNamesResponse>(nw);
  CAF_REQUIRE_EQUAL(nparts.size(), 1u);
  CAF_CHECK_EQUAL(nparts[0].names_size(), 0);
  CAF_CHECK_EQUAL(nparts[0].warnings_size(), 0);
  std::vector<label_set> no_sets;
  series_response_encoder ne{no_sets, true};
  auto neparts = all_parts<pb::SeriesResponse>(ne);
  CAF_REQUIRE_EQUAL(neparts.size(), 1u);
  CAF_CHECK_EQUAL(neparts[0].series_size(), 0);
  CAF_REQUIRE_EQUAL(neparts[0].warnings_size(), 1);
  // An empty string is an element too.
  std::vector<std::string> with_empty{"", "a"};
  strings_response_encoder ee{with_empty, false};
  auto eparts = all_parts<pb::LabelValuesResponse>(ee);
  CAF_REQUIRE_EQUAL(eparts[0].values_size(), 2);
  CAF_CHECK_EQUAL(eparts[0].values(0), "");
}

CAF_TEST(metadata streams by family and never splits one) {
  using nl::storage::metric_type;
  std::vector<nl::storage::metric_metadata> items;
  for (int f = 0; f < 200; ++f)
    for (int d = 0; d < 3; ++d)
      items.push_back({"family_" + std::to_string(f), metric_type::gauge,
                       "help " + std::to_string(d) + std::string(100, 'h'), d == 0 ? "" : "bytes"});
  items.push_back({"z_bad", metric_type::summary, "not utf8 \xff", ""});
  metadata_response_encoder w{items, {"cluster: 1 of 3 nodes did not answer", "w\xff"}, 4096};
  auto parts = all_parts<pb::MetadataResponse>(w);
  CAF_CHECK(parts.size() > 10);
  size_t n = 0;
  std::vector<std::string> families;
  for (const auto& p : parts) {
    for (const auto& fam : p.metrics()) {
      families.push_back(fam.metric());
      for (const auto& d : fam.metadata()) {
        CAF_REQUIRE_LESS(n, items.size());
        CAF_CHECK_EQUAL(fam.metric(), items[n].metric_family_name);
        CAF_CHECK_EQUAL(d.type(), std::string(nl::storage::to_string(items[n].type)));
        CAF_CHECK_EQUAL(d.unit(), items[n].unit);
        if (fam.metric() != "z_bad")
          CAF_CHECK_EQUAL(d.help(), items[n].help);
        ++n;
      }
    }
  }
  CAF_CHECK_EQUAL(n, items.size());
  CAF_CHECK_EQUAL(families.size(), 201u);  // each family once: never split
  CAF_CHECK_EQUAL(parts.back().metrics(parts.back().metrics_size() - 1).metadata(0).help(), "not utf8 \xef\xbf\xbd");
  // Warnings (cluster mode: nodes that did not answer) come with the last
  // part only, made valid UTF-8.
  for (size_t i = 0; i + 1 < parts.size(); ++i)
    CAF_CHECK_EQUAL(parts[i].warnings_size(), 0);
  CAF_REQUIRE_EQUAL(parts.back().warnings_size(), 2);
  CAF_CHECK_EQUAL(parts.back().warnings(0), "cluster: 1 of 3 nodes did not answer");
  CAF_CHECK_EQUAL(parts.back().warnings(1), "w\xef\xbf\xbd");
  std::vector<nl::storage::metric_metadata> none;
  metadata_response_encoder empty{none};
  auto one = all_parts<pb::MetadataResponse>(empty);
  CAF_REQUIRE_EQUAL(one.size(), 1u);
  CAF_CHECK_EQUAL(one[0].metrics_size(), 0);
}

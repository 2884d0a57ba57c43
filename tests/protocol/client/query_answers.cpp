#define CAF_SUITE protocol.client.query_answers
#include "test_support.hpp"

#include <grpcpp/support/status.h>

#include "protocol/client/query_answers.hpp"
#include "protocol/query_proto.hpp"
#include "storage/sample.hpp"

namespace api = nightlight::api;
namespace v1 = nightlight::v1;
using namespace nightlight::api::detail;
using api::errc;

namespace {

void add_label(google::protobuf::RepeatedPtrField<v1::Label>* labels, const std::string& n,
               const std::string& v) {
  auto* l = labels->Add();
  l->set_name(n);
  l->set_value(v);
}

v1::Series* add_series(v1::QueryResponse& part, const std::string& name, bool continued,
                       std::vector<std::pair<int64_t, double>> points) {
  auto* s = part.add_matrix();
  if (!continued)
    add_label(s->mutable_labels(), "__name__", name);
  s->set_continued(continued);
  for (auto [t, v] : points) {
    s->add_timestamps_ms(t);
    s->add_values(v);
  }
  return s;
}

v1::QueryResponse matrix_part() {
  v1::QueryResponse p;
  p.set_result_type(v1::RESULT_TYPE_MATRIX);
  return p;
}

}  // namespace

CAF_TEST(every grpc code maps to the same error code) {
  for (int code = 1; code <= 16; ++code) {
    auto e = error_from_status(code, "why");
    CAF_CHECK_EQUAL(static_cast<int>(e.code), code);
    CAF_CHECK_EQUAL(e.message, "why");
  }
  auto e = error_from_status(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                          "parse error: unexpected end of input"));
  CAF_CHECK(e.code == errc::invalid_argument);
  CAF_CHECK_EQUAL(e.to_string(), "INVALID_ARGUMENT: parse error: unexpected end of input");
  CAF_CHECK(error_from_status(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "x")).code ==
            errc::resource_exhausted);
  CAF_CHECK(error_from_status(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "x")).code ==
            errc::permission_denied);
  CAF_CHECK(error_from_status(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "x")).code ==
            errc::deadline_exceeded);
  CAF_CHECK(error_from_status(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x")).code ==
            errc::unavailable);
  // Codes gRPC does not define, and empty messages.
  CAF_CHECK(error_from_status(17, "x").code == errc::unknown);
  CAF_CHECK(error_from_status(-1, "x").code == errc::unknown);
  CAF_CHECK_EQUAL(error_from_status(14, "").to_string(), "UNAVAILABLE: the server is unavailable");
  CAF_CHECK_EQUAL(std::string(api::to_string(errc::unauthenticated)), "UNAUTHENTICATED");
}

CAF_TEST(vector parts are joined in order with their warnings) {
  query_answer answer;
  for (int part_no = 0; part_no < 3; ++part_no) {
    v1::QueryResponse p;
    p.set_result_type(v1::RESULT_TYPE_VECTOR);
    for (int i = 0; i < 2; ++i) {
      auto* s = p.add_vector();
      add_label(s->mutable_labels(), "__name__", "m");
      add_label(s->mutable_labels(), "i", std::to_string(part_no * 2 + i));
      s->set_timestamp_ms(1000);
      s->set_value(part_no * 2 + i);
    }
    if (part_no == 2)
      p.add_warnings("results truncated due to limit");
    CAF_CHECK(!answer.add(p));
  }
  auto r = answer.finish();
  CAF_REQUIRE(r.ok());
  CAF_CHECK(r->type == api::result_type::vector);
  CAF_REQUIRE_EQUAL(r->vector.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    CAF_CHECK_EQUAL(r->vector[i].labels[1].value, std::to_string(i));
    CAF_CHECK_EQUAL(r->vector[i].point.value, static_cast<double>(i));
    CAF_CHECK_EQUAL(r->vector[i].point.timestamp_ms, 1000);
  }
  CAF_REQUIRE_EQUAL(r->warnings.size(), 1u);
  CAF_CHECK_EQUAL(r->warnings[0], "results truncated due to limit");
}

CAF_TEST(a series cut into continued parts becomes one series again) {
  query_answer answer;
  auto p1 = matrix_part();
  add_series(p1, "a", false, {{1, 1}, {2, 2}});
  add_series(p1, "b", false, {{1, 10}});
  auto p2 = matrix_part();
  add_series(p2, "", true, {{2, 20}, {3, 30}});
  auto p3 = matrix_part();
  add_series(p3, "", true, {{4, nl::storage::stale_nan()}});
  add_series(p3, "c", false, {{1, -1}});
  CAF_CHECK(!answer.add(p1));
  CAF_CHECK(!answer.add(p2));
  CAF_CHECK(!answer.add(p3));
  auto r = answer.finish();
  CAF_REQUIRE(r.ok());
  CAF_CHECK(r->type == api::result_type::matrix);
  CAF_REQUIRE_EQUAL(r->matrix.size(), 3u);
  CAF_CHECK_EQUAL(r->matrix[0].samples.size(), 2u);
  CAF_CHECK_EQUAL(r->matrix[1].labels[0].value, "b");
  CAF_REQUIRE_EQUAL(r->matrix[1].samples.size(), 4u);
  CAF_CHECK_EQUAL(r->matrix[1].samples[2].value, 30.0);
  // The staleness marker keeps its bits through the join.
  CAF_CHECK_EQUAL(nl::storage::float_bits(r->matrix[1].samples[3].value),
                  nl::storage::stale_nan_bits);
  CAF_CHECK_EQUAL(r->matrix[2].labels[0].value, "c");
}

CAF_TEST(scalar and string answers) {
  query_answer scalar;
  v1::QueryResponse p;
  p.set_result_type(v1::RESULT_TYPE_SCALAR);
  p.mutable_scalar()->set_timestamp_ms(5);
  p.mutable_scalar()->set_value(-std::numeric_limits<double>::infinity());
  CAF_CHECK(!scalar.add(p));
  auto r = scalar.finish();
  CAF_REQUIRE(r.ok());
  CAF_CHECK(r->type == api::result_type::scalar);
  CAF_CHECK_EQUAL(r->scalar.timestamp_ms, 5);
  CAF_CHECK(std::isinf(r->scalar.value) && r->scalar.value < 0);

  query_answer text;
  v1::QueryResponse s;
  s.set_result_type(v1::RESULT_TYPE_STRING);
  s.mutable_string_value()->set_timestamp_ms(7);
  s.mutable_string_value()->set_value("hello");
  CAF_CHECK(!text.add(s));
  auto t = text.finish();
  CAF_REQUIRE(t.ok());
  CAF_CHECK(t->type == api::result_type::string);
  CAF_CHECK_EQUAL(t->string_value, "hello");
  CAF_CHECK_EQUAL(t->string_timestamp_ms, 7);
  CAF_CHECK_EQUAL(std::string(api::to_string(t->type)), "string");
}

CAF_TEST(contradicting parts are a malformed answer) {
  {
    query_answer a;
    auto p = matrix_part();
    add_series(p, "", true, {{1, 1}});
    auto e = a.add(p);
    CAF_REQUIRE(e.has_value());
    CAF_CHECK(e->code == errc::internal);
    CAF_CHECK(e->message.find("continued series without a series before it") !=
              std::string::npos);
  }
  {
    query_answer a;
    auto p = matrix_part();
    add_series(p, "a", false, {{1, 1}})->add_values(2);
    auto e = a.add(p);
    CAF_REQUIRE(e.has_value());
    CAF_CHECK(e->message.find("1 timestamps but 2 values") != std::string::npos);
  }
  {
    query_answer a;
    auto p = matrix_part();
    CAF_CHECK(!a.add(p));
    v1::QueryResponse q;
    q.set_result_type(v1::RESULT_TYPE_VECTOR);
    auto e = a.add(q);
    CAF_REQUIRE(e.has_value());
    CAF_CHECK(e->message.find("result type changed") != std::string::npos);
  }
  {
    query_answer a;
    v1::QueryResponse p;  // RESULT_TYPE_UNSPECIFIED
    CAF_CHECK(a.add(p).has_value());
  }
  {
    query_answer a;
    auto r = a.finish();
    CAF_REQUIRE(!r.ok());
    CAF_CHECK(r.err().message.find("no parts") != std::string::npos);
  }
}

CAF_TEST(series labels and metadata parts) {
  api::series_result series;
  v1::SeriesResponse s1;
  add_label(s1.add_series()->mutable_labels(), "__name__", "a");
  v1::SeriesResponse s2;
  add_label(s2.add_series()->mutable_labels(), "__name__", "b");
  s2.add_warnings("w");
  add_part(series, s1);
  add_part(series, s2);
  CAF_REQUIRE_EQUAL(series.series.size(), 2u);
  CAF_CHECK_EQUAL(series.series[1][0].value, "b");
  CAF_CHECK_EQUAL(series.warnings.size(), 1u);

  api::strings_result names;
  v1::LabelNamesResponse n;
  n.add_names("__name__");
  n.add_names("job");
  add_part(names, n);
  api::strings_result values;
  v1::LabelValuesResponse v;
  v.add_values("x");
  add_part(values, v);
  CAF_CHECK_EQUAL(names.values.size(), 2u);
  CAF_CHECK_EQUAL(values.values[0], "x");

  api::metadata_result md;
  v1::MetadataResponse m;
  auto* family = m.add_metrics();
  family->set_metric("demo_requests_total");
  auto* e1 = family->add_metadata();
  e1->set_type("counter");
  e1->set_help("Requests.");
  auto* e2 = family->add_metadata();
  e2->set_type("no-such-type");
  e2->set_unit("seconds");
  add_part(md, m);
  CAF_REQUIRE_EQUAL(md.metrics.size(), 1u);
  CAF_CHECK_EQUAL(md.metrics[0].metric, "demo_requests_total");
  CAF_REQUIRE_EQUAL(md.metrics[0].metadata.size(), 2u);
  CAF_CHECK(md.metrics[0].metadata[0].type == api::metric_type::counter);
  CAF_CHECK_EQUAL(md.metrics[0].metadata[0].metric_family_name, "demo_requests_total");
  CAF_CHECK_EQUAL(md.metrics[0].metadata[0].help, "Requests.");
  CAF_CHECK(md.metrics[0].metadata[1].type == api::metric_type::unknown);
  CAF_CHECK_EQUAL(md.metrics[0].metadata[1].unit, "seconds");
  for (int t = 0; t <= 7; ++t)
    CAF_CHECK(metric_type_from_string(api::to_string(static_cast<api::metric_type>(t))) ==
              static_cast<api::metric_type>(t));
}

// The other side of the wire: parts as the server's encoder
// (protocol/query_proto) cuts them, joined by the client.
namespace {

nl::storage::label_set wide_labels(int i) {
  return nl::storage::label_set::from_unsorted(
    {{"__name__", "m"}, {"instance", "host-" + std::to_string(i)}, {"pad", std::string(200, 'x')}});
}

template <class Message, class Encoder>
std::vector<Message> through_the_wire(Encoder& e) {
  std::vector<Message> out;
  while (!e.done()) {
    Message back;
    CAF_REQUIRE(back.ParseFromString(e.next()));
    out.push_back(std::move(back));
    CAF_REQUIRE(out.size() < 100000);
  }
  return out;
}

api::label_set api_labels(const nl::storage::label_set& ls) {
  api::label_set out;
  for (const auto& l : ls)
    out.push_back({l.name, l.value});
  return out;
}

}  // namespace

CAF_TEST(parts cut by the server encoder join back into its answer) {
  nl::promql::matrix m;
  for (int i = 0; i < 40; ++i) {
    nl::promql::series_points s{wide_labels(i), {}};
    // Series 7 alone is larger than a part: it arrives in continued pieces.
    int n = i == 7 ? 3000 : 1 + i * 3;
    for (int k = 0; k < n; ++k)
      s.points.push_back({1000 * int64_t{k}, k % 5 == 0 ? nl::storage::stale_nan() : k * 0.5});
    m.push_back(std::move(s));
  }
  nl::promql::query_value value = m;
  nl::protocol::query_response_encoder encoder(value, {"w1", "w2"}, 4096);
  auto parts = through_the_wire<v1::QueryResponse>(encoder);
  CAF_CHECK(parts.size() > 10);
  bool continued = false;
  for (const auto& p : parts)
    for (const auto& s : p.matrix())
      continued = continued || s.continued();
  CAF_CHECK(continued);
  query_answer answer;
  for (auto& p : parts)
    CAF_REQUIRE(!answer.add(p));
  auto r = answer.finish();
  CAF_REQUIRE(r.ok());
  CAF_REQUIRE_EQUAL(r->matrix.size(), m.size());
  bool same = true;
  for (size_t i = 0; i < m.size(); ++i) {
    same = same && r->matrix[i].labels == api_labels(m[i].labels) &&
           r->matrix[i].samples.size() == m[i].points.size();
    for (size_t k = 0; same && k < m[i].points.size(); ++k)
      same = r->matrix[i].samples[k].timestamp_ms == m[i].points[k].t &&
             nl::storage::float_bits(r->matrix[i].samples[k].value) ==
               nl::storage::float_bits(m[i].points[k].v);
  }
  CAF_CHECK(same);
  CAF_CHECK(r->warnings == (std::vector<std::string>{"w1", "w2"}));

  nl::promql::vector vec;
  for (int i = 0; i < 300; ++i)
    vec.push_back({wide_labels(i), 5000, -static_cast<double>(i)});
  nl::promql::query_value vvalue = vec;
  nl::protocol::query_response_encoder vencoder(vvalue, {}, 2048);
  query_answer vanswer;
  for (auto& p : through_the_wire<v1::QueryResponse>(vencoder))
    CAF_REQUIRE(!vanswer.add(p));
  auto vr = vanswer.finish();
  CAF_REQUIRE(vr.ok());
  CAF_REQUIRE_EQUAL(vr->vector.size(), 300u);
  CAF_CHECK(vr->vector[299].labels == api_labels(vec[299].labels));
  CAF_CHECK_EQUAL(vr->vector[299].point.value, -299.0);

  std::vector<nl::storage::label_set> sets;
  for (int i = 0; i < 100; ++i)
    sets.push_back(wide_labels(i));
  nl::protocol::series_response_encoder sencoder(sets, true, {}, 2048);
  api::series_result series;
  for (auto& p : through_the_wire<v1::SeriesResponse>(sencoder))
    add_part(series, p);
  CAF_REQUIRE_EQUAL(series.series.size(), 100u);
  CAF_CHECK(series.series[42] == api_labels(sets[42]));
  CAF_CHECK(series.warnings == (std::vector<std::string>{"results truncated due to limit"}));
}

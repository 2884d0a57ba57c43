#define CAF_SUITE protocol.client.query_answers
#include "test_support.hpp"

#include <grpcpp/support/status.h>

#include "protocol/client/query_answers.hpp"
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

#include "protocol/client/query_answers.hpp"

#include <grpcpp/support/status.h>

namespace nightlight::api::detail {

namespace {

label_set to_labels(google::protobuf::RepeatedPtrField<v1::Label>& in) {
  label_set out;
  out.reserve(static_cast<size_t>(in.size()));
  for (auto& l : in)
    out.push_back({std::move(*l.mutable_name()), std::move(*l.mutable_value())});
  return out;
}

void add_warnings(std::vector<std::string>& out, google::protobuf::RepeatedPtrField<std::string>& in) {
  for (auto& w : in)
    out.push_back(std::move(w));
}

error contradiction(const std::string& what) {
  return {errc::internal, "malformed answer from the server: " + what};
}

const char* code_meaning(errc code) {
  switch (code) {
    case errc::cancelled: return "the call was cancelled";
    case errc::invalid_argument: return "the server refused the request";
    case errc::deadline_exceeded: return "deadline exceeded";
    case errc::permission_denied: return "permission denied";
    case errc::resource_exhausted: return "resource exhausted";
    case errc::unimplemented: return "the server does not implement this method";
    case errc::unavailable: return "the server is unavailable";
    case errc::unauthenticated: return "not authenticated";
    default: return "no message";
  }
}

}  // namespace

error error_from_status(int grpc_code, const std::string& message) {
  errc code = grpc_code >= 1 && grpc_code <= 16 ? static_cast<errc>(grpc_code) : errc::unknown;
  return {code, message.empty() ? code_meaning(code) : message};
}

error error_from_status(const grpc::Status& status) {
  return error_from_status(static_cast<int>(status.error_code()), status.error_message());
}

std::optional<error> query_answer::add(v1::QueryResponse& part) {
  if (type_ && *type_ != part.result_type())
    return contradiction("result type changed between parts");
  type_ = part.result_type();
  switch (part.result_type()) {
    case v1::RESULT_TYPE_VECTOR:
      out_.type = result_type::vector;
      for (auto& s : *part.mutable_vector())
        out_.vector.push_back({to_labels(*s.mutable_labels()), {s.timestamp_ms(), s.value()}});
      break;
    case v1::RESULT_TYPE_MATRIX:
      out_.type = result_type::matrix;
      for (auto& s : *part.mutable_matrix()) {
        if (s.timestamps_ms_size() != s.values_size())
          return contradiction("a series has " + std::to_string(s.timestamps_ms_size()) +
                               " timestamps but " + std::to_string(s.values_size()) + " values");
        if (s.continued() && out_.matrix.empty())
          return contradiction("a continued series without a series before it");
        if (!s.continued())
          out_.matrix.push_back({to_labels(*s.mutable_labels()), {}});
        auto& samples = out_.matrix.back().samples;
        for (int i = 0; i < s.timestamps_ms_size(); ++i)
          samples.push_back({s.timestamps_ms(i), s.values(i)});
      }
      break;
    case v1::RESULT_TYPE_SCALAR:
      out_.type = result_type::scalar;
      out_.scalar = {part.scalar().timestamp_ms(), part.scalar().value()};
      break;
    case v1::RESULT_TYPE_STRING:
      out_.type = result_type::string;
      out_.string_timestamp_ms = part.string_value().timestamp_ms();
      out_.string_value = part.string_value().value();
      break;
    default:
      return contradiction("unknown result type " + std::to_string(part.result_type()));
  }
  add_warnings(out_.warnings, *part.mutable_warnings());
  return std::nullopt;
}

result<query_result> query_answer::finish() {
  if (!type_)
    return contradiction("the answer had no parts");
  return std::move(out_);
}

void add_part(series_result& out, v1::SeriesResponse& part) {
  for (auto& s : *part.mutable_series())
    out.series.push_back(to_labels(*s.mutable_labels()));
  add_warnings(out.warnings, *part.mutable_warnings());
}

void add_part(strings_result& out, v1::LabelNamesResponse& part) {
  for (auto& n : *part.mutable_names())
    out.values.push_back(std::move(n));
  add_warnings(out.warnings, *part.mutable_warnings());
}

void add_part(strings_result& out, v1::LabelValuesResponse& part) {
  for (auto& v : *part.mutable_values())
    out.values.push_back(std::move(v));
  add_warnings(out.warnings, *part.mutable_warnings());
}

void add_part(metadata_result& out, v1::MetadataResponse& part) {
  for (auto& family : *part.mutable_metrics()) {
    metric_family f;
    f.metric = family.metric();
    for (auto& m : *family.mutable_metadata())
      f.metadata.push_back({family.metric(), metric_type_from_string(m.type()),
                            std::move(*m.mutable_help()), std::move(*m.mutable_unit())});
    out.metrics.push_back(std::move(f));
  }
  add_warnings(out.warnings, *part.mutable_warnings());
}

metric_type metric_type_from_string(const std::string& s) {
  for (int t = 0; t <= static_cast<int>(metric_type::stateset); ++t)
    if (s == to_string(static_cast<metric_type>(t)))
      return static_cast<metric_type>(t);
  return metric_type::unknown;
}

}  // namespace nightlight::api::detail

#pragma once
// Turns the gRPC side of the query client into the library's types: the
// streamed parts of an answer joined into one result (a matrix series cut
// into `continued` parts becomes one series again), gRPC statuses into
// `error`. No channel involved, so tests feed hand-made parts.
#include <optional>

#include "nightlight/api/query_client.hpp"
#include "query.pb.h"

namespace grpc {
class Status;
}

namespace nightlight::api::detail {

namespace v1 = ::nightlight::v1;

/// The error for a non-OK status: same code (unknown for codes gRPC does
/// not define), gRPC's message, or the code's meaning when the message is
/// empty. Must not be called with OK.
error error_from_status(int grpc_code, const std::string& message);
error error_from_status(const grpc::Status& status);

/// Collects the parts of a Query or QueryRange answer.
class query_answer {
 public:
  /// Adds the next part; an error when it contradicts the earlier ones
  /// (another result type, a `continued` series with nothing before it,
  /// timestamps and values of different lengths).
  std::optional<error> add(v1::QueryResponse& part);
  /// The joined answer; an error if no part arrived.
  result<query_result> finish();

 private:
  std::optional<v1::ResultType> type_;
  query_result out_;
};

/// Joins parts of the other answers (no cross-part rules beyond order).
void add_part(series_result& out, v1::SeriesResponse& part);
void add_part(strings_result& out, v1::LabelNamesResponse& part);
void add_part(strings_result& out, v1::LabelValuesResponse& part);
void add_part(metadata_result& out, v1::MetadataResponse& part);

/// "counter" -> metric_type::counter; unknown words -> metric_type::unknown.
metric_type metric_type_from_string(const std::string& s);

}  // namespace nightlight::api::detail

#pragma once
// Answers of the gRPC query API (proto/query.proto) as nightlight.v1
// messages, cut into parts of about `target_bytes` each: a writer hands out
// one part at a time, so a server holds the typed answer plus one encoded
// part, never the whole answer encoded.
//
// Values are copied as doubles, bit for bit (NaN payloads, StaleNaN, ±Inf,
// -0). Label names and values, warnings and strings that are not valid
// UTF-8 (proto3 `string` must be; PromQL can produce any bytes, e.g.
// label_replace with "\xff") get each invalid byte replaced by U+FFFD, as
// the HTTP API's JSON does. Matrix series without points are left out, as
// in the JSON.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "promql/value.hpp"
#include "query.pb.h"
#include "storage/labels.hpp"
#include "storage/metadata/metric_metadata.hpp"

namespace nl::protocol {

/// Parts stay near 1 MiB: far below gRPC's default 4 MiB receive limit,
/// large enough that framing costs nothing.
inline constexpr size_t grpc_part_bytes = 1 << 20;

/// `s` with each byte that is not part of valid UTF-8 replaced by U+FFFD.
std::string valid_utf8_or_replaced(std::string_view s);

/// Appends `labels` to a repeated nightlight.v1.Label field.
void add_labels(const storage::label_set& labels,
                google::protobuf::RepeatedPtrField<nightlight::v1::Label>& out);

/// The parts of a query's answer (QueryResponse). Every part carries the
/// result type; the warnings come with the last. A matrix series larger
/// than a part is cut into `continued` pieces. `value` must outlive the
/// writer.
class query_response_writer {
 public:
  query_response_writer(const promql::query_value& value, std::vector<std::string> warnings,
                        size_t target_bytes = grpc_part_bytes);

  /// True once every part was handed out (never before the first).
  bool done() const { return done_; }
  /// Fills `out` (cleared first) with the next part.
  void next(nightlight::v1::QueryResponse& out);
  /// The size of the parts from now on (a server keeps the first one small
  /// when it encodes it on a thread that has better things to do).
  void set_target_bytes(size_t n) { target_ = std::max<size_t>(n, 64); }

 private:
  void fill_vector(const promql::vector& v, nightlight::v1::QueryResponse& out);
  void fill_matrix(const promql::matrix& m, nightlight::v1::QueryResponse& out);

  const promql::query_value& value_;
  std::vector<std::string> warnings_;
  size_t target_;
  size_t item_ = 0;   ///< next vector element or matrix series
  size_t point_ = 0;  ///< next point of matrix series `item_`
  bool done_ = false;
};

/// The parts of a list answer: Series (label sets), LabelNames and
/// LabelValues (strings). `items` must outlive the writer; `truncated`
/// adds the HTTP API's "results truncated due to limit" warning to the
/// last part, after `warnings` (cluster mode: nodes that did not answer).
template <class Item, class Message>
class list_response_writer {
 public:
  list_response_writer(const std::vector<Item>& items, bool truncated, size_t target_bytes = grpc_part_bytes)
    : items_(items), truncated_(truncated), target_(target_bytes) {}
  list_response_writer(const std::vector<Item>& items, bool truncated, std::vector<std::string> warnings,
                       size_t target_bytes = grpc_part_bytes)
    : items_(items), truncated_(truncated), warnings_(std::move(warnings)), target_(target_bytes) {}

  bool done() const { return done_; }
  void next(Message& out);
  void set_target_bytes(size_t n) { target_ = n; }

 private:
  const std::vector<Item>& items_;
  bool truncated_;
  std::vector<std::string> warnings_;
  size_t target_;
  size_t next_ = 0;
  bool done_ = false;
};

using series_response_writer = list_response_writer<storage::label_set, nightlight::v1::SeriesResponse>;
using label_names_response_writer = list_response_writer<std::string, nightlight::v1::LabelNamesResponse>;
using label_values_response_writer = list_response_writer<std::string, nightlight::v1::LabelValuesResponse>;

/// The parts of a Metadata answer: one MetricFamilyMetadata per run of
/// entries of one family (the metadata store lists them by family), a
/// family never split across parts. `items` must outlive the writer.
class metadata_response_writer {
 public:
  explicit metadata_response_writer(const std::vector<storage::metric_metadata>& items,
                                    size_t target_bytes = grpc_part_bytes)
    : items_(items), target_(target_bytes) {}

  bool done() const { return done_; }
  void next(nightlight::v1::MetadataResponse& out);
  void set_target_bytes(size_t n) { target_ = n; }

 private:
  const std::vector<storage::metric_metadata>& items_;
  size_t target_;
  size_t next_ = 0;
  bool done_ = false;
};

extern template class list_response_writer<storage::label_set, nightlight::v1::SeriesResponse>;
extern template class list_response_writer<std::string, nightlight::v1::LabelNamesResponse>;
extern template class list_response_writer<std::string, nightlight::v1::LabelValuesResponse>;

}  // namespace nl::protocol

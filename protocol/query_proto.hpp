#pragma once
// Answers of the gRPC query API (proto/query.proto) encoded straight into
// protobuf wire bytes, cut into parts of about `target_bytes` each: an
// encoder hands out one serialized part at a time, so a server holds the
// typed answer plus one encoded part, never the whole answer encoded, and
// never an intermediate nightlight.v1 message object (building those and
// serializing them again cost more than the query itself on list answers).
//
// The bytes are what the generated classes would serialize for the same
// messages (fields in number order, proto3 defaults left out, packed
// repeated scalars), so any protobuf client parses them; the unit tests
// check that parsing and re-serializing a part gives back its bytes.
//
// Values are copied as doubles, bit for bit (NaN payloads, StaleNaN, ±Inf,
// -0). Label names and values, warnings and strings that are not valid
// UTF-8 (proto3 `string` must be; PromQL can produce any bytes, e.g.
// label_replace with "\xff") get each invalid byte replaced by U+FFFD, as
// the HTTP API's JSON does; valid strings (all but never) are checked once
// and copied once. Matrix series without points are left out, as in the
// JSON.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "promql/value.hpp"
#include "storage/labels.hpp"
#include "storage/metadata/metric_metadata.hpp"

namespace nl::protocol {

/// Parts stay near 1 MiB: far below gRPC's default 4 MiB receive limit,
/// large enough that framing costs nothing.
inline constexpr size_t grpc_part_bytes = 1 << 20;

/// `s` with each byte that is not part of valid UTF-8 replaced by U+FFFD.
std::string valid_utf8_or_replaced(std::string_view s);

/// The parts of a query's answer (nightlight.v1.QueryResponse). Every part
/// carries the result type; the warnings come with the last. A matrix
/// series larger than a part is cut into `continued` pieces. `value` must
/// outlive the encoder.
class query_response_encoder {
 public:
  query_response_encoder(const promql::query_value& value, std::vector<std::string> warnings,
                         size_t target_bytes = grpc_part_bytes);

  /// True once every part was handed out (never before the first).
  bool done() const { return done_; }
  /// The next part's serialized bytes.
  std::string next();
  /// The size of the parts from now on (a server keeps the first one small
  /// when it encodes it on a thread that has better things to do).
  void set_target_bytes(size_t n) { target_ = std::max<size_t>(n, 64); }

 private:
  void put_vector(const promql::vector& v, std::string& out);
  void put_matrix(const promql::matrix& m, std::string& out);
  /// How many points of `s` from `point_` on take at most `bytes`.
  size_t points_within(const promql::series_points& s, size_t bytes) const;

  const promql::query_value& value_;
  std::vector<std::string> warnings_;
  size_t target_;
  size_t item_ = 0;   ///< next vector element or matrix series
  size_t point_ = 0;  ///< next point of matrix series `item_`
  bool done_ = false;
};

/// The parts of a list answer: Series (label sets), LabelNames and
/// LabelValues (strings); the three messages share their layout (items
/// field 1, warnings field 2). `items` must outlive the encoder;
/// `truncated` adds the HTTP API's "results truncated due to limit"
/// warning to the last part, after `warnings` (cluster mode: nodes that
/// did not answer).
template <class Item>
class list_response_encoder {
 public:
  list_response_encoder(const std::vector<Item>& items, bool truncated, std::vector<std::string> warnings = {},
                        size_t target_bytes = grpc_part_bytes)
    : items_(items), truncated_(truncated), warnings_(std::move(warnings)), target_(target_bytes) {}

  bool done() const { return done_; }
  std::string next();
  void set_target_bytes(size_t n) { target_ = n; }

 private:
  const std::vector<Item>& items_;
  bool truncated_;
  std::vector<std::string> warnings_;
  size_t target_;
  size_t next_ = 0;
  bool done_ = false;
};

/// nightlight.v1.SeriesResponse parts.
using series_response_encoder = list_response_encoder<storage::label_set>;
/// nightlight.v1.LabelNamesResponse and LabelValuesResponse parts.
using strings_response_encoder = list_response_encoder<std::string>;

/// The parts of a Metadata answer: one MetricFamilyMetadata per run of
/// entries of one family (the metadata store lists them by family), a
/// family never split across parts; `warnings` (cluster mode: nodes that
/// did not answer) with the last part. `items` must outlive the encoder.
class metadata_response_encoder {
 public:
  explicit metadata_response_encoder(const std::vector<storage::metric_metadata>& items,
                                     std::vector<std::string> warnings = {}, size_t target_bytes = grpc_part_bytes)
    : items_(items), warnings_(std::move(warnings)), target_(target_bytes) {}

  bool done() const { return done_; }
  std::string next();
  void set_target_bytes(size_t n) { target_ = n; }

 private:
  const std::vector<storage::metric_metadata>& items_;
  std::vector<std::string> warnings_;
  size_t target_;
  size_t next_ = 0;
  bool done_ = false;
};

extern template class list_response_encoder<storage::label_set>;
extern template class list_response_encoder<std::string>;

}  // namespace nl::protocol

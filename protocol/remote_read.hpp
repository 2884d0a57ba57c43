#pragma once
// Remote read (shared/spec/prometheus-api.md §2): request decoding with
// response-type negotiation, and the two response encodings.
//
// Server flow: snappy_decode(body) -> decode_read_request -> for each query
// select the series matching all matchers over its range (the hints' range
// when the query has hints, as Prometheus' querier does), in label order ->
// either
//   SAMPLES: samples_response_builder, a series at a time, each query
//            closed with end_query() -> snappy_encode -> 200 with
//            Content-Type samples_content_type, Content-Encoding: snappy;
//   STREAMED_XOR_CHUNKS: encode_chunked_series(...) per series, queries in
//            order -> 200 with chunked_content_type, no Content-Encoding,
//            each frame sent as it is made.
// Stored StaleNaN samples are returned bit-exactly in both forms.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/labels.hpp"
#include "storage/matcher.hpp"
#include "storage/sample.hpp"
#include "storage/status.hpp"

namespace nl::protocol {

inline constexpr std::string_view samples_content_type = "application/x-protobuf";
/// Exactly as Prometheus sends it (3.x clients match the prefix literally).
inline constexpr std::string_view chunked_content_type =
  "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";
/// Prometheus' server cuts frames at 1 MiB (--storage.remote.read-max-bytes-in-frame).
inline constexpr size_t default_max_frame_bytes = size_t{1} << 20;

enum class read_response_type : uint8_t { samples = 0, streamed_xor_chunks = 1 };

/// The part of a query's ReadHints that Prometheus' server acts on; step,
/// range, grouping and by are advisory there and ignored here too.
struct read_hints {
  int64_t start_ms = 0;  ///< inclusive, ms since epoch
  int64_t end_ms = 0;    ///< inclusive
  std::string func;      ///< the PromQL function the selector feeds, "" for none
};

struct read_query {
  int64_t start_ms = 0;  ///< inclusive, ms since epoch
  int64_t end_ms = 0;    ///< inclusive
  storage::matcher_list matchers;  ///< ANDed; regexes compiled, fully anchored
  /// Present when the request carried a hints message (Prometheus' client
  /// always sends one for PromQL selectors).
  std::optional<read_hints> hints;

  /// The range answered: Prometheus' querier selects with the hints' start
  /// and end when there are hints (even zeros), else with the query's.
  int64_t select_start() const { return hints ? hints->start_ms : start_ms; }
  int64_t select_end() const { return hints ? hints->end_ms : end_ms; }
  /// Hints func "series" (a /api/v1/series lookup): a SAMPLES answer lists
  /// the series without their samples, as Prometheus' block querier does.
  bool series_only() const { return hints && hints->func == "series"; }
};

struct read_request {
  std::vector<read_query> queries;
  /// The first of the client's accepted types that we support; SAMPLES if
  /// the client listed none (Prometheus 2.42 lists none).
  read_response_type response_type = read_response_type::samples;
};

/// Decodes an uncompressed prometheus.ReadRequest.
/// Errors (all HTTP 400, message usable as the plain-text body):
/// - corruption "protobuf: ..." for malformed bytes;
/// - invalid_argument "invalid matcher type 7", RE2's "error parsing regexp: ...";
/// - invalid_argument "server does not support any of the requested response
///   types: [5]; supported: map[SAMPLES:{} STREAMED_XOR_CHUNKS:{}]".
/// `streamed_supported` = false makes the server offer SAMPLES only.
storage::result<read_request> decode_read_request(std::string_view body,
                                                  bool streamed_supported = true);

/// Builds a SAMPLES answer (prometheus.ReadResponse, not compressed) one
/// series at a time, so a read holds the encoded answer (11 to 20 bytes a
/// sample) rather than decoded samples as well.
class samples_response_builder {
 public:
  /// Appends one TimeSeries (labels, samples in time order) to the
  /// current query's result.
  void add_series(const storage::label_set& labels, const storage::sample* samples, size_t n);
  /// Closes the current query's QueryResult and starts the next one's.
  /// results[i] answers query i: call it once per query, also for a query
  /// without series (the client checks the count).
  void end_query();
  /// The ReadResponse bytes, after the last end_query().
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::string query_;  ///< body of the open QueryResult
};

/// One stored chunk for a STREAMED_XOR_CHUNKS answer.
struct chunk_ref {
  int64_t min_time_ms = 0;  ///< inclusive
  int64_t max_time_ms = 0;  ///< inclusive
  std::string_view data;    ///< Prometheus XOR chunk bytes (encoding 1)
};

/// Encodes the frames of one series and hands each to `emit`, in order. A
/// frame is uvarint(len), CRC-32C(msg) big-endian, msg =
/// ChunkedReadResponse{chunked_series = [{labels, chunks}], query_index}.
/// Chunks are spread over consecutive frames so a message stays within
/// `max_frame_bytes` (a single bigger chunk gets a frame of its own).
/// Emits nothing when `chunks` is empty.
void encode_chunked_series(int64_t query_index, const storage::label_set& labels,
                           const std::vector<chunk_ref>& chunks, size_t max_frame_bytes,
                           const std::function<void(std::string frame)>& emit);

}  // namespace nl::protocol

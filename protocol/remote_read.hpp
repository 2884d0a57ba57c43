#pragma once
// Remote read (shared/spec/prometheus-api.md §2): request decoding with
// response-type negotiation, and the two response encodings.
//
// Server flow: snappy_decode(body) -> decode_read_request -> for each query
// select series in [start_ms, end_ms] matching all matchers -> either
//   SAMPLES: encode_samples_response(...) -> snappy_encode -> 200 with
//            Content-Type samples_content_type, Content-Encoding: snappy;
//   STREAMED_XOR_CHUNKS: append_chunked_series(...) per series, in label
//            order, queries in order -> 200 with chunked_content_type, no
//            Content-Encoding, flushing after each series' frames.
// Stored StaleNaN samples are returned bit-exactly in both forms.
#include <cstdint>
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

struct read_query {
  int64_t start_ms = 0;  ///< inclusive, ms since epoch
  int64_t end_ms = 0;    ///< inclusive
  storage::matcher_list matchers;  ///< ANDed; regexes compiled, fully anchored
};

struct read_request {
  std::vector<read_query> queries;
  /// The first of the client's accepted types that we support; SAMPLES if
  /// the client listed none (Prometheus 2.42 lists none).
  read_response_type response_type = read_response_type::samples;
};

/// Decodes an uncompressed prometheus.ReadRequest. Hints are ignored.
/// Errors (all HTTP 400, message usable as the plain-text body):
/// - corruption "protobuf: ..." for malformed bytes;
/// - invalid_argument "invalid matcher type 7", RE2's "error parsing regexp: ...";
/// - invalid_argument "server does not support any of the requested response
///   types: [5]; supported: map[SAMPLES:{} STREAMED_XOR_CHUNKS:{}]".
/// `streamed_supported` = false makes the server offer SAMPLES only.
storage::result<read_request> decode_read_request(std::string_view body,
                                                  bool streamed_supported = true);

/// One series of a SAMPLES answer.
struct read_series {
  storage::label_set labels;
  std::vector<storage::sample> samples;  ///< in time order
};

/// prometheus.ReadResponse (not compressed): results[i] answers query i, so
/// give exactly one entry per query, even if empty.
std::string encode_samples_response(const std::vector<std::vector<read_series>>& results);

/// One stored chunk for a STREAMED_XOR_CHUNKS answer.
struct chunk_ref {
  int64_t min_time_ms = 0;  ///< inclusive
  int64_t max_time_ms = 0;  ///< inclusive
  std::string_view data;    ///< Prometheus XOR chunk bytes (encoding 1)
};

/// Appends the frames of one series to `out`. A frame is uvarint(len),
/// CRC-32C(msg) big-endian, msg = ChunkedReadResponse{chunked_series = [{labels,
/// chunks}], query_index}. Chunks are spread over consecutive frames so a
/// message stays within `max_frame_bytes` (a single bigger chunk gets a
/// frame of its own). Writes nothing when `chunks` is empty.
void append_chunked_series(std::string& out, int64_t query_index, const storage::label_set& labels,
                           const std::vector<chunk_ref>& chunks,
                           size_t max_frame_bytes = default_max_frame_bytes);

}  // namespace nl::protocol

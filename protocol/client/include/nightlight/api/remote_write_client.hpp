#pragma once
// Remote-write client: sends samples and metadata to Nightlight's (or any
// Prometheus remote-write 1.0 receiver's) POST /api/v1/write the way
// Prometheus 2.42 does.
//
// - Body: prometheus.WriteRequest, snappy block format; headers
//   Content-Encoding: snappy, Content-Type: application/x-protobuf,
//   X-Prometheus-Remote-Write-Version: 0.1.0, User-Agent.
// - Retries like Prometheus' queue manager: network errors and 5xx answers
//   are retried, 429 only with `retry_on_http_429`, nothing else (a 400
//   means the data was refused and sending it again would not help).
//   Waits start at `min_backoff` and double up to `max_backoff`. A 429's
//   Retry-After (seconds or an HTTP date) replaces the wait; on 5xx it is
//   ignored, as in Prometheus 2.42, unless `retry_after_on_5xx` (what
//   Prometheus does since 2.48).
// - One keep-alive connection (HTTP/1.1, or TLS 1.2+ with optional client
//   certificate).
//
// Not thread-safe: use one client per thread (each holds one connection).
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "error.hpp"
#include "tls_options.hpp"
#include "types.hpp"

namespace nightlight::api {

struct remote_write_options {
  /// http://host:port/path or https://host:port/path, e.g.
  /// "http://127.0.0.1:9101/api/v1/write". Port defaults to 80/443.
  std::string url;
  /// Used for https:// URLs (its `enabled` is implied by the scheme).
  tls_options tls;
  /// Limit for one attempt: connect, send, answer (Prometheus'
  /// remote_timeout, default 30 s).
  std::chrono::milliseconds timeout{30000};
  /// First wait after a failed attempt; doubles after each retry...
  std::chrono::milliseconds min_backoff{30};
  /// ...up to this (Prometheus' queue_config defaults: 30 ms, 5 s).
  std::chrono::milliseconds max_backoff{5000};
  /// Retry 429 Too Many Requests, honouring its Retry-After
  /// (queue_config.retry_on_http_429, off by default).
  bool retry_on_http_429 = false;
  /// Also honour Retry-After on 5xx answers (Prometheus 2.48+; 2.42 uses its
  /// own backoff there).
  bool retry_after_on_5xx = false;
  /// No new attempt starts once this long has passed since the first one
  /// (Prometheus retries until shut down). 0: never give up.
  std::chrono::milliseconds give_up_after{std::chrono::minutes(5)};
  /// Empty: "nightlight-api/<version>" (Prometheus sends "Prometheus/<version>").
  std::string user_agent;
  /// Extra headers sent with every request (remote_write.headers).
  std::vector<std::pair<std::string, std::string>> headers;
};

/// One TimeSeries of a WriteRequest. Samples in time order; Prometheus
/// itself sends one sample per series entry, several are fine.
struct time_series {
  label_set labels;
  std::vector<sample> samples;
};

/// What one attempt got.
struct write_attempt {
  /// The HTTP status, or 0 when no answer came (connect, TLS or timeout).
  int http_status = 0;
  /// Empty on success; else e.g. "server returned HTTP status 503 Service
  /// Unavailable: overloaded" or "connect 127.0.0.1:9101: Connection refused".
  std::string message;
  /// The raw Retry-After header of the answer, if any.
  std::string retry_after;
  /// How long the client waited before the next attempt (0 for the last).
  std::chrono::milliseconds wait{0};
  /// That wait came from Retry-After rather than the backoff schedule.
  bool waited_for_retry_after = false;
};

/// What write() did.
struct write_report {
  /// What the request carried.
  size_t series = 0;
  size_t samples = 0;
  size_t metadata = 0;
  size_t encoded_bytes = 0;     ///< protobuf size before compression
  size_t compressed_bytes = 0;  ///< body size on the wire
  /// Every attempt in order; the last one decided.
  std::vector<write_attempt> attempts;
  /// Set when the data was not accepted: the code says why (e.g.
  /// invalid_argument for a 400, unavailable when retries ran out).
  bool failed = false;
  error failure;

  bool ok() const { return !failed; }
  size_t retries() const { return attempts.empty() ? 0 : attempts.size() - 1; }
};

class remote_write_client {
 public:
  /// Checks the URL and loads the TLS files; connects lazily on the first
  /// write. Errors: invalid_argument naming the option or file.
  static result<remote_write_client> create(remote_write_options options);

  remote_write_client(remote_write_client&&) noexcept;
  remote_write_client& operator=(remote_write_client&&) noexcept;
  ~remote_write_client();

  /// Sends one WriteRequest holding `series` and `metadata` (either may be
  /// empty; Prometheus sends metadata in requests of their own), retrying
  /// as described above. Blocks until accepted or given up.
  write_report write(const std::vector<time_series>& series,
                     const std::vector<metric_metadata>& metadata = {});

  const remote_write_options& options() const;

 private:
  struct impl;
  explicit remote_write_client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// The uncompressed protobuf body of a WriteRequest, byte for byte what
/// libprotobuf writes for the same message (for tests and custom senders).
std::string encode_write_request(const std::vector<time_series>& series,
                                 const std::vector<metric_metadata>& metadata = {});

}  // namespace nightlight::api

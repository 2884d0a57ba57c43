#pragma once
// Query client for Nightlight's gRPC API (nightlight.v1.QueryService on
// server.grpc_addr, default 127.0.0.1:9100): the same questions as the
// Prometheus HTTP API's query, query_range, series, labels,
// label/<name>/values and metadata, with typed answers.
//
// Every call blocks until the whole answer arrived (the server streams
// large answers in parts; they are joined here) or the call's deadline
// passed. Failures come back as `error` with the server's gRPC status:
// INVALID_ARGUMENT (bad PromQL or parameters, with the HTTP API's message),
// RESOURCE_EXHAUSTED (too many samples), DEADLINE_EXCEEDED, UNAVAILABLE
// (server down, overloaded or TLS handshake refused), PERMISSION_DENIED
// (identity not in tls.allowed_readers), ...
//
// Thread-safe: one client may serve many threads (one HTTP/2 connection).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "error.hpp"
#include "tls_options.hpp"
#include "types.hpp"

namespace nightlight::api {

struct query_client_options {
  /// host:port of server.grpc_addr; also "dns:///name:port" or
  /// "unix:/path" (gRPC target syntax).
  std::string address = "127.0.0.1:9100";
  /// TLS (set `enabled`): server verified against ca_file, client
  /// certificate for mTLS, server_name overriding the name checked.
  tls_options tls;
  /// Deadline of calls that do not set one. The server's own query timeout
  /// (server.query_timeout_seconds) applies as well.
  std::chrono::milliseconds default_deadline{std::chrono::minutes(2)};
};

/// Per call: how long the client waits for the whole answer (0: the
/// client's default_deadline). The server stops the query when it passes.
struct call_options {
  std::chrono::milliseconds deadline{0};
};

// ---- requests (fields as the HTTP parameters) ----------------------------

struct instant_query {
  std::string query;               ///< PromQL
  std::optional<int64_t> time_ms;  ///< evaluation time; absent: now
  std::chrono::milliseconds timeout{0};  ///< query timeout; 0: the server's
};

struct range_query {
  std::string query;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  int64_t step_ms = 0;
  std::chrono::milliseconds timeout{0};
};

struct series_query {
  std::vector<std::string> match;  ///< selectors (match[]); at least one
  std::optional<int64_t> start_ms;
  std::optional<int64_t> end_ms;
  uint64_t limit = 0;  ///< 0: no limit
};

struct label_names_query {
  std::vector<std::string> match;  ///< optional selectors
  std::optional<int64_t> start_ms;
  std::optional<int64_t> end_ms;
  uint64_t limit = 0;
};

struct label_values_query {
  std::string label_name;
  std::vector<std::string> match;
  std::optional<int64_t> start_ms;
  std::optional<int64_t> end_ms;
  uint64_t limit = 0;
};

struct metadata_query {
  std::string metric;                      ///< one family; empty: all
  std::optional<int64_t> limit;            ///< families at most
  std::optional<int64_t> limit_per_metric; ///< entries per family at most
};

// ---- answers ---------------------------------------------------------------

enum class result_type { vector, matrix, scalar, string };

/// "vector", "matrix", "scalar", "string" (the HTTP API's resultType).
const char* to_string(result_type t);

/// One element of an instant vector.
struct instant_sample {
  label_set labels;
  sample point;
};

/// One series of a range vector (matrix), samples in time order.
struct range_series {
  label_set labels;
  std::vector<sample> samples;
};

struct query_result {
  result_type type = result_type::vector;
  std::vector<instant_sample> vector;  ///< type vector
  std::vector<range_series> matrix;    ///< type matrix (sorted by labels)
  sample scalar;                       ///< type scalar
  int64_t string_timestamp_ms = 0;     ///< type string
  std::string string_value;            ///< type string
  std::vector<std::string> warnings;
};

struct series_result {
  std::vector<label_set> series;  ///< sorted
  std::vector<std::string> warnings;
};

/// Label names or label values, sorted.
struct strings_result {
  std::vector<std::string> values;
  std::vector<std::string> warnings;
};

/// What the senders said about one metric family (one entry per distinct
/// type/help/unit), as /api/v1/metadata lists it.
struct metric_family {
  std::string metric;
  std::vector<metric_metadata> metadata;  ///< metric_family_name == metric
};

struct metadata_result {
  std::vector<metric_family> metrics;
  std::vector<std::string> warnings;
};

class query_client {
 public:
  /// Reads the TLS files and sets up the channel; connects lazily, so a
  /// server that is down shows up as UNAVAILABLE on the first call.
  /// Errors: invalid_argument naming the option or file.
  static result<query_client> connect(query_client_options options);

  query_client(query_client&&) noexcept;
  query_client& operator=(query_client&&) noexcept;
  ~query_client();

  /// /api/v1/query.
  result<query_result> query(const instant_query& q, const call_options& call = {}) const;
  /// /api/v1/query_range (always a matrix).
  result<query_result> query_range(const range_query& q, const call_options& call = {}) const;
  /// /api/v1/series.
  result<series_result> series(const series_query& q, const call_options& call = {}) const;
  /// /api/v1/labels.
  result<strings_result> label_names(const label_names_query& q = {},
                                     const call_options& call = {}) const;
  /// /api/v1/label/<name>/values.
  result<strings_result> label_values(const label_values_query& q,
                                      const call_options& call = {}) const;
  /// /api/v1/metadata.
  result<metadata_result> metadata(const metadata_query& q = {},
                                   const call_options& call = {}) const;

  const query_client_options& options() const;

 private:
  struct impl;
  explicit query_client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace nightlight::api

#pragma once
// Byte-exact JSON of the Prometheus HTTP API (shared/spec/prometheus-api.md
// §3.2-§3.4), written by hand into a std::string: no DOM, no allocation per
// value. Every function appends to `out`.
//
// Typical use for /api/v1/query:
//   std::string out;
//   begin_success(out);                    // {"status":"success","data":
//   append_vector_result(out, elements);   // {"resultType":"vector","result":[...]}
//   end_success(out, warnings);            // ,"warnings":[...]}  or  }
// Errors: error_body(api_error::bad_data, msg) with http_status(api_error::bad_data).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/remote_write.hpp"
#include "storage/index/label_stats.hpp"
#include "storage/labels.hpp"
#include "storage/sample.hpp"

namespace nl::protocol {

// -- scalars ---------------------------------------------------------------------

/// A JSON string literal escaped like Go's encoding/json: \" \\ \n \r \t,
/// other control characters and <, >, & as \u00XX, U+2028/U+2029 escaped,
/// bytes that are not valid UTF-8 replaced by \ufffd (output is valid UTF-8).
void append_json_string(std::string& out, std::string_view s);

/// A sample value as a JSON string in Go's shortest form: fixed notation if
/// v == 0 or 1e-6 <= |v| < 1e21, else exponent notation with at least two
/// exponent digits ("1e-07", "1e+21"); "NaN", "+Inf", "-Inf", "-0".
void append_sample_value(std::string& out, double v);

/// A scalar result's value as a JSON string: always fixed notation (2.42's
/// promql.Scalar uses FormatFloat 'f'), e.g. 1e-7 -> "0.0000001".
void append_scalar_value(std::string& out, double v);

/// Sample timestamp (vectors, matrices): seconds, plus '.' and exactly three
/// digits when t % 1000 != 0: 1435781451781 -> 1435781451.781, -1500 -> -1.500.
void append_timestamp(std::string& out, int64_t t_ms);

/// Scalar/string result timestamp: shortest form of t/1000 (4, 1795690091.25).
void append_timestamp_shortest(std::string& out, int64_t t_ms);

/// A float as Go's encoding/json writes a float64 (a JSON number, not a
/// string): fixed notation when 1e-6 <= |v| < 1e21 or v == 0, else
/// exponent notation without a leading zero in the exponent ("1.5e-7",
/// "1e+21"). NaN and ±Inf, which Go refuses, are written as 0.
void append_json_number(std::string& out, double v);

/// {"name":"value",...} in label order.
void append_labels(std::string& out, const storage::label_set& labels);

// -- envelope --------------------------------------------------------------------

/// Prometheus' errorType values, plus method_not_allowed: Nightlight's
/// JSON answer (405) to a foreign method on an API path, where Prometheus
/// answers plain text (see README, "HTTP API").
enum class api_error : uint8_t { bad_data, execution, timeout, canceled, internal, unavailable,
                                 not_found, method_not_allowed };

/// "bad_data", "execution", ...
std::string_view to_string(api_error e);
/// HTTP status as Prometheus 2.42: bad_data 400, execution 422, timeout 503,
/// canceled 503, internal 500, unavailable 500, not_found 404; and
/// method_not_allowed 405.
int http_status(api_error e);

/// {"status":"error","errorType":"<type>","error":"<message>"}
std::string error_body(api_error e, std::string_view message);

/// Appends {"status":"success","data": ; the caller appends the data value.
void begin_success(std::string& out);
/// Closes begin_success: ,"warnings":[...] when there are any, then }.
void end_success(std::string& out, const std::vector<std::string>& warnings = {});

// -- data values -----------------------------------------------------------------

/// ["a","b"] (label names, label values). Empty list -> [].
void append_string_list(std::string& out, const std::vector<std::string>& values);
/// [{labels},...] for /api/v1/series.
void append_series_list(std::string& out, const std::vector<storage::label_set>& series);

/// One element of an instant vector: labels (not owned) and its sample; the
/// sample's t is printed (the evaluation time for an instant query).
using vector_element = std::pair<const storage::label_set*, storage::sample>;

/// One series of a matrix: labels and points, neither owned.
struct matrix_series {
  const storage::label_set* labels = nullptr;
  const storage::sample* points = nullptr;
  size_t count = 0;
};

/// {"resultType":"vector","result":[{"metric":{...},"value":[t,"v"]},...]}
void append_vector_result(std::string& out, const std::vector<vector_element>& elements);
/// {"resultType":"matrix","result":[{"metric":{...},"values":[[t,"v"],...]},...]}
/// Series with no points are skipped.
void append_matrix_result(std::string& out, const std::vector<matrix_series>& series);
/// {"resultType":"scalar","result":[t,"v"]}
void append_scalar_result(std::string& out, int64_t t_ms, double v);
/// {"resultType":"string","result":[t,"s"]}
void append_string_result(std::string& out, int64_t t_ms, std::string_view s);

/// /api/v1/metadata data: {"family":[{"type":"gauge","help":"...","unit":""},...],...}.
/// `entries` is ordered by family name (the store's list()); consecutive
/// entries of one family make its list, in the order given.
void append_metadata(std::string& out, const std::vector<metadata_entry>& entries);

/// /api/v1/status/tsdb data, Prometheus 2.42's TSDBStatus field for field:
/// {"headStats":{"numSeries":N,"numLabelPairs":N,"chunkCount":N,
/// "minTime":ms,"maxTime":ms},"seriesCountByMetricName":[{"name":"…",
/// "value":N},…],"labelValueCountByLabelName":[…],
/// "memoryInBytesByLabelName":[…],"seriesCountByLabelValuePair":[…]}.
/// Lists in the order given; an empty one is [].
void append_tsdb_status(std::string& out, const storage::tsdb_status& s);

/// /api/v1/status/walreplay data: {"min":N,"max":N,"current":N}.
void append_wal_replay_status(std::string& out, int64_t min, int64_t max, int64_t current);

/// {"k":"v",...} with keys in byte order, as Go encodes a map[string]string
/// (/api/v1/status/flags).
void append_string_map(std::string& out, const std::map<std::string, std::string>& m);

/// A time as Go's time.Time encodes into JSON (RFC 3339 with nanoseconds,
/// trailing zeros and an all-zero fraction left out), in UTC:
/// "2026-11-26T10:47:34.18Z", "2026-11-26T10:47:34Z".
void append_rfc3339_nano(std::string& out, int64_t unix_ns);

/// /api/v1/status/runtimeinfo data, Prometheus 2.42's RuntimeInfo field for
/// field (what Nightlight puts into the Go-specific ones: README).
struct runtime_info {
  int64_t start_time_ns = 0;       ///< "startTime"
  std::string cwd;                 ///< "CWD"
  bool reload_config_success = true;
  int64_t last_config_time_s = 0;  ///< "lastConfigTime", whole seconds
  int64_t corruption_count = 0;
  int64_t goroutine_count = 0;
  int64_t gomaxprocs = 0;
  std::string gogc;
  std::string godebug;
  std::string storage_retention;   ///< "15d", "15d or 50GiB"
};
void append_runtime_info(std::string& out, const runtime_info& r);

/// A byte count as Prometheus prints its retention size (alecthomas/units
/// Base2Bytes): the exact sum of its binary units, "50GiB", "1GiB512MiB",
/// "0B".
std::string format_base2_bytes(uint64_t bytes);

}  // namespace nl::protocol

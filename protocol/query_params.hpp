#pragma once
// Parameters of the Prometheus HTTP API (shared/spec/prometheus-api.md §3.1,
// §3.6): the merged form/query-string view, times, durations, `limit`,
// match[] and the query_range checks. Every error is invalid_argument whose
// message is the exact Prometheus 2.42 text for `"error"` (errorType
// bad_data, 400). The gRPC API (proto/query.proto) sends the same
// parameters already typed and is checked by the same functions from
// check_range on (gRPC INVALID_ARGUMENT, same message).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/matcher.hpp"
#include "storage/status.hpp"

namespace nl::protocol {

/// Prometheus' MinTime / MaxTime in ms since epoch: what the two sentinel
/// strings mean and where out-of-range times are clamped.
inline constexpr int64_t min_time_ms = -9223309901257974000;
inline constexpr int64_t max_time_ms = 9223309901257974999;

/// Request parameters as Go's r.Form sees them: pairs from the form body
/// first, then from the URL query. get() therefore lets the body win and
/// the first of repeated values win; get_all() (for match[]) returns body
/// values then URL values. Names and values are %XX- and '+'-decoded.
class form_params {
 public:
  form_params() = default;
  /// `url_query`: the raw text after '?'. `form_body`: the request body only
  /// when is_form_content_type(Content-Type) holds, otherwise "" (Prometheus
  /// ignores other bodies). Never fails: malformed pairs are skipped and the
  /// first problem is kept in error(), as Go's ParseForm does.
  static form_params parse(std::string_view url_query, std::string_view form_body);

  /// First value of `name`, or nullopt when absent.
  std::optional<std::string_view> get(std::string_view name) const;
  /// First value of `name`, or "" when absent (Go's FormValue).
  std::string_view value(std::string_view name) const { return get(name).value_or(""); }
  std::vector<std::string_view> get_all(std::string_view name) const;
  /// E.g. `invalid URL escape "%zz"`; empty when everything parsed.
  const std::string& error() const { return error_; }

 private:
  void add_pairs(std::string_view text);
  std::vector<std::pair<std::string, std::string>> pairs_;
  std::string error_;
};

/// Whether a Content-Type header value means application/x-www-form-urlencoded
/// (case-insensitive, parameters such as "; charset=utf-8" ignored).
bool is_form_content_type(std::string_view content_type);

/// Decodes %XX escapes and '+' (as space); nullopt on a malformed escape.
std::optional<std::string> query_unescape(std::string_view s);

/// Decodes %XX escapes; '+' stays '+' (URL paths, not forms). nullopt on a
/// malformed escape.
std::optional<std::string> path_unescape(std::string_view s);

/// A time parameter: Unix seconds as a decimal float (fraction rounded to
/// ms), RFC 3339 with optional fraction (truncated to ms) and offset, or the
/// MinTime/MaxTime sentinel strings. Values beyond MinTime/MaxTime (and ±Inf)
/// are clamped, never an error; "NaN" is an error. `name` only shapes the error text:
/// `invalid parameter "time": Invalid time value for 'time': cannot parse
/// "abc" to a valid timestamp`. Returns ms since epoch.
storage::result<int64_t> parse_time(std::string_view name, std::string_view value);

/// Like parse_time, but an empty value means `default_ms` (Prometheus'
/// parseTimeParam: optional times such as `time`, or series' start/end).
storage::result<int64_t> parse_time_or(std::string_view name, std::string_view value,
                                       int64_t default_ms);

/// Nightlight's warning (Prometheus gives none) for a time parameter that
/// parse_time read as `t_ms`: a number beyond the year 5000 is almost
/// certainly milliseconds sent where the API takes seconds (Grafana does
/// so in one probe), and its query silently finds nothing. The warning
/// names the parameter, the year and the time the value means as
/// milliseconds. nullopt for sensible times, RFC 3339 text (the MaxTime
/// sentinel is one), and ±Inf.
std::optional<std::string> millisecond_time_warning(std::string_view name, std::string_view value,
                                                    int64_t t_ms);

/// A duration parameter (step, timeout, lookback_delta): float seconds
/// ("15", "0.25", "1e3") or a Prometheus duration ("1h30m", "2w", "0"; units
/// y w d h m s ms, descending, integers only). Returns ms, truncating any
/// sub-millisecond part. Error: `invalid parameter "step": cannot parse "x"
/// to a valid duration`. Negative values parse; callers check the sign.
storage::result<int64_t> parse_duration(std::string_view name, std::string_view value);

/// Go's strconv.Atoi (64-bit): an optional sign and decimal digits within
/// the int64 range; nullopt for anything else ("", " 1", "1.5", overflow).
std::optional<int64_t> go_atoi(std::string_view s);

/// `limit`: "" or "0" = unlimited (returned as 0), a positive integer, else
/// `invalid parameter "limit": limit must be non-negative` /
/// `invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax`.
storage::result<int64_t> parse_limit(std::string_view value);

/// A boolean parameter as Go's strconv.ParseBool reads it ("1", "t", "T",
/// "TRUE", "true", "True" and the same for false); "" means
/// `default_value`. Error (the admin API's snapshot): `invalid parameter
/// "skip_head": unable to parse boolean: strconv.ParseBool: parsing "x":
/// invalid syntax`.
storage::result<bool> parse_bool_or(std::string_view name, std::string_view value, bool default_value);

/// start/end/step of /api/v1/query_range, ms. Evaluation points are exactly
/// start + k*step while <= end.
struct range_params {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  int64_t step_ms = 0;
};

/// Checks in Prometheus' order: start, end, end >= start, step parses,
/// step > 0 (steps under 1 ms count as zero here), and at most 11,000
/// points: `exceeded maximum resolution of 11,000 points per timeseries. Try
/// decreasing the query resolution (?step=XX)`. Missing values are "".
storage::result<range_params> parse_range_params(std::string_view start, std::string_view end,
                                                 std::string_view step);

/// The same checks on times already parsed (ms) and a step in nanoseconds
/// (Go's time.Duration, which the point limit is computed in): end >=
/// start, step >= 1 ms, at most 11,000 points.
storage::result<range_params> check_range(int64_t start_ms, int64_t end_ms, int64_t step_ns);

/// The selectors of `match[]` (/series, /labels, /label/../values): each a
/// series selector with at least one matcher that does not match the empty
/// string. Errors as Prometheus words them (the parser's message, or
/// `match[] must contain at least one non-empty matcher`); with `required`
/// (/series) no selector at all is `no match[] parameter provided`.
storage::result<std::vector<storage::matcher_list>> parse_match_params(
  const std::vector<std::string_view>& values, bool required = false);

/// The <name> of /api/v1/label/<name>/values: any name is looked up as it
/// is while UTF-8 names are allowed (ingest.allow_utf8_names); otherwise
/// it must be a legacy label name (`invalid label name: "..."`, 2.42's
/// %q).
storage::status check_label_name_param(std::string_view name, bool allow_utf8_names);

}  // namespace nl::protocol

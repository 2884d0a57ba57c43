#include "protocol/query_params.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

#include "promql/literals.hpp"
#include "promql/parser.hpp"
#include "protocol/utf8.hpp"
#include "storage/quote.hpp"

namespace nl::protocol {

namespace {

using storage::go_quote;
using promql::iequals;
using promql::parse_float;
using storage::status;

constexpr std::string_view min_time_text = "-292273086-05-16T16:47:06Z";
constexpr std::string_view max_time_text = "292277025-08-18T07:12:54.999999999Z";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// RFC 3339 as Go's time.Parse(time.RFC3339Nano, s) accepts it:
// YYYY-MM-DDTHH:MM:SS[.fraction]Z|±HH:MM, fraction of any length (',' also
// allowed), sub-millisecond digits truncated.
std::optional<int64_t> parse_rfc3339(std::string_view s) {
  size_t i = 0;
  auto number = [&](size_t n, int& out) {
    if (s.size() - i < n)
      return false;
    int v = 0;
    for (size_t k = 0; k < n; ++k) {
      if (!is_digit(s[i + k]))
        return false;
      v = v * 10 + (s[i + k] - '0');
    }
    i += n;
    out = v;
    return true;
  };
  auto literal = [&](char c) {
    if (i >= s.size() || s[i] != c)
      return false;
    ++i;
    return true;
  };
  int year, month, day, hour, minute, second;
  if (!number(4, year) || !literal('-') || !number(2, month) || !literal('-') ||
      !number(2, day) || !literal('T') || !number(2, hour) || !literal(':') ||
      !number(2, minute) || !literal(':') || !number(2, second))
    return std::nullopt;
  static constexpr int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 ||
      day > month_days[month - 1] + (month == 2 && leap_year(year) ? 1 : 0) || hour > 23 ||
      minute > 59 || second > 59)
    return std::nullopt;
  int64_t millis = 0;
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    ++i;
    size_t digits = 0;
    while (i < s.size() && is_digit(s[i])) {
      if (digits < 3)
        millis = millis * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0)
      return std::nullopt;
    for (size_t k = digits; k < 3; ++k)
      millis *= 10;
  }
  int64_t offset_s = 0;
  if (literal('Z')) {
    // UTC
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i] == '-' ? -1 : 1;
    ++i;
    int oh, om;
    if (!number(2, oh) || !literal(':') || !number(2, om) || oh > 24 || om > 59)
      return std::nullopt;
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (i != s.size())
    return std::nullopt;
  int64_t secs = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) *
                   86400 +
                 hour * 3600 + minute * 60 + second - offset_s;
  return secs * 1000 + millis;
}

// Unix seconds → ms: split integer and fraction, round the fraction to ms
// (truncating made Cortex 1 ms off for 1595846748.806), clamp far values.
int64_t seconds_to_ms(double t) {
  if (t >= static_cast<double>(max_time_ms) / 1000)
    return max_time_ms;
  if (t <= static_cast<double>(min_time_ms) / 1000)
    return min_time_ms;
  double ip = 0;
  double frac = std::modf(t, &ip);
  return static_cast<int64_t>(ip) * 1000 + static_cast<int64_t>(std::llround(frac * 1000));
}

std::string cannot_parse_time(std::string_view name, std::string_view value) {
  std::string n(name);
  return "invalid parameter " + go_quote(name) + ": Invalid time value for '" + n +
         "': cannot parse " + go_quote(value) + " to a valid timestamp";
}

constexpr int64_t ns_per_ms = 1'000'000;

status end_before_start() {
  return status::invalid_argument("invalid parameter \"end\": end timestamp must not be before start time");
}

// Prometheus' parseDuration: float seconds first, then the duration
// grammar. Nanoseconds, as Go's time.Duration.
storage::result<int64_t> parse_duration_ns(std::string_view name, std::string_view value) {
  if (auto d = parse_float(value); d && !std::isnan(*d)) {
    double ns = *d * 1e9;
    if (ns >= 9.223372036854775807e18 || ns < -9.223372036854775808e18)
      return status::invalid_argument("invalid parameter " + go_quote(name) + ": cannot parse " +
                                      go_quote(value) + " to a valid duration. It overflows int64");
    return static_cast<int64_t>(ns);
  }
  std::string error;
  if (auto d = promql::parse_duration(value, error))
    return *d * ns_per_ms;  // fits: parse_duration checks the nanoseconds
  return status::invalid_argument("invalid parameter " + go_quote(name) + ": cannot parse " +
                                  go_quote(value) + " to a valid duration");
}

}  // namespace

// -- form_params ---------------------------------------------------------------

namespace {

std::optional<std::string> unescape(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '%') {
      if (s.size() - i < 3)
        return std::nullopt;
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> query_unescape(std::string_view s) { return unescape(s, true); }

std::optional<std::string> path_unescape(std::string_view s) { return unescape(s, false); }

void form_params::add_pairs(std::string_view text) {
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (pair.find(';') != std::string_view::npos) {
      if (error_.empty())
        error_ = "invalid semicolon separator in query";
      continue;
    }
    if (pair.empty())
      continue;
    size_t eq = pair.find('=');
    std::string_view raw_name = pair.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    auto name = query_unescape(raw_name);
    auto value = name ? query_unescape(raw_value) : std::nullopt;
    if (!name || !value) {
      if (error_.empty()) {
        std::string_view bad = name ? raw_value : raw_name;
        size_t pct = 0;
        // Find the offending escape for Go's message text.
        for (size_t k = 0; k < bad.size(); ++k) {
          if (bad[k] == '%' && (k + 2 >= bad.size() || hex_value(bad[k + 1]) < 0 ||
                                hex_value(bad[k + 2]) < 0)) {
            pct = k;
            break;
          }
          if (bad[k] == '%')
            k += 2;
        }
        error_ = "invalid URL escape " + go_quote(bad.substr(pct, 3));
      }
      continue;
    }
    pairs_.emplace_back(std::move(*name), std::move(*value));
  }
}

form_params form_params::parse(std::string_view url_query, std::string_view form_body) {
  form_params p;
  p.add_pairs(form_body);
  p.add_pairs(url_query);
  return p;
}

std::optional<std::string_view> form_params::get(std::string_view name) const {
  for (const auto& [k, v] : pairs_)
    if (k == name)
      return std::string_view(v);
  return std::nullopt;
}

std::vector<std::string_view> form_params::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : pairs_)
    if (k == name)
      out.emplace_back(v);
  return out;
}

bool is_form_content_type(std::string_view ct) {
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t'))
    ct.remove_prefix(1);
  while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t'))
    ct.remove_suffix(1);
  return iequals(ct, "application/x-www-form-urlencoded");
}

// -- values ----------------------------------------------------------------------

storage::result<int64_t> parse_time(std::string_view name, std::string_view value) {
  if (auto t = parse_float(value)) {
    if (std::isnan(*t))
      return status::invalid_argument(cannot_parse_time(name, value));
    return seconds_to_ms(*t);
  }
  if (auto t = parse_rfc3339(value))
    return *t;
  if (value == min_time_text)
    return min_time_ms;
  if (value == max_time_text)
    return max_time_ms;
  return status::invalid_argument(cannot_parse_time(name, value));
}

namespace {

// 5000-01-01T00:00:00Z
constexpr int64_t year_5000_ms = 95617584000000;

// The UTC calendar year of `t_ms` (any int64 time: glibc's gmtime takes
// years far beyond 9999).
int64_t year_of(int64_t t_ms) {
  std::time_t secs = static_cast<std::time_t>(t_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return int64_t{tm.tm_year} + 1900;
}

std::string utc_seconds(int64_t t_ms) {
  std::time_t secs = static_cast<std::time_t>(t_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out{buf, n};
  if (t_ms % 1000 != 0) {
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(t_ms % 1000));
    out += frac;
  }
  return out + "Z";
}

}  // namespace

std::optional<std::string> millisecond_time_warning(std::string_view name, std::string_view value,
                                                    int64_t t_ms) {
  if (t_ms < year_5000_ms)
    return std::nullopt;
  auto v = parse_float(value);
  if (!v || !std::isfinite(*v))
    return std::nullopt;
  std::string w = std::string{name} + "=" + std::string{value} + " is in the year " + std::to_string(year_of(t_ms))
                  + ": times are seconds since the epoch, and this looks like milliseconds";
  int64_t as_ms = t_ms / 1000;
  if (as_ms < year_5000_ms)
    w += " (" + std::string{value} + " ms is " + utc_seconds(as_ms) + ")";
  return w;
}

storage::result<int64_t> parse_time_or(std::string_view name, std::string_view value,
                                       int64_t default_ms) {
  if (value.empty())
    return default_ms;
  return parse_time(name, value);
}

storage::result<int64_t> parse_duration(std::string_view name, std::string_view value) {
  auto ns = parse_duration_ns(name, value);
  if (!ns)
    return ns.error();
  return *ns / ns_per_ms;
}

std::optional<int64_t> go_atoi(std::string_view s) {
  bool neg = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '+' || s[0] == '-'))
    s.remove_prefix(1);
  if (s.empty() || !std::all_of(s.begin(), s.end(), is_digit))
    return std::nullopt;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + neg)
    return std::nullopt;
  return neg ? static_cast<int64_t>(0 - n) : static_cast<int64_t>(n);
}

storage::result<int64_t> parse_limit(std::string_view value) {
  if (value.empty())
    return int64_t{0};
  // Go's strconv.Atoi: optional sign, decimal digits, int64 range.
  std::string_view digits = value;
  bool neg = false;
  if (digits[0] == '+' || digits[0] == '-') {
    neg = digits[0] == '-';
    digits.remove_prefix(1);
  }
  bool syntax_ok = !digits.empty();
  for (char c : digits)
    syntax_ok = syntax_ok && is_digit(c);
  if (!syntax_ok)
    return status::invalid_argument("invalid parameter \"limit\": strconv.Atoi: parsing " +
                                    go_quote(value) + ": invalid syntax");
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + neg)
    return status::invalid_argument("invalid parameter \"limit\": strconv.Atoi: parsing " +
                                    go_quote(value) + ": value out of range");
  if (neg && n > 0)
    return status::invalid_argument("invalid parameter \"limit\": limit must be non-negative");
  return static_cast<int64_t>(n);
}

storage::result<range_params> parse_range_params(std::string_view start, std::string_view end,
                                                 std::string_view step) {
  auto s = parse_time("start", start);
  if (!s)
    return s.error();
  auto e = parse_time("end", end);
  if (!e)
    return e.error();
  if (*e < *s)
    return end_before_start();
  auto st = parse_duration_ns("step", step);
  if (!st)
    return st.error();
  return check_range(*s, *e, *st);
}

storage::result<range_params> check_range(int64_t start_ms, int64_t end_ms, int64_t step_ns) {
  if (end_ms < start_ms)
    return end_before_start();
  if (step_ns / ns_per_ms <= 0)
    return status::invalid_argument(
      "invalid parameter \"step\": zero or negative query resolution step widths are not "
      "accepted. Try a positive integer");
  // Go: end.Sub(start) / step on nanosecond Durations; Sub saturates.
  uint64_t range_ms = static_cast<uint64_t>(end_ms) - static_cast<uint64_t>(start_ms);
  constexpr uint64_t max_ns = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t range_ns = range_ms > max_ns / ns_per_ms ? max_ns : range_ms * ns_per_ms;
  if (range_ns / static_cast<uint64_t>(step_ns) > 11000)
    return status::invalid_argument(
      "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
      "resolution (?step=XX)");
  return range_params{start_ms, end_ms, step_ns / ns_per_ms};
}

storage::result<std::vector<storage::matcher_list>> parse_match_params(
  const std::vector<std::string_view>& values, bool required) {
  if (required && values.empty())
    return status::invalid_argument("no match[] parameter provided");
  std::vector<storage::matcher_list> out;
  out.reserve(values.size());
  for (auto v : values) {
    auto sel = promql::parse_metric_selector(v);
    if (!sel)
      return status::invalid_argument(sel.error->message);
    if (!promql::has_non_empty_matcher(sel.matchers))
      return status::invalid_argument("match[] must contain at least one non-empty matcher");
    out.push_back(std::move(sel.matchers));
  }
  return out;
}

storage::status check_label_name_param(std::string_view name, bool allow_utf8_names) {
  if (allow_utf8_names || promql::is_legacy_label_name(name))
    return status::ok();
  return status::invalid_argument("invalid label name: " + go_quote(name));
}

storage::result<bool> parse_bool_or(std::string_view name, std::string_view value, bool default_value) {
  if (value.empty())
    return default_value;
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"})
    if (value == t)
      return true;
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"})
    if (value == f)
      return false;
  return status::invalid_argument("invalid parameter " + go_quote(name)
                                  + ": unable to parse boolean: strconv.ParseBool: parsing " + go_quote(value)
                                  + ": invalid syntax");
}

}  // namespace nl::protocol

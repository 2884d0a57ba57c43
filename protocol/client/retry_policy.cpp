#include "protocol/client/retry_policy.hpp"

#include <cstdint>
#include <limits>

namespace nightlight::api::detail {

namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

/// Whole seconds as milliseconds, saturating at what milliseconds holds.
milliseconds seconds_to_ms(int64_t s) {
  constexpr int64_t limit = std::numeric_limits<int64_t>::max() / 1000;
  if (s > limit)
    return milliseconds(limit * 1000);
  if (s < -limit)
    return milliseconds(-limit * 1000);
  return milliseconds(s * 1000);
}

/// Reads Go's layout "Mon, 02 Jan 2006 15:04:05 GMT" the way time.Parse
/// does: day and month names in any case, a space in the layout matches one
/// or more spaces, the hour has one or two digits, other numbers exactly
/// their width, an optional fraction after the seconds, the date checked
/// for range (the weekday is not checked against it). Returns seconds since
/// the epoch.
class http_date_reader {
 public:
  explicit http_date_reader(std::string_view s) : s_(s) {}

  bool read(int64_t& epoch_seconds) {
    static const char* const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    static const char* const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                         "jul", "aug", "sep", "oct", "nov", "dec"};
    int day = 0, month = 0, year = 0, hour = 0, minute = 0, second = 0;
    if (!name(days, 7, nullptr) || !literal(",") || !spaces() || !number(2, 2, day) ||
        !spaces() || !name(months, 12, &month) || !spaces() || !number(4, 4, year) ||
        !spaces() || !number(1, 2, hour) || !literal(":") || !number(2, 2, minute) ||
        !literal(":") || !number(2, 2, second))
      return false;
    fraction();
    if (!spaces() || !literal("GMT") || pos_ != s_.size())
      return false;
    if (hour >= 24 || minute >= 60 || second >= 60 || day < 1 || day > days_in(month, year))
      return false;
    epoch_seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    return true;
  }

 private:
  bool literal(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit)
      return false;
    pos_ += lit.size();
    return true;
  }
  bool spaces() {
    if (pos_ >= s_.size() || s_[pos_] != ' ')
      return false;
    while (pos_ < s_.size() && s_[pos_] == ' ')
      ++pos_;
    return true;
  }
  bool number(size_t min_digits, size_t max_digits, int& out) {
    size_t n = 0;
    out = 0;
    while (n < max_digits && pos_ < s_.size() && is_digit(s_[pos_])) {
      out = out * 10 + (s_[pos_++] - '0');
      ++n;
    }
    return n >= min_digits;
  }
  bool name(const char* const* names, int count, int* index) {
    if (s_.size() - pos_ < 3)
      return false;
    for (int i = 0; i < count; ++i) {
      if (lower(s_[pos_]) == names[i][0] && lower(s_[pos_ + 1]) == names[i][1] &&
          lower(s_[pos_ + 2]) == names[i][2]) {
        pos_ += 3;
        if (index != nullptr)
          *index = i + 1;
        return true;
      }
    }
    return false;
  }
  // ".123" or ",5": Go accepts a fraction the layout does not ask for.
  void fraction() {
    if (pos_ + 1 < s_.size() && (s_[pos_] == '.' || s_[pos_] == ',') && is_digit(s_[pos_ + 1])) {
      pos_ += 2;
      while (pos_ < s_.size() && is_digit(s_[pos_]))
        ++pos_;
    }
  }
  static int days_in(int month, int year) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
  }
  // Howard Hinnant's days_from_civil: days since 1970-01-01.
  static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

/// Go's strconv.Atoi: optional sign, decimal digits only, no spaces; false
/// when empty or out of int64's range.
bool parse_go_int(std::string_view s, int64_t& out) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty())
    return false;
  uint64_t v = 0;
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  for (char c : s) {
    if (!is_digit(c))
      return false;
    auto d = static_cast<uint64_t>(c - '0');
    if (v > (limit - d) / 10)
      return false;
    v = v * 10 + d;
  }
  out = negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

}  // namespace

milliseconds parse_retry_after(std::string_view value, system_clock::time_point now) {
  int64_t epoch = 0;
  if (http_date_reader(value).read(epoch)) {
    // time.Until(date).Seconds() converted to an integer: truncated toward
    // zero, so 1.9 s from now waits 1 s and 0.5 s ago is 0 (backoff).
    // Whole seconds and the clock's fraction apart: a date in year 9999 in
    // nanoseconds would not fit 64 bits.
    int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       now.time_since_epoch()).count();
    int64_t now_s = now_ns / 1000000000;
    int64_t frac_ns = now_ns % 1000000000;
    if (frac_ns < 0) {
      now_s -= 1;
      frac_ns += 1000000000;
    }
    int64_t whole = epoch - now_s;  // until = whole s - frac_ns ns
    return seconds_to_ms(whole > 0 && frac_ns > 0 ? whole - 1 : whole);
  }
  int64_t s = 0;
  if (parse_go_int(value, s))
    return seconds_to_ms(s);
  return milliseconds::zero();
}

attempt_decision classify_attempt(int http_status, std::string_view retry_after,
                                  system_clock::time_point now, const retry_settings& settings) {
  if (http_status / 100 == 2)
    return {attempt_verdict::accepted, milliseconds::zero()};
  if (http_status == 0)
    return {attempt_verdict::retry, milliseconds::zero()};
  if (http_status / 100 == 5) {
    if (!settings.retry_after_on_5xx)
      return {attempt_verdict::retry, milliseconds::zero()};
    return {attempt_verdict::retry, parse_retry_after(retry_after, now)};
  }
  if (http_status == 429 && settings.retry_on_http_429)
    return {attempt_verdict::retry, parse_retry_after(retry_after, now)};
  return {attempt_verdict::give_up, milliseconds::zero()};
}

std::string_view http_status_text(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return {};
  }
}

}  // namespace nightlight::api::detail

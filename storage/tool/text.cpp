// Times and values as nightlight-tsdb reads and prints them (declared in
// commands.hpp). RFC 3339 grammar accepted:
//
//   YYYY-MM-DD ("T" | "t") hh:mm:ss [ "." 1*9DIGIT ] ( "Z" | "z" | ("+"|"-") hh:mm )
//
// Fractions below a millisecond are cut off (towards the past).
#include <charconv>
#include <cstdio>

#include "promql/printer.hpp"
#include "storage/tool/commands.hpp"

namespace nl::storage::tool {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t& y, int64_t& m, int64_t& d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = yoe + era * 400 + (m <= 2);
}

bool days_in_month_ok(int64_t y, int64_t m, int64_t d) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d >= 1 && d <= days[m - 1] + (m == 2 && leap ? 1 : 0);
}

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, size_t& pos, size_t n, int64_t& out) {
  if (pos + n > s.size())
    return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9')
      return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c)
    return false;
  pos += 1;
  return true;
}

bool parse_rfc3339(std::string_view s, int64_t& ms) {
  size_t p = 0;
  int64_t y, mo, d, h, mi, sec;
  if (!digits(s, p, 4, y) || !expect(s, p, '-') || !digits(s, p, 2, mo) || !expect(s, p, '-')
      || !digits(s, p, 2, d))
    return false;
  if (p >= s.size() || (s[p] != 'T' && s[p] != 't'))
    return false;
  p += 1;
  if (!digits(s, p, 2, h) || !expect(s, p, ':') || !digits(s, p, 2, mi) || !expect(s, p, ':')
      || !digits(s, p, 2, sec))
    return false;
  if (mo < 1 || mo > 12 || !days_in_month_ok(y, mo, d) || h > 23 || mi > 59 || sec > 59)
    return false;
  int64_t frac_ms = 0;
  if (p < s.size() && s[p] == '.') {
    p += 1;
    size_t start = p;
    int64_t scale = 100;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      frac_ms += (s[p] - '0') * scale;
      scale /= 10;
      p += 1;
    }
    if (p == start || p - start > 9)
      return false;
  }
  int64_t offset_min = 0;
  if (p < s.size() && (s[p] == 'Z' || s[p] == 'z')) {
    p += 1;
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    int sign = s[p] == '-' ? -1 : 1;
    p += 1;
    int64_t oh, om;
    if (!digits(s, p, 2, oh) || !expect(s, p, ':') || !digits(s, p, 2, om) || oh > 23 || om > 59)
      return false;
    offset_min = sign * (oh * 60 + om);
  } else {
    return false;
  }
  if (p != s.size())
    return false;
  int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
  ms = secs * 1000 + frac_ms;
  return true;
}

}  // namespace

result<int64_t> parse_time(std::string_view text) {
  int64_t ms = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size())
    return ms;
  if (parse_rfc3339(text, ms))
    return ms;
  return status::invalid_argument("cannot parse \"" + std::string{text}
                                  + "\" as a time: want milliseconds since the epoch or RFC 3339 "
                                    "(2024-05-01T10:00:00Z)");
}

std::string format_time(int64_t ms) {
  if (ms == INT64_MIN || ms == INT64_MAX)
    return ms < 0 ? "-inf" : "+inf";  // "no bound"
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int64_t rem = ms - secs * 1000;
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t sod = secs - days * 86400;
  int64_t y, m, d;
  civil_from_days(days, y, m, d);
  char buf[96];  // room for any int64 year
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(sod / 3600),
                static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60),
                static_cast<long long>(rem));
  return buf;
}

std::string format_value(double v) { return promql::format_go_float(v); }

}  // namespace nl::storage::tool

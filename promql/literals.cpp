#include "promql/literals.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include "promql/lexer.hpp"

namespace nl::promql {

namespace {

// strconv.ParseInt(s, 0, 64) for what the lexer can produce: decimal, a
// leading 0 meaning octal, 0x hexadecimal.
std::optional<int64_t> parse_go_int(std::string_view s) {
  int base = 10;
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() >= 2 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  if (s.empty())
    return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : 99;
    if (d >= base)
      return std::nullopt;
    if (v > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - d) / base)
      return std::nullopt;
    v = v * base + d;
  }
  return static_cast<int64_t>(v);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<double> parse_number(std::string_view s, std::string& error) {
  if (auto i = parse_go_int(s))
    return static_cast<double>(*i);
  return parse_float(s, &error);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i]))
      return false;
  return true;
}

std::optional<double> parse_float(std::string_view s, std::string* error) {
  auto fail = [&](std::string_view why) -> std::optional<double> {
    if (error)
      *error = "strconv.ParseFloat: parsing " + go_quote(s) + ": " + std::string(why);
    return std::nullopt;
  };
  bool neg = false;
  std::string_view body = s;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  if (iequals(body, "inf") || iequals(body, "infinity"))
    return neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  if (iequals(s, "nan"))  // Go takes no sign on NaN
    return std::numeric_limits<double>::quiet_NaN();
  size_t i = 0;
  size_t digits = 0;
  while (i < body.size() && is_digit(body[i]))
    ++i, ++digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && is_digit(body[i]))
      ++i, ++digits;
  }
  if (digits == 0)
    return fail("invalid syntax");
  bool negative_exponent = false;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-'))
      negative_exponent = body[i++] == '-';
    size_t exp_digits = 0;
    while (i < body.size() && is_digit(body[i]))
      ++i, ++exp_digits;
    if (exp_digits == 0)
      return fail("invalid syntax");
  }
  if (i != body.size())
    return fail("invalid syntax");
  double v = 0;
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
  if (ec == std::errc::result_out_of_range) {
    if (!negative_exponent)
      return fail("value out of range");  // Go: ±Inf with ErrRange
    v = 0;                                // underflow: Go returns 0 (or a denormal)
  } else if (ec != std::errc() || end != body.data() + body.size()) {
    return fail("invalid syntax");
  }
  return neg ? -v : v;
}

std::optional<int64_t> parse_duration(std::string_view s, std::string& error) {
  if (s == "0")
    return 0;
  if (s.empty()) {
    error = "empty duration string";
    return std::nullopt;
  }
  static constexpr int64_t unit_ms[] = {
      365LL * 24 * 3600 * 1000, 7LL * 24 * 3600 * 1000, 24LL * 3600 * 1000, 3600LL * 1000,
      60LL * 1000, 1000, 1};
  auto invalid = [&] {
    error = "not a valid duration string: " + go_quote(s);
    return std::nullopt;
  };
  __int128 total_ns = 0;
  bool overflow = false;
  int last_unit = -1;
  size_t i = 0;
  while (i < s.size()) {
    size_t digits_start = i;
    while (i < s.size() && is_digit(s[i]))
      ++i;
    if (i == digits_start || i == s.size())
      return invalid();
    std::string_view digits = s.substr(digits_start, i - digits_start);
    int unit = -1;
    if (s[i] == 'm' && i + 1 < s.size() && s[i + 1] == 's') {
      unit = 6;
      i += 2;
    } else {
      switch (s[i]) {
        case 'y': unit = 0; break;
        case 'w': unit = 1; break;
        case 'd': unit = 2; break;
        case 'h': unit = 3; break;
        case 'm': unit = 4; break;
        case 's': unit = 5; break;
        default: return invalid();
      }
      ++i;
    }
    if (unit <= last_unit)  // each unit once, largest first
      return invalid();
    last_unit = unit;
    // Go's Atoi saturates; the range check below then reports the overflow.
    int64_t n = 0;
    for (char c : digits) {
      if (n > (std::numeric_limits<int64_t>::max() - (c - '0')) / 10) {
        n = std::numeric_limits<int64_t>::max();
        break;
      }
      n = n * 10 + (c - '0');
    }
    // The result is a time.Duration: int64 nanoseconds.
    if (n > std::numeric_limits<int64_t>::max() / unit_ms[unit] / 1000000)
      overflow = true;
    total_ns += static_cast<__int128>(n) * unit_ms[unit] * 1000000;
    if (total_ns > std::numeric_limits<int64_t>::max())
      overflow = true;
  }
  if (overflow) {
    error = "duration out of range";
    return std::nullopt;
  }
  return static_cast<int64_t>(total_ns / 1000000);
}

}  // namespace nl::promql

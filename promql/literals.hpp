#pragma once
// Number and duration literals read the way Prometheus 2.42 reads them (Go's
// strconv.ParseInt/ParseFloat, prometheus/common's model.ParseDuration), with
// the same error texts, and the legacy name syntax. The one implementation
// of each for the whole program: protocol/ and actors/ use these too.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nl::promql {

/// The value of a number token: ParseInt(text, 0, 64) first (so "010" is 8
/// and "0x1f" 31), then ParseFloat ("1e3", ".5", "Inf", "NaN"). On failure
/// error holds e.g. `strconv.ParseFloat: parsing "0x": invalid syntax` or
/// `...: value out of range`.
std::optional<double> parse_number(std::string_view text, std::string& error);

/// strconv.ParseFloat(text, 64) for decimal text: an optional sign, digits
/// with at most one '.', an optional exponent; or inf/infinity (signed)
/// and nan in any case. Overflow is an error, underflow gives 0. Hex
/// floats and underscores are refused (Go needs a base prefix for those,
/// and no client sends them). On failure `error` (when given) holds
/// `strconv.ParseFloat: parsing "x": invalid syntax` or `...: value out of
/// range`.
std::optional<double> parse_float(std::string_view text, std::string* error = nullptr);

/// model.ParseDuration in milliseconds: integer parts with units in the order
/// y w d h m s ms ("1h30m", "90s"), or "0". On failure error holds
/// `not a valid duration string: "5m1h"`, `duration out of range` (more than
/// int64 nanoseconds) or `empty duration string`.
std::optional<int64_t> parse_duration(std::string_view text, std::string& error);

/// ASCII case-insensitive equality (Go's strings.EqualFold for ASCII).
bool iequals(std::string_view a, std::string_view b);

namespace detail {
// Byte classes of the legacy name syntax: bit 1 = may start a label name,
// bit 2 = may continue one, bit 4/8 = the same for metric names (adds ':').
struct name_table {
  uint8_t c[256] = {};
  constexpr name_table() {
    for (int i = 0; i < 256; ++i) {
      bool alpha = (i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z') || i == '_';
      bool digit = i >= '0' && i <= '9';
      c[i] = static_cast<uint8_t>((alpha ? 1 : 0) | (alpha || digit ? 2 : 0) | (alpha || i == ':' ? 4 : 0) |
                                  (alpha || digit || i == ':' ? 8 : 0));
    }
  }
};
inline constexpr name_table name_classes{};

inline bool legacy_name(std::string_view s, uint8_t first, uint8_t rest) {
  if (s.empty() || !(name_classes.c[static_cast<uint8_t>(s[0])] & first))
    return false;
  // AND of the classes without an early exit: valid names are the common
  // case (remote write checks every label), and a loop without a branch per
  // byte runs several times faster.
  uint8_t all = rest;
  for (size_t i = 1; i < s.size(); ++i)
    all &= name_classes.c[static_cast<uint8_t>(s[i])];
  return (all & rest) != 0;
}
}  // namespace detail

/// Prometheus' legacy label name syntax: [a-zA-Z_][a-zA-Z0-9_]*.
inline bool is_legacy_label_name(std::string_view s) { return detail::legacy_name(s, 1, 2); }
/// The legacy metric name syntax: [a-zA-Z_:][a-zA-Z0-9_:]*.
inline bool is_legacy_metric_name(std::string_view s) { return detail::legacy_name(s, 4, 8); }

}  // namespace nl::promql

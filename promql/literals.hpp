#pragma once
// Number and duration literals read the way Prometheus 2.42 reads them (Go's
// strconv.ParseInt/ParseFloat, prometheus/common's model.ParseDuration), with
// the same error texts.
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

/// model.ParseDuration in milliseconds: integer parts with units in the order
/// y w d h m s ms ("1h30m", "90s"), or "0". On failure error holds
/// `not a valid duration string: "5m1h"`, `duration out of range` (more than
/// int64 nanoseconds) or `empty duration string`.
std::optional<int64_t> parse_duration(std::string_view text, std::string& error);

}  // namespace nl::promql

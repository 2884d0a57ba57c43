#pragma once
// Go's string syntax as PromQL uses it: decoding quoted literals
// (strconv.Unquote rules) and naming runes the way Go's %#U prints them.
// Quoting (%q) is storage's (storage/quote.hpp), used here under the same
// names.
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/quote.hpp"

namespace nl::promql {

using storage::decode_rune;
using storage::go_quote;
using storage::go_quote_rune;

/// Decodes a string token (with its quotes): "..." and '...' with Go
/// escapes (\a \b \f \n \r \t \v \\ \' or \", \xNN bytes, \NNN octal,
/// \uNNNN, \UNNNNNNNN), `...` raw. False on malformed input.
bool unquote(std::string_view quoted, std::string& out);

/// The value of a hexadecimal digit character, 16 for any other character
/// (so it also bounds octal and decimal digits by comparison).
int digit_value(int r);

/// Go's %#U of a rune: "U+0071 'q'", or "U+000A" when not printable;
/// negative (end of input) reads as U+FFFD.
std::string go_unicode_name(int r);

}  // namespace nl::promql

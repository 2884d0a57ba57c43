#pragma once
// Go's string syntax as PromQL uses it: decoding quoted literals
// (strconv.Unquote rules) and quoting text the way Go's %q, %#U and rune %q
// print it, which is how Prometheus prints strings and error messages.
#include <cstdint>
#include <string>
#include <string_view>

namespace nl::promql {

/// Decodes a string token (with its quotes): "..." and '...' with Go
/// escapes (\a \b \f \n \r \t \v \\ \' or \", \xNN bytes, \NNN octal,
/// \uNNNN, \UNNNNNNNN), `...` raw. False on malformed input.
bool unquote(std::string_view quoted, std::string& out);

/// Go's %q of a string: escapes \a \b \f \n \r \t \v \\ \", invalid UTF-8
/// bytes as \xNN, non-printable runes as \xNN, \uNNNN or \UNNNNNNNN.
std::string go_quote(std::string_view s);

/// The value of a hexadecimal digit character, 16 for any other character
/// (so it also bounds octal and decimal digits by comparison).
int digit_value(int r);

/// Go's %q of a rune: 'x', '\n', '\''.
std::string go_quote_rune(uint32_t r);

/// Go's %#U of a rune: "U+0071 'q'", or "U+000A" when not printable;
/// negative (end of input) reads as U+FFFD.
std::string go_unicode_name(int r);

/// Decodes the UTF-8 rune at s[i] (i < s.size()); invalid bytes give 0xFFFD
/// with width 1, as Go's utf8.DecodeRuneInString.
uint32_t decode_rune(std::string_view s, size_t i, int& width);

}  // namespace nl::promql

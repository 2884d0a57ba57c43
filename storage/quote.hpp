#pragma once
// Go's quoting of strings (strconv.Quote, %q), which is how Prometheus
// prints label values (labels.String()), matchers, strings in PromQL and
// names in error messages. The one implementation: promql/ (which adds
// unquoting) and protocol/ use it.
#include <cstdint>
#include <string>
#include <string_view>

namespace nl::storage {

/// Go's %q of a string: escapes \a \b \f \n \r \t \v \\ \", invalid UTF-8
/// bytes as \xNN, non-printable runes as \xNN, \uNNNN or \UNNNNNNNN.
std::string go_quote(std::string_view s);

/// Go's %q of a rune: 'x', '\n', '\''.
std::string go_quote_rune(uint32_t r);

/// Decodes the UTF-8 rune at s[i] (i < s.size()); invalid bytes give 0xFFFD
/// with width 1, as Go's utf8.DecodeRuneInString.
uint32_t decode_rune(std::string_view s, size_t i, int& width);

/// Close to Go's unicode.IsPrint for what queries and labels contain:
/// control characters and the C1 block are not printable, everything
/// else valid is.
bool is_printable(uint32_t r);

/// Appends r encoded as UTF-8.
void append_utf8(std::string& out, uint32_t r);

}  // namespace nl::storage

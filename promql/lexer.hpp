#pragma once
// The PromQL lexer: turns query text into tokens the way Prometheus 2.42's
// lexer does, including its context rules (keywords are plain identifiers
// inside braces, a duration is expected right after '[', ':' separates a
// subquery range from its step) and its error texts.
#include <cstdint>
#include <string>
#include <string_view>

#include "promql/quote.hpp"

namespace nl::promql {

enum class token_kind : uint8_t {
  eof,
  error,  ///< token::message says what is wrong; lexing stops after it
  comment,
  identifier,         ///< [a-zA-Z_][a-zA-Z0-9_]*
  metric_identifier,  ///< an identifier containing ':'
  number,             ///< text as written: 1, 0x1f, 1.5e3, Inf, NaN
  duration,           ///< text as written: 5m, 1h30m
  string,             ///< text includes the quotes; unquote() decodes it
  left_paren, right_paren, left_brace, right_brace, left_bracket, right_bracket,
  comma, colon, at,
  eql,  ///< "=" (matchers)
  // Operators.
  add, sub, mul, div, mod, pow, eqlc, neq, lte, lss, gte, gtr, eql_regex, neq_regex,
  land, lor, lunless, atan2,
  // Aggregators.
  sum, avg, count, min, max, group, stddev, stdvar, topk, bottomk, count_values, quantile,
  // Keywords.
  offset, by, without, on, ignoring, group_left, group_right, bool_,
  // @ preprocessors.
  start, end,
};

struct token {
  token_kind kind = token_kind::eof;
  int pos = 0;            ///< byte offset of the first character
  std::string_view text;  ///< the token's bytes (for error: empty)
  std::string message;    ///< lexer error message for token_kind::error

  int end() const { return pos + static_cast<int>(text.size()); }
  /// How Prometheus names the token in "unexpected ..." errors:
  /// `identifier "foo"`, `<op:+>`, `<aggr:sum>`, `<by>`, `"("`, `end of input`.
  std::string describe() const;
};

bool is_operator(token_kind k);    ///< binary operators and '@' (Prometheus' list)
bool is_aggregator(token_kind k);
bool is_keyword(token_kind k);

/// Hand-written scanner over a query; the text must outlive the lexer and
/// its tokens. Not thread-safe; one lexer per query.
class lexer {
 public:
  explicit lexer(std::string_view input) : in_(input) {}
  /// The next token, comments included. After an error or eof every further
  /// call returns eof.
  token next();

 private:
  token lex_statement();
  token lex_inside_braces();
  token lex_string(char quote);
  token lex_raw_string();
  token lex_number_or_duration();
  token lex_duration_after_bracket();
  token lex_identifier(bool keywords);
  token lex_comment();
  token make(token_kind k);
  token fail(std::string message);
  bool scan_number();
  bool accept_remaining_duration();
  bool accept(std::string_view valid);
  int peek() const;

  std::string_view in_;
  size_t pos_ = 0;
  size_t start_ = 0;
  int paren_depth_ = 0;
  bool brace_open_ = false;
  bool bracket_open_ = false;
  bool got_colon_ = false;
  bool duration_next_ = false;  // just emitted '[': a duration must follow
  bool done_ = false;
};

}  // namespace nl::promql

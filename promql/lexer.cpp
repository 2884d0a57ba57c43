#include "promql/lexer.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <utility>

namespace nl::promql {

namespace {

constexpr int eof_rune = -1;

bool is_space(int r) { return r == ' ' || r == '\t' || r == '\n' || r == '\r'; }
bool is_digit(int r) { return r >= '0' && r <= '9'; }
bool is_alpha(int r) { return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'); }
bool is_alnum(int r) { return is_alpha(r) || is_digit(r); }

struct keyword {
  std::string_view word;
  token_kind kind;
};

constexpr std::array<keyword, 28> keywords{{
    {"and", token_kind::land},         {"or", token_kind::lor},
    {"unless", token_kind::lunless},   {"atan2", token_kind::atan2},
    {"sum", token_kind::sum},          {"avg", token_kind::avg},
    {"count", token_kind::count},      {"min", token_kind::min},
    {"max", token_kind::max},          {"group", token_kind::group},
    {"stddev", token_kind::stddev},    {"stdvar", token_kind::stdvar},
    {"topk", token_kind::topk},        {"bottomk", token_kind::bottomk},
    {"count_values", token_kind::count_values},
    {"quantile", token_kind::quantile}, {"offset", token_kind::offset},
    {"by", token_kind::by},            {"without", token_kind::without},
    {"on", token_kind::on},            {"ignoring", token_kind::ignoring},
    {"group_left", token_kind::group_left},
    {"group_right", token_kind::group_right},
    {"bool", token_kind::bool_},       {"start", token_kind::start},
    {"end", token_kind::end},          {"inf", token_kind::number},
    {"nan", token_kind::number},
}};

}  // namespace

bool is_operator(token_kind k) {
  return (k >= token_kind::add && k <= token_kind::atan2) || k == token_kind::at;
}

bool is_aggregator(token_kind k) { return k >= token_kind::sum && k <= token_kind::quantile; }

bool is_keyword(token_kind k) { return k >= token_kind::offset && k <= token_kind::bool_; }

std::string token::describe() const {
  switch (kind) {
    case token_kind::eof: return "end of input";
    case token_kind::error: return message;
    case token_kind::identifier: return "identifier " + go_quote(text);
    case token_kind::metric_identifier: return "metric identifier " + go_quote(text);
    default: break;
  }
  // '@' is missing from Prometheus' token names, so its description
  // carries the parser's internal token number.
  if (kind == token_kind::at)
    return "\"<Item 57385>\" <op:@>";
  if (is_operator(kind))
    return "<op:" + std::string(text) + ">";
  if (is_aggregator(kind))
    return "<aggr:" + std::string(text) + ">";
  if (is_keyword(kind))
    return "<" + std::string(text) + ">";
  // Go's "%.10q...": at most ten runes of the text, then quoted.
  auto quoted_prefix = [&] {
    if (text.size() <= 10)
      return go_quote(text);
    size_t i = 0;
    for (int runes = 0; runes < 10 && i < text.size(); ++runes) {
      int w = 1;
      decode_rune(text, i, w);
      i += w;
    }
    std::string q = go_quote(text.substr(0, i));
    return i < text.size() ? q + "..." : q;
  };
  switch (kind) {
    case token_kind::number: return "number " + quoted_prefix();
    case token_kind::duration: return "duration " + quoted_prefix();
    case token_kind::string: return "string " + quoted_prefix();
    case token_kind::comment: return "comment " + quoted_prefix();
    default: break;
  }
  // Punctuation, "=", "start", "end": the text itself, quoted.
  return quoted_prefix();
}

int lexer::peek() const {
  if (pos_ >= in_.size())
    return eof_rune;
  return static_cast<unsigned char>(in_[pos_]);
}

bool lexer::accept(std::string_view valid) {
  int r = peek();
  if (r != eof_rune && valid.find(static_cast<char>(r)) != std::string_view::npos) {
    ++pos_;
    return true;
  }
  return false;
}

token lexer::make(token_kind k) {
  token t;
  t.kind = k;
  t.pos = static_cast<int>(start_);
  t.text = in_.substr(start_, pos_ - start_);
  start_ = pos_;
  return t;
}

token lexer::fail(std::string message) {
  token t;
  t.kind = token_kind::error;
  t.pos = static_cast<int>(start_);
  t.message = std::move(message);
  done_ = true;
  return t;
}

token lexer::next() {
  if (done_) {
    token t;
    t.pos = static_cast<int>(in_.size());
    return t;
  }
  if (brace_open_)
    return lex_inside_braces();
  if (duration_next_) {
    duration_next_ = false;
    return lex_duration_after_bracket();
  }
  return lex_statement();
}

token lexer::lex_comment() {
  while (pos_ < in_.size() && in_[pos_] != '\n' && in_[pos_] != '\r')
    ++pos_;
  return make(token_kind::comment);
}

token lexer::lex_statement() {
  while (pos_ < in_.size() && is_space(peek()))
    ++pos_;
  start_ = pos_;
  if (pos_ >= in_.size()) {
    if (paren_depth_ != 0)
      return fail("unclosed left parenthesis");
    if (bracket_open_)
      return fail("unclosed left bracket");
    done_ = true;
    return make(token_kind::eof);
  }
  char c = in_[pos_];
  if (c == '#')
    return lex_comment();
  int w = 1;
  uint32_t r = decode_rune(in_, pos_, w);
  pos_ += w;
  switch (c) {
    case ',': return make(token_kind::comma);
    case '*': return make(token_kind::mul);
    case '/': return make(token_kind::div);
    case '%': return make(token_kind::mod);
    case '+': return make(token_kind::add);
    case '-': return make(token_kind::sub);
    case '^': return make(token_kind::pow);
    case '@': return make(token_kind::at);
    case '=':
      if (peek() == '=') {
        ++pos_;
        return make(token_kind::eqlc);
      }
      if (peek() == '~')
        return fail("unexpected character after '=': '~'");
      return make(token_kind::eql);
    case '!': {
      if (peek() == '=') {
        ++pos_;
        return make(token_kind::neq);
      }
      int nw = 1;
      uint32_t nr = pos_ < in_.size() ? decode_rune(in_, pos_, nw) : 0xfffd;
      return fail("unexpected character after '!': " + go_quote_rune(nr));
    }
    case '<':
      if (accept("="))
        return make(token_kind::lte);
      return make(token_kind::lss);
    case '>':
      if (accept("="))
        return make(token_kind::gte);
      return make(token_kind::gtr);
    case '"':
    case '\'':
      return lex_string(c);
    case '`':
      return lex_raw_string();
    case '(':
      ++paren_depth_;
      return make(token_kind::left_paren);
    case ')':
      if (--paren_depth_ < 0) {
        start_ = pos_;
        return fail("unexpected right parenthesis ')'");
      }
      return make(token_kind::right_paren);
    case '{':
      brace_open_ = true;
      return make(token_kind::left_brace);
    case '[': {
      if (bracket_open_)
        return fail("unexpected left bracket '['");
      got_colon_ = false;
      bracket_open_ = true;
      duration_next_ = true;
      return make(token_kind::left_bracket);
    }
    case ']':
      if (!bracket_open_)
        return fail("unexpected right bracket ']'");
      bracket_open_ = false;
      return make(token_kind::right_bracket);
    default:
      break;
  }
  if (is_digit(c) || (c == '.' && is_digit(peek()))) {
    pos_ = start_;
    return lex_number_or_duration();
  }
  if (is_alpha(c) || c == ':') {
    if (!bracket_open_) {
      pos_ = start_;
      return lex_identifier(true);
    }
    if (got_colon_) {
      return fail("unexpected colon " + go_quote_rune(r));
    }
    got_colon_ = true;
    return make(token_kind::colon);
  }
  return fail("unexpected character: " + go_quote_rune(r));
}

token lexer::lex_inside_braces() {
  while (pos_ < in_.size() && is_space(peek()))
    ++pos_;
  start_ = pos_;
  if (pos_ >= in_.size())
    return fail("unexpected end of input inside braces");
  char c = in_[pos_];
  if (c == '#')
    return lex_comment();
  if (is_alpha(c))
    return lex_identifier(false);
  int w = 1;
  uint32_t r = decode_rune(in_, pos_, w);
  pos_ += w;
  switch (c) {
    case ',': return make(token_kind::comma);
    case '"':
    case '\'':
      return lex_string(c);
    case '`':
      return lex_raw_string();
    case '=':
      if (accept("~"))
        return make(token_kind::eql_regex);
      return make(token_kind::eql);
    case '!': {
      if (accept("~"))
        return make(token_kind::neq_regex);
      if (accept("="))
        return make(token_kind::neq);
      int nw = 1;
      uint32_t nr = pos_ < in_.size() ? decode_rune(in_, pos_, nw) : 0xfffd;
      return fail("unexpected character after '!' inside braces: " + go_quote_rune(nr));
    }
    case '{':
      return fail("unexpected left brace '{'");
    case '}':
      brace_open_ = false;
      return make(token_kind::right_brace);
    default:
      return fail("unexpected character inside braces: " + go_quote_rune(r));
  }
}

token lexer::lex_string(char quote) {
  // start_ is at the opening quote, pos_ just after it.
  for (;;) {
    if (pos_ >= in_.size())
      return fail("unterminated quoted string");
    int w = 1;
    uint32_t r = decode_rune(in_, pos_, w);
    pos_ += w;
    if (r == 0xfffd)
      return fail("invalid UTF-8 rune");
    if (r == '\n')
      return fail("unterminated quoted string");
    if (r == static_cast<uint32_t>(static_cast<unsigned char>(quote)))
      return make(token_kind::string);
    if (r != '\\')
      continue;
    // An escape sequence: validated here so the parser can trust unquote().
    auto next_rune = [&]() -> int {
      if (pos_ >= in_.size())
        return eof_rune;
      int nw = 1;
      uint32_t nr = decode_rune(in_, pos_, nw);
      pos_ += nw;
      return static_cast<int>(nr);
    };
    int ch = next_rune();
    int n = 0;
    uint32_t base = 0, max = 0;
    switch (ch) {
      case 'a': case 'b': case 'f': case 'n': case 'r': case 't': case 'v': case '\\':
        continue;
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
        n = 3, base = 8, max = 255;
        break;
      case 'x':
        ch = next_rune(), n = 2, base = 16, max = 255;
        break;
      case 'u':
        ch = next_rune(), n = 4, base = 16, max = 0x10ffff;
        break;
      case 'U':
        ch = next_rune(), n = 8, base = 16, max = 0x10ffff;
        break;
      case eof_rune:
        return fail("escape sequence not terminated");
      default:
        if (ch == quote)
          continue;
        return fail("unknown escape sequence " + go_unicode_name(ch));
    }
    uint32_t x = 0;
    while (n > 0) {
      uint32_t d = static_cast<uint32_t>(digit_value(ch));
      if (d >= base) {
        if (ch == eof_rune)
          return fail("escape sequence not terminated");
        return fail("illegal character " + go_unicode_name(ch) + " in escape sequence");
      }
      x = x * base + d;
      if (--n > 0)
        ch = next_rune();
    }
    if (x > max || (x >= 0xd800 && x < 0xe000))
      return fail("escape sequence is an invalid Unicode code point");
  }
}

token lexer::lex_raw_string() {
  for (;;) {
    if (pos_ >= in_.size())
      return fail("unterminated raw string");
    int w = 1;
    uint32_t r = decode_rune(in_, pos_, w);
    pos_ += w;
    if (r == 0xfffd)
      return fail("invalid UTF-8 rune");
    if (r == '`')
      return make(token_kind::string);
  }
}

bool lexer::scan_number() {
  std::string_view digits = "0123456789";
  if (accept("0") && accept("xX"))
    digits = "0123456789abcdefABCDEF";
  while (accept(digits)) {
  }
  if (accept(".")) {
    while (accept(digits)) {
    }
  }
  if (accept("eE")) {
    accept("+-");
    while (accept("0123456789")) {
    }
  }
  return !is_alnum(peek());
}

bool lexer::accept_remaining_duration() {
  if (!accept("smhdwy"))
    return false;
  accept("s");  // "ms"; wrong unit orders are caught when the value is parsed
  while (accept("0123456789")) {
    while (accept("0123456789")) {
    }
    if (!accept("smhdw"))
      return false;
    accept("s");
  }
  if (is_alnum(peek())) {
    ++pos_;  // Prometheus quotes the offending character in its message
    return false;
  }
  return true;
}

token lexer::lex_number_or_duration() {
  if (scan_number())
    return make(token_kind::number);
  if (accept_remaining_duration())
    return make(token_kind::duration);
  return fail("bad number or duration syntax: " +
              go_quote(in_.substr(start_, pos_ - start_)));
}

token lexer::lex_duration_after_bracket() {
  while (pos_ < in_.size() && is_space(peek()))
    ++pos_;
  start_ = pos_;
  if (scan_number())
    return fail("missing unit character in duration");
  if (!accept_remaining_duration())
    return fail("bad duration syntax: " + go_quote(in_.substr(start_, pos_ - start_)));
  return make(token_kind::duration);
}

token lexer::lex_identifier(bool keywords_allowed) {
  while (pos_ < in_.size() && (is_alnum(peek()) || (keywords_allowed && peek() == ':')))
    ++pos_;
  if (!keywords_allowed)
    return make(token_kind::identifier);
  std::string_view word = in_.substr(start_, pos_ - start_);
  std::string lower(word);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char ch) { return (ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch; });
  for (const auto& kw : keywords)
    if (kw.word == lower)
      return make(kw.kind);
  if (word.find(':') != std::string_view::npos)
    return make(token_kind::metric_identifier);
  return make(token_kind::identifier);
}

}  // namespace nl::promql

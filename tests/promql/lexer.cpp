#define CAF_SUITE promql.lexer
#include "test_support.hpp"

#include <random>
#include <string>
#include <vector>

#include "promql/lexer.hpp"

using namespace nl::promql;

namespace {

// "kind:text" for every token up to and including eof or the error.
std::vector<std::string> lex_all(std::string_view in) {
  lexer lx(in);
  std::vector<std::string> out;
  for (;;) {
    token t = lx.next();
    if (t.kind == token_kind::eof) {
      out.push_back("eof");
      return out;
    }
    if (t.kind == token_kind::error) {
      out.push_back("error:" + t.message);
      return out;
    }
    out.push_back(t.describe());
  }
}

using strings = std::vector<std::string>;

}  // namespace

CAF_TEST(operators and punctuation) {
  CAF_CHECK_EQUAL(lex_all("a+b-c*d/e%f^g"),
                  (strings{"identifier \"a\"", "<op:+>", "identifier \"b\"", "<op:->",
                           "identifier \"c\"", "<op:*>", "identifier \"d\"", "<op:/>",
                           "identifier \"e\"", "<op:%>", "identifier \"f\"", "<op:^>",
                           "identifier \"g\"", "eof"}));
  CAF_CHECK_EQUAL(lex_all("== != <= < >= > , ( )"),
                  (strings{"<op:==>", "<op:!=>", "<op:<=>", "<op:<>", "<op:>=>", "<op:>>",
                           "\",\"", "\"(\"", "\")\"", "eof"}));
  CAF_CHECK_EQUAL(lex_all("x @ 5"), (strings{"identifier \"x\"", "\"<Item 57385>\" <op:@>",
                                             "number \"5\"", "eof"}));
  // "=~" and "!~" exist only inside braces.
  CAF_CHECK_EQUAL(lex_all("a =~ b"),
                  (strings{"identifier \"a\"", "error:unexpected character after '=': '~'"}));
  CAF_CHECK_EQUAL(lex_all("a !~ b"),
                  (strings{"identifier \"a\"", "error:unexpected character after '!': '~'"}));
}

CAF_TEST(keywords are case insensitive and plain identifiers inside braces) {
  CAF_CHECK_EQUAL(lex_all("SUM by(Job) AND on OFFSET bool"),
                  (strings{"<aggr:SUM>", "<by>", "\"(\"", "identifier \"Job\"", "\")\"",
                           "<op:AND>", "<on>", "<OFFSET>", "<bool>", "eof"}));
  CAF_CHECK_EQUAL(lex_all("x{by=\"1\",offset!~'2'}"),
                  (strings{"identifier \"x\"", "\"{\"", "identifier \"by\"", "\"=\"",
                           "string \"\\\"1\\\"\"", "\",\"", "identifier \"offset\"",
                           "<op:!~>", "string \"'2'\"", "\"}\"", "eof"}));
  CAF_CHECK_EQUAL(lex_all("job:rate5m:sum start end"),
                  (strings{"metric identifier \"job:rate5m:sum\"", "\"start\"", "\"end\"",
                           "eof"}));
}

CAF_TEST(numbers and durations) {
  CAF_CHECK_EQUAL(lex_all("1 1.5 .5 1e3 1E-3 0x1F Inf nan NaN"),
                  (strings{"number \"1\"", "number \"1.5\"", "number \".5\"", "number \"1e3\"",
                           "number \"1E-3\"", "number \"0x1F\"", "number \"Inf\"",
                           "number \"nan\"", "number \"NaN\"", "eof"}));
  CAF_CHECK_EQUAL(lex_all("5m 1h30m 100ms 2y"),
                  (strings{"duration \"5m\"", "duration \"1h30m\"", "duration \"100ms\"",
                           "duration \"2y\"", "eof"}));
  CAF_CHECK_EQUAL(lex_all("x[5m:1m]"),
                  (strings{"identifier \"x\"", "\"[\"", "duration \"5m\"", "\":\"",
                           "duration \"1m\"", "\"]\"", "eof"}));
  CAF_CHECK_EQUAL(lex_all("x[ 5m ]"),
                  (strings{"identifier \"x\"", "\"[\"", "duration \"5m\"", "\"]\"", "eof"}));
  CAF_CHECK_EQUAL(lex_all("x[5]"), (strings{"identifier \"x\"", "\"[\"",
                                            "error:missing unit character in duration"}));
  CAF_CHECK_EQUAL(lex_all("x[5x]"), (strings{"identifier \"x\"", "\"[\"",
                                             "error:bad duration syntax: \"5\""}));
  CAF_CHECK_EQUAL(lex_all("1_000"),
                  (strings{"error:bad number or duration syntax: \"1\""}));
  CAF_CHECK_EQUAL(lex_all("5mx"), (strings{"error:bad number or duration syntax: \"5mx\""}));
  // Long texts are cut to ten characters in descriptions.
  CAF_CHECK_EQUAL(lex_all("12345678901234"), (strings{"number \"1234567890\"...", "eof"}));
}

CAF_TEST(string lexing errors use prometheus texts) {
  struct err_case {
    const char* in;
    const char* message;
  };
  const err_case cases[] = {
      {R"("abc)", "unterminated quoted string"},
      {"\"ab\ncd\"", "unterminated quoted string"},
      {"`abc", "unterminated raw string"},
      {R"("\q")", "unknown escape sequence U+0071 'q'"},
      {R"("\'")", "unknown escape sequence U+0027 '''"},
      {R"("\x4")", "illegal character U+0022 '\"' in escape sequence"},
      {R"("\u12)", "escape sequence not terminated"},
      {R"("\ud800")", "escape sequence is an invalid Unicode code point"},
      {R"("\U00110000")", "escape sequence is an invalid Unicode code point"},
      {R"("\777")", "escape sequence is an invalid Unicode code point"},
      {"\"\\", "escape sequence not terminated"},
      {"\"a\xff\"", "invalid UTF-8 rune"},
      {"x{a=\"b\"", "unexpected end of input inside braces"},
      {"x{a{", "unexpected left brace '{'"},
      {"x{a!b}", "unexpected character after '!' inside braces: 'b'"},
      {"x{1}", "unexpected character inside braces: '1'"},
      {"$", "unexpected character: '$'"},
      {"\xc3\xa9", "unexpected character: '\xc3\xa9'"},
      {"(", "unclosed left parenthesis"},
      {")", "unexpected right parenthesis ')'"},
      {"x[5m", "unclosed left bracket"},
      {"x]", "unexpected right bracket ']'"},
      {"x[5m:1m:", "unexpected colon ':'"},
      {"x[[", "missing unit character in duration"},
  };
  for (const auto& c : cases) {
    auto toks = lex_all(c.in);
    CAF_CHECK_EQUAL(toks.back(), std::string("error:") + c.message);
  }
}

CAF_TEST(comments run to the end of the line) {
  lexer lx("x # up{\n+ 1");
  CAF_CHECK(lx.next().kind == token_kind::identifier);
  token c = lx.next();
  CAF_CHECK(c.kind == token_kind::comment);
  CAF_CHECK_EQUAL(c.text, "# up{");
  CAF_CHECK(lx.next().kind == token_kind::add);
  CAF_CHECK(lx.next().kind == token_kind::number);
  token e = lx.next();
  CAF_CHECK(e.kind == token_kind::eof);
  CAF_CHECK_EQUAL(e.pos, 11);
}

CAF_TEST(random bytes always end in eof or an error) {
  std::mt19937 rng(7);
  const std::string alphabet = "(){}[],:@\"'`\\#\n +-*/^%=!<>~0123456789.exmsahyx_ \xff\xc3\xa9";
  for (int i = 0; i < 20000; ++i) {
    std::string in(rng() % 30, '\0');
    for (auto& c : in)
      c = (i % 2) ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng() % 256);
    lexer lx(in);
    size_t n = 0;
    token t;
    do {
      t = lx.next();
      CAF_CHECK(t.pos >= 0 && t.pos <= static_cast<int>(in.size()));
      CAF_CHECK(t.end() <= static_cast<int>(in.size()));
    } while (t.kind != token_kind::eof && t.kind != token_kind::error && ++n <= in.size() + 1);
    CAF_CHECK(n <= in.size() + 1);
  }
}

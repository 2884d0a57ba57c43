#define CAF_SUITE promql.quote
#include "test_support.hpp"

#include <string>

#include "promql/quote.hpp"

using namespace nl::promql;

CAF_TEST(strings with all go escapes) {
  struct unquote_case {
    const char* quoted;
    std::string value;
  };
  const unquote_case cases[] = {
      {R"("a\tb")", "a\tb"},
      {R"("\a\b\f\n\r\t\v\\")", "\a\b\f\n\r\t\v\\"},
      {R"("\"")", "\""},
      {R"('\'')", "'"},
      {R"('"')", "\""},
      {R"("\x41\101\u00e9\U0001F600")", "AA\xc3\xa9\xf0\x9f\x98\x80"},
      {R"("\xff")", "\xff"},
      {R"(`a\nb`)", "a\\nb"},
      {"`line\nbreak`", "line\nbreak"},
      {R"("")", ""},
  };
  for (const auto& c : cases) {
    std::string out;
    CAF_CHECK(unquote(c.quoted, out));
    CAF_CHECK_EQUAL(out, c.value);
  }
  std::string out;
  CAF_CHECK(!unquote(R"("\q")", out));
  CAF_CHECK(!unquote(R"("\'")", out));
  CAF_CHECK(!unquote(R"("a)", out));
  CAF_CHECK(!unquote(R"("\400")", out));
  CAF_CHECK(!unquote("`a`b`", out));
}

CAF_TEST(go quoting) {
  CAF_CHECK_EQUAL(go_quote("a\"b\\c"), R"("a\"b\\c")");
  CAF_CHECK_EQUAL(go_quote("\a\b\f\n\r\t\v"), R"("\a\b\f\n\r\t\v")");
  CAF_CHECK_EQUAL(go_quote(std::string("\x00\x7f", 2)), R"("\x00\x7f")");
  CAF_CHECK_EQUAL(go_quote("\xff\xc3\xa9"), "\"\\xff\xc3\xa9\"");
  CAF_CHECK_EQUAL(go_quote("\xc2\x85"), R"("\u0085")");
  CAF_CHECK_EQUAL(go_quote_rune('\''), R"('\'')");
  CAF_CHECK_EQUAL(go_quote_rune('\n'), R"('\n')");
}

CAF_TEST(unicode names and rune decoding) {
  CAF_CHECK_EQUAL(go_unicode_name('q'), "U+0071 'q'");
  CAF_CHECK_EQUAL(go_unicode_name('\n'), "U+000A");
  CAF_CHECK_EQUAL(go_unicode_name(0xe9), "U+00E9 '\xc3\xa9'");
  CAF_CHECK_EQUAL(go_unicode_name(-1), "U+FFFD '\xef\xbf\xbd'");
  int w = 0;
  CAF_CHECK_EQUAL(decode_rune("\xf0\x9f\x98\x80", 0, w), 0x1f600u);
  CAF_CHECK_EQUAL(w, 4);
  CAF_CHECK_EQUAL(decode_rune("\xf0\x9f", 0, w), 0xfffdu);  // truncated
  CAF_CHECK_EQUAL(w, 1);
  CAF_CHECK_EQUAL(decode_rune("\xc0\x80", 0, w), 0xfffdu);  // overlong
  CAF_CHECK_EQUAL(decode_rune("\xed\xa0\x80", 0, w), 0xfffdu);  // surrogate
  CAF_CHECK_EQUAL(decode_rune("\x80", 0, w), 0xfffdu);
}

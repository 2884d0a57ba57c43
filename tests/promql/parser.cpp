#define CAF_SUITE promql.parser
#include "test_support.hpp"

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "promql/functions.hpp"
#include "promql/parser.hpp"
#include "shared_queries.hpp"

using namespace nl::promql;

namespace {

struct error_case {
  const char* query;
  const char* message;
};

// Malformed queries and the exact error each gets from a real Prometheus
// 2.42 (GET /api/v1/query, "invalid parameter \"query\": " prefix removed).
// The native-histogram function histogram_count is not in this table: it is
// deliberately unknown here.
const error_case error_cases[] = {
    // Go's regexp and RE2 differ here; the server's JSON shows the raw 0xff
    // byte as U+FFFD.
    {"x{a=~\"\\\\C\"}",
     "1:3: parse error: error parsing regexp: invalid escape sequence: `\\C`"},
    {"x{a=~\"\\xff\"}", "1:3: parse error: error parsing regexp: invalid UTF-8: `\xff)$`"},
    {"sum(",
     "1:5: parse error: unclosed left parenthesis"},
    {"(",
     "1:2: parse error: unclosed left parenthesis"},
    {")",
     "1:2: parse error: unexpected right parenthesis ')'"},
    {"x{",
     "1:3: parse error: unexpected end of input inside braces"},
    {"x{a=\"b\"",
     "1:8: parse error: unexpected end of input inside braces"},
    {"x{a=}",
     "1:5: parse error: unexpected \"}\" in label matching, expected string"},
    {"x{a}",
     "1:4: parse error: unexpected \"}\" in label matching, expected label matching operator"},
    {"x{a=\"b\",,}",
     "1:9: parse error: unexpected \",\" in label matching, expected identifier or \"}\""},
    {"{}",
     "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{a=\"\"}",
     "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{a=~\".*\"}",
     "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"x{a=~\"(\"}",
     "1:3: parse error: error parsing regexp: missing closing ): `^(\?:()$`"},
    {"sum(x",
     "1:6: parse error: unclosed left parenthesis"},
    {"rate(x)",
     "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"},
    {"rate(x[5m], 1)",
     "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 2"},
    {"foo(x)",
     "1:1: parse error: unknown function with name \"foo\""},
    {"x[5m",
     "1:5: parse error: unclosed left bracket"},
    {"x[5]",
     "1:3: parse error: missing unit character in duration"},
    {"x[5m:1]",
     "1:6: parse error: unexpected number \"1\" in subquery selector, expected duration or \"]\""},
    {"x[]",
     "1:3: parse error: missing unit character in duration"},
    {"x offset",
     "1:9: parse error: unexpected end of input in offset, expected duration"},
    {"x offset 5",
     "1:10: parse error: unexpected number \"5\" in offset, expected duration"},
    {"x @",
     "1:4: parse error: unexpected end of input in @, expected timestamp"},
    {"x @ foo",
     "1:5: parse error: unexpected identifier \"foo\" in @, expected timestamp"},
    {"x +",
     "1:4: parse error: unexpected end of input"},
    {"+",
     "1:2: parse error: unexpected end of input"},
    {"1 > 2",
     "1:3: parse error: comparisons between scalars must use BOOL modifier"},
    {"x and 1",
     "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
    {"1 and x",
     "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
    {"x + on(a) 1",
     "1:1: parse error: vector matching only allowed between instant vectors"},
    {"x and on(a) group_left y",
     "1:1: parse error: no grouping allowed for \"and\" operation"},
    {"x + bool y",
     "1:3: parse error: bool modifier can only be used on comparison operators"},
    {"topk(x)",
     "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"},
    {"topk(1, x, y)",
     "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 3"},
    {"sum()",
     "1:1: parse error: no arguments for aggregate expression provided"},
    {"sum by(a",
     "1:9: parse error: unclosed left parenthesis"},
    {"sum by (1) (x)",
     "1:9: parse error: unexpected number \"1\" in grouping opts, expected label"},
    {"sum(x) by",
     "1:10: parse error: unexpected end of input in grouping opts, expected \"(\""},
    {"count_values(1, x)",
     "1:14: parse error: expected type string in aggregation parameter, got scalar"},
    {"quantile(\"a\", x)",
     "1:10: parse error: expected type scalar in aggregation parameter, got string"},
    {"x offset 5m offset 5m",
     "1:1: parse error: offset may not be set multiple times"},
    {"x @ 1 @ 2",
     "1:1: parse error: @ <timestamp> may not be set multiple times"},
    {"(x)[5m]",
     "1:4: parse error: ranges only allowed for vector selectors"},
    {"(x)offset 5m",
     "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"},
    {"x[5m][5m]",
     "1:6: parse error: ranges only allowed for vector selectors"},
    {"x[5m][10m:]",
     "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"},
    {"\"a\"[5m:]",
     "1:1: parse error: subquery is only allowed on instant vector, got string instead"},
    {"1[5m:]",
     "1:1: parse error: subquery is only allowed on instant vector, got scalar instead"},
    {"-\"a\"",
     "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"string\""},
    {"x ! y",
     "1:3: parse error: unexpected character after '!': ' '"},
    {"x =~ y",
     "1:3: parse error: unexpected character after '=': '~'"},
    {"x{a=\"\\q\"}",
     "1:5: parse error: unknown escape sequence U+0071 'q'"},
    {"x{a=\"b",
     "1:5: parse error: unterminated quoted string"},
    {"\"abc",
     "1:1: parse error: unterminated quoted string"},
    {"`abc",
     "1:1: parse error: unterminated raw string"},
    {"5m",
     "1:1: parse error: unexpected duration \"5m\""},
    {"x 5",
     "1:3: parse error: unexpected number \"5\""},
    {"x y",
     "1:3: parse error: unexpected identifier \"y\""},
    {"1 2",
     "1:3: parse error: unexpected number \"2\""},
    {"#only comment",
     "1:1: parse error: no expression found in input"},
    {"x{__name__=\"a\"}",
     "1:1: parse error: metric name must not be set twice: \"x\" or \"a\""},
    {"a{__name__=\"b\"}",
     "1:1: parse error: metric name must not be set twice: \"a\" or \"b\""},
    {"x{a=\"b\"}{c=\"d\"}",
     "1:9: parse error: unexpected \"{\""},
    {"sum without(a) by(b) (x)",
     "1:16: parse error: unexpected <by> in aggregation"},
    {"label_join(x, \"a\")",
     "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 2"},
    {"round(x, 1, 2)",
     "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3"},
    {"x[5m] + 1",
     "1:1: parse error: binary expression must contain only scalar and instant vector types"},
    {"x offset 0s",
     "1:10: parse error: duration must be greater than 0"},
    {"x[0s]",
     "1:3: parse error: duration must be greater than 0"},
    {"x[5m1h]",
     "1:3: parse error: not a valid duration string: \"5m1h\""},
    {"x[5hs]",
     "1:3: parse error: not a valid duration string: \"5hs\""},
    {"0x",
     "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"0x\": invalid syntax"},
    {"1e",
     "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e\": invalid syntax"},
    {"1_000",
     "1:1: parse error: bad number or duration syntax: \"1\""},
    {"$",
     "1:1: parse error: unexpected character: '$'"},
    {"x{a=\"b\"} @ start",
     "1:17: parse error: unexpected end of input in @, expected timestamp"},
    {"x @ Inf",
     "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"},
    {"x @ NaN",
     "1:1: parse error: timestamp out of bounds for @ modifier: NaN"},
    {"time() offset 5m",
     "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"},
    {"time() @ 5",
     "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery"},
    {"sum(x) offset 5m",
     "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"},
    {"x[5m:5m:5m]",
     "1:8: parse error: unexpected colon ':'"},
    {"x[5m::]",
     "1:6: parse error: unexpected colon ':'"},
    {"{a=\"b\", c}",
     "1:10: parse error: unexpected \"}\" in label matching, expected label matching operator"},
    {"x{1=\"a\"}",
     "1:3: parse error: unexpected character inside braces: '1'"},
    {"abs(x,)",
     "1:6: parse error: trailing commas not allowed in function call args"},
    {"abs()",
     "1:1: parse error: expected 1 argument(s) in call to \"abs\", got 0"},
    {"time(1)",
     "1:1: parse error: expected 0 argument(s) in call to \"time\", got 1"},
    {"x unless bool y",
     "1:3: parse error: bool modifier can only be used on comparison operators"},
    {"x group_left y",
     "1:3: parse error: unexpected <group_left>"},
    {"x + on(a) group_left(a) y",
     "1:3: parse error: label \"a\" must not occur in ON and GROUP clause at once"},
    {"x[5m] offset 1m offset 2m",
     "1:1: parse error: offset may not be set multiple times"},
    {"x)",
     "1:3: parse error: unexpected right parenthesis ')'"},
    {"x y $",
     "1:3: parse error: unexpected identifier \"y\""},
    {"on",
     "1:1: parse error: unexpected <on>"},
    {"bool",
     "1:1: parse error: unexpected <bool>"},
    {"x and on",
     "1:9: parse error: unexpected end of input in grouping opts, expected \"(\""},
    {"1e400",
     "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e400\": value out of range"},
    {"0xffffffffffffffffff",
     "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"0xffffffffffffffffff\": invalid syntax"},
    {"\"\\'\"",
     "1:1: parse error: unknown escape sequence U+0027 '''"},
    {"\"\\q\"",
     "1:1: parse error: unknown escape sequence U+0071 'q'"},
    {"\"\\x1\"",
     "1:1: parse error: illegal character U+0022 '\"' in escape sequence"},
    {"\"\\u12\"",
     "1:1: parse error: illegal character U+0022 '\"' in escape sequence"},
    {"\"\\ud800\"",
     "1:1: parse error: escape sequence is an invalid Unicode code point"},
    {"\"\\U00110000\"",
     "1:1: parse error: escape sequence is an invalid Unicode code point"},
    {"x offset +5m",
     "1:10: parse error: unexpected <op:+> in offset, expected duration"},
    {"x @ start() @ end()",
     "1:1: parse error: @ <timestamp> may not be set multiple times"},
    {"x @ 100 [5m]",
     "1:9: parse error: no @ modifiers allowed before range"},
    {"x offset 5m [5m]",
     "1:13: parse error: no offset modifiers allowed before range"},
    {"sum by (on, by, without, sum, offset, bool, start, end, atan2, group_left) (x)",
     "1:17: parse error: unexpected <without> in grouping opts, expected label"},
    {"sum by (a:b) (x)",
     "1:9: parse error: unexpected metric identifier \"a:b\" in grouping opts, expected label"},
    {"sum by (\"a\") (x)",
     "1:9: parse error: unexpected string \"\\\"a\\\"\" in grouping opts, expected label"},
    {"sum(x, y)",
     "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2"},
    {"1 + on(a) 2",
     "1:1: parse error: vector matching only allowed between instant vectors"},
    {"x + bool 1",
     "1:3: parse error: bool modifier can only be used on comparison operators"},
    {"x + bool on(a) y",
     "1:3: parse error: bool modifier can only be used on comparison operators"},
    {"x + on(a) bool y",
     "1:11: parse error: unexpected <bool>"},
    {"label_join(x, \"a\", \",\", 1)",
     "1:25: parse error: expected type string in call to function \"label_join\", got scalar"},
    {"day_of_month(x, y)",
     "1:1: parse error: expected at most 1 argument(s) in call to \"day_of_month\", got 2"},
    {"year(x, y, z)",
     "1:1: parse error: expected at most 1 argument(s) in call to \"year\", got 3"},
    {"x[5m] * 2",
     "1:1: parse error: binary expression must contain only scalar and instant vector types"},
    {"time() + x[5m]",
     "1:10: parse error: binary expression must contain only scalar and instant vector types"},
    {"\"a\" + 1",
     "1:1: parse error: binary expression must contain only scalar and instant vector types"},
    {"\"a\" == \"b\"",
     "1:1: parse error: binary expression must contain only scalar and instant vector types"},
    {"sum(\"a\")",
     "1:5: parse error: expected type instant vector in aggregation expression, got string"},
    {"abs(\"a\")",
     "1:5: parse error: expected type instant vector in call to function \"abs\", got string"},
    {"-x[5m]",
     "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\""},
    {"-(x[5m])",
     "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\""},
    {"x[5m] offset 1m[5m]",
     "1:16: parse error: ranges only allowed for vector selectors"},
    {"sum(x)[5m]",
     "1:7: parse error: ranges only allowed for vector selectors"},
    {"abs(x[5m])",
     "1:5: parse error: expected type instant vector in call to function \"abs\", got range vector"},
    {"topk(x, 3)",
     "1:9: parse error: expected type instant vector in aggregation expression, got scalar"},
    {"topk(\"a\", x)",
     "1:6: parse error: expected type scalar in aggregation parameter, got string"},
    {"quantile(x, y)",
     "1:10: parse error: expected type scalar in aggregation parameter, got instant vector"},
    {"count_values(x, y)",
     "1:14: parse error: expected type string in aggregation parameter, got instant vector"},
    {"# comment",
     "1:1: parse error: no expression found in input"},
    {"x{a",
     "1:4: parse error: unexpected end of input inside braces"},
    {"=\"b\"}",
     "1:1: parse error: unexpected \"=\""},
    {"\"multi",
     "1:1: parse error: unterminated quoted string"},
    {"line\"",
     "1:5: parse error: unterminated quoted string"},
    {"`raw",
     "1:1: parse error: unterminated raw string"},
    {"string`",
     "1:7: parse error: unterminated raw string"},
    {"]",
     "1:1: parse error: unexpected right bracket ']'"},
    {"x[5m:1m:]",
     "1:8: parse error: unexpected colon ':'"},
    {"x[5m:1m 2m]",
     "1:9: parse error: unexpected duration \"2m\" in subquery selector, expected \"]\""},
    {"x[5m 1m]",
     "1:6: parse error: unexpected duration \"1m\" in subquery or range, expected \":\" or \"]\""},
    {"x[5m]]",
     "1:6: parse error: unexpected right bracket ']'"},
    {"x]",
     "1:2: parse error: unexpected right bracket ']'"},
    {"x[[5m]]",
     "1:3: parse error: missing unit character in duration"},
    {"x[5m:1m",
     "1:8: parse error: unclosed left bracket"},
    {"x{a=\"b\"}}",
     "1:9: parse error: unexpected character: '}'"},
    {"x{{",
     "1:3: parse error: unexpected left brace '{'"},
    {"x{a=\"b\",",
     "1:9: parse error: unexpected end of input inside braces"},
    {"x{a=~\"[\"}",
     "1:3: parse error: error parsing regexp: missing closing ]: `[)$`"},
    {"x{a=~\"a{2,1}\"}",
     "1:3: parse error: error parsing regexp: invalid repeat count: `{2,1}`"},
    {"x{a=~\"*\"}",
     "1:3: parse error: error parsing regexp: missing argument to repetition operator: `*`"},
    {"x{a=~\"\\\\q\"}",
     "1:3: parse error: error parsing regexp: invalid escape sequence: `\\q`"},
    {"x{a=~\"(\?<n>a)\"}",
     "1:3: parse error: error parsing regexp: invalid or unsupported Perl syntax: `(\?<`"},
    {"x{a=~\"a++\"}",
     "1:3: parse error: error parsing regexp: invalid nested repetition operator: `++`"},
    {"x{a=~\"a**\"}",
     "1:3: parse error: error parsing regexp: invalid nested repetition operator: `**`"},
    {"x{a=~\"\\\\\"}",
     "1:3: parse error: error parsing regexp: missing closing ): `^(\?:\\)$`"},
    {"x{a=~\"[z-a]\"}",
     "1:3: parse error: error parsing regexp: invalid character class range: `z-a`"},
    {"x{a=~\"[[:foo:]]\"}",
     "1:3: parse error: error parsing regexp: invalid character class range: `[:foo:]`"},
    {"x{a=~\")\"}",
     "1:3: parse error: error parsing regexp: unexpected ): `^(\?:))$`"},
    {"x{a=~\"a{1001}\"}",
     "1:3: parse error: error parsing regexp: invalid repeat count: `{1001}`"},
    {"x{a=~\"\\\\8\"}",
     "1:3: parse error: error parsing regexp: invalid escape sequence: `\\8`"},
    {"sum(x y)",
     "1:7: parse error: unexpected identifier \"y\" in aggregation"},
    {"rate(x y)",
     "1:8: parse error: unexpected identifier \"y\""},
    {"(x y)",
     "1:4: parse error: unexpected identifier \"y\""},
    {"sum(x) y",
     "1:8: parse error: unexpected identifier \"y\""},
    {"sum by (a) y",
     "1:12: parse error: unexpected identifier \"y\" in aggregation"},
    {"sum x",
     "1:5: parse error: unexpected identifier \"x\""},
    {"sum(rate(x y))",
     "1:12: parse error: unexpected identifier \"y\" in aggregation"},
    {"sum((x y))",
     "1:8: parse error: unexpected identifier \"y\" in aggregation"},
    {"abs(x, )",
     "1:6: parse error: trailing commas not allowed in function call args"},
    {"abs(,x)",
     "1:5: parse error: unexpected \",\""},
    {"abs(x,,y)",
     "1:6: parse error: trailing commas not allowed in function call args"},
    {"foo()",
     "1:1: parse error: unknown function with name \"foo\""},
    {"foo(x y)",
     "1:7: parse error: unexpected identifier \"y\""},
    {"x ==",
     "1:5: parse error: unexpected end of input"},
    {"x == == y",
     "1:6: parse error: unexpected <op:==>"},
    {"x + * y",
     "1:5: parse error: unexpected <op:*>"},
    {"* x",
     "1:1: parse error: unexpected <op:*>"},
    {"x *",
     "1:4: parse error: unexpected end of input"},
    {"x[",
     "1:3: parse error: missing unit character in duration"},
    {"[5m]",
     "1:1: parse error: unexpected \"[\""},
    {"x[5m] [5m]",
     "1:7: parse error: ranges only allowed for vector selectors"},
    {"@ 100",
     "1:1: parse error: unexpected \"<Item 57385>\" <op:@>"},
    {"x @ 100 @ 100",
     "1:1: parse error: @ <timestamp> may not be set multiple times"},
    {"x @ start() offset 1m offset 2m",
     "1:1: parse error: offset may not be set multiple times"},
    {"x offset 1m @ start() @ end()",
     "1:1: parse error: @ <timestamp> may not be set multiple times"},
    {"x{a=\"b\"} offset",
     "1:16: parse error: unexpected end of input in offset, expected duration"},
    {"x @ (",
     "1:5: parse error: unexpected \"(\" in @, expected timestamp"},
    {"x @ start(",
     "1:11: parse error: unclosed left parenthesis"},
    {"x @ start)",
     "1:11: parse error: unexpected right parenthesis ')'"},
    {"x @ \"a\"",
     "1:5: parse error: unexpected string \"\\\"a\\\"\" in @, expected timestamp"},
    {"x @ -",
     "1:6: parse error: unexpected end of input in @, expected timestamp"},
    {"x @ 9223372036854775807",
     "1:1: parse error: timestamp out of bounds for @ modifier: 9223372036854775808.000000"},
    {"x @ 1e20",
     "1:1: parse error: timestamp out of bounds for @ modifier: 100000000000000000000.000000"},
    {"x @ -Inf",
     "1:1: parse error: timestamp out of bounds for @ modifier: -Inf"},
    {"x offset 1000y",
     "1:10: parse error: duration out of range"},
    {"x offset 99999999999999999999s",
     "1:10: parse error: duration out of range"},
    {"x offset 293y",
     "1:10: parse error: duration out of range"},
    {"x[106752d]",
     "1:3: parse error: duration out of range"},
    {"x offset 5m5m",
     "1:10: parse error: not a valid duration string: \"5m5m\""},
    {"x offset 5s5m",
     "1:10: parse error: not a valid duration string: \"5s5m\""},
    {"x offset 1ms1s",
     "1:10: parse error: not a valid duration string: \"1ms1s\""},
    {"x offset 5 m",
     "1:10: parse error: unexpected number \"5\" in offset, expected duration"},
    {"x offset 5mm",
     "1:10: parse error: bad number or duration syntax: \"5mm\""},
    {"x offset 5M",
     "1:10: parse error: bad number or duration syntax: \"5\""},
    {"x offset 1.5m",
     "1:10: parse error: not a valid duration string: \"1.5m\""},
    {"x offset .5m",
     "1:10: parse error: not a valid duration string: \".5m\""},
    {"1m",
     "1:1: parse error: unexpected duration \"1m\""},
    {"1m + 1",
     "1:1: parse error: unexpected duration \"1m\""},
    {"x + 1m",
     "1:5: parse error: unexpected duration \"1m\""},
    {"x[1m] + 1m",
     "1:9: parse error: unexpected duration \"1m\""},
    {"sum by (a) (x) by (b)",
     "1:16: parse error: unexpected <by>"},
    {"sum without (a) by (b) (x)",
     "1:17: parse error: unexpected <by> in aggregation"},
    {"sum(x) by (a) without (b)",
     "1:15: parse error: unexpected <without>"},
    {"sum() by (a)",
     "1:1: parse error: no arguments for aggregate expression provided"},
    {"topk(1)",
     "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"},
    {"topk()",
     "1:1: parse error: no arguments for aggregate expression provided"},
    {"topk(1,)",
     "1:7: parse error: trailing commas not allowed in function call args"},
    {"count_values()",
     "1:1: parse error: no arguments for aggregate expression provided"},
    {"x + group_left y",
     "1:5: parse error: unexpected <group_left>"},
    {"x + on(a) group_left",
     "1:21: parse error: unexpected end of input in grouping opts, expected \"(\""},
    {"x + on(a) group_left(",
     "1:22: parse error: unclosed left parenthesis"},
    {"x + on(a) group_left()",
     "1:23: parse error: unexpected end of input"},
    {"x + on(a",
     "1:9: parse error: unclosed left parenthesis"},
    {"x + on a",
     "1:8: parse error: unexpected identifier \"a\" in grouping opts, expected \"(\""},
    {"x + on(1) y",
     "1:8: parse error: unexpected number \"1\" in grouping opts, expected label"},
    {"x + on(\"a\") y",
     "1:8: parse error: unexpected string \"\\\"a\\\"\" in grouping opts, expected label"},
    {"x + on(a b) y",
     "1:10: parse error: unexpected identifier \"b\" in grouping opts, expected \",\" or \")\""},
    {"x + on(a,,b) y",
     "1:10: parse error: unexpected \",\" in grouping opts, expected label"},
    {"x + bool",
     "1:9: parse error: unexpected end of input"},
    {"bool x",
     "1:1: parse error: unexpected <bool>"},
    {"x bool y",
     "1:3: parse error: unexpected <bool>"},
    {"x == bool bool y",
     "1:11: parse error: unexpected <bool>"},
    {"x == on(a) bool y",
     "1:12: parse error: unexpected <bool>"},
};

const expr& unparen(const expr& e) {
  if (auto* p = std::get_if<paren_expr>(&e.node))
    return unparen(*p->inner);
  return e;
}

expr_ptr must_parse(const std::string& q) {
  auto r = parse(q);
  if (!r) {
    CAF_FAIL("unexpected error for " << q << ": " << r.error.message);
  }
  return std::move(r.expr);
}

}  // namespace

CAF_TEST(malformed queries get prometheus error texts) {
  for (const auto& c : error_cases) {
    auto r = parse(c.query);
    if (r) {
      CAF_ERROR("accepted: " << c.query);
      continue;
    }
    if (r.error.message != c.message)
      CAF_ERROR("query " << c.query << "\n  got  " << r.error.message << "\n  want "
                         << c.message);
  }
}

CAF_TEST(error positions count lines and bytes) {
  auto r = parse("sum(\n  rate(x[5m])\n) by (job");
  CAF_REQUIRE(!r);
  CAF_CHECK_EQUAL(r.error.message, "3:10: parse error: unclosed left parenthesis");
  r = parse("sum(\n  rate(x[5m]\n) by (job");
  CAF_REQUIRE(!r);
  CAF_CHECK_EQUAL(r.error.message, "3:3: parse error: unexpected <by> in aggregation");
  r = parse("x +\n\n  foo(y)");
  CAF_REQUIRE(!r);
  CAF_CHECK_EQUAL(r.error.message, "3:3: parse error: unknown function with name \"foo\"");
  CAF_CHECK_EQUAL(r.error.pos.start, 7);
  CAF_CHECK_EQUAL(r.error.pos.end, 10);
  r = parse("{a=\"\xc3\xa9\"} + $");
  CAF_REQUIRE(!r);
  CAF_CHECK_EQUAL(r.error.message, "1:12: parse error: unexpected character: '$'");
}

CAF_TEST(unary minus binds looser than power and folds into literals) {
  auto e = must_parse("-2^2");
  auto* u = std::get_if<unary_expr>(&e->node);
  CAF_REQUIRE(u != nullptr);
  CAF_CHECK(u->negate);
  auto* b = std::get_if<binary_expr>(&u->inner->node);
  CAF_REQUIRE(b != nullptr);
  CAF_CHECK(b->op == binary_op::pow);

  e = must_parse("-1");
  auto* n = std::get_if<number_literal>(&e->node);
  CAF_REQUIRE(n != nullptr);
  CAF_CHECK_EQUAL(n->value, -1.0);
  CAF_CHECK_EQUAL(e->pos.start, 0);

  e = must_parse("- -1");
  n = std::get_if<number_literal>(&e->node);
  CAF_REQUIRE(n != nullptr);
  CAF_CHECK_EQUAL(n->value, 1.0);

  e = must_parse("+x");
  u = std::get_if<unary_expr>(&e->node);
  CAF_REQUIRE(u != nullptr);
  CAF_CHECK(!u->negate);

  // -1 * 2: the sign applies to 1 only, then the product.
  e = must_parse("-1 * 2");
  b = std::get_if<binary_expr>(&e->node);
  CAF_REQUIRE(b != nullptr);
  CAF_CHECK(b->op == binary_op::mul);
  CAF_CHECK_EQUAL(std::get<number_literal>(b->lhs->node).value, -1.0);
}

CAF_TEST(operator precedence and associativity follow prometheus) {
  struct prec_case {
    const char* query;
    const char* grouped;  // fully parenthesised by hand
  };
  // Printing keeps no parentheses; compare tree shapes through a printer
  // that adds them.
  std::function<std::string(const expr&)> shape = [&](const expr& e) -> std::string {
    if (auto* b = std::get_if<binary_expr>(&e.node))
      return "(" + shape(*b->lhs) + " " + std::string(to_string(b->op)) + " " +
             shape(*b->rhs) + ")";
    if (auto* u = std::get_if<unary_expr>(&e.node))
      return std::string(u->negate ? "-" : "+") + shape(*u->inner);
    return e.to_string();
  };
  const prec_case cases[] = {
      {"1 + 2 * 3", "(1 + (2 * 3))"},
      {"1 * 2 + 3", "((1 * 2) + 3)"},
      {"2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"},
      {"1 - 2 - 3", "((1 - 2) - 3)"},
      {"a or b and c", "(a or (b and c))"},
      {"a and b unless c", "((a and b) unless c)"},
      {"a or b unless c", "(a or (b unless c))"},
      {"a == bool b + c", "(a == (b + c))"},
      {"a > b or c < d", "((a > b) or (c < d))"},
      {"a atan2 b * c", "((a atan2 b) * c)"},
      {"a % b ^ c", "(a % (b ^ c))"},
      {"-a ^ b", "-(a ^ b)"},
      {"2 ^ -a * 3", "((2 ^ -a) * 3)"},
      {"a + -b * c", "(a + (-b * c))"},
  };
  for (const auto& c : cases) {
    auto e = must_parse(c.query);
    CAF_CHECK_EQUAL(shape(*e), c.grouped);
  }
}

CAF_TEST(vector matching is set on every vector binary expression) {
  auto e = must_parse("a + b");
  auto& b = std::get<binary_expr>(e->node);
  CAF_REQUIRE(b.matching.has_value());
  CAF_CHECK(b.matching->card == vector_match_cardinality::one_to_one);
  CAF_CHECK(!b.matching->on);

  for (const char* q : {"a and b", "a or b", "a unless b", "a and on(x) b"}) {
    e = must_parse(q);
    auto& s = std::get<binary_expr>(e->node);
    CAF_REQUIRE(s.matching.has_value());
    CAF_CHECK(s.matching->card == vector_match_cardinality::many_to_many);
  }

  e = must_parse("a * on(x, y) group_left(z) b");
  auto& g = std::get<binary_expr>(e->node);
  CAF_REQUIRE(g.matching.has_value());
  CAF_CHECK(g.matching->on);
  CAF_CHECK(g.matching->card == vector_match_cardinality::many_to_one);
  CAF_CHECK_EQUAL(g.matching->labels, (std::vector<std::string>{"x", "y"}));
  CAF_CHECK_EQUAL(g.matching->include, (std::vector<std::string>{"z"}));

  e = must_parse("a / ignoring(x) group_right b");
  auto& r = std::get<binary_expr>(e->node);
  CAF_CHECK(!r.matching->on);
  CAF_CHECK(r.matching->card == vector_match_cardinality::one_to_many);
  CAF_CHECK(r.matching->include.empty());

  // Scalar operands: no matching at all.
  for (const char* q : {"a + 1", "1 + a", "1 + 2", "a + on() 1", "time() > bool 1"}) {
    e = must_parse(q);
    CAF_CHECK(!std::get<binary_expr>(e->node).matching.has_value());
  }

  e = must_parse("a > bool b");
  CAF_CHECK(std::get<binary_expr>(e->node).return_bool);
}

CAF_TEST(selectors carry matchers offsets and at modifiers in milliseconds) {
  auto e = must_parse("foo:bar{a=\"1\", b!~\"x|y\",} offset -1h30m @ 1.5");
  auto& vs = std::get<vector_selector>(e->node);
  CAF_CHECK_EQUAL(vs.name, "foo:bar");
  CAF_REQUIRE_EQUAL(vs.matchers.size(), 3u);
  CAF_CHECK_EQUAL(vs.matchers[0].name(), "a");
  CAF_CHECK(vs.matchers[1].type() == nl::storage::match_type::not_regex);
  CAF_CHECK_EQUAL(vs.matchers[2].name(), "__name__");
  CAF_CHECK_EQUAL(vs.matchers[2].value(), "foo:bar");
  CAF_CHECK_EQUAL(vs.offset, -5400000);
  CAF_CHECK(vs.at == at_modifier::timestamp);
  CAF_CHECK_EQUAL(vs.at_timestamp, 1500);

  e = must_parse("rate(x[5m] @ end() offset 1m)");
  auto& call = std::get<call_expr>(e->node);
  CAF_CHECK(call.func == find_function("rate"));
  auto& ms = std::get<matrix_selector>(call.args[0]->node);
  CAF_CHECK_EQUAL(ms.range, 300000);
  auto& inner = std::get<vector_selector>(ms.selector->node);
  CAF_CHECK(inner.at == at_modifier::end);
  CAF_CHECK_EQUAL(inner.offset, 60000);

  e = must_parse("{__name__=~\"a.*\"}");
  auto& anon = std::get<vector_selector>(e->node);
  CAF_CHECK(anon.name.empty());
  CAF_CHECK_EQUAL(anon.matchers.size(), 1u);

  e = must_parse("x{a=\"\\u00e9\\x41\\101\\n\"}");
  CAF_CHECK_EQUAL(std::get<vector_selector>(e->node).matchers[0].value(), "\xc3\xa9" "AA\n");
}

CAF_TEST(subqueries keep range step offset and at) {
  auto e = must_parse("max_over_time(rate(x[1m])[1h:30s] @ start() offset 5m)");
  auto& sq = std::get<subquery_expr>(std::get<call_expr>(e->node).args[0]->node);
  CAF_CHECK_EQUAL(sq.range, 3600000);
  CAF_CHECK_EQUAL(sq.step, 30000);
  CAF_CHECK_EQUAL(sq.offset, 300000);
  CAF_CHECK(sq.at == at_modifier::start);
  CAF_CHECK(sq.inner->type() == value_type::vector);

  e = must_parse("(a + b)[5m:]");
  auto& def = std::get<subquery_expr>(e->node);
  CAF_CHECK_EQUAL(def.step, 0);
  CAF_CHECK(e->type() == value_type::matrix);
}

CAF_TEST(aggregations keep parameter grouping and modifiers) {
  auto e = must_parse("topk by (a, b) (5, x)");
  auto& agg = std::get<aggregate_expr>(e->node);
  CAF_CHECK(agg.op == aggregate_op::topk);
  CAF_REQUIRE(agg.param != nullptr);
  CAF_CHECK_EQUAL(std::get<number_literal>(agg.param->node).value, 5.0);
  CAF_CHECK_EQUAL(agg.grouping, (std::vector<std::string>{"a", "b"}));
  CAF_CHECK(agg.has_grouping);
  CAF_CHECK(!agg.without);

  e = must_parse("count_values without () (\"v\", x)");
  auto& cv = std::get<aggregate_expr>(e->node);
  CAF_CHECK(cv.without);
  CAF_CHECK(cv.has_grouping);
  CAF_CHECK(cv.grouping.empty());
  CAF_CHECK_EQUAL(std::get<string_literal>(cv.param->node).value, "v");

  e = must_parse("sum(x)");
  CAF_CHECK(!std::get<aggregate_expr>(e->node).has_grouping);

  // Keywords are label names in grouping lists and metric names elsewhere.
  e = must_parse("sum by (on, bool, sum) (by)");
  auto& kw = std::get<aggregate_expr>(e->node);
  CAF_CHECK_EQUAL(kw.grouping, (std::vector<std::string>{"on", "bool", "sum"}));
  CAF_CHECK_EQUAL(std::get<vector_selector>(kw.inner->node).name, "by");
}

CAF_TEST(number literals follow go parsing rules) {
  struct num_case {
    const char* text;
    double value;
  };
  const num_case cases[] = {
      {"0x1f", 31},     {"010", 8},    {"08", 8},      {"1e3", 1000}, {".5", 0.5},
      {"1.", 1},        {"-0x10", -16}, {"1E-2", 0.01}, {"0755.5", 755.5},
      {"9223372036854775808", 9223372036854775808.0},
  };
  for (const auto& c : cases) {
    auto e = must_parse(c.text);
    CAF_CHECK_EQUAL(std::get<number_literal>(e->node).value, c.value);
  }
  CAF_CHECK(std::isinf(std::get<number_literal>(must_parse("Inf")->node).value));
  CAF_CHECK(std::get<number_literal>(must_parse("-inF")->node).value < 0);
  CAF_CHECK(std::isnan(std::get<number_literal>(must_parse("nAn")->node).value));
}

CAF_TEST(function table matches prometheus signatures) {
  const function_info* f = find_function("label_join");
  CAF_REQUIRE(f != nullptr);
  CAF_CHECK_EQUAL(f->variadic, -1);
  CAF_CHECK_EQUAL(f->arg_types.size(), 4u);
  f = find_function("round");
  CAF_REQUIRE(f != nullptr);
  CAF_CHECK_EQUAL(f->variadic, 1);
  f = find_function("time");
  CAF_REQUIRE(f != nullptr);
  CAF_CHECK(f->return_type == value_type::scalar);
  CAF_CHECK(f->arg_types.empty());
  f = find_function("quantile_over_time");
  CAF_REQUIRE(f != nullptr);
  CAF_CHECK(f->arg_types[0] == value_type::scalar);
  CAF_CHECK(f->arg_types[1] == value_type::matrix);
  CAF_CHECK(find_function("histogram_count") == nullptr);
  CAF_CHECK(find_function("nope") == nullptr);
  const char* names[] = {
      "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
      "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
      "count_over_time", "days_in_month", "day_of_month", "day_of_week", "day_of_year", "deg",
      "delta", "deriv", "exp", "floor", "histogram_quantile", "holt_winters", "hour", "idelta",
      "increase", "irate", "label_join", "label_replace", "last_over_time", "ln", "log10",
      "log2", "max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear",
      "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round", "scalar",
      "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "stddev_over_time",
      "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp", "vector",
      "year"};
  for (const char* n : names) {
    f = find_function(n);
    if (f == nullptr)
      CAF_ERROR("missing function " << n);
    else
      CAF_CHECK_EQUAL(f->name, n);
  }
}

CAF_TEST(metric selectors for match parameters) {
  auto r = parse_metric_selector("up{job=~\"a.*\", instance!=\"\"}");
  CAF_REQUIRE(r.ok());
  CAF_REQUIRE_EQUAL(r.matchers.size(), 3u);
  CAF_CHECK_EQUAL(r.matchers[2].name(), "__name__");
  CAF_CHECK(has_non_empty_matcher(r.matchers));

  r = parse_metric_selector("{a=~\".*\"}");
  CAF_REQUIRE(r.ok());
  CAF_CHECK(!has_non_empty_matcher(r.matchers));

  // Accepted by a real 2.42 /api/v1/series: keywords as names, a second
  // __name__ (no type check here), trailing commas, comments.
  for (const char* ok : {"and", "sum", "up{__name__=\"x\"}", "{a=\"b\",}", "a:b{c=\"d\"}",
                         " up ", "up{a=\"b\"} # c"}) {
    auto sel = parse_metric_selector(ok);
    if (!sel.ok())
      CAF_ERROR("rejected " << ok << ": " << sel.error->message);
  }

  // Only a selector: everything else is rejected where it starts.
  struct sel_case {
    const char* text;
    const char* message;
  };
  const sel_case bad[] = {
      {"sum(up)", "1:4: parse error: unexpected \"(\""},
      {"up offset 5m", "1:4: parse error: unexpected <offset>"},
      {"up[5m]", "1:3: parse error: unexpected \"[\""},
      {"1", "1:1: parse error: unexpected number \"1\""},
      {"up{a=}", "1:6: parse error: unexpected \"}\" in label matching, expected string"},
      {"", "1:1: parse error: unexpected end of input"},
      {"up + up", "1:4: parse error: unexpected <op:+>"},
      {"sum by (a) (x)", "1:5: parse error: unexpected <by>"},
      {"up @ 5", "1:4: parse error: unexpected \"<Item 57385>\" <op:@>"},
      {"x{a=~\"(\"}", "1:3: parse error: error parsing regexp: missing closing ): `^(?:()$`"},
  };
  for (const auto& c : bad) {
    r = parse_metric_selector(c.text);
    if (r.ok()) {
      CAF_ERROR("accepted " << c.text);
      continue;
    }
    CAF_CHECK_EQUAL(r.error->message, c.message);
  }
}

CAF_TEST(every shared test query parses) {
  auto queries = nl::promql::testing::shared_queries();
  // 1000+ distinct queries: the .test eval lines and the compliance lists.
  CAF_CHECK_GREATER(queries.size(), 1000u);
  size_t parsed = 0;
  for (const auto& q : queries) {
    auto r = parse(q.text);
    if (r) {
      ++parsed;
      continue;
    }
    // Only the compliance case that must fail at parse time may fail here
    // (the other should_fail cases fail when evaluated).
    if (!q.should_fail)
      CAF_ERROR(q.origin << ": " << q.text << ": " << r.error.message);
    else
      CAF_CHECK_EQUAL(r.error.message,
                      "1:1: parse error: vector selector must contain at least one non-empty "
                      "matcher");
  }
  CAF_MESSAGE(parsed << " of " << queries.size() << " shared queries parsed");
}

CAF_TEST(truncated and mutated queries never crash) {
  auto queries = nl::promql::testing::shared_queries();
  std::mt19937 rng(42);
  const std::string alphabet = "(){}[],:@\"'`\\#\n +-*/^%=!<>~0123456789.exmsahy_ \xff\xc3";
  size_t errors = 0, oks = 0;
  auto check = [&](const std::string& q) {
    auto r = parse(q);
    if (r) {
      ++oks;
      CAF_CHECK(!r.expr->to_string().empty());
      return;
    }
    ++errors;
    CAF_CHECK(r.error.message.find("parse error: ") != std::string::npos);
    CAF_CHECK(r.error.pos.start >= 0 && r.error.pos.start <= static_cast<int>(q.size()));
  };
  for (size_t i = 0; i < queries.size(); i += 3) {
    const std::string& q = queries[i].text;
    for (size_t n = 0; n < q.size(); ++n)
      check(q.substr(0, n));
    for (int k = 0; k < 8; ++k) {
      std::string m = q;
      size_t at = rng() % (m.size() + 1);
      switch (rng() % 3) {
        case 0:
          if (!m.empty())
            m[at % m.size()] = alphabet[rng() % alphabet.size()];
          break;
        case 1: m.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 2:
          if (!m.empty())
            m.erase(at % m.size(), 1);
          break;
      }
      check(m);
    }
  }
  for (int k = 0; k < 3000; ++k) {
    std::string junk(rng() % 40, '\0');
    for (auto& c : junk)
      c = static_cast<char>(rng() % 256);
    check(junk);
  }
  CAF_MESSAGE(oks << " parsed, " << errors << " rejected");
}

CAF_TEST(nesting depth is bounded instead of overflowing the stack) {
  auto nested = [](int n) { return std::string(n, '(') + "1" + std::string(n, ')'); };
  CAF_CHECK(parse(nested(250)).ok());
  CAF_CHECK(!parse(nested(300)).ok());
  std::string long_chain = "x";
  for (int i = 0; i < 990; ++i)
    long_chain += " or x";
  auto ok = parse(long_chain);
  CAF_REQUIRE(ok.ok());
  CAF_CHECK_EQUAL(ok.expr->clone()->to_string(), long_chain);
  auto r = parse(nested(100000));
  CAF_REQUIRE(!r);
  CAF_CHECK(r.error.message.find("expression nests too deeply") != std::string::npos);
  std::string chain = "x";
  for (int i = 0; i < 50000; ++i)
    chain += " + x";
  r = parse(chain);
  CAF_REQUIRE(!r);
  CAF_CHECK(r.error.message.find("expression nests too deeply") != std::string::npos);
  r = parse(std::string(100000, '-') + "x");
  CAF_CHECK(!r);
  r = parse(std::string(50000, '[') + "x");
  CAF_CHECK(!r);
  std::string calls;
  for (int i = 0; i < 20000; ++i)
    calls += "abs(";
  r = parse(calls + "x" + std::string(20000, ')'));
  CAF_CHECK(!r);
}

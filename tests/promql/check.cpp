#define CAF_SUITE promql.check
#include "test_support.hpp"

#include <string>

#include "promql/check.hpp"
#include "promql/functions.hpp"

using namespace nl::promql;

namespace {

// Trees built by hand (as the engine's tests or a rewrite might), so the
// checker is exercised without the parser having normalised anything.
expr_ptr node(decltype(expr::node) n, int start, int end) {
  auto e = std::make_unique<expr>();
  e->node = std::move(n);
  e->pos = {start, end};
  return e;
}

expr_ptr selector(const std::string& name, int start) {
  vector_selector vs;
  vs.name = name;
  vs.matchers.push_back(
      std::move(nl::storage::matcher::make(nl::storage::match_type::equal, "__name__", name)
                    .value()));
  return node(std::move(vs), start, start + static_cast<int>(name.size()));
}

expr_ptr number(double v, int start, int end) { return node(number_literal{v}, start, end); }

expr_ptr binary(binary_op op, expr_ptr lhs, expr_ptr rhs) {
  binary_expr b;
  b.op = op;
  b.matching = vector_matching{};
  position_range pos{lhs->pos.start, rhs->pos.end};
  b.lhs = std::move(lhs);
  b.rhs = std::move(rhs);
  return node(std::move(b), pos.start, pos.end);
}

}  // namespace

CAF_TEST(set operators become many to many) {
  auto e = binary(binary_op::land, selector("a", 0), selector("b", 6));  // "a and b"
  CAF_CHECK(!check_types(*e, "a and b").has_value());
  auto& b = std::get<binary_expr>(e->node);
  CAF_REQUIRE(b.matching.has_value());
  CAF_CHECK(b.matching->card == vector_match_cardinality::many_to_many);
}

CAF_TEST(matching is dropped unless both sides are vectors) {
  auto e = binary(binary_op::add, selector("a", 0), number(1, 4, 5));  // "a + 1"
  CAF_CHECK(!check_types(*e, "a + 1").has_value());
  CAF_CHECK(!std::get<binary_expr>(e->node).matching.has_value());

  e = binary(binary_op::add, selector("a", 0), number(1, 12, 13));  // "a + on(x) 1"
  std::get<binary_expr>(e->node).matching->labels = {"x"};
  std::get<binary_expr>(e->node).matching->on = true;
  auto err = check_types(*e, "a + on(x) 1");
  CAF_REQUIRE(err.has_value());
  CAF_CHECK_EQUAL(err->message, "vector matching only allowed between instant vectors");
  CAF_CHECK_EQUAL(err->pos.start, 0);
}

CAF_TEST(operator errors point at the operator) {
  auto e = binary(binary_op::gtr, number(1, 0, 1), number(2, 6, 7));  // "1  >  2"
  auto err = check_types(*e, "1  >  2");
  CAF_REQUIRE(err.has_value());
  CAF_CHECK_EQUAL(err->message, "comparisons between scalars must use BOOL modifier");
  CAF_CHECK_EQUAL(err->pos.start, 3);
  CAF_CHECK_EQUAL(err->pos.end, 3);
}

CAF_TEST(first error wins in prometheus order) {
  // rate("a") + x[5m]: the call's argument is checked before the operands.
  call_expr call;
  call.func = find_function("rate");
  call.args.push_back(node(string_literal{"a"}, 5, 8));
  auto lhs = node(std::move(call), 0, 9);
  matrix_selector ms;
  ms.selector = selector("x", 12);
  ms.range = 300000;
  auto rhs = node(std::move(ms), 12, 17);
  auto e = binary(binary_op::add, std::move(lhs), std::move(rhs));
  auto err = check_types(*e, "rate(\"a\") + x[5m]");
  CAF_REQUIRE(err.has_value());
  CAF_CHECK_EQUAL(err->message,
                  "expected type range vector in call to function \"rate\", got string");
  CAF_CHECK_EQUAL(err->pos.start, 5);
}

CAF_TEST(selectors need a name or a non empty matcher) {
  vector_selector vs;
  vs.matchers.push_back(
      std::move(nl::storage::matcher::make(nl::storage::match_type::regex, "a", ".*").value()));
  auto e = node(std::move(vs), 0, 9);
  auto err = check_types(*e, "{a=~\".*\"}");
  CAF_REQUIRE(err.has_value());
  CAF_CHECK_EQUAL(err->message, "vector selector must contain at least one non-empty matcher");
}

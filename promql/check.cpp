#include "promql/check.hpp"

#include "promql/functions.hpp"
#include "promql/lexer.hpp"
#include "promql/parser.hpp"

namespace nl::promql {

namespace {

// Unwinds the recursion at the first violation; caught in check_types().
struct stop {
  type_error error;
};

[[noreturn]] void fail(position_range pos, std::string message) {
  throw stop{{pos, std::move(message)}};
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// DocumentedType: the words used in type errors.
std::string_view documented(value_type t) {
  return t == value_type::none ? std::string_view("none") : to_string(t);
}

// ValueType's raw name, used by the subquery error.
std::string_view raw_name(value_type t) {
  switch (t) {
    case value_type::scalar: return "scalar";
    case value_type::vector: return "vector";
    case value_type::matrix: return "matrix";
    case value_type::string: return "string";
    case value_type::none: break;
  }
  return "none";
}

class checker {
 public:
  explicit checker(std::string_view query) : in_(query) {}

  position_range operator_range(const binary_expr& b) const {
    int start = b.lhs->pos.end;
    while (start < static_cast<int>(in_.size()) && is_space(in_[start]))
      ++start;
    int end = b.rhs->pos.start - 1;
    while (end > start && is_space(in_[end]))
      --end;
    return {start, end};
  }

  void expect_type(expr& e, value_type want, std::string_view context) {
    value_type t = check(e);
    if (t != want)
      fail(e.pos, "expected type " + std::string(documented(want)) + " in " +
                      std::string(context) + ", got " + std::string(documented(t)));
  }

  value_type check(expr& e) {
    value_type type = e.type();
    if (auto* agg = std::get_if<aggregate_expr>(&e.node)) {
      expect_type(*agg->inner, value_type::vector, "aggregation expression");
      if (agg->op == aggregate_op::topk || agg->op == aggregate_op::bottomk ||
          agg->op == aggregate_op::quantile)
        expect_type(*agg->param, value_type::scalar, "aggregation parameter");
      if (agg->op == aggregate_op::count_values)
        expect_type(*agg->param, value_type::string, "aggregation parameter");
    } else if (auto* b = std::get_if<binary_expr>(&e.node)) {
      check_binary(e, *b);
    } else if (auto* call = std::get_if<call_expr>(&e.node)) {
      check_call(e, *call);
    } else if (auto* paren = std::get_if<paren_expr>(&e.node)) {
      check(*paren->inner);
    } else if (auto* unary = std::get_if<unary_expr>(&e.node)) {
      value_type t = check(*unary->inner);
      if (t != value_type::scalar && t != value_type::vector)
        fail(e.pos,
             "unary expression only allowed on expressions of type scalar or instant vector, got " +
                 go_quote(documented(t)));
    } else if (auto* sq = std::get_if<subquery_expr>(&e.node)) {
      value_type t = check(*sq->inner);
      if (t != value_type::vector)
        fail(e.pos, "subquery is only allowed on instant vector, got " +
                        std::string(raw_name(t)) + " instead");
    } else if (auto* ms = std::get_if<matrix_selector>(&e.node)) {
      check(*ms->selector);
    } else if (auto* vs = std::get_if<vector_selector>(&e.node)) {
      check_selector(e, *vs);
    }
    return type;
  }

  void check_binary(expr& e, binary_expr& b) {
    value_type lt = check(*b.lhs);
    value_type rt = check(*b.rhs);
    bool comparison = is_comparison(b.op);
    bool set_op = is_set_operator(b.op);
    if (b.return_bool && !comparison)
      fail(operator_range(b), "bool modifier can only be used on comparison operators");
    if (comparison && !b.return_bool && lt == value_type::scalar && rt == value_type::scalar)
      fail(operator_range(b), "comparisons between scalars must use BOOL modifier");
    if (set_op && b.matching && b.matching->card == vector_match_cardinality::one_to_one)
      b.matching->card = vector_match_cardinality::many_to_many;
    if (b.matching && b.matching->on) {
      for (const auto& l1 : b.matching->labels)
        for (const auto& l2 : b.matching->include)
          if (l1 == l2)
            fail(operator_range(b),
                 "label " + go_quote(l1) + " must not occur in ON and GROUP clause at once");
    }
    auto operand_ok = [](value_type t) {
      return t == value_type::scalar || t == value_type::vector;
    };
    if (!operand_ok(lt))
      fail(b.lhs->pos, "binary expression must contain only scalar and instant vector types");
    if (!operand_ok(rt))
      fail(b.rhs->pos, "binary expression must contain only scalar and instant vector types");
    if (lt != value_type::vector || rt != value_type::vector) {
      if (b.matching && !b.matching->labels.empty())
        fail(e.pos, "vector matching only allowed between instant vectors");
      b.matching.reset();
    } else if (set_op && b.matching) {
      auto card = b.matching->card;
      std::string op(to_string(b.op));
      if (card == vector_match_cardinality::one_to_many ||
          card == vector_match_cardinality::many_to_one)
        fail(e.pos, "no grouping allowed for " + go_quote(op) + " operation");
      if (card != vector_match_cardinality::many_to_many)
        fail(e.pos, "set operations must always be many-to-many");
    }
    if ((lt == value_type::scalar || rt == value_type::scalar) && set_op)
      fail(e.pos, "set operator " + go_quote(to_string(b.op)) +
                      " not allowed in binary scalar expression");
  }

  void check_call(expr& e, call_expr& call) {
    const function_info& fn = *call.func;
    size_t nargs = fn.arg_types.size();
    size_t got = call.args.size();
    std::string name = go_quote(fn.name);
    if (fn.variadic == 0) {
      if (nargs != got)
        fail(e.pos, "expected " + std::to_string(nargs) + " argument(s) in call to " + name +
                        ", got " + std::to_string(got));
    } else {
      size_t min = nargs - 1;
      if (min > got)
        fail(e.pos, "expected at least " + std::to_string(min) + " argument(s) in call to " +
                        name + ", got " + std::to_string(got));
      size_t max = min + static_cast<size_t>(fn.variadic);
      if (fn.variadic > 0 && max < got)
        fail(e.pos, "expected at most " + std::to_string(max) + " argument(s) in call to " +
                        name + ", got " + std::to_string(got));
    }
    for (size_t i = 0; i < got; ++i) {
      size_t k = i;
      if (k >= nargs) {
        if (fn.variadic == 0)
          break;
        k = nargs - 1;
      }
      expect_type(*call.args[i], fn.arg_types[k], "call to function " + name);
    }
  }

  void check_selector(expr& e, const vector_selector& vs) {
    if (!vs.name.empty()) {
      // The last matcher is the name itself; another __name__ matcher is a
      // second name.
      for (size_t i = 0; i + 1 < vs.matchers.size(); ++i)
        if (vs.matchers[i].name() == "__name__")
          fail(e.pos, "metric name must not be set twice: " + go_quote(vs.name) + " or " +
                          go_quote(vs.matchers[i].value()));
      return;
    }
    if (!has_non_empty_matcher(vs.matchers))
      fail(e.pos, "vector selector must contain at least one non-empty matcher");
  }


 private:
  std::string_view in_;
};

}  // namespace

std::optional<type_error> check_types(expr& root, std::string_view query) {
  try {
    checker(query).check(root);
  } catch (const stop& s) {
    return s.error;
  }
  return std::nullopt;
}

}  // namespace nl::promql

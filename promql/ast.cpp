#include "promql/ast.hpp"
// Node printing and cloning live in printer.cpp; type() and the op names here.

#include "promql/functions.hpp"

namespace nl::promql {

std::string_view to_string(value_type t) {
  switch (t) {
    case value_type::none: return "none";
    case value_type::scalar: return "scalar";
    case value_type::vector: return "instant vector";
    case value_type::matrix: return "range vector";
    case value_type::string: return "string";
  }
  return "none";
}

std::string_view to_string(binary_op op) {
  switch (op) {
    case binary_op::add: return "+";
    case binary_op::sub: return "-";
    case binary_op::mul: return "*";
    case binary_op::div: return "/";
    case binary_op::mod: return "%";
    case binary_op::pow: return "^";
    case binary_op::atan2: return "atan2";
    case binary_op::eql: return "==";
    case binary_op::neq: return "!=";
    case binary_op::gtr: return ">";
    case binary_op::lss: return "<";
    case binary_op::gte: return ">=";
    case binary_op::lte: return "<=";
    case binary_op::land: return "and";
    case binary_op::lor: return "or";
    case binary_op::lunless: return "unless";
  }
  return "?";
}

bool is_comparison(binary_op op) {
  switch (op) {
    case binary_op::eql:
    case binary_op::neq:
    case binary_op::gtr:
    case binary_op::lss:
    case binary_op::gte:
    case binary_op::lte:
      return true;
    default:
      return false;
  }
}

bool is_set_operator(binary_op op) {
  return op == binary_op::land || op == binary_op::lor || op == binary_op::lunless;
}

std::string_view to_string(aggregate_op op) {
  switch (op) {
    case aggregate_op::sum: return "sum";
    case aggregate_op::min: return "min";
    case aggregate_op::max: return "max";
    case aggregate_op::avg: return "avg";
    case aggregate_op::group: return "group";
    case aggregate_op::stddev: return "stddev";
    case aggregate_op::stdvar: return "stdvar";
    case aggregate_op::count: return "count";
    case aggregate_op::count_values: return "count_values";
    case aggregate_op::bottomk: return "bottomk";
    case aggregate_op::topk: return "topk";
    case aggregate_op::quantile: return "quantile";
  }
  return "?";
}

namespace {

struct type_of {
  value_type operator()(const number_literal&) const { return value_type::scalar; }
  value_type operator()(const string_literal&) const { return value_type::string; }
  value_type operator()(const vector_selector&) const { return value_type::vector; }
  value_type operator()(const matrix_selector&) const { return value_type::matrix; }
  value_type operator()(const subquery_expr&) const { return value_type::matrix; }
  value_type operator()(const paren_expr& p) const { return p.inner->type(); }
  value_type operator()(const unary_expr& u) const { return u.inner->type(); }
  value_type operator()(const binary_expr& b) const {
    // Scalar only when both sides are; strings and ranges are rejected by
    // the parser's type check, not here.
    if (b.lhs->type() == value_type::scalar && b.rhs->type() == value_type::scalar)
      return value_type::scalar;
    return value_type::vector;
  }
  value_type operator()(const call_expr& c) const { return c.func->return_type; }
  value_type operator()(const aggregate_expr&) const { return value_type::vector; }
};

}  // namespace

value_type expr::type() const { return std::visit(type_of{}, node); }

}  // namespace nl::promql

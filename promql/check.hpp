#pragma once
// Prometheus' checkAST: the type rules of PromQL that the grammar does not
// express (operand and argument types, bool and set-operator rules, selector
// rules), reported in Prometheus' words and order.
#include <optional>
#include <string>
#include <string_view>

#include "promql/ast.hpp"

namespace nl::promql {

struct type_error {
  position_range pos;
  std::string message;  ///< without the "1:2: parse error: " prefix
};

/// Checks a freshly parsed tree and returns the first violation, in the order
/// Prometheus finds them. Also settles vector matching as Prometheus does:
/// set operators get many_to_many, and `matching` is dropped unless both
/// operands are instant vectors. `query` is the text the tree was parsed
/// from (operator positions are found in it).
std::optional<type_error> check_types(expr& root, std::string_view query);

}  // namespace nl::promql

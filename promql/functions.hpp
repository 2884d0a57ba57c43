#pragma once
// The table of PromQL functions (Prometheus 2.42, float samples): name,
// argument types, how many optional arguments and the return type. The parser
// checks calls against it and the engine dispatches on it.
#include <string_view>
#include <vector>

#include "promql/ast.hpp"

namespace nl::promql {

struct function_info {
  std::string_view name;
  std::vector<value_type> arg_types;
  /// 0: exactly arg_types.size() arguments; n > 0: the last argument type may
  /// appear 0..n times (so size()-1 .. size()-1+n arguments); -1: the last may
  /// repeat without limit (at least size()-1 arguments).
  int variadic = 0;
  value_type return_type = value_type::vector;
};

/// nullptr when no such function exists.
const function_info* find_function(std::string_view name);

}  // namespace nl::promql

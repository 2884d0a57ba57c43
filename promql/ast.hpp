#pragma once
// The PromQL syntax tree. The parser builds it, the printer turns it back into
// text that parses to the same tree, the analysis finds what to fetch and the
// engine evaluates it. Times and durations are milliseconds.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "storage/matcher.hpp"

namespace nl::promql {

enum class value_type : uint8_t { none, scalar, vector, matrix, string };
std::string_view to_string(value_type t);  // "scalar", "instant vector", "range vector", "string"

/// Byte offsets [start, end) into the query text.
struct position_range {
  int start = 0;
  int end = 0;
};

enum class binary_op : uint8_t {
  add, sub, mul, div, mod, pow, atan2,  // arithmetic
  eql, neq, gtr, lss, gte, lte,         // comparison
  land, lor, lunless,                   // set operators and / or / unless
};
std::string_view to_string(binary_op op);  // "+", "==", "and", "atan2", ...
bool is_comparison(binary_op op);
bool is_set_operator(binary_op op);

enum class aggregate_op : uint8_t {
  sum, min, max, avg, group, stddev, stdvar, count, count_values, bottomk, topk, quantile,
};
std::string_view to_string(aggregate_op op);  // "sum", "count_values", ...

/// `@ start()` / `@ end()` / `@ <timestamp>` / none.
enum class at_modifier : uint8_t { none, timestamp, start, end };

struct function_info;  // functions.hpp
struct expr;
using expr_ptr = std::unique_ptr<expr>;

struct number_literal {
  double value = 0;
};

struct string_literal {
  std::string value;
};

struct vector_selector {
  std::string name;                ///< metric name as written, may be empty
  storage::matcher_list matchers;  ///< includes __name__="name" when name is set
  int64_t offset = 0;              ///< `offset` duration, may be negative
  at_modifier at = at_modifier::none;
  int64_t at_timestamp = 0;        ///< valid when at == timestamp
};

struct matrix_selector {
  expr_ptr selector;  ///< always holds a vector_selector
  int64_t range = 0;
};

struct subquery_expr {
  expr_ptr inner;
  int64_t range = 0;
  int64_t step = 0;  ///< 0: `[range:]`, the engine's default resolution
  int64_t offset = 0;
  at_modifier at = at_modifier::none;
  int64_t at_timestamp = 0;
};

struct paren_expr {
  expr_ptr inner;
};

struct unary_expr {
  bool negate = false;  ///< `-x`; `+x` keeps the node with negate=false
  expr_ptr inner;
};

enum class vector_match_cardinality : uint8_t { one_to_one, many_to_one, one_to_many, many_to_many };

/// on(...)/ignoring(...) with group_left/group_right(...). Present on every
/// binary expression between two instant vectors (Prometheus sets
/// many_to_many for and/or/unless).
struct vector_matching {
  vector_match_cardinality card = vector_match_cardinality::one_to_one;
  std::vector<std::string> labels;  ///< the on/ignoring list, as written
  bool on = false;                  ///< true: on(labels); false: ignoring(labels)
  std::vector<std::string> include; ///< group_left/right(include)
};

struct binary_expr {
  binary_op op = binary_op::add;
  expr_ptr lhs;
  expr_ptr rhs;
  bool return_bool = false;                ///< `bool` modifier on comparisons
  std::optional<vector_matching> matching; ///< set when both sides are vectors
};

struct call_expr {
  const function_info* func = nullptr;
  std::vector<expr_ptr> args;
};

struct aggregate_expr {
  aggregate_op op = aggregate_op::sum;
  expr_ptr inner;
  expr_ptr param;                     ///< k, quantile or label name; else null
  std::vector<std::string> grouping;  ///< by/without list as written
  bool without = false;
  bool has_grouping = false;          ///< a by/without clause was written
};

struct expr {
  std::variant<number_literal, string_literal, vector_selector, matrix_selector, subquery_expr,
               paren_expr, unary_expr, binary_expr, call_expr, aggregate_expr>
      node;
  position_range pos;

  /// The static type: scalar, vector (instant), matrix (range) or string.
  value_type type() const;
  /// Deep copy.
  expr_ptr clone() const;
  /// PromQL text in Prometheus' canonical formatting (what /format_query
  /// returns); parse(to_string()) yields an equal tree.
  std::string to_string() const;
};

}  // namespace nl::promql

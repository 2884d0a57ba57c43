#pragma once
// The PromQL parser (Prometheus 2.42 grammar and type checks). Recursive
// descent with precedence climbing; it throws internally and reports the
// first error, in Prometheus' words, through parse_result.
#include <optional>
#include <string>
#include <string_view>

#include "promql/ast.hpp"
#include "storage/matcher.hpp"

namespace nl::promql {

struct parse_error {
  /// Full text as Prometheus prints it: "1:5: parse error: unclosed left
  /// parenthesis" (line:column, both 1-based, column counted in bytes).
  std::string message;
  position_range pos;  ///< where the error is, byte offsets into the query
};

/// Either a syntax tree (expr != nullptr) or an error.
struct parse_result {
  expr_ptr expr;
  parse_error error;

  bool ok() const { return expr != nullptr; }
  explicit operator bool() const { return ok(); }
};

/// Parses and type-checks a query (ParseExpr). The tree has every
/// vector/vector binary expression's `matching` set and every selector's
/// matchers compiled. Unlike Prometheus, nesting deeper than 256 levels of
/// parentheses/signs/calls or a tree deeper than 1000 nodes is an error
/// ("expression nests too deeply"), so later recursive passes cannot
/// overflow the stack. Thread-safe (no shared state).
parse_result parse(std::string_view query);

struct selector_result {
  storage::matcher_list matchers;  ///< brace matchers, then __name__="name" when named
  std::optional<parse_error> error;

  bool ok() const { return !error; }
  explicit operator bool() const { return ok(); }
};

/// Parses a `match[]` series selector such as `up{job="x"}` (Prometheus'
/// ParseMetricSelector: a vector selector and nothing else; no type checks).
/// Callers then require has_non_empty_matcher() ("match[] must contain at
/// least one non-empty matcher").
selector_result parse_metric_selector(std::string_view selector);

/// True when some matcher rejects the empty string, i.e. the selector cannot
/// select every series.
bool has_non_empty_matcher(const storage::matcher_list& ms);

}  // namespace nl::promql

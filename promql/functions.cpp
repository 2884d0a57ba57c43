#include "promql/functions.hpp"

#include <algorithm>

namespace nl::promql {

namespace {

constexpr auto scalar = value_type::scalar;
constexpr auto vector = value_type::vector;
constexpr auto matrix = value_type::matrix;
constexpr auto str = value_type::string;

// Prometheus 2.42's promql/parser/functions.go for float samples (the native
// histogram functions are left out), sorted by name for binary search.
const std::vector<function_info>& table() {
  static const std::vector<function_info> fns = [] {
    std::vector<function_info> v{
        {"abs", {vector}},
        {"absent", {vector}},
        {"absent_over_time", {matrix}},
        {"acos", {vector}},
        {"acosh", {vector}},
        {"asin", {vector}},
        {"asinh", {vector}},
        {"atan", {vector}},
        {"atanh", {vector}},
        {"avg_over_time", {matrix}},
        {"ceil", {vector}},
        {"changes", {matrix}},
        {"clamp", {vector, scalar, scalar}},
        {"clamp_max", {vector, scalar}},
        {"clamp_min", {vector, scalar}},
        {"cos", {vector}},
        {"cosh", {vector}},
        {"count_over_time", {matrix}},
        {"day_of_month", {vector}, 1},
        {"day_of_week", {vector}, 1},
        {"day_of_year", {vector}, 1},
        {"days_in_month", {vector}, 1},
        {"deg", {vector}},
        {"delta", {matrix}},
        {"deriv", {matrix}},
        {"exp", {vector}},
        {"floor", {vector}},
        {"histogram_quantile", {scalar, vector}},
        {"holt_winters", {matrix, scalar, scalar}},
        {"hour", {vector}, 1},
        {"idelta", {matrix}},
        {"increase", {matrix}},
        {"irate", {matrix}},
        {"label_join", {vector, str, str, str}, -1},
        {"label_replace", {vector, str, str, str, str}},
        {"last_over_time", {matrix}},
        {"ln", {vector}},
        {"log10", {vector}},
        {"log2", {vector}},
        {"max_over_time", {matrix}},
        {"min_over_time", {matrix}},
        {"minute", {vector}, 1},
        {"month", {vector}, 1},
        {"pi", {}, 0, scalar},
        {"predict_linear", {matrix, scalar}},
        {"present_over_time", {matrix}},
        {"quantile_over_time", {scalar, matrix}},
        {"rad", {vector}},
        {"rate", {matrix}},
        {"resets", {matrix}},
        {"round", {vector, scalar}, 1},
        {"scalar", {vector}, 0, scalar},
        {"sgn", {vector}},
        {"sin", {vector}},
        {"sinh", {vector}},
        {"sort", {vector}},
        {"sort_desc", {vector}},
        {"sqrt", {vector}},
        {"stddev_over_time", {matrix}},
        {"stdvar_over_time", {matrix}},
        {"sum_over_time", {matrix}},
        {"tan", {vector}},
        {"tanh", {vector}},
        {"time", {}, 0, scalar},
        {"timestamp", {vector}},
        {"vector", {scalar}},
        {"year", {vector}, 1},
    };
    std::sort(v.begin(), v.end(),
              [](const function_info& a, const function_info& b) { return a.name < b.name; });
    return v;
  }();
  return fns;
}

}  // namespace

const function_info* find_function(std::string_view name) {
  const auto& fns = table();
  auto it = std::lower_bound(fns.begin(), fns.end(), name,
                             [](const function_info& f, std::string_view n) { return f.name < n; });
  if (it == fns.end() || it->name != name)
    return nullptr;
  return &*it;
}

}  // namespace nl::promql

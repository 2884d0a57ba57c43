#pragma once
// Text forms Prometheus uses when it prints PromQL (expr::to_string() is
// declared in ast.hpp and implemented in printer.cpp next to these).
#include <cstdint>
#include <string>

namespace nl::promql {

struct expr;

/// What Prometheus' /api/v1/format_query returns: to_string(), except that
/// nodes longer than 100 characters are split over indented lines.
std::string prettify(const expr& e);

/// Go's "%v" of a float64 ("1e+06", "0.5", "-0", "+Inf", "NaN"): how
/// Prometheus prints number literals.
std::string format_go_float(double v);

/// model.Duration's text for milliseconds ("1h30m", "5m", "1y", "0s");
/// negative values are printed as "-" followed by the positive form.
std::string format_duration(int64_t ms);

}  // namespace nl::promql

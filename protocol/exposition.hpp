#pragma once
// Writers for the Prometheus text exposition format 0.0.4 (GET /metrics),
// spelling numbers the way Go's client libraries do (client_golang 1.14
// through prometheus/common's expfmt), so that Nightlight's /metrics reads
// like every other exporter's.
//
// Go keeps every sample value as a float64 and writes it with strconv's
// 'g' verb and the shortest digits that read back exactly: fixed notation
// when the decimal exponent is in [-4, 6), else exponent notation with at
// least two exponent digits. So 0.0005 stays "0.0005" (not "5e-04", what
// the shortest std::to_chars picks), 1e6 is "1e+06", a start time is
// "1.79644550189e+09"; NaN, +Inf and -Inf are spelled so and -0 is "0".
// Histogram bounds in `le` labels use the same spelling.
//
// Integer counters (uint64 in Nightlight) are written exactly in decimal:
// the same value to every parser, without float64 rounding past 2^53.
#include <cstdint>
#include <string>
#include <string_view>

namespace nl::protocol {

/// Appends `v` as Go's expfmt writes a float (see above).
void append_exposition_float(std::string& out, double v);
std::string exposition_float(double v);

/// "# HELP name help\n# TYPE name type\n". `help` must not contain '\n'
/// or '\\' (Nightlight's texts are constants).
void append_metric_header(std::string& out, std::string_view name, std::string_view type,
                          std::string_view help);

/// "name{labels} v\n", or "name v\n" when `labels` is empty; `labels` is
/// the text inside the braces, e.g. `reason="duplicate"`.
void append_metric_line(std::string& out, std::string_view name, std::string_view labels, uint64_t v);
void append_metric_line(std::string& out, std::string_view name, std::string_view labels, int64_t v);
void append_metric_float_line(std::string& out, std::string_view name, std::string_view labels, double v);

}  // namespace nl::protocol

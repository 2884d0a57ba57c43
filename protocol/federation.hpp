#pragma once
// /federate's answer: the text exposition format (version 0.0.4) exactly as
// Prometheus 2.42's federation handler writes it (web/federate.go through
// expfmt's text encoder):
//
//   # TYPE <name> untyped
//   <name>{<label>="<value>",...,instance=""} <value> <timestamp ms>
//
// - Samples are grouped by metric name, names ascending (Prometheus sorts
//   by name only; within a name the series keep the order given, here the
//   storage's label order).
// - Labels are the series' own in label order without __name__; then
//   `instance=""` when the series has no instance label (Prometheus adds its
//   external labels this way; Nightlight has none, and instance="" is what
//   2.42 adds so that a scraping Prometheus does not put its own target
//   into `instance`).
// - Label values escape backslash, double quote and newline (\\ \" \n);
//   names are written as they are.
// - Values as Go's strconv 'g' -1 (1e+06, 0.1, NaN, +Inf, -Inf; -0 as 0),
//   the timestamp as an integer in milliseconds.
// - Series without a metric name are skipped, as Prometheus does.
// Choosing the samples (the newest within the lookback delta, staleness
// markers dropped) is the caller's work.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/labels.hpp"

namespace nl::protocol {

inline constexpr std::string_view federation_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// One series' newest sample.
struct federated_sample {
  storage::label_set labels;
  int64_t t = 0;  ///< ms since epoch
  double v = 0;
};

/// Appends the exposition of `samples` to `out`; sorts `samples` by metric
/// name first (stable).
void append_federation(std::string& out, std::vector<federated_sample>& samples);

}  // namespace nl::protocol

#pragma once
// Values shared by the query and remote-write clients.
#include <cstdint>
#include <string>
#include <vector>

namespace nightlight::api {

struct label {
  std::string name;
  std::string value;
  friend bool operator==(const label& a, const label& b) {
    return a.name == b.name && a.value == b.value;
  }
};

/// A series' identity, including `__name__`. The query client returns
/// labels sorted by name, as the server stores them.
using label_set = std::vector<label>;

/// One float sample: milliseconds since the Unix epoch and the value
/// (NaN, ±Inf and Prometheus' staleness marker come through bit-exact).
struct sample {
  int64_t timestamp_ms = 0;
  double value = 0;
};

/// Metric types as Prometheus' metadata knows them (prometheus.MetricMetadata
/// enum values).
enum class metric_type : uint8_t {
  unknown = 0,
  counter = 1,
  gauge = 2,
  histogram = 3,
  gaugehistogram = 4,
  summary = 5,
  info = 6,
  stateset = 7,
};

/// "counter", "gauge", ... as /api/v1/metadata prints them.
const char* to_string(metric_type t);

/// TYPE, HELP and UNIT of one metric family.
struct metric_metadata {
  std::string metric_family_name;
  metric_type type = metric_type::unknown;
  std::string help;
  std::string unit;
};

}  // namespace nightlight::api

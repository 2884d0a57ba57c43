#pragma once
// Metric metadata: what a metric family is (type, help text, unit), as
// Prometheus scrapes it from # TYPE / # HELP / # UNIT lines and sends it in
// remote write (prometheus.MetricMetadata). Plain values, shared by the
// remote-write decoder, the WAL records and the metadata store.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nl::storage {

/// prometheus.MetricMetadata.MetricType, with its wire numbers.
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

/// The largest wire number of metric_type.
constexpr uint8_t max_metric_type = static_cast<uint8_t>(metric_type::stateset);

/// "counter", "gauge", ... as /api/v1/metadata prints them ("unknown" for
/// unknown).
std::string_view to_string(metric_type t);

/// The type for a wire number; nullopt above max_metric_type.
std::optional<metric_type> metric_type_of(uint64_t wire);

/// One metric family's metadata as a sender reports it.
struct metric_metadata {
  std::string metric_family_name;  ///< e.g. "http_request_duration_seconds"
  metric_type type = metric_type::unknown;
  std::string help;
  std::string unit;

  /// (type, help, unit): what /api/v1/metadata lists per family.
  bool same_description(const metric_metadata& o) const {
    return type == o.type && help == o.help && unit == o.unit;
  }
  friend bool operator==(const metric_metadata& a, const metric_metadata& b) {
    return a.metric_family_name == b.metric_family_name && a.same_description(b);
  }
};

}  // namespace nl::storage

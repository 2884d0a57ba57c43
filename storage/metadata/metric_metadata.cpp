#include "storage/metadata/metric_metadata.hpp"

namespace nl::storage {

std::string_view to_string(metric_type t) {
  switch (t) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
    case metric_type::gaugehistogram: return "gaugehistogram";
    case metric_type::summary: return "summary";
    case metric_type::info: return "info";
    case metric_type::stateset: return "stateset";
    case metric_type::unknown: break;
  }
  return "unknown";
}

std::optional<metric_type> metric_type_of(uint64_t wire) {
  if (wire > max_metric_type)
    return std::nullopt;
  return static_cast<metric_type>(wire);
}

}  // namespace nl::storage

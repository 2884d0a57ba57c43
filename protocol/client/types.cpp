#include "nightlight/api/types.hpp"

namespace nightlight::api {

const char* to_string(metric_type t) {
  switch (t) {
    case metric_type::unknown: return "unknown";
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
    case metric_type::gaugehistogram: return "gaugehistogram";
    case metric_type::summary: return "summary";
    case metric_type::info: return "info";
    case metric_type::stateset: return "stateset";
  }
  return "unknown";
}

}  // namespace nightlight::api

#pragma once
// JSON answers of /api/v1/query and /api/v1/query_range: a PromQL value in
// Prometheus' envelope (api_json.hpp has the byte-level rules).
#include <string>
#include <vector>

#include "promql/value.hpp"
#include "protocol/api_json.hpp"

namespace nl::protocol {

/// {"status":"success","data":{"resultType":...,"result":...}[,"warnings":[...]]}
/// Vectors keep the engine's order; matrices are printed as given (the
/// engine sorts range results by labels).
std::string render_query_result(const promql::query_value& v,
                                 const std::vector<std::string>& warnings = {});

}  // namespace nl::protocol

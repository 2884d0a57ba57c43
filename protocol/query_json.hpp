#pragma once
// JSON answers of /api/v1/query and /api/v1/query_range: a PromQL value in
// Prometheus' envelope (api_json.hpp has the byte-level rules).
#include <string>
#include <vector>

#include "promql/engine.hpp"
#include "promql/value.hpp"
#include "protocol/api_json.hpp"

namespace nl::protocol {

/// {"status":"success","data":{"resultType":...,"result":...[,"stats":...]}[,"warnings":[...]]}
/// Vectors keep the engine's order; matrices are printed as given (the
/// engine sorts range results by labels). `stats` (optional) adds
/// Prometheus' data.stats (append_query_stats).
std::string render_query_result(const promql::query_value& v,
                                 const std::vector<std::string>& warnings = {},
                                 const promql::query_stats* stats = nullptr);

/// Prometheus 2.42's data.stats, field for field:
/// {"timings":{"evalTotalTime":s,"resultSortTime":s,"queryPreparationTime":s,
/// "innerEvalTime":s,"execQueueTime":s,"execTotalTime":s},"samples":{
/// ["totalQueryableSamplesPerStep":[[t,n],...],]"totalQueryableSamples":n,
/// "peakSamples":n}}; the per-step list only with stats.per_step, its times
/// in seconds as Go writes float64(t)/1000.
void append_query_stats(std::string& out, const promql::query_stats& stats);

}  // namespace nl::protocol

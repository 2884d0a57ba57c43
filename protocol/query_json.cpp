#include "protocol/query_json.hpp"

#include <type_traits>

namespace nl::protocol {

void append_query_stats(std::string& out, const promql::query_stats& st) {
  auto timing = [&](const char* name, double seconds, bool last = false) {
    out += '"';
    out += name;
    out += "\":";
    append_json_number(out, seconds);
    if (!last)
      out += ',';
  };
  out += R"({"timings":{)";
  timing("evalTotalTime", st.eval_total);
  timing("resultSortTime", st.result_sort);
  timing("queryPreparationTime", st.query_preparation);
  timing("innerEvalTime", st.inner_eval);
  timing("execQueueTime", st.exec_queue);
  timing("execTotalTime", st.exec_total, true);
  out += R"(},"samples":{)";
  if (st.per_step && !st.samples.per_step.empty()) {
    out += R"("totalQueryableSamplesPerStep":[)";
    for (size_t i = 0; i < st.samples.per_step.size(); ++i) {
      if (i > 0)
        out += ',';
      out += '[';
      append_timestamp_shortest(out, st.start + static_cast<int64_t>(i) * st.interval);
      out += ',';
      out += std::to_string(st.samples.per_step[i]);
      out += ']';
    }
    out += "],";
  }
  out += R"("totalQueryableSamples":)";
  out += std::to_string(st.samples.total);
  out += R"(,"peakSamples":)";
  out += std::to_string(st.samples.peak);
  out += "}}";
}

std::string render_query_result(const promql::query_value& v, const std::vector<std::string>& warnings,
                                 const promql::query_stats* stats) {
  std::string out;
  begin_success(out);
  std::visit(
    [&](const auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, promql::scalar>) {
        append_scalar_result(out, x.t, x.v);
      } else if constexpr (std::is_same_v<T, promql::string_value>) {
        append_string_result(out, x.t, x.v);
      } else if constexpr (std::is_same_v<T, promql::vector>) {
        std::vector<vector_element> elems;
        elems.reserve(x.size());
        for (const auto& s : x)
          elems.emplace_back(&s.labels, storage::sample{s.t, s.v});
        append_vector_result(out, elems);
      } else {
        std::vector<matrix_series> series;
        series.reserve(x.size());
        for (const auto& s : x)
          series.push_back(matrix_series{&s.labels, s.points.data(), s.points.size()});
        append_matrix_result(out, series);
      }
    },
    v);
  if (stats) {
    out.pop_back();  // the data object's '}'
    out += R"(,"stats":)";
    append_query_stats(out, *stats);
    out += '}';
  }
  end_success(out, warnings);
  return out;
}

}  // namespace nl::protocol

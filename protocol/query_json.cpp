#include "protocol/query_json.hpp"

#include <type_traits>

namespace nl::protocol {

std::string render_query_result(const promql::query_value& v, const std::vector<std::string>& warnings) {
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
  end_success(out, warnings);
  return out;
}

}  // namespace nl::protocol

#include "promql/value.hpp"

#include <algorithm>
#include <cstdio>

namespace nl::promql {

namespace {

std::string format_float(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

void sort_by_labels(matrix& m) {
  std::sort(m.begin(), m.end(), [](const series_points& a, const series_points& b) {
    return storage::label_set::compare(a.labels, b.labels) < 0;
  });
}

std::string to_string(const query_value& v) {
  std::string out;
  if (auto* s = std::get_if<scalar>(&v)) {
    out = "scalar: " + format_float(s->v) + " @[" + std::to_string(s->t) + "]";
  } else if (auto* str = std::get_if<string_value>(&v)) {
    out = "string: " + str->v;
  } else if (auto* vec = std::get_if<vector>(&v)) {
    for (auto& smp : *vec)
      out += smp.labels.to_string() + " => " + format_float(smp.v) + " @[" +
             std::to_string(smp.t) + "]\n";
  } else {
    for (auto& s : std::get<matrix>(v)) {
      out += s.labels.to_string() + " =>";
      for (auto& p : s.points) out += " " + format_float(p.v) + " @[" + std::to_string(p.t) + "]";
      out += "\n";
    }
  }
  return out;
}

}  // namespace nl::promql

#pragma once
// Query results: scalar, string, instant vector and range vector (matrix), as
// the HTTP API returns them. Times are milliseconds since the epoch.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "storage/labels.hpp"
#include "storage/sample.hpp"

namespace nl::promql {

struct scalar {
  int64_t t = 0;
  double v = 0;
};

struct string_value {
  int64_t t = 0;
  std::string v;
};

/// One element of an instant vector.
struct sample {
  storage::label_set labels;
  int64_t t = 0;
  double v = 0;
};
using vector = std::vector<sample>;

/// One point of a range-vector series; the same layout as a stored sample
/// so raw data can be used without copying.
using point = storage::sample;

/// One series of a range vector; points sorted by t.
struct series_points {
  storage::label_set labels;
  std::vector<point> points;
};
using matrix = std::vector<series_points>;

/// What a query evaluates to.
using query_value = std::variant<scalar, vector, matrix, string_value>;

/// Sorts a matrix by label set (the order range queries return).
void sort_by_labels(matrix& m);

/// Prometheus-style text form, for logs and test failure messages.
std::string to_string(const query_value& v);

}  // namespace nl::promql

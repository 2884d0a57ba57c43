#pragma once
// The PromQL evaluator (Prometheus 2.42 semantics, float samples). An
// instant query is a range query with one step. The engine first asks the
// queryable for every selector window of the query's analysis (see
// analysis.hpp; found here, or handed in by a caller that fetched them
// already), then evaluates step by step. Errors inside evaluation are exceptions caught once here and
// returned as query_error.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <variant>

#include "promql/analysis.hpp"
#include "promql/ast.hpp"
#include "promql/queryable.hpp"
#include "promql/value.hpp"

namespace nl::promql {

struct engine_options {
  int64_t lookback_delta = 300000;        ///< ms
  int64_t max_samples = 50000000;         ///< samples held in memory at once
  int64_t default_subquery_step = 60000;  ///< ms, step of `x[5m:]`
  /// Wall-clock budget per query; zero means none.
  std::chrono::milliseconds timeout{0};
  /// Set to true (by another thread) to abandon the running query.
  const std::atomic<bool>* cancel = nullptr;
};

struct query_error {
  /// too_many_samples: over engine_options::max_samples (an execution
  /// error to the HTTP API; told apart so other APIs can say "resource
  /// exhausted").
  enum kind { bad_data, execution, timeout, canceled, internal, too_many_samples };
  kind type = execution;
  std::string message;
};

/// Either a value or an error.
class query_result {
 public:
  query_result(query_value v) : v_(std::move(v)) {}
  query_result(query_error e) : v_(std::move(e)) {}
  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  const query_value& value() const { return std::get<0>(v_); }
  query_value& value() { return std::get<0>(v_); }
  const query_error& error() const { return std::get<1>(v_); }

 private:
  std::variant<query_value, query_error> v_;
};

/// Stateless apart from its options; one engine may run queries on several
/// threads at once (each call has its own evaluator).
class engine {
 public:
  explicit engine(engine_options opts = {}) : opts_(opts) {}

  /// Evaluates at `t` (ms). Vector, scalar, string or (for range/subquery
  /// expressions) matrix results.
  query_result instant(const expr& e, queryable& q, int64_t t) const;
  /// Evaluates at start, start+step, ... <= end (ms). Matrix result sorted by
  /// labels; the expression must be a scalar or instant vector.
  query_result range(const expr& e, queryable& q, int64_t start, int64_t end, int64_t step) const;

  /// The same with the analysis done already: `windows` must be
  /// find_selector_windows(e, t, t or end, options().lookback_delta), and
  /// `q` is asked for each of them by its index there (a caller that
  /// fetched them answers from its fetch; the engine does not analyse
  /// again).
  query_result instant(const expr& e, const std::vector<selector_window>& windows, queryable& q,
                       int64_t t) const;
  query_result range(const expr& e, const std::vector<selector_window>& windows, queryable& q,
                     int64_t start, int64_t end, int64_t step) const;

  const engine_options& options() const { return opts_; }

 private:
  query_result run(const expr& e, const std::vector<selector_window>& windows, queryable& q,
                   int64_t start, int64_t end, int64_t step) const;
  engine_options opts_;
};

}  // namespace nl::promql

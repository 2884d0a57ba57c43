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
#include <vector>

#include "promql/analysis.hpp"
#include "promql/ast.hpp"
#include "promql/queryable.hpp"
#include "promql/value.hpp"

namespace nl::promql {

/// A query's sample statistics, counted as Prometheus 2.42's evaluator
/// counts them (util/stats QuerySamples), so that `stats=all` answers and
/// the max_samples limit agree with Prometheus':
/// - total: samples read by selectors (a vector selector's sample at each
///   step it yields one, a range window's samples at each step it is
///   evaluated, a matrix selector's samples once; a subquery's own reads
///   count only when it is the query's top node);
/// - peak: the most samples held at once (inputs gathered for a step, the
///   results so far, range windows, subquery results);
/// - per_step (only with engine_options::per_step_stats): `total` by
///   the step it was read for, at start, start + step, ... (one entry for
///   an instant query).
struct sample_stats {
  int64_t total = 0;
  int64_t peak = 0;
  std::vector<int64_t> per_step;
};

/// What a finished evaluation took, in seconds (Prometheus' innerEvalTime
/// and resultSortTime; the queue, fetch and total times are the caller's).
struct eval_timings {
  double inner_eval = 0;
  double result_sort = 0;  ///< range queries: sorting the matrix by labels
};

/// Prometheus' data.stats of a query (the `stats` parameter): the engine's
/// sample_stats and evaluation times, and the times the caller measures.
/// All times in seconds, as Prometheus reports them: exec_total from the
/// query's arrival to its answer, exec_queue waiting for a query slot,
/// eval_total from the slot to the answer, query_preparation fetching the
/// series, inner_eval evaluating, result_sort sorting a range result.
struct query_stats {
  sample_stats samples;
  bool per_step = false;  ///< samples.per_step is wanted (stats=all)
  int64_t start = 0;      ///< the steps of samples.per_step: start + i * interval (ms)
  int64_t interval = 1;
  double eval_total = 0;
  double result_sort = 0;
  double query_preparation = 0;
  double inner_eval = 0;
  double exec_queue = 0;
  double exec_total = 0;
};

struct engine_options {
  int64_t lookback_delta = 300000;        ///< ms
  /// Samples held at once, counted as Prometheus counts them
  /// (sample_stats::peak); more fails the query with too_many_samples.
  int64_t max_samples = 50000000;
  int64_t default_subquery_step = 60000;  ///< ms, step of `x[5m:]`
  /// Wall-clock budget per query; zero means none.
  std::chrono::milliseconds timeout{0};
  /// Set to true (by another thread) to abandon the running query.
  const std::atomic<bool>* cancel = nullptr;
  /// Count sample_stats::per_step as well (Prometheus' stats=all).
  bool per_step_stats = false;
};

struct query_error {
  /// too_many_samples: over engine_options::max_samples (an execution
  /// error to the HTTP API; told apart so other APIs can say "resource
  /// exhausted").
  enum kind { bad_data, execution, timeout, canceled, internal, too_many_samples };
  kind type = execution;
  std::string message;
};

/// Either a value (with the statistics of its evaluation) or an error.
class query_result {
 public:
  query_result(query_value v, sample_stats samples = {}, eval_timings timings = {})
      : v_(std::move(v)), samples_(std::move(samples)), timings_(timings) {}
  query_result(query_error e) : v_(std::move(e)) {}
  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  const query_value& value() const { return std::get<0>(v_); }
  query_value& value() { return std::get<0>(v_); }
  const query_error& error() const { return std::get<1>(v_); }
  const sample_stats& samples() const { return samples_; }
  const eval_timings& timings() const { return timings_; }

 private:
  std::variant<query_value, query_error> v_;
  sample_stats samples_;
  eval_timings timings_;
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

#pragma once
// Internal to the engine: the step-wise evaluator shared by engine.cpp,
// eval_functions.cpp, eval_aggregations.cpp and eval_binary.cpp.
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "promql/engine.hpp"
#include "promql/literals.hpp"

namespace nl::promql::detail {

/// Thrown inside the evaluator, caught once in engine::run.
struct eval_error {
  query_error::kind kind;
  std::string message;
};

[[noreturn]] void fail(std::string message);  // execution error

/// One element of an instant vector during a step. The labels live in an
/// input matrix or in an arena owned by the node being evaluated; `series`
/// indexes the input matrix it came from (unused for outputs).
struct step_sample {
  const storage::label_set* labels;
  double v;
  uint32_t series;
};
using step_vector = std::vector<step_sample>;

/// Stable storage for label sets produced while evaluating a node.
using label_arena = std::deque<storage::label_set>;

/// State shared by all evaluators of one query.
struct query_context {
  const engine_options* opts;
  int64_t query_start;
  int64_t query_end;
  std::chrono::steady_clock::time_point deadline;
  bool has_deadline = false;
  /// What select() answered for one selector node, and the window asked.
  struct selected {
    int64_t mint;  ///< ms, inclusive
    int64_t maxt;
    std::vector<series> all;
  };
  /// Raw series per selector node, fetched before evaluation.
  std::unordered_map<const vector_selector*, selected> data;
  int64_t current_samples = 0;
  uint32_t ticks = 0;
  /// Raised when one part of a for_each_series() failed: the other parts
  /// stop at their next check().
  std::atomic<bool> abandoned{false};

  /// Throws canceled/timeout. Cheap; call per step and per series. Safe to
  /// call from for_each_series() parts.
  void check();
  /// Throws like add_samples() when `held` samples would exceed the limit;
  /// for for_each_series() parts, which count on their own.
  void check_held(int64_t held) const;
  /// check() every 1024 calls, for inner loops.
  void tick() {
    if (++ticks % 1024 == 0) check();
  }
  void add_samples(int64_t n);
  /// The samples of `s` (one series of `d`): s.samples, or its chunks
  /// decoded into `buf`. Throws on a corrupt chunk.
  const std::vector<storage::sample>& samples_of(const selected& d, const series& s,
                                                 std::vector<storage::sample>& buf);
};

class group_index;
struct range_function;

class evaluator {
 public:
  evaluator(query_context& ctx, int64_t start, int64_t end, int64_t interval)
      : ctx_(ctx), start_(start), end_(end), interval_(interval) {}

  /// Evaluates a non-string expression to a matrix: one point per step per
  /// series (vectors, scalars) or raw windows (matrix selectors, subqueries
  /// at the top of an instant query).
  matrix eval(const expr& e);

  int64_t start() const { return start_; }
  int64_t end() const { return end_; }
  int64_t interval() const { return interval_; }
  size_t steps() const { return static_cast<size_t>((end_ - start_) / interval_) + 1; }
  query_context& ctx() { return ctx_; }

  using step_fn = void (*)(void* state, const std::vector<step_vector>& in, int64_t ts,
                           step_vector& out);
  /// Walks the steps: gathers each input matrix's points at the step into a
  /// step_vector, calls fn, and assembles the outputs into series. Fails
  /// when one step's output holds the same label set twice.
  template <class F>
  matrix combine(std::vector<matrix>& inputs, F&& fn) {
    return combine_impl(
        inputs,
        [](void* state, const std::vector<step_vector>& in, int64_t ts, step_vector& out) {
          (*static_cast<F*>(state))(in, ts, out);
        },
        &fn);
  }

  /// Pointwise, series by series: each input series keeps its points
  /// (f(value, step index, out) == false drops one) and gets its labels
  /// rewritten by relabel(label_set&) when `relabel_changes` says it may
  /// change them. Much cheaper than combine() for one-to-one operations;
  /// series whose new labels coincide are merged, and a shared timestamp
  /// is the same-labelset error that combine() would raise.
  template <class Relabel, class F>
  matrix map_series(matrix in, bool relabel_changes, Relabel&& relabel, F&& f) {
    int64_t before = 0, after = 0;
    matrix out;
    out.reserve(in.size());
    for (auto& s : in) {
      ctx_.tick();
      before += static_cast<int64_t>(s.points.size());
      size_t w = 0;
      for (auto& p : s.points) {
        double v;
        if (f(p.v, static_cast<size_t>((p.t - start_) / interval_), v)) s.points[w++] = {p.t, v};
      }
      s.points.resize(w);
      if (w == 0) continue;
      after += static_cast<int64_t>(w);
      if (relabel_changes) relabel(s.labels);
      out.push_back(std::move(s));
    }
    ctx_.current_samples -= before - after;
    if (relabel_changes) merge_same_labels(out);
    return out;
  }

  /// Calls fn(i, part) for every i in [0, n), in order within a part. Many
  /// series (n >= parallel_min_series) are split into contiguous parts, one
  /// per core, run on this thread and the shared helpers (run_parts); part says
  /// which (0 .. parallel_parts(n) - 1), for per-part scratch space. fn may
  /// only read shared state, call ctx().check()/check_held() and write
  /// its own outputs. The first error is rethrown once all parts stopped.
  void for_each_series(size_t n, const std::function<void(size_t, size_t)>& fn);
  /// How many parts for_each_series(n) uses.
  static size_t parallel_parts(size_t n);
  static constexpr size_t parallel_min_series = 256;

  /// A scalar expression's value at every step (NaN where it has none).
  std::vector<double> scalar_steps(const matrix& m) const;

  /// `@` resolved: the pinned time, or nullopt.
  std::optional<int64_t> at_time(at_modifier at, int64_t ts) const;

  // Per-node evaluation, split over the eval_*.cpp files.
  matrix eval_call(const call_expr& c);
  matrix eval_aggregate(const aggregate_expr& a);
  matrix eval_binary(const binary_expr& b);
  /// Vector selector at every step; with `timestamps` the values are the
  /// sample timestamps in seconds (for timestamp()).
  matrix eval_vector_selector(const vector_selector& vs, bool timestamps);
  matrix eval_subquery(const subquery_expr& sq);

 private:
  matrix combine_impl(std::vector<matrix>& inputs, step_fn fn, void* state);
  matrix eval_matrix_selector(const matrix_selector& ms);
  /// A range-vector function (eval_functions.cpp): series by series, its
  /// window sliding forward with the steps.
  matrix eval_range_function(const call_expr& c, const range_function& f);
  void merge_same_labels(matrix& m);
  std::optional<matrix> aggregate_series_major(aggregate_op op, const matrix& in,
                                               const std::vector<size_t>& series_group,
                                               const group_index& groups);

  query_context& ctx_;
  int64_t start_;
  int64_t end_;
  int64_t interval_;
};

/// Fails with Prometheus' "same labelset" error when two series of `m`
/// have equal labels.
void check_distinct_labels(const matrix& m);
/// Strips parentheses.
const expr& unwrap_parens(const expr& e);
/// Copy of `ls` without __name__.
storage::label_set drop_metric_name(const storage::label_set& ls);
/// Go's strconv.FormatFloat(v, 'f', -1, 64) and friends for label values.
std::string format_float_label(double v);

/// Aggregation/quantile helpers shared with functions.
double quantile(double q, std::vector<double>& values);
std::pair<double, double> kahan_add(double inc, double sum, double c);

}  // namespace nl::promql::detail

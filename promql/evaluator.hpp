#pragma once
// Internal to the engine: the step-wise evaluator shared by engine.cpp,
// eval_functions.cpp, eval_aggregations.cpp and eval_binary.cpp.
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
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
  /// Nodes Prometheus wraps in a StepInvariantExpr (step_invariant_nodes):
  /// evaluated at the first step only and copied to the others.
  std::unordered_set<const expr*> step_invariant;
  /// Samples held right now, as Prometheus' evaluator counts them (its
  /// currentSamples); the peak goes into the evaluator's sample_stats.
  int64_t samples = 0;
  uint32_t ticks = 0;
  /// Raised when one part of a for_each_series() failed: the other parts
  /// stop at their next check().
  std::atomic<bool> abandoned{false};

  /// Throws canceled/timeout. Cheap; call per step and per series. Safe to
  /// call from for_each_series() parts.
  void check();
  /// Throws too_many_samples when `held` is over the limit. Also called by
  /// for_each_series() parts with a lower bound of what Prometheus would
  /// hold by then, to stop early.
  void check_held(int64_t held) const;
  /// check() every 1024 calls, for inner loops.
  void tick() {
    if (++ticks % 1024 == 0) check();
  }
  /// The samples of `s` (one series of `d`): s.samples, or its chunks
  /// decoded into `buf`. Throws on a corrupt chunk.
  const std::vector<storage::sample>& samples_of(const selected& d, const series& s,
                                                 std::vector<storage::sample>& buf);
};

class group_index;
struct range_function;

/// Sample accounting: every node leaves ctx().samples where Prometheus'
/// evaluator leaves its currentSamples, and raises the peak of `stats`
/// (the query's, or a child's inside a subquery or a step-invariant node,
/// as in Prometheus) wherever Prometheus' would reach a higher count. The
/// max_samples limit is checked against the same numbers.
class evaluator {
 public:
  evaluator(query_context& ctx, int64_t start, int64_t end, int64_t interval, sample_stats& stats)
      : ctx_(ctx), start_(start), end_(end), interval_(interval), stats_(stats) {}

  /// Evaluates a non-string expression to a matrix: one point per step per
  /// series (vectors, scalars) or raw windows (matrix selectors, subqueries
  /// at the top of an instant query). A step-invariant node is evaluated at
  /// the first step and copied to the others.
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
  ///
  /// Accounted as Prometheus' rangeEval over `in` and the node's other
  /// arguments `also_gathered` (scalar arguments, read by `f` directly).
  template <class Relabel, class F>
  matrix map_series(matrix in, bool relabel_changes, Relabel&& relabel, F&& f,
                    std::initializer_list<const matrix*> also_gathered = {}) {
    std::vector<int64_t> gathered(steps(), 0), produced(steps(), 0);
    for (const matrix* m : also_gathered)
      if (m != nullptr) count_points(*m, gathered);
    matrix out;
    out.reserve(in.size());
    for (auto& s : in) {
      ctx_.tick();
      size_t w = 0;
      for (auto& p : s.points) {
        double v;
        const auto step = static_cast<size_t>((p.t - start_) / interval_);
        gathered[step] += 1;
        if (f(p.v, step, v)) {
          s.points[w++] = {p.t, v};
          produced[step] += 1;
        }
      }
      s.points.resize(w);
      if (w == 0) continue;
      if (relabel_changes) relabel(s.labels);
      out.push_back(std::move(s));
    }
    finish_range_eval(gathered, produced);
    if (relabel_changes) merge_same_labels(out);
    return out;
  }

  // -- sample accounting (see the class comment) -----------------------

  /// Raises the peak to `held` samples; fails the query above the limit.
  void note_held(int64_t held);
  /// `n` samples read for step `step` (sample_stats::total, per_step).
  void count_read(size_t step, int64_t n);
  /// Adds m's points to `per_step` by their step.
  void count_points(const matrix& m, std::vector<int64_t>& per_step) const;
  /// The end of a node Prometheus evaluates with rangeEval, its arguments
  /// evaluated: `gathered[s]` input samples and `produced[s]` output samples
  /// at step s. Raises the peak step by step and leaves ctx().samples at
  /// the node's entry count plus its output.
  void finish_range_eval(const std::vector<int64_t>& gathered, const std::vector<int64_t>& produced);
  /// ctx().samples when the node being evaluated began (Prometheus'
  /// originalNumSamples).
  int64_t node_entry() const { return entries_.back(); }
  sample_stats& stats() { return stats_; }

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
  /// sample timestamps in seconds, for timestamp(), which accounts for
  /// them itself.
  matrix eval_vector_selector(const vector_selector& vs, bool timestamps);
  /// A subquery's points. Its reads count in the total only with
  /// `count_reads` (a subquery evaluated on its own, not as a range
  /// function's argument, whose windows count instead).
  matrix eval_subquery(const subquery_expr& sq, bool count_reads);

 private:
  /// eval() without the step-invariance check: `e` itself is evaluated.
  matrix eval_node(const expr& e);
  /// A step-invariant node: evaluated at start_ by a one-step evaluator
  /// with stats of its own, and copied to the other steps.
  matrix eval_step_invariant(const expr& e);
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
  sample_stats& stats_;
  /// ctx_.samples at the entry of every node being evaluated (node_entry()).
  std::vector<int64_t> entries_;
};

/// The nodes of `e` that Prometheus 2.42's PreprocessExpr wraps in a
/// StepInvariantExpr: the largest subtrees whose value is the same at every
/// step (selectors with `@`, literals, and what is built from them only,
/// except through the functions that read the evaluation time).
std::unordered_set<const expr*> step_invariant_nodes(const expr& e);

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

#define CAF_SUITE promql.stats
#include "test_support.hpp"

#include "promql/engine.hpp"
#include "promql/evaluator.hpp"
#include "promql/memory_queryable.hpp"
#include "promql/parser.hpp"

// Sample statistics as Prometheus 2.42's evaluator counts them. The
// expected numbers are worked out by hand from its engine.go (rangeEval,
// the range-function loop, subqueries, StepInvariantExpr); the e2e test
// query_stats compares the same numbers with a real Prometheus.

using namespace nl;
using namespace nl::promql;

namespace {

// x{i="0"} and x{i="1"}: a sample every 10 s from 0 to 100 s.
memory_queryable two_series() {
  memory_queryable q;
  for (int k = 0; k < 2; ++k) {
    std::vector<storage::sample> s;
    for (int64_t t = 0; t <= 100000; t += 10000) s.push_back({t, static_cast<double>(t) / 1000});
    q.add(storage::label_set::from_unsorted({{"__name__", "x"}, {"i", std::to_string(k)}}), s);
  }
  return q;
}

struct counted {
  int64_t total, peak;
  std::vector<int64_t> per_step;
};

// A range query from 30 s to 60 s every 10 s (4 steps), or an instant one
// at 60 s, with per-step statistics.
counted range_stats(const std::string& text, int64_t max_samples = 50000000) {
  auto q = two_series();
  engine_options o;
  o.per_step_stats = true;
  o.max_samples = max_samples;
  auto e = parse(text);
  CAF_REQUIRE(e);
  auto r = engine(o).range(*e.expr, q, 30000, 60000, 10000);
  if (!r) {
    CAF_CHECK_EQUAL(r.error().type, query_error::too_many_samples);
    return {-1, -1, {}};
  }
  return {r.samples().total, r.samples().peak, r.samples().per_step};
}

counted instant_stats(const std::string& text) {
  auto q = two_series();
  engine_options o;
  o.per_step_stats = true;
  auto e = parse(text);
  CAF_REQUIRE(e);
  auto r = engine(o).instant(*e.expr, q, 60000);
  CAF_REQUIRE(r.is_ok());
  return {r.samples().total, r.samples().peak, r.samples().per_step};
}

using steps = std::vector<int64_t>;

}  // namespace

CAF_TEST(a selector reads and holds one sample per series and step) {
  auto s = range_stats("x");
  CAF_CHECK_EQUAL(s.total, 8);
  CAF_CHECK_EQUAL(s.peak, 8);
  CAF_CHECK_EQUAL(s.per_step, (steps{2, 2, 2, 2}));
  auto i = instant_stats("x");
  CAF_CHECK_EQUAL(i.total, 2);
  CAF_CHECK_EQUAL(i.peak, 2);
  CAF_CHECK_EQUAL(i.per_step, (steps{2}));
}

CAF_TEST(range functions read their windows and hold the output series by series) {
  // Windows [t-20s, t] hold 3 samples; series 0 holds its window, then its
  // 4 outputs and last window (7); series 1 adds that to series 0's 4.
  auto s = range_stats("rate(x[20s])");
  CAF_CHECK_EQUAL(s.total, 24);
  CAF_CHECK_EQUAL(s.per_step, (steps{6, 6, 6, 6}));
  CAF_CHECK_EQUAL(s.peak, 11);
}

CAF_TEST(an aggregation gathers its input at each step on top of its whole input) {
  // After rate: 8 held (peak 11). Per step 2 gathered and 1 made on top of
  // the 8 and the sums so far: 11, 12, 13, 14.
  auto s = range_stats("sum(rate(x[20s]))");
  CAF_CHECK_EQUAL(s.total, 24);
  CAF_CHECK_EQUAL(s.peak, 14);
}

CAF_TEST(a binary operation holds both sides) {
  // x (8) and the literal (4) held; per step 3 gathered, 2 made: 12 + 3 *
  // 2 + 3 + 2.
  auto s = range_stats("x * 2");
  CAF_CHECK_EQUAL(s.total, 8);
  CAF_CHECK_EQUAL(s.peak, 23);
}

CAF_TEST(timestamp selects step by step) {
  // Per step 2 selected and 2 made, on top of the outputs so far.
  auto s = range_stats("timestamp(x)");
  CAF_CHECK_EQUAL(s.total, 8);
  CAF_CHECK_EQUAL(s.per_step, (steps{2, 2, 2, 2}));
  CAF_CHECK_EQUAL(s.peak, 10);
}

CAF_TEST(a step invariant node is evaluated once and copied) {
  // sum(x @ 50) once: 2 read, peak 2 + 2 + 1; its reads count at every
  // step; copies: 1 + 3 held.
  auto s = range_stats("sum(x @ 50)");
  CAF_CHECK_EQUAL(s.total, 8);
  CAF_CHECK_EQUAL(s.per_step, (steps{2, 2, 2, 2}));
  CAF_CHECK_EQUAL(s.peak, 5);
  auto nodes = detail::step_invariant_nodes(*parse("rate(x[5m]) + sum(x @ 50) * time()").expr);
  CAF_CHECK_EQUAL(nodes.size(), 1u);  // sum(x @ 50); time() reads the step, rate is not pinned
  CAF_CHECK_EQUAL(detail::step_invariant_nodes(*parse("vector(1)").expr).size(), 1u);
  CAF_CHECK_EQUAL(detail::step_invariant_nodes(*parse("hour(vector(1))").expr).size(), 1u);  // the argument
  CAF_CHECK_EQUAL(detail::step_invariant_nodes(*parse("x").expr).size(), 0u);
}

CAF_TEST(a subquery reads for the function over it only) {
  // Instant at 60 s: the subquery x[30s:10s] holds 8 points (its own reads
  // are not counted); the windows read 4 per series; held 8 + 1 + 4, then
  // + 1 more for series 1.
  auto s = instant_stats("max_over_time(x[30s:10s])");
  CAF_CHECK_EQUAL(s.total, 8);
  CAF_CHECK_EQUAL(s.per_step, (steps{8}));
  CAF_CHECK_EQUAL(s.peak, 14);
  // On its own (an instant query of a subquery) its reads count.
  auto alone = instant_stats("x[30s:10s]");
  CAF_CHECK_EQUAL(alone.total, 8);
  CAF_CHECK_EQUAL(alone.peak, 8);
}

CAF_TEST(the sample limit is the peak) {
  CAF_CHECK_EQUAL(range_stats("rate(x[20s])", 11).peak, 11);
  CAF_CHECK_EQUAL(range_stats("rate(x[20s])", 10).peak, -1);  // too_many_samples
  CAF_CHECK_EQUAL(range_stats("x * 2", 23).peak, 23);
  CAF_CHECK_EQUAL(range_stats("x * 2", 22).peak, -1);
}

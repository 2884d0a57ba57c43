#define CAF_SUITE promql.engine
#include "test_support.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "promql/analysis.hpp"
#include "promql/engine.hpp"
#include "promql/memory_queryable.hpp"
#include "promql/parser.hpp"
#include "storage/chunk/xor_chunk.hpp"

using namespace nl;
using namespace nl::promql;

namespace {

storage::label_set ls(std::vector<storage::label> l) {
  return storage::label_set::from_unsorted(std::move(l));
}

// `n` series x{i="k"} with one sample every 15s over [0, span] ms.
memory_queryable counters(int n, int64_t span) {
  memory_queryable q;
  for (int k = 0; k < n; ++k) {
    std::vector<storage::sample> s;
    for (int64_t t = 0; t <= span; t += 15000) s.push_back({t, static_cast<double>(t) / 1000});
    q.add(ls({{"__name__", "x"}, {"i", std::to_string(k)}, {"g", std::to_string(k % 3)}}), s);
  }
  return q;
}

expr_ptr must_parse(const std::string& q) {
  auto r = parse(q);
  if (!r) CAF_FAIL("parse failed: " << r.error.message);
  return std::move(r.expr);
}

}  // namespace

CAF_TEST(range evaluation yields points exactly at start plus k times step) {
  auto q = counters(2, 3600000);
  engine eng;
  auto e = must_parse("x");
  auto r = eng.range(*e, q, 1000, 1000 + 7 * 60000 + 5, 60000);
  CAF_REQUIRE(r.is_ok());
  auto& m = std::get<matrix>(r.value());
  CAF_REQUIRE_EQUAL(m.size(), 2u);
  CAF_REQUIRE_EQUAL(m[0].points.size(), 8u);
  for (size_t k = 0; k < 8; ++k) {
    CAF_CHECK_EQUAL(m[0].points[k].t, 1000 + static_cast<int64_t>(k) * 60000);
    // Newest sample at or before the step: 15s grid.
    int64_t t = 1000 + static_cast<int64_t>(k) * 60000;
    CAF_CHECK_EQUAL(m[0].points[k].v, static_cast<double>(t / 15000 * 15000) / 1000);
  }
}

CAF_TEST(instant query equals the middle step of a range query) {
  auto q = counters(3, 3600000);
  engine eng;
  auto e = must_parse("sum by (g) (rate(x[5m])) * 2");
  auto inst = eng.instant(*e, q, 1800000);
  auto rng = eng.range(*e, q, 1740000, 1860000, 60000);
  CAF_REQUIRE(inst.is_ok() && rng.is_ok());
  auto& v = std::get<vector>(inst.value());
  auto& m = std::get<matrix>(rng.value());
  CAF_REQUIRE_EQUAL(v.size(), 3u);
  CAF_REQUIRE_EQUAL(m.size(), 3u);
  for (auto& s : v) {
    CAF_CHECK_EQUAL(s.t, 1800000);
    CAF_CHECK(std::abs(s.v - 2.0) < 1e-9);
  }
}

CAF_TEST(a set cancel flag stops the query with canceled) {
  auto q = counters(10, 3600000);
  std::atomic<bool> cancel{true};
  engine_options o;
  o.cancel = &cancel;
  engine eng(o);
  auto e = must_parse("sum(rate(x[5m]))");
  auto r = eng.range(*e, q, 0, 3600000, 1000);
  CAF_REQUIRE(!r.is_ok());
  CAF_CHECK_EQUAL(r.error().type, query_error::canceled);
}

CAF_TEST(cancel from another thread ends a long query promptly) {
  auto q = counters(200, 6 * 3600000);
  std::atomic<bool> cancel{false};
  engine_options o;
  o.cancel = &cancel;
  engine eng(o);
  // Many steps over a deep subquery: seconds of work if not stopped.
  auto e = must_parse("sum(max_over_time(rate(x[5m])[1h:1s]))");
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cancel = true;
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = eng.range(*e, q, 3600000, 6 * 3600000, 1000);
  auto took = std::chrono::steady_clock::now() - t0;
  t.join();
  CAF_REQUIRE(!r.is_ok());
  CAF_CHECK_EQUAL(r.error().type, query_error::canceled);
  CAF_CHECK(took < std::chrono::milliseconds(1000));
}

CAF_TEST(timeout ends a long query with timeout) {
  auto q = counters(200, 6 * 3600000);
  engine_options o;
  o.timeout = std::chrono::milliseconds(30);
  engine eng(o);
  auto e = must_parse("sum(max_over_time(rate(x[5m])[1h:1s]))");
  auto r = eng.range(*e, q, 3600000, 6 * 3600000, 1000);
  CAF_REQUIRE(!r.is_ok());
  CAF_CHECK_EQUAL(r.error().type, query_error::timeout);
}

CAF_TEST(max_samples fails queries that hold too many samples) {
  auto q = counters(50, 3600000);
  engine_options o;
  o.max_samples = 1000;
  engine eng(o);
  auto e = must_parse("x");
  auto r = eng.range(*e, q, 0, 3600000, 60000);  // 50 series x 61 steps
  CAF_REQUIRE(!r.is_ok());
  CAF_CHECK_EQUAL(r.error().type, query_error::too_many_samples);
  CAF_CHECK_EQUAL(r.error().message,
                  "query processing would load too many samples into memory in query execution");
  auto small = eng.instant(*e, q, 3600000);  // 50 samples: fine
  CAF_CHECK(small.is_ok());
  // More steps than the limit fails before allocating per-step buffers.
  auto steps = eng.range(*must_parse("vector(1)"), q, 0, 86400000, 1);
  CAF_REQUIRE(!steps.is_ok());
  CAF_CHECK_EQUAL(steps.error().type, query_error::too_many_samples);
}

CAF_TEST(staleness marker hides a series until the next real sample) {
  memory_queryable q;
  q.add(ls({{"__name__", "m"}}), {{0, 1}, {10000, storage::stale_nan()}, {20000, 2}});
  engine eng;
  auto e = must_parse("m");
  auto at = [&](int64_t t) {
    auto r = eng.instant(*e, q, t);
    CAF_REQUIRE(r.is_ok());
    return std::get<vector>(r.value()).size();
  };
  CAF_CHECK_EQUAL(at(5000), 1u);
  CAF_CHECK_EQUAL(at(15000), 0u);
  CAF_CHECK_EQUAL(at(25000), 1u);
  CAF_CHECK_EQUAL(at(20000 + 300000), 1u);  // lookback is a closed interval
  CAF_CHECK_EQUAL(at(20000 + 300001), 0u);
}

CAF_TEST(analysis lists the windows selectors need) {
  auto e = must_parse("rate(a[5m] offset 1m) + b @ 100 + max_over_time(c[10m:1m] offset 2m)");
  auto w = find_selector_windows(*e, 1000000, 2000000, 300000);
  CAF_REQUIRE_EQUAL(w.size(), 3u);
  CAF_CHECK_EQUAL(w[0].mint, 1000000 - 60000 - 300000);
  CAF_CHECK_EQUAL(w[0].maxt, 2000000 - 60000);
  CAF_CHECK_EQUAL(w[1].mint, 100000 - 300000);
  CAF_CHECK_EQUAL(w[1].maxt, 100000);
  CAF_CHECK_EQUAL(w[2].mint, 1000000 - 120000 - 600000 - 300000);
  CAF_CHECK_EQUAL(w[2].maxt, 2000000 - 120000);
  auto [lo, hi] = min_max_time(w);
  CAF_CHECK_EQUAL(lo, 100000 - 300000);
  CAF_CHECK_EQUAL(hi, 2000000 - 60000);
}

CAF_TEST(range queries reject range-vector expressions) {
  auto q = counters(1, 60000);
  engine eng;
  auto e = must_parse("x[5m]");
  auto r = eng.range(*e, q, 0, 60000, 1000);
  CAF_REQUIRE(!r.is_ok());
  CAF_CHECK_EQUAL(r.error().type, query_error::bad_data);
  auto bad_step = eng.range(*must_parse("x"), q, 0, 60000, 0);
  CAF_CHECK(!bad_step.is_ok());
}

// 600 series are split over the cores (evaluator::for_each_series); every
// series must come out as it does when evaluated alone.
CAF_TEST(range functions over many series give each series its own answer) {
  auto q = counters(600, 3600000);
  engine eng;
  auto all = eng.range(*must_parse("rate(x[5m])"), q, 600000, 3600000, 60000);
  CAF_REQUIRE(all.is_ok());
  auto& m = std::get<matrix>(all.value());
  CAF_REQUIRE_EQUAL(m.size(), 600u);
  for (int k = 0; k < 600; k += 37) {
    auto one = eng.range(*must_parse("rate(x{i=\"" + std::to_string(k) + "\"}[5m])"), q, 600000,
                         3600000, 60000);
    CAF_REQUIRE(one.is_ok());
    auto& s = std::get<matrix>(one.value()).at(0);
    auto it = std::find_if(m.begin(), m.end(), [&](auto& x) { return x.labels == s.labels; });
    CAF_REQUIRE(it != m.end());
    CAF_CHECK_EQUAL(it->points.size(), s.points.size());
    for (size_t i = 0; i < s.points.size() && i < it->points.size(); ++i) {
      CAF_CHECK_EQUAL(it->points[i].t, s.points[i].t);
      CAF_CHECK_EQUAL(it->points[i].v, s.points[i].v);
    }
  }
}

CAF_TEST(a failing part of a split evaluation fails the query once) {
  auto q = counters(600, 3600000);
  engine_options o;
  o.max_samples = 20000;  // 600 series x 51 steps of output is more
  engine eng(o);
  auto r = eng.range(*must_parse("rate(x[5m])"), q, 600000, 3600000, 60000);
  CAF_REQUIRE(!r.is_ok());
  CAF_CHECK_EQUAL(r.error().type, query_error::too_many_samples);
  CAF_CHECK_EQUAL(r.error().message,
                  "query processing would load too many samples into memory in query execution");
  std::atomic<bool> cancel{true};
  engine_options c;
  c.cancel = &cancel;
  auto canceled = engine(c).range(*must_parse("rate(x[5m])"), q, 600000, 3600000, 60000);
  CAF_REQUIRE(!canceled.is_ok());
  CAF_CHECK_EQUAL(canceled.error().type, query_error::canceled);
  // The engine is usable again afterwards.
  CAF_CHECK(eng.range(*must_parse("rate(x{i=\"1\"}[5m])"), q, 600000, 3600000, 60000).is_ok());
}

CAF_TEST(dropping the name from colliding series fails the query) {
  memory_queryable q;
  q.add(ls({{"__name__", "a"}, {"x", "1"}}), {{0, 1}});
  q.add(ls({{"__name__", "b"}, {"x", "1"}}), {{0, 2}});
  q.add(ls({{"__name__", "b"}, {"x", "2"}}), {{0, 3}});
  engine eng;
  for (auto text : {"-{__name__=~\"a|b\"}", "changes({__name__=~\"a|b\"}[5m])"}) {
    auto r = eng.instant(*must_parse(text), q, 0);
    CAF_REQUIRE(!r.is_ok());
    CAF_CHECK_EQUAL(r.error().message, "vector cannot contain metrics with the same labelset");
  }
  auto fine = eng.instant(*must_parse("-{__name__=~\"a|b\", x=\"2\"}"), q, 0);
  CAF_CHECK(fine.is_ok());
}

namespace {

// Serves a memory_queryable's series as XOR chunks of up to 120 samples,
// as the head does, so the engine takes its chunk paths.
class chunked_queryable : public queryable {
 public:
  explicit chunked_queryable(memory_queryable& inner) : inner_(inner) {}
  std::vector<series> select(size_t, const selector_window& w) override {
    auto out = inner_.select(w.selector->matchers, w.mint, w.maxt);
    for (auto& s : out) {
      storage::xor_appender app;
      for (auto& smp : s.samples) {
        if (app.num_samples() == 120) s.chunks.push_back(app.cut());
        app.append(smp.t, smp.v);
      }
      if (!app.empty()) s.chunks.push_back(app.snapshot());
      s.samples.clear();
    }
    return out;
  }

 private:
  memory_queryable& inner_;
};

}  // namespace

CAF_TEST(instant selectors over chunks answer as over decoded samples) {
  // The newest sample may be read from the chunk instead of decoding it:
  // at, after and before a chunk's end, past the lookback, behind a
  // staleness marker, with offset and @.
  memory_queryable q;
  std::vector<storage::sample> a;
  for (int64_t t = 0; t <= 3000000; t += 15000) a.push_back({t, static_cast<double>(t % 7)});
  q.add(ls({{"__name__", "x"}, {"s", "a"}}), a);
  q.add(ls({{"__name__", "x"}, {"s", "stale"}}), {{0, 1}, {60000, 2}, {90000, storage::stale_nan()}});
  q.add(ls({{"__name__", "x"}, {"s", "nan"}}), {{30000, 5}, {45000, std::nan("")}});
  chunked_queryable c{q};
  engine eng;
  const char* queries[] = {"x", "count(x)", "timestamp(x)", "x offset 1m", "x @ 1800", "sum(x @ 60)"};
  const int64_t times[] = {0, 45000, 60000, 90000, 100000, 1800000, 1800001, 3000000, 3000001,
                           3300000, 3300001, 4000000};
  for (auto* text : queries) {
    auto e = must_parse(text);
    for (int64_t t : times) {
      auto want = eng.instant(*e, q, t);
      auto got = eng.instant(*e, c, t);
      CAF_REQUIRE(want.is_ok() && got.is_ok());
      if (to_string(want.value()) != to_string(got.value()))
        CAF_FAIL(text << " at " << t << ": " << to_string(got.value()) << " != "
                      << to_string(want.value()));
    }
  }
}

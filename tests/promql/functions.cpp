#define CAF_SUITE promql.functions
#include "test_support.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "promql/engine.hpp"
#include "promql/memory_queryable.hpp"
#include "promql/parser.hpp"

using namespace nl;
using namespace nl::promql;

namespace {

storage::label_set ls(std::vector<storage::label> l) {
  return storage::label_set::from_unsorted(std::move(l));
}

query_result run(memory_queryable& q, const std::string& query, int64_t t) {
  auto p = parse(query);
  if (!p) CAF_FAIL("parse failed: " << p.error.message);
  return engine{}.instant(*p.expr, q, t);
}

memory_queryable buckets(bool with_inf) {
  memory_queryable q;
  auto add = [&](const char* le, double v) {
    q.add(ls({{"__name__", "h_bucket"}, {"le", le}}), {{0, v}});
  };
  add("0.5", 10);
  add("1", 20);
  if (with_inf) add("+Inf", 20);
  return q;
}

}  // namespace

CAF_TEST(histogram_quantile without a +Inf bucket is NaN) {
  auto q = buckets(false);
  auto r = run(q, "histogram_quantile(0.5, h_bucket)", 0);
  CAF_REQUIRE(r.is_ok());
  auto& v = std::get<vector>(r.value());
  CAF_REQUIRE_EQUAL(v.size(), 1u);
  CAF_CHECK(std::isnan(v[0].v));
  CAF_CHECK(v[0].labels.empty());
}

CAF_TEST(histogram_quantile interpolates inside the bucket) {
  auto q = buckets(true);
  auto r = run(q, "histogram_quantile(0.75, h_bucket)", 0);
  CAF_REQUIRE(r.is_ok());
  auto& v = std::get<vector>(r.value());
  CAF_REQUIRE_EQUAL(v.size(), 1u);
  CAF_CHECK(std::abs(v[0].v - 0.75) < 1e-12);
}

CAF_TEST(label_join rejects invalid label names) {
  memory_queryable q;
  q.add(ls({{"__name__", "m"}, {"a", "x"}}), {{0, 1}});
  CAF_CHECK(!run(q, "label_join(m, \"1bad\", \",\", \"a\")", 0).is_ok());
  CAF_CHECK(!run(q, "label_join(m, \"dst\", \",\", \"a-b\")", 0).is_ok());
  auto ok = run(q, "label_join(m, \"dst\", \"-\", \"a\", \"a\")", 0);
  CAF_REQUIRE(ok.is_ok());
  auto& v = std::get<vector>(ok.value());
  CAF_REQUIRE_EQUAL(v.size(), 1u);
  CAF_CHECK_EQUAL(v[0].labels.get("dst"), "x-x");
}

CAF_TEST(label_replace expands named and numbered groups like Go) {
  memory_queryable q;
  q.add(ls({{"__name__", "m"}, {"src", "ab-cd"}}), {{0, 1}});
  auto r = run(q, "label_replace(m, \"dst\", \"${2}_$1$$ $x\", \"src\", \"(?P<x>\\\\w+)-(\\\\w+)\")", 0);
  CAF_REQUIRE(r.is_ok());
  auto& v = std::get<vector>(r.value());
  CAF_REQUIRE_EQUAL(v.size(), 1u);
  CAF_CHECK_EQUAL(v[0].labels.get("dst"), "cd_ab$ ab");
}

CAF_TEST(rate handles counter resets and extrapolation) {
  memory_queryable q;
  // 0,10,20 then reset to 5, 15 at 15s spacing.
  q.add(ls({{"__name__", "c"}}), {{0, 0}, {15000, 10}, {30000, 20}, {45000, 5}, {60000, 15}});
  auto r = run(q, "increase(c[1m])", 60000);
  CAF_REQUIRE(r.is_ok());
  auto& v = std::get<vector>(r.value());
  CAF_REQUIRE_EQUAL(v.size(), 1u);
  // Raw increase 35 over 60s sampled; the window is exactly covered.
  CAF_CHECK(std::abs(v[0].v - 35) < 1e-9);
}

CAF_TEST(count_values of a non-finite value uses Go spelling) {
  memory_queryable q;
  q.add(ls({{"__name__", "m"}, {"i", "1"}}), {{0, INFINITY}});
  q.add(ls({{"__name__", "m"}, {"i", "2"}}), {{0, 0.5}});
  auto r = run(q, "count_values(\"val\", m)", 0);
  CAF_REQUIRE(r.is_ok());
  auto& v = std::get<vector>(r.value());
  CAF_REQUIRE_EQUAL(v.size(), 2u);
  std::vector<std::string> vals;
  for (auto& s : v) vals.emplace_back(s.labels.get("val"));
  std::sort(vals.begin(), vals.end());
  CAF_CHECK_EQUAL(vals[0], "+Inf");
  CAF_CHECK_EQUAL(vals[1], "0.5");
}

// Prometheus' extrapolatedRate for counters over the points of `all` in
// [t - range, t], staleness markers dropped, written out plainly: the
// reference for the test below.
std::optional<double> reference_increase(const std::vector<storage::sample>& all, int64_t t, int64_t range,
                                         bool is_rate) {
  std::vector<storage::sample> w;
  for (const auto& p : all)
    if (p.t >= t - range && p.t <= t && !storage::is_stale_nan(p.v)) w.push_back(p);
  if (w.size() < 2) return std::nullopt;
  double result = w.back().v - w.front().v;
  for (size_t i = 1; i < w.size(); ++i)
    if (w[i].v < w[i - 1].v) result += w[i - 1].v;
  double to_start = static_cast<double>(w.front().t - (t - range)) / 1000;
  double to_end = static_cast<double>(t - w.back().t) / 1000;
  double sampled = static_cast<double>(w.back().t - w.front().t) / 1000;
  double avg = sampled / static_cast<double>(w.size() - 1);
  if (result > 0 && w.front().v >= 0) to_start = std::min(to_start, sampled * (w.front().v / result));
  double interval = sampled + (to_start < avg * 1.1 ? to_start : avg / 2) + (to_end < avg * 1.1 ? to_end : avg / 2);
  double out = result * interval / sampled;
  return is_rate ? out / (static_cast<double>(range) / 1000) : out;
}

// A range query finds each window's counter resets from one list per
// series, with a cursor that only moves forward. Every step must equal the
// window computed plainly, whether the windows overlap, touch or leave
// gaps, with resets at window edges and staleness markers (dropped before
// resets are looked for), for a plain selector, one with an offset, one
// pinned by @ (every step the same window) and a subquery.
CAF_TEST(rate and increase over a range see the resets of each window) {
  memory_queryable q;
  std::vector<storage::sample> pts, stale_pts;
  double v = 0;
  for (int64_t i = 0; i <= 120; ++i) {
    v = (i % 9 == 0 || i % 13 == 0) ? static_cast<double>(i % 5) : v + 1 + static_cast<double>(i % 3);
    pts.push_back({i * 15000, v});
    // The same counter with a staleness marker in place of every 7th point.
    stale_pts.push_back({i * 15000, i % 7 == 3 ? storage::stale_nan() : v});
  }
  q.add(ls({{"__name__", "c"}, {"s", "plain"}}), pts);
  q.add(ls({{"__name__", "c"}, {"s", "stale"}}), stale_pts);
  // The selector as written, with the end of its window at step time t.
  struct selector {
    const char* text;
    int64_t (*window_end)(int64_t t);
  };
  const selector selectors[] = {
    {"c[1m]", [](int64_t t) { return t; }},
    {"c[1m] offset 30s", [](int64_t t) { return t - 30000; }},
    // The same window at every step; the counter resets at its last point.
    {"c[1m] @ 1755", [](int64_t) { return int64_t{1755000}; }},
    {"c[1m:15s]", [](int64_t t) { return t; }},  // a subquery: the points on the 15 s grid are the samples
  };
  for (const char* fn : {"increase", "rate"})
    for (const auto& sel : selectors)
      for (int64_t step : {15000, 60000, 90000}) {
        auto e = parse(std::string(fn) + "(" + sel.text + ")");
        CAF_REQUIRE(e.expr != nullptr);
        auto r = engine{}.range(*e.expr, q, 120000, 1800000, step);
        CAF_REQUIRE(r.is_ok());
        auto& m = std::get<matrix>(r.value());
        CAF_REQUIRE_EQUAL(m.size(), 2u);
        size_t compared = 0, windows_with_reset = 0;
        for (const auto& s : m) {
          const auto& all = s.labels.get("s") == "plain" ? pts : stale_pts;
          for (const auto& p : s.points) {
            const int64_t end = sel.window_end(p.t);
            auto want = reference_increase(all, end, 60000, std::string(fn) == "rate");
            CAF_REQUIRE(want.has_value());
            if (std::abs(p.v - *want) > 1e-9 * std::max(1.0, std::abs(*want)))
              CAF_FAIL(fn << "(" << sel.text << ") step " << step << " at " << p.t << ": " << p.v << ", want "
                          << *want);
            ++compared;
            // Whether the window's points (markers dropped) go down somewhere.
            bool down = false;
            const storage::sample* prev = nullptr;
            for (const auto& x : all) {
              if (x.t < end - 60000 || x.t > end || storage::is_stale_nan(x.v)) continue;
              down |= prev != nullptr && x.v < prev->v;
              prev = &x;
            }
            windows_with_reset += down;
          }
        }
        CAF_CHECK(compared > static_cast<size_t>(2 * (1680000 / step) - 4));  // nearly every step, both series
        CAF_CHECK(windows_with_reset > compared / 4);
      }
}

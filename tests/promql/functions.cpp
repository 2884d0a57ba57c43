#define CAF_SUITE promql.functions
#include "test_support.hpp"

#include <cmath>

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

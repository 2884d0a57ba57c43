#define CAF_SUITE protocol.federation
#include "test_support.hpp"

#include <cmath>
#include <limits>

#include "protocol/federation.hpp"

using namespace nl::protocol;
using nl::storage::label_set;

namespace {

federated_sample fs(std::vector<nl::storage::label> ls, int64_t t, double v) {
  return {label_set::from_unsorted(std::move(ls)), t, v};
}

std::string render(std::vector<federated_sample> xs) {
  std::string out;
  append_federation(out, xs);
  return out;
}

}  // namespace

CAF_TEST(families are grouped by name and series keep their order within one) {
  // Label order puts "a" before "__name__"-less comparisons: the input is
  // in storage order (by labels), the output by metric name.
  auto out = render({
    fs({{"__name__", "zeta"}, {"job", "x"}}, 1000, 1),
    fs({{"__name__", "alpha"}, {"job", "b"}}, 2000, 2),
    fs({{"__name__", "alpha"}, {"job", "a"}}, 3000, 3),
    fs({{"__name__", "mid"}, {"instance", "h:1"}, {"job", "j"}}, 4000, 4),
  });
  CAF_CHECK_EQUAL(out, "# TYPE alpha untyped\n"
                       "alpha{job=\"b\",instance=\"\"} 2 2000\n"
                       "alpha{job=\"a\",instance=\"\"} 3 3000\n"
                       "# TYPE mid untyped\n"
                       "mid{instance=\"h:1\",job=\"j\"} 4 4000\n"
                       "# TYPE zeta untyped\n"
                       "zeta{job=\"x\",instance=\"\"} 1 1000\n");
  CAF_CHECK_EQUAL(render({}), "");
}

CAF_TEST(values and timestamps are written as expfmt writes them) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::pair<double, std::string>> cases{
    {0.0, "0"},          {-0.0, "0"},         {1.0, "1"},         {-1.0, "-1"},
    {0.1, "0.1"},        {1e6, "1e+06"},      {123456.0, "123456"}, {1234567.0, "1.234567e+06"},
    {1e-5, "1e-05"},     {0.0001, "0.0001"},  {-2.5e-7, "-2.5e-07"}, {inf, "+Inf"},
    {-inf, "-Inf"},      {std::nan(""), "NaN"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
  };
  for (const auto& [v, text] : cases)
    CAF_CHECK_EQUAL(render({fs({{"__name__", "m"}}, -5, v)}),
                    "# TYPE m untyped\nm{instance=\"\"} " + text + " -5\n");
  CAF_CHECK_EQUAL(render({fs({{"__name__", "m"}}, std::numeric_limits<int64_t>::max(), 1)}),
                  "# TYPE m untyped\nm{instance=\"\"} 1 9223372036854775807\n");
}

CAF_TEST(label values are escaped and nameless series skipped) {
  auto out = render({
    fs({{"job", "no name"}}, 1, 1),
    fs({{"__name__", "m"}, {"a", "back\\slash \"quote\" new\nline tab\t"}, {"b", "\xe2\x82\xac"}}, 2, 2),
  });
  CAF_CHECK_EQUAL(out, "# TYPE m untyped\n"
                       "m{a=\"back\\\\slash \\\"quote\\\" new\\nline tab\t\",b=\"\xe2\x82\xac\",instance=\"\"} 2 2\n");
}

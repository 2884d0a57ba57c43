#define CAF_SUITE protocol.exposition
#include "test_support.hpp"

#include "protocol/exposition.hpp"

#include <cmath>
#include <limits>

using namespace nl::protocol;

// Expected texts are Go's strconv.FormatFloat(v, 'g', -1, 64), which
// client_golang's text encoder writes (some observed in Prometheus 2.42's
// own /metrics: 4.462592e+07, 1.8446744073709552e+19).
CAF_TEST(floats are spelled as the Go expfmt spells them) {
  CAF_CHECK_EQUAL(exposition_float(0.0005), "0.0005");
  CAF_CHECK_EQUAL(exposition_float(0.0001), "0.0001");
  CAF_CHECK_EQUAL(exposition_float(0.00005), "5e-05");
  CAF_CHECK_EQUAL(exposition_float(0.000015), "1.5e-05");
  CAF_CHECK_EQUAL(exposition_float(0.0025), "0.0025");
  CAF_CHECK_EQUAL(exposition_float(0.1), "0.1");
  CAF_CHECK_EQUAL(exposition_float(2.5), "2.5");
  CAF_CHECK_EQUAL(exposition_float(-0.25), "-0.25");
  CAF_CHECK_EQUAL(exposition_float(1), "1");
  CAF_CHECK_EQUAL(exposition_float(-1), "-1");
  CAF_CHECK_EQUAL(exposition_float(100), "100");
  CAF_CHECK_EQUAL(exposition_float(100000), "100000");
  CAF_CHECK_EQUAL(exposition_float(999999), "999999");
  CAF_CHECK_EQUAL(exposition_float(123456.7), "123456.7");
  CAF_CHECK_EQUAL(exposition_float(1e6), "1e+06");
  CAF_CHECK_EQUAL(exposition_float(1234567), "1.234567e+06");
  CAF_CHECK_EQUAL(exposition_float(44625920), "4.462592e+07");
  CAF_CHECK_EQUAL(exposition_float(1796445501.89), "1.79644550189e+09");
  CAF_CHECK_EQUAL(exposition_float(18446744073709551615.0), "1.8446744073709552e+19");
  CAF_CHECK_EQUAL(exposition_float(1e21), "1e+21");
  CAF_CHECK_EQUAL(exposition_float(1e-300), "1e-300");
  CAF_CHECK_EQUAL(exposition_float(5e-324), "5e-324");
  CAF_CHECK_EQUAL(exposition_float(0.30000000000000004), "0.30000000000000004");
}

CAF_TEST(zero infinities and NaN) {
  CAF_CHECK_EQUAL(exposition_float(0.0), "0");
  CAF_CHECK_EQUAL(exposition_float(-0.0), "0");
  CAF_CHECK_EQUAL(exposition_float(std::numeric_limits<double>::infinity()), "+Inf");
  CAF_CHECK_EQUAL(exposition_float(-std::numeric_limits<double>::infinity()), "-Inf");
  CAF_CHECK_EQUAL(exposition_float(std::nan("")), "NaN");
}

CAF_TEST(every spelling reads back as the same double) {
  for (double v : {0.0005, 1e-5, 3.14159, 1e15, 123456789.123, 6.02214076e23, 2.2250738585072014e-308}) {
    auto s = exposition_float(v);
    CAF_CHECK_EQUAL(std::stod(s), v);
  }
}

CAF_TEST(lines and headers) {
  std::string out;
  append_metric_header(out, "x_total", "counter", "Things.");
  append_metric_line(out, "x_total", "", uint64_t{18446744073709551615ull});
  append_metric_line(out, "x_total", "a=\"b\"", int64_t{-3});
  append_metric_float_line(out, "y_bucket", "le=\"0.0005\"", 0.0005);
  CAF_CHECK_EQUAL(out, "# HELP x_total Things.\n# TYPE x_total counter\n"
                       "x_total 18446744073709551615\n"
                       "x_total{a=\"b\"} -3\n"
                       "y_bucket{le=\"0.0005\"} 0.0005\n");
}

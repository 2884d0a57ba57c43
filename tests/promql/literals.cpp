#define CAF_SUITE promql.literals
#include "test_support.hpp"

#include <cmath>
#include <string>

#include "promql/literals.hpp"

using namespace nl::promql;

CAF_TEST(durations follow model parse duration) {
  struct duration_case {
    const char* text;
    int64_t ms;
  };
  const duration_case ok[] = {
      {"0", 0},           {"1ms", 1},           {"5s", 5000},         {"1m30s", 90000},
      {"1h30m", 5400000}, {"1d", 86400000},     {"2w", 1209600000},   {"1y", 31536000000},
      {"1y2w3d4h5m6s7ms", 31536000000 + 1209600000 + 3 * 86400000 + 4 * 3600000 + 5 * 60000 +
                              6000 + 7},
      {"0s", 0},
  };
  for (const auto& c : ok) {
    std::string error;
    auto v = parse_duration(c.text, error);
    CAF_REQUIRE(v.has_value());
    CAF_CHECK_EQUAL(*v, c.ms);
  }
  struct bad_case {
    const char* text;
    const char* error;
  };
  const bad_case bad[] = {
      {"", "empty duration string"},
      {"5", "not a valid duration string: \"5\""},
      {"5m1h", "not a valid duration string: \"5m1h\""},
      {"1m1m", "not a valid duration string: \"1m1m\""},
      {"1hs", "not a valid duration string: \"1hs\""},
      {"1.5m", "not a valid duration string: \"1.5m\""},
      {"-1m", "not a valid duration string: \"-1m\""},
      {"293y", "duration out of range"},
      {"106752d", "duration out of range"},
      {"99999999999999999999999s", "duration out of range"},
  };
  for (const auto& c : bad) {
    std::string error;
    CAF_CHECK(!parse_duration(c.text, error).has_value());
    CAF_CHECK_EQUAL(error, c.error);
  }
  std::string error;
  int64_t longest_years = parse_duration("292y", error).value_or(-1);
  CAF_CHECK_EQUAL(longest_years, 292LL * 31536000000);
  int64_t longest_days = parse_duration("106751d", error).value_or(-1);
  CAF_CHECK_EQUAL(longest_days, 106751LL * 86400000);
}

CAF_TEST(numbers follow go parse int then parse float) {
  struct number_case {
    const char* text;
    double value;
  };
  const number_case ok[] = {
      {"0", 0},      {"42", 42},    {"010", 8},       {"0777", 511},   {"08", 8},
      {"0x1F", 31},  {"0XfF", 255}, {"1.5", 1.5},     {".5", 0.5},     {"5.", 5},
      {"1e3", 1000}, {"1E+3", 1000}, {"2.5e-1", 0.25}, {"0755.5", 755.5},
      {"9223372036854775807", 9223372036854775807.0},
      {"18446744073709551616", 18446744073709551616.0},
  };
  for (const auto& c : ok) {
    std::string error;
    auto v = parse_number(c.text, error);
    CAF_REQUIRE(v.has_value());
    CAF_CHECK_EQUAL(*v, c.value);
  }
  std::string error;
  CAF_CHECK(std::isinf(*parse_number("Inf", error)));
  CAF_CHECK(std::isinf(*parse_number("iNF", error)));
  CAF_CHECK(std::isnan(*parse_number("NaN", error)));
  const char* bad[][2] = {
      {"0x", "strconv.ParseFloat: parsing \"0x\": invalid syntax"},
      {"1e", "strconv.ParseFloat: parsing \"1e\": invalid syntax"},
      {"0x1.8", "strconv.ParseFloat: parsing \"0x1.8\": invalid syntax"},
      {"0xffffffffffffffffff", "strconv.ParseFloat: parsing \"0xffffffffffffffffff\": invalid syntax"},
      {"1e400", "strconv.ParseFloat: parsing \"1e400\": value out of range"},
      {".", "strconv.ParseFloat: parsing \".\": invalid syntax"},
  };
  for (const auto& c : bad) {
    CAF_CHECK(!parse_number(c[0], error).has_value());
    CAF_CHECK_EQUAL(error, c[1]);
  }
  // Underflow is not an error in Go.
  double tiny = parse_number("1e-400", error).value_or(-1);
  CAF_CHECK_EQUAL(tiny, 0.0);
}

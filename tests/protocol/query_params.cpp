#define CAF_SUITE protocol.query_params
#include "test_support.hpp"

#include <ctime>
#include <random>
#include <string>

#include "protocol/query_params.hpp"

using namespace nl::protocol;

namespace {

template <class T>
std::string show(const nl::storage::result<T>& r) {
  if (!r.is_ok())
    return "error: " + r.error().message();
  return std::to_string(*r);
}

std::string time_of(std::string_view v) { return show(parse_time("time", v)); }
std::string step_of(std::string_view v) { return show(parse_duration("step", v)); }

}  // namespace

CAF_TEST(time values in every accepted form) {
  struct row {
    const char* in;
    std::string want;
  };
  std::vector<row> rows{
    {"1435781451", "1435781451000"},
    {"1435781451.781", "1435781451781"},
    {"1595846748.806", "1595846748806"},  // rounding, not truncation (Cortex #2932)
    {"1795690153.1637993", "1795690153164"},
    {"-1.5", "-1500"},
    {"0", "0"},
    {"1e3", "1000000"},
    {".5", "500"},
    {"+4.1234", "4123"},
    {"1700000000000", "1700000000000000"},  // ms sent as s: accepted, as Prometheus
    {"1e300", std::to_string(max_time_ms)},
    {"-1e300", std::to_string(min_time_ms)},
    {"+Inf", std::to_string(max_time_ms)},
    {"2015-07-01T20:10:51.781Z", "1435781451781"},
    {"2015-07-01T20:10:30.781+02:00", "1435774230781"},
    {"2015-07-01T20:10:51.7819999Z", "1435781451781"},  // sub-ms truncated
    {"2015-07-01T20:10:51Z", "1435781451000"},
    {"1969-12-31T23:59:59.5Z", "-500"},
    {"2000-02-29T00:00:00-05:30", "951802200000"},
    {"0001-01-01T00:00:00Z", "-62135596800000"},
    {"-292273086-05-16T16:47:06Z", std::to_string(min_time_ms)},
    {"292277025-08-18T07:12:54.999999999Z", std::to_string(max_time_ms)},
  };
  for (const auto& r : rows)
    CAF_CHECK_EQUAL(time_of(r.in), r.want);
}

CAF_TEST(bad time values give the prometheus text) {
  CAF_CHECK_EQUAL(time_of("abc"), "error: invalid parameter \"time\": Invalid time value for "
                                  "'time': cannot parse \"abc\" to a valid timestamp");
  for (const char* bad : {"", "NaN", "1.2.3", "1e", "0x10", "1_000", "2015-02-29T00:00:00Z",
                          "2015-07-01 20:10:51Z", "2015-07-01T24:00:00Z", "2015-07-01T20:10:60Z",
                          "2015-07-01T20:10:51", "2015-07-01T20:10:51.Z", "2015-07-01T20:10:51z",
                          "15-07-01T20:10:51Z", "2015-07-01T20:10:51+0200", "1e400"}) {
    auto r = parse_time("start", bad);
    if (r.is_ok())
      CAF_FAIL("accepted " << bad);
  }
  CAF_CHECK_EQUAL(show(parse_time("start", "")),
                  "error: invalid parameter \"start\": Invalid time value for 'start': cannot "
                  "parse \"\" to a valid timestamp");
  CAF_CHECK_EQUAL(show(parse_time_or("time", "", 42)), "42");
  CAF_CHECK_EQUAL(show(parse_time_or("time", "5", 42)), "5000");
}

CAF_TEST(rfc3339 agrees with gmtime and random text never crashes) {
  std::mt19937_64 rng(17);
  for (int i = 0; i < 2000; ++i) {
    // Any ms between 1900 and 2200, formatted by the C library.
    int64_t ms = static_cast<int64_t>(rng() % 9'467'280'000'000ULL) - 2'208'988'800'000LL;
    time_t secs = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int64_t frac = ms - static_cast<int64_t>(secs) * 1000;
    tm parts{};
    gmtime_r(&secs, &parts);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &parts);
    char text[96];
    std::snprintf(text, sizeof text, "%s.%03lldZ", buf, static_cast<long long>(frac));
    auto r = parse_time("time", text);
    CAF_REQUIRE(r.is_ok());
    CAF_CHECK_EQUAL(*r, ms);
  }
  static const char alphabet[] = "0123456789-:TZ.+eE,x ";
  for (int i = 0; i < 20000; ++i) {
    std::string junk(rng() % 40, ' ');
    for (auto& c : junk)
      c = alphabet[rng() % (sizeof alphabet - 1)];
    (void)parse_time("t", junk);
    (void)parse_duration("d", junk);
  }
}

CAF_TEST(durations as float seconds or prometheus units) {
  struct row {
    const char* in;
    std::string want;
  };
  std::vector<row> rows{
    {"15", "15000"},   {"0.25", "250"},      {"1e3", "1000000"}, {"0", "0"},
    {"1m30s", "90000"}, {"1h", "3600000"},   {"90s", "90000"},   {"2w", "1209600000"},
    {"1y", "31536000000"}, {"100ms", "100"}, {"1d2h3m4s5ms", "93784005"},
    {"-5", "-5000"},   {"0.0005", "0"},
  };
  for (const auto& r : rows)
    CAF_CHECK_EQUAL(step_of(r.in), r.want);
  for (const char* bad : {"", "1.5m", "1ns", "1us", "1s1m", "1h1h", "m", "1x", "5 s", "NaN"}) {
    auto r = parse_duration("step", bad);
    if (r.is_ok())
      CAF_FAIL("accepted " << bad);
  }
  CAF_CHECK_EQUAL(step_of(""), "error: invalid parameter \"step\": cannot parse \"\" to a valid "
                               "duration");
  CAF_CHECK_EQUAL(step_of("1e10"), "error: invalid parameter \"step\": cannot parse \"1e10\" to a "
                                   "valid duration. It overflows int64");
  CAF_CHECK(!parse_duration("timeout", "300y").is_ok());  // > 292 years of nanoseconds
  CAF_CHECK_EQUAL(show(parse_duration("timeout", "1ns")),
                  "error: invalid parameter \"timeout\": cannot parse \"1ns\" to a valid duration");
}

CAF_TEST(limit values) {
  CAF_CHECK_EQUAL(show(parse_limit("")), "0");
  CAF_CHECK_EQUAL(show(parse_limit("0")), "0");
  CAF_CHECK_EQUAL(show(parse_limit("40000")), "40000");
  CAF_CHECK_EQUAL(show(parse_limit("-1")),
                  "error: invalid parameter \"limit\": limit must be non-negative");
  CAF_CHECK_EQUAL(show(parse_limit("x")), "error: invalid parameter \"limit\": strconv.Atoi: "
                                          "parsing \"x\": invalid syntax");
  CAF_CHECK_EQUAL(show(parse_limit("99999999999999999999")),
                  "error: invalid parameter \"limit\": strconv.Atoi: parsing "
                  "\"99999999999999999999\": value out of range");
}

CAF_TEST(go_atoi reads what strconv.Atoi reads) {
  CAF_CHECK_EQUAL(go_atoi("0").value_or(-99), 0);
  CAF_CHECK_EQUAL(go_atoi("-1").value_or(-99), -1);
  CAF_CHECK_EQUAL(go_atoi("+7").value_or(-99), 7);
  CAF_CHECK_EQUAL(go_atoi("007").value_or(-99), 7);
  CAF_CHECK_EQUAL(go_atoi("9223372036854775807").value_or(-99), INT64_MAX);
  CAF_CHECK_EQUAL(go_atoi("-9223372036854775808").value_or(-99), INT64_MIN);
  for (auto bad : {"", "+", "-", " 1", "1 ", "1.5", "1e3", "0x10", "9223372036854775808",
                   "-9223372036854775809", "99999999999999999999", "--1"})
    CAF_CHECK(!go_atoi(bad));
}

CAF_TEST(query_range checks in prometheus order) {
  auto range = [](const char* s, const char* e, const char* st) {
    auto r = parse_range_params(s, e, st);
    if (!r.is_ok())
      return r.error().message();
    return std::to_string(r->start_ms) + "," + std::to_string(r->end_ms) + "," +
           std::to_string(r->step_ms);
  };
  CAF_CHECK_EQUAL(range("0", "1", "0.25"), "0,1000,250");
  CAF_CHECK_EQUAL(range("0", "11000", "1"), "0,11000000,1000");
  CAF_CHECK_EQUAL(range("0", "11001", "1"),
                  "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing "
                  "the query resolution (?step=XX)");
  CAF_CHECK_EQUAL(range("", "1", "1"), "invalid parameter \"start\": Invalid time value for "
                                       "'start': cannot parse \"\" to a valid timestamp");
  CAF_CHECK_EQUAL(range("1", "x", "1"), "invalid parameter \"end\": Invalid time value for 'end': "
                                        "cannot parse \"x\" to a valid timestamp");
  CAF_CHECK_EQUAL(range("2", "1", "x"),
                  "invalid parameter \"end\": end timestamp must not be before start time");
  CAF_CHECK_EQUAL(range("1", "2", ""),
                  "invalid parameter \"step\": cannot parse \"\" to a valid duration");
  for (const char* zero : {"0", "-1", "0.0001"})
    CAF_CHECK_EQUAL(range("1", "2", zero),
                    "invalid parameter \"step\": zero or negative query resolution step widths "
                    "are not accepted. Try a positive integer");
  // Extreme ranges saturate at ~292 years (Go's Time.Sub) instead of
  // overflowing: 292 yearly points pass, hourly ones do not.
  CAF_CHECK_EQUAL(range("-292273086-05-16T16:47:06Z", "292277025-08-18T07:12:54.999999999Z", "1y"),
                  std::to_string(min_time_ms) + "," + std::to_string(max_time_ms) +
                    ",31536000000");
  CAF_CHECK_EQUAL(range("-1e300", "1e300", "1h"),
                  "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing "
                  "the query resolution (?step=XX)");
}

CAF_TEST(typed ranges get the same checks and messages) {
  auto check = [](int64_t s, int64_t e, int64_t step_ns) {
    auto r = check_range(s, e, step_ns);
    return r.is_ok() ? std::to_string(r->step_ms) : std::string(r.error().message());
  };
  CAF_CHECK_EQUAL(check(0, 1000, 250'000'000), "250");
  CAF_CHECK_EQUAL(check(2, 1, 1'000'000),
                  "invalid parameter \"end\": end timestamp must not be before start time");
  CAF_CHECK_EQUAL(check(1, 2, 999'999),
                  "invalid parameter \"step\": zero or negative query resolution step widths "
                  "are not accepted. Try a positive integer");
  CAF_CHECK_EQUAL(check(0, 11'000'000, 1'000'000'000), "1000");
  CAF_CHECK_EQUAL(check(0, 11'001'000, 1'000'000'000),
                  "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing "
                  "the query resolution (?step=XX)");
  CAF_CHECK_EQUAL(check(min_time_ms, max_time_ms, int64_t{3600} * 1'000'000'000),
                  "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing "
                  "the query resolution (?step=XX)");
}

CAF_TEST(match selectors and label names) {
  auto sel = parse_match_params({"up", "{job=~\"a.*\"}"});
  CAF_REQUIRE(sel.is_ok());
  CAF_CHECK_EQUAL(sel->size(), 2u);
  CAF_CHECK(parse_match_params({}).is_ok());
  auto none = parse_match_params({}, true);
  CAF_REQUIRE(!none.is_ok());
  auto none_error = none.error();
  CAF_CHECK_EQUAL(none_error.message(), "no match[] parameter provided");
  auto empty = parse_match_params({"up", "{job=\"\"}"});
  CAF_REQUIRE(!empty.is_ok());
  auto empty_error = empty.error();
  CAF_CHECK_EQUAL(empty_error.message(), "match[] must contain at least one non-empty matcher");
  auto bad = parse_match_params({"up{"});
  CAF_REQUIRE(!bad.is_ok());
  auto bad_error = bad.error();
  CAF_CHECK(bad_error.message().find("parse error") != std::string::npos);
  CAF_CHECK(check_label_name_param("job", false).is_ok());
  CAF_CHECK(check_label_name_param("k8s.pod", true).is_ok());
  auto legacy_only = check_label_name_param("k8s.pod", false);
  CAF_CHECK_EQUAL(legacy_only.message(), "invalid label name: \"k8s.pod\"");
}

CAF_TEST(form body and url query merge like go r.Form) {
  auto p = form_params::parse("time=5&query=url&match%5B%5D=url1&x=%41", "time=100&query=1&query=2&"
                              "match%5B%5D=up%7Bjob%3D%22a+b%22%7D&match[]=body2");
  CAF_CHECK_EQUAL(p.value("time"), "100");  // body wins
  CAF_CHECK_EQUAL(p.value("query"), "1");   // first wins
  CAF_CHECK_EQUAL(p.value("x"), "A");
  CAF_CHECK(!p.get("missing").has_value());
  CAF_CHECK_EQUAL(p.value("missing"), "");
  auto all = p.get_all("match[]");
  CAF_REQUIRE_EQUAL(all.size(), 3u);
  CAF_CHECK_EQUAL(all[0], "up{job=\"a b\"}");
  CAF_CHECK_EQUAL(all[1], "body2");
  CAF_CHECK_EQUAL(all[2], "url1");
  CAF_CHECK(p.error().empty());
  // Empty values and names without '=' are present with "".
  auto q = form_params::parse("a=&b&&c=1", "");
  CAF_CHECK(q.get("a").has_value() && q.get("b").has_value());
  CAF_CHECK_EQUAL(q.value("c"), "1");
}

CAF_TEST(malformed form pairs are skipped and reported) {
  auto p = form_params::parse("a=%zz&b=2&c=%4&d;e=1", "");
  CAF_CHECK(!p.get("a").has_value());
  CAF_CHECK(!p.get("c").has_value());
  CAF_CHECK(!p.get("d").has_value());
  CAF_CHECK_EQUAL(p.value("b"), "2");
  CAF_CHECK_EQUAL(p.error(), "invalid URL escape \"%zz\"");
  auto short_escape = form_params::parse("c=%4", "");
  CAF_CHECK_EQUAL(short_escape.error(), "invalid URL escape \"%4\"");
  auto semicolon = form_params::parse("d;e=1", "");
  CAF_CHECK_EQUAL(semicolon.error(), "invalid semicolon separator in query");
  std::mt19937 rng(11);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(rng() % 40, ' ');
    for (auto& c : junk)
      c = "%&=+;a5F"[rng() % 8];
    auto f = form_params::parse(junk, junk);
    (void)f.get_all("a");
  }
  CAF_CHECK(is_form_content_type("application/x-www-form-urlencoded"));
  CAF_CHECK(is_form_content_type(" Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
  CAF_CHECK(!is_form_content_type("application/json"));
  CAF_CHECK(!is_form_content_type(""));
}

CAF_TEST(times that look like milliseconds get a warning naming the parameter) {
  auto warn = [](std::string_view name, std::string_view value) -> std::string {
    auto t = parse_time(name, value);
    if (!t)
      return "<parse error>";
    return millisecond_time_warning(name, value, *t).value_or("");
  };
  CAF_CHECK_EQUAL(warn("time", "1700000000000"),
                  "time=1700000000000 is in the year 55840: times are seconds since the epoch, and this looks "
                  "like milliseconds (1700000000000 ms is 2023-11-14T22:13:20Z)");
  CAF_CHECK_EQUAL(warn("end", "1700000000123.5"),
                  "end=1700000000123.5 is in the year 55840: times are seconds since the epoch, and this looks "
                  "like milliseconds (1700000000123.5 ms is 2023-11-14T22:13:20.123Z)");
  // Beyond the year 5000 as milliseconds too (microseconds, or clamped).
  auto us = warn("start", "1700000000000000");
  CAF_CHECK(us.find("start=1700000000000000 is in the year ") == 0);
  CAF_CHECK(us.find(" ms is ") == std::string::npos);
  CAF_CHECK(warn("time", "1e300").find("is in the year 292277025") != std::string::npos);
  // Sensible times, text forms, the sentinels and infinities: nothing.
  for (auto v : {"1700000000", "95617583999.999", "-1700000000000", "2023-11-14T22:13:20Z",
                 "292277025-08-18T07:12:54.999999999Z", "4999-12-31T23:59:59Z", "6000-01-01T00:00:00Z", "+Inf",
                 "Inf"})
    CAF_CHECK_EQUAL(warn("time", v), "");
  CAF_CHECK(warn("time", "95617584000").find("is in the year 5000") != std::string::npos);
}

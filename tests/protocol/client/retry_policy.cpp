#define CAF_SUITE protocol.client.retry_policy
#include "test_support.hpp"

#include "protocol/client/retry_policy.hpp"

using namespace nightlight::api::detail;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::system_clock;

namespace {

// 2026-12-05T10:00:00Z, a Saturday.
const system_clock::time_point now = system_clock::time_point(seconds(1796464800));

milliseconds after(std::string_view header) {
  return parse_retry_after(header, now);
}

}  // namespace

CAF_TEST(backoff doubles from min_backoff and stops at max_backoff) {
  retry_settings s;  // Prometheus' defaults: 30 ms, 5 s
  backoff_schedule b(s);
  std::vector<long> waits;
  for (int i = 0; i < 10; ++i)
    waits.push_back(static_cast<long>(b.next_wait(milliseconds::zero()).count()));
  CAF_CHECK(waits == (std::vector<long>{30, 60, 120, 240, 480, 960, 1920, 3840, 5000, 5000}));
}

CAF_TEST(a retry after replaces one wait and the next wait doubles it) {
  retry_settings s;
  backoff_schedule b(s);
  CAF_CHECK_EQUAL(b.next_wait(milliseconds::zero()).count(), 30);
  // The server asks for 2 s: that wait is 2 s, the next computed one 4 s.
  CAF_CHECK_EQUAL(b.next_wait(seconds(2)).count(), 2000);
  CAF_CHECK_EQUAL(b.next_wait(milliseconds::zero()).count(), 4000);
  CAF_CHECK_EQUAL(b.next_wait(milliseconds::zero()).count(), 5000);
  // A Retry-After beyond max_backoff is honoured as is (not capped)...
  CAF_CHECK_EQUAL(b.next_wait(seconds(60)).count(), 60000);
  // ...and the schedule falls back to max_backoff after it.
  CAF_CHECK_EQUAL(b.next_wait(milliseconds::zero()).count(), 5000);
  // Zero and negative (a date in the past) leave the schedule in charge.
  CAF_CHECK_EQUAL(b.next_wait(seconds(-3)).count(), 5000);
}

CAF_TEST(custom backoff bounds) {
  retry_settings s;
  s.min_backoff = milliseconds(100);
  s.max_backoff = milliseconds(250);
  backoff_schedule b(s);
  CAF_CHECK_EQUAL(b.next_wait(milliseconds::zero()).count(), 100);
  CAF_CHECK_EQUAL(b.next_wait(milliseconds::zero()).count(), 200);
  CAF_CHECK_EQUAL(b.next_wait(milliseconds::zero()).count(), 250);
  CAF_CHECK_EQUAL(b.next_wait(milliseconds::zero()).count(), 250);
}

CAF_TEST(retry after in seconds as strconv Atoi reads it) {
  CAF_CHECK_EQUAL(after("5").count(), 5000);
  CAF_CHECK_EQUAL(after("0").count(), 0);
  CAF_CHECK_EQUAL(after("+7").count(), 7000);
  CAF_CHECK_EQUAL(after("007").count(), 7000);
  CAF_CHECK_EQUAL(after("-5").count(), -5000);  // negative: backoff decides
  CAF_CHECK_EQUAL(after("120").count(), 120000);
  // Not an integer: as if there were no header.
  for (const char* bad : {"", " 5", "5 ", "1.5", "5s", "+", "-", "0x10", "1_000", "five",
                          "99999999999999999999"})
    CAF_CHECK_EQUAL(after(bad).count(), 0);
  // Huge but valid: saturates instead of wrapping around.
  CAF_CHECK(after("9223372036854775807") > seconds(1000000000));
  CAF_CHECK(after("-9223372036854775808") < seconds(-1000000000));
}

CAF_TEST(retry after as an http date) {
  CAF_CHECK_EQUAL(after("Sat, 05 Dec 2026 10:00:30 GMT").count(), 30000);
  CAF_CHECK_EQUAL(after("Sat, 05 Dec 2026 11:00:00 GMT").count(), 3600000);
  // Past dates are negative: the backoff schedule decides.
  CAF_CHECK_EQUAL(after("Sat, 05 Dec 2026 09:59:00 GMT").count(), -60000);
  // The weekday is read but not checked against the date (as Go does).
  CAF_CHECK_EQUAL(after("Mon, 05 Dec 2026 10:00:10 GMT").count(), 10000);
  // Names in any case, runs of spaces, a one-digit hour.
  CAF_CHECK_EQUAL(after("sat, 05 DEC 2026 10:00:10 GMT").count(), 10000);
  CAF_CHECK_EQUAL(after("Sat,  05 Dec   2026 10:00:10 GMT").count(), 10000);
  CAF_CHECK_EQUAL(after("Sun, 06 Dec 2026 0:00:00 GMT").count(), 50400000);
  // A fraction after the seconds is accepted; the wait is truncated to
  // whole seconds, as Prometheus converts it.
  CAF_CHECK_EQUAL(after("Sat, 05 Dec 2026 10:00:10.9 GMT").count(), 10000);
  CAF_CHECK_EQUAL(after("Sat, 05 Dec 2026 10:00:10,5 GMT").count(), 10000);
  // Leap days.
  auto leap = parse_retry_after("Sat, 29 Feb 2028 00:00:00 GMT", now);
  CAF_CHECK(leap > seconds(0));
}

CAF_TEST(truncation of http dates toward zero) {
  // 1.9 s ahead waits 1 s; 0.5 s ago is 0 (backoff), 1.5 s ago is -1 s.
  auto base = now + milliseconds(100);
  CAF_CHECK_EQUAL(parse_retry_after("Sat, 05 Dec 2026 10:00:02 GMT", base).count(), 1000);
  auto later = now + milliseconds(500);
  CAF_CHECK_EQUAL(parse_retry_after("Sat, 05 Dec 2026 10:00:00 GMT", later).count(), 0);
  auto later2 = now + milliseconds(1500);
  CAF_CHECK_EQUAL(parse_retry_after("Sat, 05 Dec 2026 10:00:00 GMT", later2).count(), -1000);
}

CAF_TEST(malformed http dates count as no header) {
  for (const char* bad : {
         "Sat, 05 Dec 2026 10:00:30 UTC",        // only GMT
         "Sat, 05 Dec 2026 10:00:30 gmt",        // GMT is literal text
         "Saturday, 05-Dec-26 10:00:30 GMT",     // RFC 850
         "Sat Dec  5 10:00:30 2026",             // asctime
         "Sat, 5 Dec 2026 10:00:30 GMT",         // two-digit day
         "Sat, 05 Dec 26 10:00:30 GMT",          // four-digit year
         "Sat, 05 Dez 2026 10:00:30 GMT",        // month name
         "Xyz, 05 Dec 2026 10:00:30 GMT",        // day name
         "Sat, 31 Nov 2026 10:00:30 GMT",        // no such day
         "Sat, 29 Feb 2027 10:00:30 GMT",        // not a leap year
         "Sat, 00 Dec 2026 10:00:30 GMT",
         "Sat, 05 Dec 2026 24:00:00 GMT",
         "Sat, 05 Dec 2026 10:60:00 GMT",
         "Sat, 05 Dec 2026 10:00:60 GMT",
         "Sat, 05 Dec 2026 10:0:30 GMT",
         "Sat, 05 Dec 2026 10:00:30 GMT ",       // trailing text
         "Sat, 05 Dec 2026 10:00:30",
         "Sat,05 Dec 2026 10:00:30 GMT",
         "Sat, 05 Dec 2026 100:00:30 GMT",
         "Sat, 05 Dec 2026 10:00:30.GMT",
         "S",
       })
    CAF_CHECK_EQUAL(after(bad).count(), 0);
}

CAF_TEST(which answers are retried as in prometheus 2.42) {
  retry_settings s;
  auto verdict = [&](int status, std::string_view ra = {}) {
    return classify_attempt(status, ra, now, s).verdict;
  };
  for (int ok : {200, 201, 204, 299})
    CAF_CHECK(verdict(ok) == attempt_verdict::accepted);
  // No answer (connect, TLS, timeout) and every 5xx: retried.
  for (int retried : {0, 500, 502, 503, 504, 599})
    CAF_CHECK(verdict(retried) == attempt_verdict::retry);
  // 4xx never (429 only when asked), nor 1xx/3xx.
  for (int refused : {400, 401, 403, 404, 405, 413, 415, 422, 429, 301, 302, 100})
    CAF_CHECK(verdict(refused) == attempt_verdict::give_up);
  // 5xx: Retry-After ignored (2.42), honoured with retry_after_on_5xx (2.48+).
  CAF_CHECK_EQUAL(classify_attempt(503, "3", now, s).retry_after.count(), 0);
  s.retry_after_on_5xx = true;
  CAF_CHECK_EQUAL(classify_attempt(503, "3", now, s).retry_after.count(), 3000);
  CAF_CHECK_EQUAL(classify_attempt(0, "3", now, s).retry_after.count(), 0);
  // 429 with retry_on_http_429: retried, Retry-After honoured.
  s.retry_on_http_429 = true;
  auto d = classify_attempt(429, "Sat, 05 Dec 2026 10:00:04 GMT", now, s);
  CAF_CHECK(d.verdict == attempt_verdict::retry);
  CAF_CHECK_EQUAL(d.retry_after.count(), 4000);
  CAF_CHECK_EQUAL(classify_attempt(429, "soon", now, s).retry_after.count(), 0);
  CAF_CHECK(verdict(400) == attempt_verdict::give_up);
}

CAF_TEST(status texts as go prints them) {
  CAF_CHECK_EQUAL(http_status_text(503), "Service Unavailable");
  CAF_CHECK_EQUAL(http_status_text(429), "Too Many Requests");
  CAF_CHECK_EQUAL(http_status_text(413), "Request Entity Too Large");
  CAF_CHECK_EQUAL(http_status_text(799), "");
}

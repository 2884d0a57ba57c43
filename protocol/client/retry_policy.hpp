#pragma once
// When the remote-write client tries again and how long it waits: the
// semantics of Prometheus 2.42's storage/remote client.go (Store,
// retryAfterDuration) and queue_manager.go (sendWriteRequestWithBackoff).
// Pure functions and a small state machine, so tests need no server.
#include <chrono>
#include <string_view>

namespace nightlight::api::detail {

using std::chrono::milliseconds;

/// What to do after one attempt.
enum class attempt_verdict {
  accepted,  ///< any 2xx
  retry,     ///< recoverable: network failure, 5xx, 429 if enabled
  give_up,   ///< anything else (4xx, 3xx, 1xx): sending again cannot help
};

struct retry_settings {
  milliseconds min_backoff{30};
  milliseconds max_backoff{5000};
  bool retry_on_http_429 = false;
  bool retry_after_on_5xx = false;
};

struct attempt_decision {
  attempt_verdict verdict = attempt_verdict::give_up;
  /// For retry: the server's wish from Retry-After, as retryAfterDuration
  /// computes it. Positive replaces the backoff; 0 (absent, unparsable,
  /// ignored for this status) and negative (a date in the past) leave the
  /// backoff schedule in charge.
  milliseconds retry_after{0};
};

/// Classifies one attempt. `http_status` 0 means no answer arrived
/// (connect, TLS, send or receive failed, or the attempt timed out): that
/// is recoverable, as Go's Client.Do errors are for Prometheus.
/// `retry_after` is the raw header value (empty if absent); `now` is the
/// wall clock used for HTTP dates.
attempt_decision classify_attempt(int http_status, std::string_view retry_after,
                                  std::chrono::system_clock::time_point now,
                                  const retry_settings& settings);

/// Prometheus' retryAfterDuration: an HTTP date (IMF-fixdate, as Go's
/// http.TimeFormat "Mon, 02 Jan 2006 15:04:05 GMT") gives the time until
/// then, truncated to whole seconds (negative if past); otherwise a decimal
/// integer (optional sign, as Go's strconv.Atoi) is seconds. Anything else
/// is 0. Saturates instead of overflowing (Go would wrap around).
milliseconds parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now);

/// The waits between attempts: the first is min_backoff; each next one is
/// twice the previous wait (whatever chose it), capped at max_backoff. A
/// positive Retry-After replaces the wait it applies to (uncapped).
class backoff_schedule {
 public:
  explicit backoff_schedule(const retry_settings& s)
    : next_(s.min_backoff), max_(s.max_backoff) {}

  /// The wait before the next attempt, given that attempt's decision.
  milliseconds next_wait(milliseconds retry_after) {
    milliseconds wait = retry_after > milliseconds::zero() ? retry_after : next_;
    next_ = wait > max_ / 2 ? max_ : wait * 2;
    return wait;
  }

 private:
  milliseconds next_;
  milliseconds max_;
};

/// Go's http.StatusText for the codes a receiver sends ("Service
/// Unavailable"); empty for unknown codes.
std::string_view http_status_text(int status);

}  // namespace nightlight::api::detail

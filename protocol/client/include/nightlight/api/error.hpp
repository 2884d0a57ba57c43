#pragma once
// Errors of the Nightlight client library: a code in gRPC's vocabulary and
// a message meant for people. The query client passes the server's gRPC
// status through; the remote-write client maps HTTP answers and network
// failures onto the same codes, so callers handle one type.
#include <string>
#include <utility>
#include <variant>

namespace nightlight::api {

/// gRPC's canonical codes (same numbers), without OK.
enum class errc : int {
  cancelled = 1,            ///< the call was cancelled
  unknown = 2,
  invalid_argument = 3,     ///< bad PromQL or parameter, refused write (HTTP 400)
  deadline_exceeded = 4,    ///< the call's deadline or the query timeout passed
  not_found = 5,
  already_exists = 6,
  permission_denied = 7,    ///< identity not allowed (tls.allowed_readers/writers; HTTP 403)
  resource_exhausted = 8,   ///< too many samples; HTTP 413 and 429
  failed_precondition = 9,
  aborted = 10,
  out_of_range = 11,
  unimplemented = 12,       ///< method or endpoint not served (HTTP 404/405)
  internal = 13,
  unavailable = 14,         ///< unreachable, TLS handshake failed, overloaded (HTTP 5xx)
  data_loss = 15,
  unauthenticated = 16,     ///< no or unacceptable client certificate (HTTP 401)
};

/// "INVALID_ARGUMENT", as gRPC tools print the code.
const char* to_string(errc code);

/// What went wrong. `http_status` is set (non-zero) only when an HTTP server
/// answered (remote write); 0 means the failure happened before an answer.
struct error {
  errc code = errc::unknown;
  std::string message;
  int http_status = 0;

  /// "UNAVAILABLE: connect 127.0.0.1:9100: Connection refused".
  std::string to_string() const;
};

/// A value or an error. Check with `if (r)` / `r.ok()` before `*r`.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}
  result(error e) : v_(std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The error; only valid when !ok().
  const error& err() const { return std::get<1>(v_); }

 private:
  std::variant<T, error> v_;
};

}  // namespace nightlight::api

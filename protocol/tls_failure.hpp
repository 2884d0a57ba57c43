#pragma once
// Why TLS handshakes fail, in words an operator can act on: the reasons
// that label `nightlight_tls_handshake_failures_total`, the mapping from
// OpenSSL's errors to them, and the plain-HTTP-on-the-TLS-port case.
// Cheap to include (no Asio).
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/system/error_code.hpp>

namespace nl::protocol {

/// Why a TLS handshake failed, coarse enough to be a metric label.
enum class tls_failure {
  no_certificate,  ///< client sent no certificate but one is required
  unknown_ca,      ///< client certificate does not chain to our CA
  expired,         ///< client certificate past notAfter
  not_yet_valid,   ///< client certificate before notBefore
  bad_usage,       ///< client certificate lacks extendedKeyUsage clientAuth
  plaintext_http,  ///< a plain HTTP request arrived on the TLS port
  other,           ///< anything else (protocol version, ciphers, resets)
};
constexpr size_t tls_failure_count = 7;

/// Metric label value: "no_certificate", "unknown_ca", ...
std::string_view to_string(tls_failure reason);

/// Maps a failed server handshake to a reason. `verify_result` is
/// SSL_get_verify_result() of the connection (X509_V_OK when the chain was
/// not the problem); `ec` is the handshake's error.
tls_failure classify_handshake_failure(const boost::system::error_code& ec,
                                       long verify_result);

/// True when `bytes` (the first bytes a client sent) start like an HTTP
/// request line rather than a TLS record (content type 0x16). Needs at
/// least one byte; decides on the first byte alone.
bool looks_like_plaintext_http(std::string_view bytes);

/// The full answer (status line, headers, body) to send to a plain HTTP
/// client on the TLS port before closing, as Go's net/http does.
std::string_view plaintext_http_response();

/// Counts handshake failures by reason. Thread-safe (atomics).
class tls_failure_counters {
 public:
  void add(tls_failure reason);
  uint64_t get(tls_failure reason) const;
  /// Appends `<name>{reason="..."} n` lines (HELP and TYPE included) in
  /// the Prometheus text format; the HTTP listener's name by default.
  void append_metrics(std::string& out, std::string_view name = "nightlight_tls_handshake_failures_total",
                      std::string_view help = "TLS handshakes refused, by reason.") const;

 private:
  std::array<std::atomic<uint64_t>, tls_failure_count> counts_{};
};

}  // namespace nl::protocol

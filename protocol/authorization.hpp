#pragma once
// Who may do what: the identity in a verified client certificate, matched
// against `tls.allowed_writers` / `tls.allowed_readers` /
// `tls.allowed_admins`. Plain data and
// string matching; the TLS session extracts the identity once per
// connection and asks `authorizer::check` per request.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/router.hpp"

// OpenSSL types, forward-declared so this header stays cheap.
typedef struct ssl_st SSL;
typedef struct x509_st X509;

namespace nl::protocol {

/// The names a client proved by its certificate.
struct peer_identity {
  enum class kind {
    anonymous,      ///< no verified certificate (TLS without client certs)
    certificate,    ///< names below come from a chain-verified certificate
    loopback,       ///< the plaintext loopback listener (see authorizer)
  };
  kind source = kind::anonymous;
  std::string common_name;             ///< subject CN, empty if none
  std::vector<std::string> dns_names;  ///< subjectAltName DNS entries
  std::vector<std::string> uris;       ///< subjectAltName URI entries

  /// True when `name` equals the CN or one of the SANs (exact, case-sensitive).
  bool has_name(std::string_view name) const;
  /// Short text for logs: "CN=writer" or "CN=writer DNS=writer", "-" when
  /// anonymous, "loopback" for the loopback listener.
  std::string describe() const;
};

/// The identity names of a certificate. Does not verify anything.
peer_identity identity_of(X509* cert);

/// The identity of a finished handshake: names of the peer certificate if
/// OpenSSL verified it (SSL_get_verify_result == X509_V_OK), anonymous
/// otherwise. Takes its own reference to the certificate and frees it.
peer_identity identity_of(SSL* ssl);

/// The identity in a PEM certificate that the TLS layer already verified
/// (gRPC hands the peer's leaf certificate over as PEM); anonymous when
/// `pem` is empty or holds no certificate.
peer_identity identity_of_pem(std::string_view pem);

/// Classifies a request target (query string ignored) by the endpoint
/// table (router.hpp). Unknown paths are `read` (they reveal nothing, and a
/// stricter default never opens a hole), unknown admin paths `admin`.
endpoint_access access_of(std::string_view target);

/// The settings `tls.allowed_writers`, `tls.allowed_readers` and
/// `tls.open_endpoints_for_any_client`.
struct authorization_options {
  /// Identities (CN, DNS SAN or URI SAN; exact match) that may write. Empty:
  /// any client that passed the handshake.
  std::vector<std::string> allowed_writers;
  /// Identities that may read. Empty: any client that passed the handshake.
  std::vector<std::string> allowed_readers;
  /// When true, open endpoints need only a successful handshake; when false
  /// they need a reader identity.
  bool open_endpoints_for_any_client = true;
  /// Identities that may call the admin API. Unlike the other lists, empty
  /// means nobody: with TLS a caller must be listed ("@loopback" for the
  /// plaintext loopback listener).
  std::vector<std::string> allowed_admins;
  /// server.enable_admin_api. While false the admin paths need what any
  /// read needs, and the handler answers "admin APIs disabled" (500), as
  /// Prometheus does.
  bool admin_api_enabled = false;
};

/// The entry that names the plaintext loopback listener in the allow
/// lists. Its clients are local tools without certificates; with empty
/// lists they may do everything, with non-empty lists only what lists
/// "@loopback" ('@' cannot occur in a DNS name).
constexpr std::string_view loopback_identity = "@loopback";

/// True for hosts a plaintext listener may bind: "localhost", IPv4
/// 127.0.0.0/8 and IPv6 ::1 (literal addresses, brackets already removed).
bool is_loopback_host(std::string_view host);

struct authorization_decision {
  bool allowed = true;
  /// Why not, for the 403 body and the log: "client CN=reader is not in
  /// tls.allowed_writers".
  std::string reason;
};

/// Immutable after construction; check() is thread-safe.
class authorizer {
 public:
  authorizer() = default;
  explicit authorizer(authorization_options opts);

  /// An anonymous identity is refused whenever the list that applies is
  /// non-empty (it cannot be in it); with empty lists anyone the TLS layer
  /// let in is allowed, except for the admin API (see allowed_admins).
  authorization_decision check(const peer_identity& who, std::string_view target) const;

  const authorization_options& options() const { return opts_; }

 private:
  authorization_options opts_;
};

/// The 403 answer for a refused request: a JSON error envelope for the
/// query API (Grafana and client_golang expect JSON on every API error;
/// errorType "forbidden", which no Prometheus client branches on) and plain
/// text for the remote protocols /api/v1/write and /api/v1/read (their
/// Prometheus clients log or show the body as it is) and the non-API paths.
struct forbidden_response {
  std::string content_type;
  std::string body;
};
forbidden_response make_forbidden_response(std::string_view target,
                                           const authorization_decision& decision);

/// Label value for `nightlight_http_forbidden_total{path=...}`: the
/// endpoint's path in the table (/api/v1/label/:name/values), unknown paths
/// as "other", so the label set stays small.
std::string_view forbidden_path_label(std::string_view target);

/// Counts refused requests by path label. Thread-safe.
class forbidden_counters {
 public:
  void add(std::string_view target);
  /// Appends `nightlight_http_forbidden_total{path="..."} n` lines with
  /// HELP and TYPE (Prometheus text format); all known paths, zeros too.
  void append_metrics(std::string& out) const;
  uint64_t get(std::string_view path_label) const;

 private:
  static constexpr size_t slots = 32;  // > the endpoints of the table + "other"
  std::array<std::atomic<uint64_t>, slots> counts_{};
};

}  // namespace nl::protocol

#pragma once
// The one place that turns certificate files into a server-side OpenSSL
// context. HTTP, gRPC and node links all take their context from here, so
// they accept the same clients for the same reasons.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "storage/status.hpp"

namespace nl::protocol {

using storage::result;
using storage::status;

/// Where the server's TLS material lives (all PEM files).
struct tls_options {
  /// Server certificate, leaf first, followed by any intermediates.
  std::string cert_file;
  /// Unencrypted private key of the leaf certificate.
  std::string key_file;
  /// CA certificate(s) that sign client certificates. Also advertised to
  /// clients as the acceptable issuers (Go clients only send a certificate
  /// whose issuer is in that list). Required when require_client_cert is set.
  std::string ca_file;
  /// Refuse the handshake unless the client presents a certificate that
  /// chains to ca_file, is within its validity period and may be used for
  /// client authentication. When false but ca_file is set, a presented
  /// certificate is still verified (and refused if bad).
  bool require_client_cert = true;
};

/// The PEM texts a context was built from, as read and checked: for TLS
/// stacks that take files rather than an OpenSSL context (gRPC), so they
/// only ever see what HTTP accepted. `ca_pem` is empty without ca_file.
struct tls_material {
  std::string cert_pem;
  std::string key_pem;
  std::string ca_pem;
};

/// A built context and what start-up should tell the operator about it.
struct tls_context_build {
  std::shared_ptr<boost::asio::ssl::context> context;
  /// Non-fatal findings, e.g. "server certificate expired on ...".
  std::vector<std::string> warnings;
  tls_material material;
};

/// Reads and checks the files, then builds a server context: TLS 1.2 and
/// 1.3 only, ECDHE AEAD suites for 1.2, ALPN `http/1.1` only, server-side
/// session cache and tickets, client verification as `opts` asks.
/// Errors name the setting, the file and the problem (missing, unreadable,
/// not PEM, key does not match the certificate, CA file without
/// certificates). Never throws.
result<tls_context_build> build_tls_context(const tls_options& opts);

/// A client context from checked material (a tls_context_build's, so the
/// files passed build_tls_context's checks): the same protocol and cipher
/// policy, `m`'s certificate and key as the client certificate, and the
/// server's chain verified against `m.ca_pem` (required) for server use.
/// Does not check the server's name; the caller compares the verified
/// certificate's identity with whom it meant to reach. Never throws.
result<std::shared_ptr<boost::asio::ssl::context>> build_tls_client_context(const tls_material& m);

/// Whether a PEM leaf certificate may authenticate a client: the purpose
/// check the context above makes during chain verification (an
/// extendedKeyUsage, if present, must allow clientAuth), for TLS stacks
/// that verify on their own (gRPC's). False when `pem` is no certificate.
bool allows_client_auth(std::string_view pem);

/// Holds the current context and rebuilds it when the files change.
/// Connections take `current()` once at accept and keep that shared_ptr, so
/// a reload affects only new connections. A failed rebuild keeps the old
/// context. Thread-safe.
class tls_context_reloader {
 public:
  /// Takes an already built context (start-up must fail on a bad one).
  tls_context_reloader(tls_options opts, tls_context_build initial);

  std::shared_ptr<boost::asio::ssl::context> current() const;

  /// Rebuilds from the files unconditionally (SIGHUP). On error the old
  /// context stays and the returned status names the file and the problem.
  /// Non-fatal findings (expired server certificate) go to `warnings`.
  status reload(std::vector<std::string>* warnings = nullptr);

  /// Rebuilds only when the size, mtime or inode of one of the files
  /// changed since the last attempt (a timer calls this every few seconds).
  /// Returns ok when nothing changed; `*reloaded` tells whether it did.
  status reload_if_changed(bool* reloaded = nullptr,
                           std::vector<std::string>* warnings = nullptr);

  /// Number of successful rebuilds since construction.
  uint64_t generation() const;

  /// The material of the current context.
  tls_material material() const;
  /// Called after every successful rebuild with its material, on the
  /// thread that reloaded (replaces an earlier listener). Must not block.
  void on_reload(std::function<void(const tls_material&)> listener);

  const tls_options& options() const { return opts_; }

 private:
  struct file_stamp {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    uint64_t inode = 0;
    bool operator==(const file_stamp& o) const {
      return mtime_ns == o.mtime_ns && size == o.size && inode == o.inode;
    }
  };
  using stamps = std::array<file_stamp, 3>;
  stamps stamp_files() const;

  tls_options opts_;
  mutable std::mutex mtx_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  tls_material material_;
  std::function<void(const tls_material&)> listener_;
  stamps last_seen_;
  uint64_t generation_ = 0;
};

}  // namespace nl::protocol

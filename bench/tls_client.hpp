// Client side of mutual TLS for the benchmark load generator: one shared
// SSL_CTX (TLS 1.2+, server verified against a CA, client certificate
// presented) and a per-connection stream that resumes its previous session
// when it reconnects, the way a long-lived remote_write shard would.
//
// Blocking I/O over an already connected socket; the socket's SO_RCVTIMEO /
// SO_SNDTIMEO bound every call. Header-only because bench/CMakeLists.txt
// turns every bench/*.cpp into an executable.
#pragma once

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace nl::bench {

struct tls_options {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name; // checked against the server certificate (DNS name or IP)
};

/// Shared client context. Thread-safe after construction (OpenSSL locks
/// SSL_CTX internally); must outlive every tls_stream made from it.
class tls_client_context {
public:
  /// Returns false and prints the OpenSSL error queue on failure.
  bool init(const tls_options& o) {
    opts_ = o;
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (ctx_ == nullptr || SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION) != 1
        || SSL_CTX_load_verify_locations(ctx_, o.ca_file.c_str(), nullptr) != 1
        || SSL_CTX_use_certificate_chain_file(ctx_, o.cert_file.c_str()) != 1
        || SSL_CTX_use_PrivateKey_file(ctx_, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1
        || SSL_CTX_check_private_key(ctx_) != 1)
      return fail("cannot set up the TLS client context");
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    // TLS 1.3 tickets arrive after the handshake, so sessions are captured
    // by a callback rather than SSL_get1_session() right after connecting.
    // Each stream keeps its own: no shared client cache is needed.
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx_, &tls_client_context::on_new_session);
    return true;
  }

  ~tls_client_context() {
    if (ctx_ != nullptr)
      SSL_CTX_free(ctx_);
  }

  SSL_CTX* get() const { return ctx_; }
  const tls_options& options() const { return opts_; }

  static bool fail(const char* what) {
    std::fprintf(stderr, "remote_write_load: %s\n", what);
    ERR_print_errors_fp(stderr);
    return false;
  }

private:
  static int on_new_session(SSL* ssl, SSL_SESSION* session);

  tls_options opts_;
  SSL_CTX* ctx_ = nullptr;
};

/// One TLS connection slot. Not thread-safe: owned by one worker thread.
/// The session of the last handshake survives close() and is offered on
/// the next handshake.
class tls_stream {
public:
  explicit tls_stream(const tls_client_context& ctx) : ctx_(ctx) {}
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;

  ~tls_stream() {
    close();
    if (session_ != nullptr)
      SSL_SESSION_free(session_);
  }

  /// Client handshake over the connected socket `fd` (which stays owned by
  /// the caller). False on any failure; the error is printed once per stream.
  bool handshake(int fd) {
    close();
    ssl_ = SSL_new(ctx_.get());
    if (ssl_ == nullptr)
      return report("SSL_new failed");
    SSL_set_app_data(ssl_, this);
    const auto& name = ctx_.options().server_name;
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, name.c_str(), ip) == 1
                 || inet_pton(AF_INET6, name.c_str(), ip) == 1;
    if (is_ip) {
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str()) != 1)
        return report("bad --tls-server-name");
    } else if (SSL_set_tlsext_host_name(ssl_, name.c_str()) != 1
               || SSL_set1_host(ssl_, name.c_str()) != 1) {
      return report("bad --tls-server-name");
    }
    if (session_ != nullptr)
      SSL_set_session(ssl_, session_);
    if (SSL_set_fd(ssl_, fd) != 1 || SSL_connect(ssl_) != 1)
      return report("TLS handshake failed");
    ++handshakes_;
    if (SSL_session_reused(ssl_) == 1)
      ++resumed_;
    return true;
  }

  /// Writes all of `data`; false on any error.
  bool write_all(const char* data, size_t n) {
    while (n > 0) {
      size_t w = 0;
      if (SSL_write_ex(ssl_, data, n, &w) != 1)
        return false;
      data += w;
      n -= w;
    }
    return true;
  }

  /// Reads what is available (at least one byte); <= 0 on close or error.
  long read_some(char* buf, size_t cap) {
    size_t r = 0;
    if (SSL_read_ex(ssl_, buf, cap, &r) != 1)
      return -1;
    return static_cast<long>(r);
  }

  /// Sends close_notify (a cleanly closed TLS 1.2 session stays resumable)
  /// and frees the connection state; the session is kept.
  void close() {
    if (ssl_ == nullptr)
      return;
    SSL_shutdown(ssl_);
    SSL_free(ssl_);
    ssl_ = nullptr;
    ERR_clear_error();
  }

  uint64_t handshakes() const { return handshakes_; }
  uint64_t resumed() const { return resumed_; }

private:
  friend class tls_client_context;

  void keep(SSL_SESSION* s) {
    if (session_ != nullptr)
      SSL_SESSION_free(session_);
    session_ = s;
  }

  bool report(const char* what) {
    if (!reported_) {
      reported_ = true;
      tls_client_context::fail(what);
    }
    ERR_clear_error();
    close();
    return false;
  }

  const tls_client_context& ctx_;
  SSL* ssl_ = nullptr;
  SSL_SESSION* session_ = nullptr;
  uint64_t handshakes_ = 0;
  uint64_t resumed_ = 0;
  bool reported_ = false;
};

inline int tls_client_context::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* stream = static_cast<tls_stream*>(SSL_get_app_data(ssl));
  if (stream == nullptr)
    return 0; // not kept: OpenSSL frees it
  stream->keep(session);
  return 1; // we own the reference now
}

} // namespace nl::bench

#include "protocol/tls_context.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace nl::protocol {

namespace ssl = boost::asio::ssl;

namespace {

// --- small RAII helpers; OpenSSL hands out raw pointers --------------------

struct bio_deleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct x509_deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct pkey_deleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;
using x509_ptr = std::unique_ptr<X509, x509_deleter>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

/// The oldest queued OpenSSL error as text; empties the queue so the next
/// check starts clean.
std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0)
    return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

/// "tls.cert_file '/etc/nl/server.pem'" — the prefix of every message.
std::string where(const char* key, const std::string& path) {
  return std::string{key} + " '" + path + "'";
}

/// Reads a whole file; errors say why with errno's words.
result<std::string> read_file(const char* key, const std::string& path) {
  if (path.empty())
    return status::invalid_argument(std::string{key} + ": not set");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    return status::io_error(where(key, path) + ": cannot open: " + std::strerror(errno));
  std::string out;
  char buf[16384];
  size_t n;
  // PEM files are small; anything huge is not what the operator meant.
  constexpr size_t max_size = 4 << 20;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0 && out.size() <= max_size)
    out.append(buf, n);
  bool failed = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  if (failed)
    return status::io_error(where(key, path) + ": cannot read: " + std::strerror(err));
  if (out.size() > max_size)
    return status::invalid_argument(where(key, path) + ": larger than 4 MiB, not a PEM file");
  if (out.empty())
    return status::invalid_argument(where(key, path) + ": file is empty");
  return out;
}

bool has_pem_marker(const std::string& text) {
  return text.find("-----BEGIN ") != std::string::npos;
}

/// Every CERTIFICATE block of a PEM file, in order; the file's text goes
/// to `pem`.
result<std::vector<x509_ptr>> read_certificates(const char* key, const std::string& path, std::string& pem) {
  auto text = read_file(key, path);
  if (!text)
    return text.error();
  pem = *text;
  ERR_clear_error();
  bio_ptr bio{BIO_new_mem_buf(text->data(), static_cast<int>(text->size()))};
  std::vector<x509_ptr> certs;
  for (;;) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (x == nullptr)
      break;
    certs.emplace_back(x);
  }
  // The loop ends with "no start line" at the end of the input; anything
  // else means a damaged block (bad base64, truncated DER).
  unsigned long e = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
  if (e != 0 && !clean_end)
    return status::invalid_argument(where(key, path) + ": damaged PEM certificate: "
                                    + openssl_error());
  ERR_clear_error();
  if (certs.empty()) {
    if (!has_pem_marker(*text))
      return status::invalid_argument(where(key, path) + ": not a PEM file");
    return status::invalid_argument(where(key, path) + ": contains no certificates");
  }
  return certs;
}

// Refuses to prompt for a passphrase on the terminal (the default callback
// would block start-up waiting for stdin).
int no_passphrase(char*, int, int, void*) {
  return 0;
}

result<pkey_ptr> read_private_key(const char* key, const std::string& path, std::string& pem) {
  auto text = read_file(key, path);
  if (!text)
    return text.error();
  pem = *text;
  if (text->find("ENCRYPTED") != std::string::npos)
    return status::invalid_argument(where(key, path)
                                    + ": private key is encrypted; give an unencrypted key");
  ERR_clear_error();
  bio_ptr bio{BIO_new_mem_buf(text->data(), static_cast<int>(text->size()))};
  pkey_ptr pkey{PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr)};
  if (!pkey) {
    if (!has_pem_marker(*text)) {
      ERR_clear_error();
      return status::invalid_argument(where(key, path) + ": not a PEM file");
    }
    return status::invalid_argument(where(key, path) + ": no usable private key: "
                                    + openssl_error());
  }
  return pkey;
}

std::string asn1_time_text(const ASN1_TIME* t) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  ASN1_TIME_print(bio.get(), t);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// Offers exactly http/1.1. A client that only speaks h2 gets no ALPN answer
// and falls back to HTTP/1.1 (Go clients do); answering h2 would break it.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  static const unsigned char ours[] = "\x08http/1.1";
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, ours, sizeof(ours) - 1, in, inlen)
      != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

status configure(SSL_CTX* ctx, const tls_options& opts, const std::vector<x509_ptr>& chain,
                 EVP_PKEY* key, const std::vector<x509_ptr>& cas) {
  auto fail = [](const std::string& what) {
    return status::invalid_argument(what + ": " + openssl_error());
  };
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
    return fail("cannot restrict to TLS 1.2+");
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
                               | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // TLS 1.2: forward secrecy and AEAD only, what Go offers by default. The
  // 1.3 suites are OpenSSL's defaults, all AEAD.
  if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1)
    return fail("cannot set cipher list");
  if (SSL_CTX_use_certificate(ctx, chain.front().get()) != 1)
    return fail(where("tls.cert_file", opts.cert_file) + ": certificate not usable");
  for (size_t i = 1; i < chain.size(); ++i)
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1)
      return fail(where("tls.cert_file", opts.cert_file) + ": intermediate not usable");
  if (SSL_CTX_use_PrivateKey(ctx, key) != 1)
    return fail(where("tls.key_file", opts.key_file) + ": key not usable");
  if (!cas.empty()) {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    for (auto& ca : cas) {
      if (X509_STORE_add_cert(store, ca.get()) != 1)
        return fail(where("tls.ca_file", opts.ca_file) + ": cannot add CA");
      // The CertificateRequest lists these issuers; Go clients choose
      // their certificate by it and send none when nothing matches.
      if (SSL_CTX_add_client_CA(ctx, ca.get()) != 1)
        return fail(where("tls.ca_file", opts.ca_file) + ": cannot advertise CA");
    }
    int mode = SSL_VERIFY_PEER;
    if (opts.require_client_cert)
      mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
    // Chain verification then also demands that the leaf (if it has an
    // extendedKeyUsage) allows clientAuth: a server certificate cannot be
    // replayed as a client identity.
    if (SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1)
      return fail("cannot set client-certificate purpose");
  }
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  // Keep-alive clients that reconnect resume instead of redoing the full
  // handshake. With client verification, resumption needs a session id
  // context or OpenSSL refuses resumed sessions.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  static const unsigned char sid_ctx[] = "nightlight";
  SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
  // A resumed session skips certificate checks; keep the window short so a
  // client certificate that expires is noticed within minutes, not hours.
  SSL_CTX_set_timeout(ctx, 300);
  return status::ok();
}

}  // namespace

result<tls_context_build> build_tls_context(const tls_options& opts) {
  // OpenSSL's decoders queue errors even on paths that end well (a damaged
  // certificate that still parses); the next handshake on this thread
  // must not inherit them.
  struct clear_errors {
    ~clear_errors() { ERR_clear_error(); }
  } guard;
  try {
    if (opts.require_client_cert && opts.ca_file.empty())
      return status::invalid_argument(
        "tls.ca_file: not set, but tls.require_client_cert is true "
        "(the CA that signs client certificates is needed to verify them)");
    tls_material material;
    auto chain = read_certificates("tls.cert_file", opts.cert_file, material.cert_pem);
    if (!chain)
      return chain.error();
    auto key = read_private_key("tls.key_file", opts.key_file, material.key_pem);
    if (!key)
      return key.error();
    X509* leaf = chain->front().get();
    if (X509_check_private_key(leaf, key->get()) != 1) {
      ERR_clear_error();
      return status::invalid_argument(where("tls.key_file", opts.key_file)
                                      + ": key does not match the certificate in "
                                      + where("tls.cert_file", opts.cert_file));
    }
    std::vector<x509_ptr> cas;
    if (!opts.ca_file.empty()) {
      auto loaded = read_certificates("tls.ca_file", opts.ca_file, material.ca_pem);
      if (!loaded)
        return loaded.error();
      cas = std::move(*loaded);
    }
    tls_context_build out;
    // An expired server certificate is the operator's problem to fix, but
    // refusing to start would turn a renewal delay into an outage.
    if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0)
      out.warnings.push_back("server certificate in " + where("tls.cert_file", opts.cert_file)
                             + " expired on " + asn1_time_text(X509_get0_notAfter(leaf)));
    if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0)
      out.warnings.push_back("server certificate in " + where("tls.cert_file", opts.cert_file)
                             + " is not valid before "
                             + asn1_time_text(X509_get0_notBefore(leaf)));
    out.context = std::make_shared<ssl::context>(ssl::context::tls_server);
    auto st = configure(out.context->native_handle(), opts, *chain, key->get(), cas);
    if (!st)
      return st;
    out.material = std::move(material);
    return out;
  } catch (const std::exception& e) {
    // asio's context constructor throws when SSL_CTX_new fails.
    ERR_clear_error();
    return status::io_error(std::string{"cannot create TLS context: "} + e.what());
  }
}

result<std::shared_ptr<ssl::context>> build_tls_client_context(const tls_material& m) {
  struct clear_errors {
    ~clear_errors() { ERR_clear_error(); }
  } guard;
  if (m.ca_pem.empty())
    return status::invalid_argument("a TLS client context needs the CA that signs server certificates");
  try {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX* native = ctx->native_handle();
    if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1
        || SSL_CTX_set_cipher_list(native, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1)
      return status::invalid_argument("cannot set the TLS client policy: " + openssl_error());
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    ctx->use_certificate_chain(boost::asio::buffer(m.cert_pem));
    ctx->use_private_key(boost::asio::buffer(m.key_pem), ssl::context::pem);
    ctx->add_certificate_authority(boost::asio::buffer(m.ca_pem));
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    // The peer's leaf must allow serverAuth when it has an extendedKeyUsage.
    if (SSL_CTX_set_purpose(native, X509_PURPOSE_SSL_SERVER) != 1)
      return status::invalid_argument("cannot set server-certificate purpose: " + openssl_error());
    return ctx;
  } catch (const std::exception& e) {
    return status::invalid_argument(std::string{"cannot create TLS client context: "} + e.what());
  }
}

tls_context_reloader::tls_context_reloader(tls_options opts, tls_context_build initial)
  : opts_(std::move(opts)), ctx_(std::move(initial.context)), material_(std::move(initial.material)) {
  last_seen_ = stamp_files();
}

tls_material tls_context_reloader::material() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return material_;
}

void tls_context_reloader::on_reload(std::function<void(const tls_material&)> listener) {
  std::lock_guard<std::mutex> guard{mtx_};
  listener_ = std::move(listener);
}

std::shared_ptr<ssl::context> tls_context_reloader::current() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return ctx_;
}

uint64_t tls_context_reloader::generation() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return generation_;
}

tls_context_reloader::stamps tls_context_reloader::stamp_files() const {
  stamps out;
  const std::string* paths[] = {&opts_.cert_file, &opts_.key_file, &opts_.ca_file};
  for (size_t i = 0; i < out.size(); ++i) {
    struct stat st;
    if (paths[i]->empty() || ::stat(paths[i]->c_str(), &st) != 0)
      continue;  // stays "missing"; appearing again counts as a change
    out[i].mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    out[i].size = static_cast<int64_t>(st.st_size);
    out[i].inode = static_cast<uint64_t>(st.st_ino);
  }
  return out;
}

status tls_context_reloader::reload(std::vector<std::string>* warnings) {
  // Stamp before reading: a write that lands while we build is seen as a
  // change by the next poll instead of being lost.
  auto seen = stamp_files();
  auto built = build_tls_context(opts_);
  std::function<void(const tls_material&)> listener;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    last_seen_ = seen;
    if (!built)
      return built.error();
    ctx_ = std::move(built->context);
    material_ = built->material;
    ++generation_;
    listener = listener_;
  }
  if (warnings != nullptr)
    *warnings = std::move(built->warnings);
  if (listener)
    listener(built->material);
  return status::ok();
}

status tls_context_reloader::reload_if_changed(bool* reloaded,
                                               std::vector<std::string>* warnings) {
  if (reloaded != nullptr)
    *reloaded = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    // A broken file is reported once per change, not on every poll.
    if (stamp_files() == last_seen_)
      return status::ok();
  }
  auto st = reload(warnings);
  if (st && reloaded != nullptr)
    *reloaded = true;
  return st;
}

bool allows_client_auth(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr)
    return false;
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  bool ok = cert != nullptr && X509_check_purpose(cert, X509_PURPOSE_SSL_CLIENT, 0) == 1;
  X509_free(cert);
  return ok;
}

}  // namespace nl::protocol

#pragma once
// A throwaway PKI for the TLS suites: keys and certificates made with the
// OpenSSL API (no files from the repo, no openssl CLI), plus a temp dir to
// write them into and an in-memory handshake driver.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace nl::test {

struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using cert_ptr = std::unique_ptr<X509, x509_free>;

inline key_ptr make_key() {
  return key_ptr{EVP_EC_gen("P-256")};
}

enum class eku { none, client, server };

struct cert_spec {
  std::string cn;
  long not_before = -3600;  ///< seconds from now
  long not_after = 86400;   ///< seconds from now
  bool is_ca = false;
  eku usage = eku::client;
  std::vector<std::string> dns;  ///< may contain NUL bytes
  std::vector<std::string> uris;
};

inline void add_ext(X509* x, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
}

/// Signs `spec` with `issuer`/`issuer_key`; self-signed when issuer is null.
inline cert_ptr make_cert(const cert_spec& spec, EVP_PKEY* key, X509* issuer = nullptr,
                          EVP_PKEY* issuer_key = nullptr) {
  static long serial = 1000;
  cert_ptr x{X509_new()};
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), spec.not_before);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), spec.not_after);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  if (!spec.cn.empty())
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : x.get();
  X509_set_issuer_name(x.get(), X509_get_subject_name(signer));
  if (spec.is_ca) {
    add_ext(x.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x.get(), signer, NID_key_usage, "critical,digitalSignature");
  }
  if (spec.usage == eku::client)
    add_ext(x.get(), signer, NID_ext_key_usage, "clientAuth");
  else if (spec.usage == eku::server)
    add_ext(x.get(), signer, NID_ext_key_usage, "serverAuth");
  if (!spec.dns.empty() || !spec.uris.empty()) {
    GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
    auto push = [&](int type, const std::string& v) {
      GENERAL_NAME* gn = GENERAL_NAME_new();
      ASN1_IA5STRING* s = ASN1_IA5STRING_new();
      ASN1_STRING_set(s, v.data(), static_cast<int>(v.size()));
      GENERAL_NAME_set0_value(gn, type, s);
      sk_GENERAL_NAME_push(names, gn);
    };
    for (auto& d : spec.dns)
      push(GEN_DNS, d);
    for (auto& u : spec.uris)
      push(GEN_URI, u);
    X509_add1_ext_i2d(x.get(), NID_subject_alt_name, names, 0, 0);
    GENERAL_NAMES_free(names);
  }
  X509_sign(x.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  return x;
}

inline std::string pem_of(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

inline std::string pem_of(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

/// A fresh directory under $TMPDIR, removed with its files at scope exit.
class pki_dir {
 public:
  pki_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string{base != nullptr ? base : "/tmp"} + "/nl-tls-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    path_ = ::mkdtemp(buf.data()) != nullptr ? buf.data() : "";
  }
  ~pki_dir() {
    if (!path_.empty())
      std::system(("rm -rf '" + path_ + "'").c_str());
  }
  pki_dir(const pki_dir&) = delete;
  pki_dir& operator=(const pki_dir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream out(file(name), std::ios::binary | std::ios::trunc);
    out << content;
    return file(name);
  }

 private:
  std::string path_;
};

/// CA + server + client material used by most cases.
struct pki {
  key_ptr ca_key = make_key();
  cert_ptr ca = make_cert({"test CA", -3600, 86400, true, eku::none, {}, {}}, ca_key.get());
  key_ptr server_key = make_key();
  cert_ptr server = make_cert({"localhost", -3600, 86400, false, eku::server, {"localhost"}, {}},
                              server_key.get(), ca.get(), ca_key.get());

  cert_ptr client(const cert_spec& spec, EVP_PKEY* key) const {
    return make_cert(spec, key, ca.get(), ca_key.get());
  }
};

/// Outcome of a handshake driven over a BIO pair.
struct handshake_outcome {
  bool server_ok = false;
  unsigned long server_error = 0;  ///< first queued OpenSSL error, as asio reports it
  long verify_result = X509_V_OK;
  std::string alpn;                ///< protocol the server selected
  std::string peer_cn;
};

/// Runs a client (optional cert/key, trusting `trust`) against a server SSL
/// made from `server_ctx` until both finish or one fails. `alpn` is the
/// client's wire-format protocol list. `inspect` sees the server SSL.
template <class Inspect>
handshake_outcome run_handshake(SSL_CTX* server_ctx, X509* trust, X509* cert, EVP_PKEY* key,
                                const std::string& alpn, Inspect inspect) {
  handshake_outcome out;
  ERR_clear_error();
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), trust);
  SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, nullptr);
  if (cert != nullptr) {
    SSL_CTX_use_certificate(cctx, cert);
    SSL_CTX_use_PrivateKey(cctx, key);
  }
  if (!alpn.empty())
    SSL_CTX_set_alpn_protos(cctx, reinterpret_cast<const unsigned char*>(alpn.data()),
                            static_cast<unsigned>(alpn.size()));
  SSL* client = SSL_new(cctx);
  SSL* server = SSL_new(server_ctx);
  BIO* cb = nullptr;
  BIO* sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(client, cb, cb);
  SSL_set_bio(server, sb, sb);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  bool client_done = false;
  bool failed = false;
  // TLS 1.3 needs a few flights; a client certificate refused by the server
  // only shows on the server side, hence the loop until the server decides.
  for (int round = 0; round < 20 && !failed && !out.server_ok; ++round) {
    if (!client_done) {
      int r = SSL_do_handshake(client);
      if (r == 1)
        client_done = true;
      else if (SSL_get_error(client, r) != SSL_ERROR_WANT_READ)
        ERR_clear_error();  // the client's own failure: the server decides below
    }
    int r = SSL_do_handshake(server);
    if (r == 1) {
      out.server_ok = true;
    } else if (SSL_get_error(server, r) != SSL_ERROR_WANT_READ) {
      out.server_error = ERR_get_error();
      failed = true;
    }
  }
  // With TLS 1.3 the server finishes before it has read the client's
  // certificate flight; one read processes it.
  if (out.server_ok) {
    char buf[1];
    SSL_do_handshake(client);
    int r = SSL_read(server, buf, 1);
    if (r <= 0 && SSL_get_error(server, r) == SSL_ERROR_SSL) {
      out.server_ok = false;
      out.server_error = ERR_get_error();
    }
  }
  ERR_clear_error();
  out.verify_result = SSL_get_verify_result(server);
  const unsigned char* proto = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(server, &proto, &len);
  out.alpn.assign(reinterpret_cast<const char*>(proto), len);
  inspect(server);
  SSL_free(client);
  SSL_free(server);
  SSL_CTX_free(cctx);
  return out;
}

}  // namespace nl::test

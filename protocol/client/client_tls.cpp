#include "protocol/client/client_tls.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace nightlight::api::detail {

namespace {

struct bio_free {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

std::string where(const char* option, const std::string& path) {
  return std::string("tls ") + option + " '" + path + "'";
}

error bad(const char* option, const std::string& path, const std::string& why) {
  return {errc::invalid_argument, where(option, path) + ": " + why};
}

/// The oldest queued OpenSSL error; clears the queue.
std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0)
    return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

result<std::string> read_file(const char* option, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    return bad(option, path, std::string("cannot open: ") + std::strerror(errno));
  std::string out;
  char buf[16384];
  size_t n;
  constexpr size_t max_size = 4 << 20;  // PEM files are small
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && out.size() <= max_size)
    out.append(buf, n);
  bool failed = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  if (failed)
    return bad(option, path, std::string("cannot read: ") + std::strerror(err));
  if (out.size() > max_size)
    return bad(option, path, "larger than 4 MiB, not a PEM file");
  if (out.empty())
    return bad(option, path, "file is empty");
  return out;
}

/// Parses every certificate of a PEM text (at least one).
result<std::vector<x509_ptr>> parse_certificates(const char* option, const std::string& path,
                                                 const std::string& pem) {
  ERR_clear_error();
  bio_ptr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  std::vector<x509_ptr> certs;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    certs.emplace_back(x);
  ERR_clear_error();  // the loop always ends with "no start line"
  if (certs.empty())
    return bad(option, path, pem.find("-----BEGIN ") == std::string::npos
                               ? "not a PEM file"
                               : "contains no certificates");
  return certs;
}

int no_passphrase(char*, int, int, void*) { return 0; }

}  // namespace

result<tls_material> load_tls_material(const tls_options& opts) {
  tls_material m;
  m.server_name = opts.server_name;
  if (opts.cert_file.empty() != opts.key_file.empty())
    return error{errc::invalid_argument,
                 "tls: cert_file and key_file must be given together (client certificate)"};
  if (!opts.ca_file.empty()) {
    auto ca = read_file("ca_file", opts.ca_file);
    if (!ca)
      return ca.err();
    auto certs = parse_certificates("ca_file", opts.ca_file, *ca);
    if (!certs)
      return certs.err();
    m.ca_pem = std::move(*ca);
  }
  if (!opts.cert_file.empty()) {
    auto cert = read_file("cert_file", opts.cert_file);
    if (!cert)
      return cert.err();
    auto chain = parse_certificates("cert_file", opts.cert_file, *cert);
    if (!chain)
      return chain.err();
    auto key = read_file("key_file", opts.key_file);
    if (!key)
      return key.err();
    if (key->find("ENCRYPTED") != std::string::npos)
      return bad("key_file", opts.key_file, "private key is encrypted; give an unencrypted key");
    bio_ptr bio{BIO_new_mem_buf(key->data(), static_cast<int>(key->size()))};
    pkey_ptr pkey{PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr)};
    if (!pkey)
      return bad("key_file", opts.key_file, "no usable PEM private key: " + openssl_error());
    if (X509_check_private_key(chain->front().get(), pkey.get()) != 1) {
      ERR_clear_error();
      return bad("key_file", opts.key_file,
                 "key does not match the certificate in " + where("cert_file", opts.cert_file));
    }
    m.cert_pem = std::move(*cert);
    m.key_pem = std::move(*key);
  }
  return m;
}

result<std::shared_ptr<boost::asio::ssl::context>> make_client_context(const tls_material& m) {
  namespace ssl = boost::asio::ssl;
  auto fail = [](const char* what) {
    return error{errc::invalid_argument, std::string("tls: ") + what + ": " + openssl_error()};
  };
  try {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX* native = ctx->native_handle();
    if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1)
      return fail("cannot restrict to TLS 1.2+");
    boost::system::error_code ec;
    if (m.ca_pem.empty())
      ctx->set_default_verify_paths(ec);
    else
      ctx->add_certificate_authority(boost::asio::buffer(m.ca_pem), ec);
    if (ec)
      return fail("cannot load the CA certificates");
    if (!m.cert_pem.empty()) {
      ctx->use_certificate_chain(boost::asio::buffer(m.cert_pem), ec);
      if (ec)
        return fail("cannot use the client certificate");
      ctx->use_private_key(boost::asio::buffer(m.key_pem), ssl::context::pem, ec);
      if (ec)
        return fail("cannot use the client key");
    }
    ctx->set_verify_mode(ssl::verify_peer);
    return ctx;
  } catch (const std::exception& e) {
    ERR_clear_error();
    return error{errc::internal, std::string("tls: cannot create a client context: ") + e.what()};
  }
}

}  // namespace nightlight::api::detail

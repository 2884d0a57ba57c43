#define CAF_SUITE protocol.tls_context
#include "test_support.hpp"

#include "protocol/authorization.hpp"
#include "protocol/tls_context.hpp"
#include "protocol/tls_failure.hpp"
#include "protocol/tls_test_pki.hpp"

#include <chrono>
#include <thread>

using namespace nl::protocol;
using namespace nl::test;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// Files for one server: a CA, server.pem/key.pem signed by it, ca.pem.
struct server_files {
  pki_dir dir;
  pki p;
  tls_options opts;
  server_files() {
    opts.cert_file = dir.write("server.pem", pem_of(p.server.get()));
    opts.key_file = dir.write("server-key.pem", pem_of(p.server_key.get()));
    opts.ca_file = dir.write("ca.pem", pem_of(p.ca.get()));
    opts.require_client_cert = true;
  }
};

/// Handshake of a client holding `cert`/`key` against a context from `f`.
handshake_outcome connect(server_files& f, X509* cert, EVP_PKEY* key,
                          peer_identity* who = nullptr, const std::string& alpn = "") {
  auto built = build_tls_context(f.opts);
  if (!built) {
    CAF_FAIL("context: " << built.error().message());
  }
  return run_handshake(built->context->native_handle(), f.p.ca.get(), cert, key, alpn,
                       [&](SSL* s) {
                         if (who != nullptr)
                           *who = identity_of(s);
                       });
}

tls_failure reason_of(const handshake_outcome& o) {
  boost::system::error_code ec(static_cast<int>(o.server_error),
                               boost::asio::error::get_ssl_category());
  return classify_handshake_failure(ec, o.verify_result);
}

}  // namespace

CAF_TEST(valid files build a context without warnings) {
  server_files f;
  auto built = build_tls_context(f.opts);
  CAF_REQUIRE(built.is_ok());
  CAF_CHECK(built->context != nullptr);
  CAF_CHECK(built->warnings.empty());
}

CAF_TEST(each broken file is refused with its setting and problem named) {
  server_files f;
  pki other;
  auto dir_path = f.dir.path();
  auto pem = pem_of(f.p.server.get());
  struct row {
    const char* what;
    std::string tls_options::*field;
    std::string path;
    std::string expect;
  };
  std::vector<row> rows = {
    {"missing cert", &tls_options::cert_file, f.dir.file("nope.pem"),
     "tls.cert_file '" + f.dir.file("nope.pem") + "': cannot open: No such file"},
    {"directory as cert", &tls_options::cert_file, dir_path, "tls.cert_file"},
    {"empty cert", &tls_options::cert_file, f.dir.write("empty.pem", ""), "file is empty"},
    {"garbage cert", &tls_options::cert_file, f.dir.write("garbage.pem", "hello\x01\x02"),
     "not a PEM file"},
    {"truncated cert", &tls_options::cert_file,
     f.dir.write("trunc.pem", pem.substr(0, pem.size() / 2) + "\n-----END CERTIFICATE-----\n"),
     "damaged PEM certificate"},
    {"key where cert expected", &tls_options::cert_file,
     f.dir.write("keyonly.pem", pem_of(f.p.server_key.get())), "contains no certificates"},
    {"missing key", &tls_options::key_file, f.dir.file("nokey.pem"), "tls.key_file"},
    {"garbage key", &tls_options::key_file, f.dir.write("gkey.pem", "not a key"),
     "not a PEM file"},
    {"cert where key expected", &tls_options::key_file, f.dir.write("certkey.pem", pem),
     "no usable private key"},
    {"key of another certificate", &tls_options::key_file,
     f.dir.write("otherkey.pem", pem_of(other.server_key.get())),
     "key does not match the certificate in tls.cert_file"},
    {"encrypted key", &tls_options::key_file,
     f.dir.write("enc.pem", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n"
                            "-----END ENCRYPTED PRIVATE KEY-----\n"),
     "encrypted"},
    {"CA file without certificates", &tls_options::ca_file,
     f.dir.write("emptyca.pem", pem_of(f.p.ca_key.get())), "tls.ca_file"},
    {"missing CA file", &tls_options::ca_file, f.dir.file("noca.pem"), "cannot open"},
    {"CA not set but client certs required", &tls_options::ca_file, "", "tls.ca_file: not set"},
  };
  for (auto& r : rows) {
    auto opts = f.opts;
    opts.*r.field = r.path;
    auto built = build_tls_context(opts);
    CAF_MESSAGE("case: " << r.what);
    if (built.is_ok()) {
      CAF_FAIL("accepted: " << r.what);
      continue;
    }
    auto msg = built.error().message();
    if (!contains(msg, r.expect))
      CAF_FAIL(r.what << ": message '" << msg << "' lacks '" << r.expect << "'");
    CAF_CHECK(ERR_peek_error() == 0);  // no stale errors for the next handshake
  }
}

CAF_TEST(flipped bytes in the certificate or key never crash the builder) {
  server_files f;
  auto cert_pem = pem_of(f.p.server.get());
  auto key_pem = pem_of(f.p.server_key.get());
  size_t refused = 0;
  size_t tried = 0;
  for (auto* which : {&cert_pem, &key_pem}) {
    bool is_cert = which == &cert_pem;
    for (size_t i = 0; i < which->size(); i += 3) {
      auto damaged = *which;
      damaged[i] = static_cast<char>(damaged[i] ^ 0x04);
      auto opts = f.opts;
      (is_cert ? opts.cert_file : opts.key_file) = f.dir.write("flip.pem", damaged);
      auto built = build_tls_context(opts);
      ++tried;
      if (!built.is_ok()) {
        ++refused;
        // Every refusal names the damaged file.
        if (built.error().message().find(f.dir.file("flip.pem")) == std::string::npos)
          CAF_FAIL("message without the file: " << built.error().message());
      }
      CAF_CHECK(ERR_peek_error() == 0);
    }
  }
  CAF_MESSAGE(refused << " of " << tried << " damaged files refused");
  // Most flips break base64, DER or the key match; a flip inside e.g. the
  // serial number still parses, which is fine: the signature is checked by
  // clients, not here.
  CAF_CHECK(refused > tried / 2);
}

CAF_TEST(a file over 4 MiB is refused before parsing) {
  server_files f;
  f.opts.ca_file = f.dir.write("huge.pem", std::string(5 << 20, 'A'));
  auto built = build_tls_context(f.opts);
  CAF_REQUIRE(!built.is_ok());
  CAF_CHECK(contains(built.error().message(), "larger than 4 MiB"));
}

CAF_TEST(an expired server certificate starts with a warning) {
  server_files f;
  auto old = f.p.client({"localhost", -7200, -3600, false, eku::server, {"localhost"}, {}},
                        f.p.server_key.get());
  f.opts.cert_file = f.dir.write("old.pem", pem_of(old.get()));
  auto built = build_tls_context(f.opts);
  CAF_REQUIRE(built.is_ok());
  CAF_REQUIRE_EQUAL(built->warnings.size(), 1u);
  CAF_CHECK(contains(built->warnings[0], "expired on"));
  CAF_CHECK(contains(built->warnings[0], f.opts.cert_file));
}

CAF_TEST(certificate optional without a CA file) {
  server_files f;
  f.opts.ca_file.clear();
  f.opts.require_client_cert = false;
  CAF_CHECK(build_tls_context(f.opts).is_ok());
  auto o = connect(f, nullptr, nullptr);
  CAF_CHECK(o.server_ok);
}

CAF_TEST(a client certificate from our CA passes and yields its identity) {
  server_files f;
  auto key = make_key();
  auto cert = f.p.client({"writer", -60, 3600, false, eku::client, {"writer"}, {}}, key.get());
  peer_identity who;
  auto o = connect(f, cert.get(), key.get(), &who);
  CAF_CHECK(o.server_ok);
  CAF_CHECK_EQUAL(who.source, peer_identity::kind::certificate);
  CAF_CHECK_EQUAL(who.common_name, "writer");
  CAF_CHECK(who.has_name("writer"));
}

CAF_TEST(a certificate without extendedKeyUsage is accepted like Go does) {
  server_files f;
  auto key = make_key();
  auto cert = f.p.client({"tool", -60, 3600, false, eku::none, {}, {}}, key.get());
  CAF_CHECK(connect(f, cert.get(), key.get()).server_ok);
}

CAF_TEST(refused client certificates are classified) {
  server_files f;
  auto key = make_key();
  pki foreign;
  struct row {
    const char* what;
    cert_ptr cert;
    tls_failure expect;
  };
  std::vector<row> rows;
  rows.push_back({"no certificate", nullptr, tls_failure::no_certificate});
  rows.push_back({"other CA",
                  make_cert({"writer", -60, 3600, false, eku::client, {}, {}}, key.get(),
                            foreign.ca.get(), foreign.ca_key.get()),
                  tls_failure::unknown_ca});
  rows.push_back({"self-signed",
                  make_cert({"writer", -60, 3600, false, eku::client, {}, {}}, key.get()),
                  tls_failure::unknown_ca});
  rows.push_back({"expired", f.p.client({"writer", -7200, -60, false, eku::client, {}, {}},
                                        key.get()),
                  tls_failure::expired});
  rows.push_back({"not yet valid",
                  f.p.client({"writer", 3600, 7200, false, eku::client, {}, {}}, key.get()),
                  tls_failure::not_yet_valid});
  rows.push_back({"serverAuth only",
                  f.p.client({"writer", -60, 3600, false, eku::server, {}, {}}, key.get()),
                  tls_failure::bad_usage});
  for (auto& r : rows) {
    CAF_MESSAGE("case: " << r.what);
    peer_identity who;
    auto o = connect(f, r.cert.get(), key.get(), &who);
    CAF_CHECK(!o.server_ok);
    CAF_CHECK_EQUAL(to_string(reason_of(o)), to_string(r.expect));
    CAF_CHECK_EQUAL(who.source, peer_identity::kind::anonymous);
  }
}

CAF_TEST(plaintext HTTP on the TLS port is recognised) {
  CAF_CHECK(looks_like_plaintext_http("GET / HTTP/1.1\r\n"));
  CAF_CHECK(looks_like_plaintext_http("P"));
  CAF_CHECK(!looks_like_plaintext_http(std::string_view("\x16\x03\x01", 3)));
  CAF_CHECK(!looks_like_plaintext_http(""));
  CAF_CHECK(!looks_like_plaintext_http("\x80garbage"));
  CAF_CHECK(contains(std::string{plaintext_http_response()},
                     "400 Bad Request\r\n"));
  CAF_CHECK(contains(std::string{plaintext_http_response()},
                     "\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"));
  // What OpenSSL itself says when the bytes reach it anyway.
  server_files f;
  auto built = build_tls_context(f.opts);
  CAF_REQUIRE(built.is_ok());
  SSL* s = SSL_new(built->context->native_handle());
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  BIO_puts(in, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  SSL_set_bio(s, in, out);
  SSL_set_accept_state(s);
  CAF_CHECK_NOT_EQUAL(SSL_do_handshake(s), 1);
  boost::system::error_code ec(static_cast<int>(ERR_get_error()),
                               boost::asio::error::get_ssl_category());
  ERR_clear_error();
  CAF_CHECK_EQUAL(to_string(classify_handshake_failure(ec, X509_V_OK)), "plaintext_http");
  SSL_free(s);
}

CAF_TEST(other errors are not blamed on certificates) {
  CAF_CHECK_EQUAL(to_string(classify_handshake_failure(
                    boost::asio::error::connection_reset, X509_V_OK)),
                  "other");
  CAF_CHECK_EQUAL(to_string(classify_handshake_failure({}, X509_V_ERR_OUT_OF_MEM)), "other");
}

CAF_TEST(ALPN selects http/1.1 and never h2) {
  server_files f;
  auto key = make_key();
  auto cert = f.p.client({"writer", -60, 3600, false, eku::client, {}, {}}, key.get());
  auto both = connect(f, cert.get(), key.get(), nullptr, std::string("\x02h2\x08http/1.1", 12));
  CAF_CHECK(both.server_ok);
  CAF_CHECK_EQUAL(both.alpn, "http/1.1");
  auto h2 = connect(f, cert.get(), key.get(), nullptr, std::string("\x02h2", 3));
  CAF_CHECK(h2.server_ok);
  CAF_CHECK_EQUAL(h2.alpn, "");
}

CAF_TEST(the client CA list is advertised) {
  server_files f;
  auto built = build_tls_context(f.opts);
  CAF_REQUIRE(built.is_ok());
  auto* names = SSL_CTX_get_client_CA_list(built->context->native_handle());
  CAF_REQUIRE(names != nullptr);
  CAF_REQUIRE_EQUAL(sk_X509_NAME_num(names), 1);
  CAF_CHECK_EQUAL(X509_NAME_cmp(sk_X509_NAME_value(names, 0), X509_get_subject_name(f.p.ca.get())),
                  0);
}

CAF_TEST(failure counters render every reason) {
  tls_failure_counters c;
  c.add(tls_failure::expired);
  c.add(tls_failure::expired);
  c.add(tls_failure::plaintext_http);
  CAF_CHECK_EQUAL(c.get(tls_failure::expired), 2u);
  std::string text;
  c.append_metrics(text);
  CAF_CHECK(contains(text, "# TYPE nightlight_tls_handshake_failures_total counter\n"));
  CAF_CHECK(contains(text, "nightlight_tls_handshake_failures_total{reason=\"expired\"} 2\n"));
  CAF_CHECK(contains(text, "{reason=\"plaintext_http\"} 1\n"));
  CAF_CHECK(contains(text, "{reason=\"no_certificate\"} 0\n"));
}

CAF_TEST(reload swaps the context only when files change and stay valid) {
  server_files f;
  auto first = build_tls_context(f.opts);
  CAF_REQUIRE(first.is_ok());
  tls_context_reloader r{f.opts, std::move(*first)};
  auto held = r.current();  // an established connection's context
  bool reloaded = true;
  CAF_CHECK(r.reload_if_changed(&reloaded).is_ok());
  CAF_CHECK(!reloaded);
  CAF_CHECK(r.current() == held);

  // A renewed certificate: same key, new serial, different size or mtime.
  auto renewed = f.p.client({"localhost", -60, 2 * 86400, false, eku::server,
                             {"localhost", "renewed.example"}, {}},
                            f.p.server_key.get());
  f.dir.write("server.pem", pem_of(renewed.get()));
  CAF_CHECK(r.reload_if_changed(&reloaded).is_ok());
  CAF_CHECK(reloaded);
  CAF_CHECK_EQUAL(r.generation(), 1u);
  CAF_CHECK(r.current() != held);
  CAF_CHECK(held.use_count() >= 1);  // still usable by its holder

  // A broken file: error naming it, old context kept, not retried until
  // the file changes again.
  auto good = r.current();
  f.dir.write("server-key.pem", "garbage");
  auto st = r.reload_if_changed(&reloaded);
  CAF_CHECK(!st.is_ok());
  CAF_CHECK(contains(st.message(), f.opts.key_file));
  CAF_CHECK(!reloaded);
  CAF_CHECK(r.current() == good);
  CAF_CHECK(r.reload_if_changed(&reloaded).is_ok());
  CAF_CHECK(!reloaded);

  // Fixed again: picked up.
  f.dir.write("server-key.pem", pem_of(f.p.server_key.get()));
  CAF_CHECK(r.reload_if_changed(&reloaded).is_ok());
  CAF_CHECK(reloaded);
  CAF_CHECK_EQUAL(r.generation(), 2u);
}

CAF_TEST(the checked material follows accepted reloads only) {
  server_files f;
  auto first = build_tls_context(f.opts);
  CAF_REQUIRE(first.is_ok());
  CAF_CHECK_EQUAL(first->material.cert_pem, pem_of(f.p.server.get()));
  CAF_CHECK_EQUAL(first->material.key_pem, pem_of(f.p.server_key.get()));
  CAF_CHECK_EQUAL(first->material.ca_pem, pem_of(f.p.ca.get()));
  tls_context_reloader r{f.opts, std::move(*first)};
  std::vector<std::string> seen;
  r.on_reload([&](const tls_material& m) { seen.push_back(m.cert_pem); });
  auto renewed = f.p.client({"localhost", -60, 2 * 86400, false, eku::server, {"localhost"}, {}},
                            f.p.server_key.get());
  f.dir.write("server.pem", pem_of(renewed.get()));
  CAF_CHECK(r.reload().is_ok());
  CAF_REQUIRE_EQUAL(seen.size(), 1u);
  CAF_CHECK_EQUAL(seen[0], pem_of(renewed.get()));
  CAF_CHECK_EQUAL(r.material().cert_pem, pem_of(renewed.get()));
  f.dir.write("server.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n");
  CAF_CHECK(!r.reload().is_ok());
  CAF_CHECK_EQUAL(seen.size(), 1u);  // a refused file never reaches the listener
  CAF_CHECK_EQUAL(r.material().cert_pem, pem_of(renewed.get()));
}

#define CAF_SUITE protocol.http_server_tls
#include "test_support.hpp"

#include "protocol/authorization.hpp"
#include "protocol/http_server.hpp"
#include "protocol/tls_context.hpp"
#include "protocol/tls_failure.hpp"
#include "protocol/tls_test_pki.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

using namespace nl::protocol;
using namespace nl::test;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// A blocking loopback TCP connection with 5 s timeouts.
int dial(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string read_all_plain(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0)
    out.append(buf, static_cast<size_t>(n));
  return out;
}

/// A TLS client connection (OpenSSL over a blocking socket).
struct tls_client {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int fd = -1;
  bool ok = false;

  tls_client(uint16_t port, X509* trust, X509* cert, EVP_PKEY* key) {
    ctx = SSL_CTX_new(TLS_client_method());
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), trust);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (cert != nullptr) {
      SSL_CTX_use_certificate(ctx, cert);
      SSL_CTX_use_PrivateKey(ctx, key);
    }
    fd = dial(port);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    ok = fd >= 0 && SSL_connect(ssl) == 1;
    ERR_clear_error();
  }
  ~tls_client() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0)
      ::close(fd);
  }

  /// Sends one keep-alive GET and reads one response (headers + body by
  /// Content-Length). Empty string when the server refused or closed.
  std::string get(const std::string& target) {
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    if (SSL_write(ssl, req.data(), static_cast<int>(req.size())) <= 0) {
      ERR_clear_error();
      return {};
    }
    std::string out;
    char buf[4096];
    for (;;) {
      auto head_end = out.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        auto cl = out.find("Content-Length: ");
        size_t len = cl == std::string::npos ? 0 : std::stoul(out.substr(cl + 16));
        if (out.size() >= head_end + 4 + len)
          return out;
      }
      int n = SSL_read(ssl, buf, sizeof(buf));
      if (n <= 0) {
        ERR_clear_error();
        return out;
      }
      out.append(buf, static_cast<size_t>(n));
    }
  }

  std::string server_cert_serial() {
    X509* x = SSL_get1_peer_certificate(ssl);
    if (x == nullptr)
      return {};
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(x), nullptr);
    char* hex = BN_bn2hex(bn);
    std::string out = hex;
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(x);
    return out;
  }
};

struct fixture {
  pki_dir dir;
  pki p;
  tls_options opts;
  key_ptr client_key = make_key();
  cert_ptr writer = p.client({"writer", -60, 3600, false, eku::client, {"writer"}, {}},
                             client_key.get());
  cert_ptr reader = p.client({"reader", -60, 3600, false, eku::client, {"reader"}, {}},
                             client_key.get());
  cert_ptr expired = p.client({"writer", -7200, -60, false, eku::client, {}, {}},
                              client_key.get());
  tls_failure_counters failures;
  forbidden_counters forbidden;
  std::mutex log_mtx;
  std::vector<std::string> log;
  std::shared_ptr<tls_context_reloader> reloader;
  std::unique_ptr<http_server> server;
  // /hang keeps its reply (destroyed before `server`) and counts cancels.
  std::vector<http_reply> held;
  std::atomic<int> cancelled{0};

  fixture() {
    opts.cert_file = dir.write("server.pem", pem_of(p.server.get()));
    opts.key_file = dir.write("server-key.pem", pem_of(p.server_key.get()));
    opts.ca_file = dir.write("ca.pem", pem_of(p.ca.get()));
    auto built = build_tls_context(opts);
    if (!built)
      CAF_FAIL("context: " << built.error().message());
    reloader = std::make_shared<tls_context_reloader>(opts, std::move(*built));
    authorization_options ao;
    ao.allowed_writers = {"writer"};
    ao.allowed_readers = {"reader"};
    http_server_options so;
    so.threads = 2;
    so.tls = reloader;
    so.tls_poll_interval = std::chrono::seconds(0);  // the test reloads by hand
    so.authz = std::make_shared<authorizer>(ao);
    so.tls_failures = &failures;
    so.forbidden = &forbidden;
    so.on_warning = [this](const std::string& line) {
      std::lock_guard<std::mutex> g{log_mtx};
      log.push_back(line);
    };
    server = std::make_unique<http_server>(so, [this](http_request&& req, http_reply reply) {
      if (req.path == "/hang") {
        req.cancellation->on_cancel([this] { cancelled += 1; });
        std::lock_guard<std::mutex> g{log_mtx};
        held.push_back(std::move(reply));
        return;
      }
      http_response r;
      r.status = 200;
      r.content_type = "text/plain";
      r.body = "hello " + req.identity;
      reply(std::move(r));
    });
    auto st = server->start();
    if (!st)
      CAF_FAIL("start: " << st.message());
  }

  bool logged(const std::string& needle) {
    std::lock_guard<std::mutex> g{log_mtx};
    for (auto& l : log)
      if (contains(l, needle))
        return true;
    return false;
  }

  /// Counters are bumped on the server's threads; give them a moment.
  bool wait_count(tls_failure reason, uint64_t n) {
    for (int i = 0; i < 200; ++i) {
      if (failures.get(reason) >= n)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(https_tests, fixture)

CAF_TEST(a verified writer is served and the handler sees its identity) {
  tls_client c{server->port(), p.ca.get(), writer.get(), client_key.get()};
  CAF_REQUIRE(c.ok);
  auto res = c.get("/api/v1/write");
  CAF_CHECK(contains(res, "HTTP/1.1 200"));
  CAF_CHECK(contains(res, "hello CN=writer DNS=writer"));
  // keep-alive: a second request on the same connection
  CAF_CHECK(contains(c.get("/metrics"), "HTTP/1.1 200"));
}

CAF_TEST(a reader may not write and a writer may not read) {
  tls_client r{server->port(), p.ca.get(), reader.get(), client_key.get()};
  CAF_REQUIRE(r.ok);
  auto res = r.get("/api/v1/write");
  CAF_CHECK(contains(res, "HTTP/1.1 403"));
  CAF_CHECK(contains(res, "forbidden: client CN=reader DNS=reader is not in tls.allowed_writers"));
  CAF_CHECK(contains(r.get("/api/v1/series?match[]=up"), "HTTP/1.1 200"));
  tls_client w{server->port(), p.ca.get(), writer.get(), client_key.get()};
  auto q = w.get("/api/v1/query?query=up");
  CAF_CHECK(contains(q, "HTTP/1.1 403"));
  CAF_CHECK(contains(q, "\"errorType\":\"forbidden\""));
  CAF_CHECK_EQUAL(forbidden.get("/api/v1/write"), 1u);
  CAF_CHECK_EQUAL(forbidden.get("/api/v1/query"), 1u);
  CAF_CHECK(logged("forbidden: GET /api/v1/write from 127.0.0.1:"));
}

CAF_TEST(refused handshakes are counted and logged once with the peer) {
  {
    tls_client none{server->port(), p.ca.get(), nullptr, nullptr};
    CAF_CHECK(none.get("/-/ready").empty() || !none.ok);
  }
  CAF_CHECK(wait_count(tls_failure::no_certificate, 1));
  {
    tls_client old{server->port(), p.ca.get(), expired.get(), client_key.get()};
    CAF_CHECK(old.get("/-/ready").find("200") == std::string::npos);
  }
  CAF_CHECK(wait_count(tls_failure::expired, 1));
  CAF_CHECK(logged("tls handshake from 127.0.0.1:"));
  CAF_CHECK(logged("refused: expired (certificate has expired)"));
}

// TLS clients send close_notify before their FIN: those bytes must not
// hide the disconnect.
CAF_TEST(a tls client that closes while its request is handled cancels it) {
  {
    tls_client c{server->port(), p.ca.get(), reader.get(), client_key.get()};
    CAF_REQUIRE(c.ok);
    std::string req = "GET /hang HTTP/1.1\r\nHost: localhost\r\n\r\n";
    CAF_REQUIRE(SSL_write(c.ssl, req.data(), static_cast<int>(req.size())) > 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CAF_CHECK_EQUAL(cancelled.load(), 0);
    SSL_shutdown(c.ssl);  // close_notify, then the destructor's close sends the FIN
  }
  for (int i = 0; i < 200 && cancelled.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CAF_CHECK_EQUAL(cancelled.load(), 1);
}

CAF_TEST(plain HTTP on the TLS port gets the Go 400 answer) {
  int fd = dial(server->port());
  CAF_REQUIRE(fd >= 0);
  std::string req = "GET /-/ready HTTP/1.1\r\nHost: x\r\n\r\n";
  CAF_CHECK(::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size()));
  auto res = read_all_plain(fd);
  ::close(fd);
  CAF_CHECK(contains(res, "HTTP/1.0 400 Bad Request\r\n"));
  CAF_CHECK(contains(res, "Client sent an HTTP request to an HTTPS server.\n"));
  CAF_CHECK(wait_count(tls_failure::plaintext_http, 1));
}

CAF_TEST(garbage and a truncated hello on the TLS port are refused as other) {
  for (std::string junk : {std::string("\x80\x01\x02garbage", 10),
                           std::string("\x16\x03\x01\x02\x00\x01", 6)}) {
    int fd = dial(server->port());
    CAF_REQUIRE(fd >= 0);
    CAF_CHECK(::write(fd, junk.data(), junk.size()) == static_cast<ssize_t>(junk.size()));
    if (junk[0] == '\x16')
      ::shutdown(fd, SHUT_WR);  // the hello announces more bytes than it sends
    auto res = read_all_plain(fd);
    ::close(fd);
    CAF_CHECK(res.find("HTTP/") == std::string::npos);
  }
  CAF_CHECK(wait_count(tls_failure::other, 2));
  CAF_CHECK_EQUAL(failures.get(tls_failure::plaintext_http), 0u);
}

CAF_TEST(a reload serves the new certificate to new connections only) {
  tls_client before{server->port(), p.ca.get(), writer.get(), client_key.get()};
  CAF_REQUIRE(before.ok);
  auto old_serial = before.server_cert_serial();
  auto renewed = p.client({"localhost", -60, 7200, false, eku::server, {"localhost"}, {}},
                          p.server_key.get());
  dir.write("server.pem", pem_of(renewed.get()));
  CAF_REQUIRE(reloader->reload().is_ok());
  tls_client after{server->port(), p.ca.get(), writer.get(), client_key.get()};
  CAF_REQUIRE(after.ok);
  CAF_CHECK_NOT_EQUAL(after.server_cert_serial(), old_serial);
  // The established connection still works on its old context.
  CAF_CHECK(contains(before.get("/api/v1/write"), "HTTP/1.1 200"));
  CAF_CHECK_EQUAL(before.server_cert_serial(), old_serial);
}

CAF_TEST_FIXTURE_SCOPE_END()

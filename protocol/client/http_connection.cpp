#include "protocol/client/http_connection.hpp"

#include <functional>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace nightlight::api::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using steady = std::chrono::steady_clock;

namespace {

// Answers are short (204, or a one-line refusal); anything far larger is
// not a remote-write receiver talking.
constexpr uint64_t max_answer_bytes = 1 << 20;

bool is_ip_address(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

struct http_connection::impl {
  endpoint_url url;
  std::shared_ptr<asio::ssl::context> tls;
  std::string server_name;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  bool connected = false;

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  /// Runs the operations started before it until they finish. Every
  /// stream operation carries the stream's deadline, so this returns by
  /// then; `stop_at` bounds the rest (name resolution).
  void run_until(steady::time_point stop_at, const std::function<void()>& cancel) {
    ioc.restart();
    ioc.run_until(stop_at);
    if (!ioc.stopped()) {
      cancel();
      ioc.run();
    }
  }

  void close() {
    if (plain || secure) {
      error_code ignored;
      lowest().socket().close(ignored);
    }
    plain.reset();
    secure.reset();
    buffer.clear();
    connected = false;
  }

  error fail(errc code, const std::string& what, const error_code& ec) {
    std::string why = ec == beast::error::timeout ? "timed out" : ec.message();
    if (secure && ec.category() == asio::error::get_ssl_category()) {
      long verify = SSL_get_verify_result(secure->native_handle());
      if (verify != X509_V_OK)
        why += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
    }
    close();
    return {ec == beast::error::timeout ? errc::deadline_exceeded : code,
            what + " " + url.authority() + ": " + why};
  }

  std::optional<error> connect(steady::time_point deadline) {
    close();
    tcp::resolver resolver(ioc);
    tcp::resolver::results_type endpoints;
    error_code ec = asio::error::would_block;
    resolver.async_resolve(url.host, url.port,
                           [&](error_code e, tcp::resolver::results_type r) {
                             ec = e;
                             endpoints = std::move(r);
                           });
    run_until(deadline, [&] { resolver.cancel(); });
    if (ec == asio::error::operation_aborted || ec == asio::error::would_block)
      return fail(errc::deadline_exceeded, "resolve", beast::error::timeout);
    if (ec)
      return fail(errc::unavailable, "resolve", ec);

    if (tls)
      secure.emplace(ioc, *tls);
    else
      plain.emplace(ioc);
    lowest().expires_at(deadline);
    ec = asio::error::would_block;
    lowest().async_connect(endpoints, [&](error_code e, const tcp::endpoint&) { ec = e; });
    run_until(deadline + std::chrono::seconds(1), [&] { lowest().cancel(); });
    if (ec)
      return fail(errc::unavailable, "connect", ec);
    lowest().socket().set_option(tcp::no_delay(true), ec);

    if (tls) {
      const std::string& name = server_name.empty() ? url.host : server_name;
      SSL* ssl = secure->native_handle();
      // Names are checked against the certificate's DNS SANs (and sent as
      // SNI); addresses against its IP SANs.
      bool ok = is_ip_address(name)
                  ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1
                  : SSL_set_tlsext_host_name(ssl, name.c_str()) == 1 &&
                      SSL_set1_host(ssl, name.c_str()) == 1;
      if (!ok) {
        close();
        return error{errc::invalid_argument, "tls: cannot use server name '" + name + "'"};
      }
      ec = asio::error::would_block;
      secure->async_handshake(asio::ssl::stream_base::client, [&](error_code e) { ec = e; });
      run_until(deadline + std::chrono::seconds(1), [&] { lowest().cancel(); });
      if (ec)
        return fail(errc::unavailable, "TLS handshake with", ec);
    }
    connected = true;
    return std::nullopt;
  }

  /// Sends the request and reads the answer. `answer_started` tells whether
  /// any byte of an answer arrived.
  result<http_response> exchange(http::request<http::string_body>& req, steady::time_point deadline,
                                 bool& answer_started, bool& keep_alive) {
    lowest().expires_at(deadline);
    error_code ec = asio::error::would_block;
    auto done = [&](error_code e, std::size_t) { ec = e; };
    if (secure)
      http::async_write(*secure, req, done);
    else
      http::async_write(*plain, req, done);
    run_until(deadline + std::chrono::seconds(1), [&] { lowest().cancel(); });
    if (ec)
      return fail(errc::unavailable, "send to", ec);

    http::response_parser<http::string_body> parser;
    parser.body_limit(max_answer_bytes);
    ec = asio::error::would_block;
    if (secure)
      http::async_read(*secure, buffer, parser, done);
    else
      http::async_read(*plain, buffer, parser, done);
    run_until(deadline + std::chrono::seconds(1), [&] { lowest().cancel(); });
    answer_started = parser.got_some();
    if (ec)
      return fail(errc::unavailable, "answer from", ec);
    auto& res = parser.get();
    http_response out;
    out.status = static_cast<int>(res.result_int());
    out.reason = std::string(res.reason());
    out.retry_after = std::string(res[http::field::retry_after]);
    out.body = std::move(res.body());
    keep_alive = res.keep_alive();
    return out;
  }
};

http_connection::http_connection(endpoint_url url, std::shared_ptr<asio::ssl::context> tls,
                                 std::string server_name)
  : impl_(std::make_unique<impl>()) {
  impl_->url = std::move(url);
  impl_->tls = std::move(tls);
  impl_->server_name = std::move(server_name);
}

http_connection::~http_connection() {
  impl_->close();
}

void http_connection::close() {
  impl_->close();
}

result<http_response> http_connection::post(
  const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body,
  std::chrono::milliseconds timeout) {
  auto deadline = steady::now() + timeout;
  http::request<http::string_body> req{http::verb::post, impl_->url.target, 11};
  // As Go writes it: the URL's host, with the port only if the URL has one.
  req.set(http::field::host, impl_->url.host_header);
  for (const auto& [name, value] : headers)
    req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  for (int round = 0;; ++round) {
    bool reused = impl_->connected;
    if (!reused)
      if (auto failed = impl_->connect(deadline))
        return *failed;
    bool answer_started = false;
    bool keep_alive = true;
    auto r = impl_->exchange(req, deadline, answer_started, keep_alive);
    if (r) {
      if (!keep_alive)
        impl_->close();
      return r;
    }
    // A kept-alive connection the server had closed: nothing was
    // answered, so the request is sent again on a fresh one (once).
    if (!reused || answer_started || round > 0 || r.err().code == errc::deadline_exceeded)
      return r;
  }
}

}  // namespace nightlight::api::detail

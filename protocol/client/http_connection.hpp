#pragma once
// One keep-alive HTTP/1.1 connection (plain or TLS) for the remote-write
// client, on Boost.Beast. Blocking calls, each bounded by a deadline.
// Not thread-safe.
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "nightlight/api/error.hpp"
#include "protocol/client/url.hpp"

namespace nightlight::api::detail {

struct http_response {
  int status = 0;
  std::string reason;
  std::string body;
  std::string retry_after;  ///< the Retry-After header, empty if absent
};

class http_connection {
 public:
  /// `tls` null: plain HTTP. `server_name` (TLS only) is the name the
  /// certificate must carry; empty: url.host.
  http_connection(endpoint_url url, std::shared_ptr<boost::asio::ssl::context> tls,
                  std::string server_name);
  ~http_connection();
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  /// POSTs `body` to url.target with `headers` (Host, Content-Length and
  /// Connection are added). `timeout` covers resolving, connecting, the TLS
  /// handshake, sending and reading the whole answer. A reused connection
  /// that fails before any answer byte (the server closed it while idle)
  /// is reopened and the request sent once more, as Go's transport does.
  /// Errors: unavailable (connect, TLS, reset), deadline_exceeded.
  result<http_response> post(const std::vector<std::pair<std::string, std::string>>& headers,
                             const std::string& body, std::chrono::milliseconds timeout);

  /// Drops the connection (the next post reconnects).
  void close();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace nightlight::api::detail

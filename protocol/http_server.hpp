#pragma once
// An asynchronous HTTP/1.1 server (Boost.Beast) that hands each complete
// request to one handler and writes whatever the handler answers, from any
// thread, later. It knows nothing of endpoints or actors: routing lives in
// router.hpp, the bridge to the actors in actors/network.
//
// Threads: `threads` Asio threads run all sockets. Each connection lives on
// its own strand; the reply callback posts back to that strand, so callers
// (CAF workers) never touch a socket. One request per connection is in
// flight at a time (no pipelining); keep-alive is honoured.
//
// Streams: the session is a template on its stream type; this file builds
// plain TCP. A TLS stream (asio::ssl::stream<beast::tcp_stream>) plugs in by
// adding a handshake step to the session and an ssl::context to the options.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "storage/status.hpp"

namespace nl::protocol {

/// One received request. Header names are matched case-insensitively by
/// Beast; only the headers endpoints need are copied out.
struct http_request {
  std::string method;            ///< "GET", "POST", ... (as sent)
  std::string target;            ///< raw request target, path plus query
  std::string path;              ///< target up to '?', not percent-decoded
  std::string query;             ///< target after '?', "" when absent
  std::string content_type;      ///< "" when absent
  std::string content_encoding;  ///< "" when absent
  std::string body;
  std::string peer;              ///< "ip:port" of the client
};

struct http_response {
  unsigned status = 200;
  std::string content_type;  ///< omitted when empty
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
};

/// Delivers the answer to a request. Must be called exactly once; may be
/// called from any thread. Cheap to copy.
using http_reply = std::function<void(http_response)>;

/// Called on an Asio thread for every complete request. It must not block:
/// do CPU work or hand the request off and return.
using http_handler = std::function<void(http_request&&, http_reply)>;

struct http_server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  ///< 0 picks a free port (see http_server::port())
  unsigned threads = 1;
  /// Largest body accepted; a larger Content-Length (or a chunked body that
  /// grows past it) is answered 413 and the connection is closed.
  uint64_t body_limit = 32ull << 20;
  /// An idle keep-alive connection, or a client that stalls while sending a
  /// request, is closed after this long.
  std::chrono::seconds read_timeout{60};
  /// Receives one-line descriptions of accept and socket errors (optional).
  std::function<void(const std::string&)> on_error;
  /// Receives every answered request: method, path, status, seconds from the
  /// end of the request to the end of the reply write (optional, any thread).
  std::function<void(const http_request&, unsigned status, double seconds)> on_done;
};

class http_server {
 public:
  http_server(http_server_options opts, http_handler handler);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds, listens and starts the threads. io_error when the address is
  /// unusable (e.g. "address already in use").
  storage::status start();
  /// The bound port (after start()).
  uint16_t port() const;
  /// Closes the listening socket; connections in progress continue.
  void stop_accepting();
  /// Waits until every request handed to the handler has had its answer
  /// written (or its connection failed); false when `timeout` passed first.
  /// Call after stop_accepting() for a graceful shutdown.
  bool drain(std::chrono::milliseconds timeout);
  /// Stops all I/O and joins the threads. Replies delivered afterwards are
  /// dropped. Idempotent.
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace nl::protocol

#pragma once
// An asynchronous HTTP/1.1 server (Boost.Beast) that hands each complete
// request to one handler and writes whatever the handler answers, from any
// thread, later. It knows nothing of endpoints or actors: routing lives in
// router.hpp, the bridge to the actors in actors/network.
//
// Threads: `threads` Asio threads, each with its own io_context; a
// connection stays on one of them (round robin at accept). The reply
// callback posts back to that thread, so callers (CAF workers) never touch
// a socket. One request per connection is in
// flight at a time (no pipelining); keep-alive is honoured.
//
// Disconnects: while a request is with the handler and the handler has
// subscribed to its http_cancellation, the session watches its socket. A client that closes or resets the connection (a FIN or RST; the
// TCP state leaves ESTABLISHED) is gone: the request's http_cancellation
// fires once. Bytes that arrive meanwhile (a pipelined request, a TLS
// close_notify) are left unread. A half-close (shutdown(SHUT_WR)) after the
// request looks the same as a close and is treated as gone too, as Go's
// net/http (so Prometheus) does; the answer is still written (a half-closed
// client reads it, e.g. a 503 "canceled") and the connection then closed.
//
// Streams: the session is a template on its stream type: plain TCP, or
// TLS (beast::ssl_stream) when `http_server_options::tls` is set. A TLS
// connection takes the reloader's current context at accept and keeps it,
// so certificate reloads only affect new connections; its peer identity is
// extracted once after the handshake and checked per request by `authz`.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "storage/status.hpp"

namespace nl::protocol {

class authorizer;
class forbidden_counters;
class tls_context_reloader;
class tls_failure_counters;

/// Tells a handler that the client of its request went away before the
/// answer was written, so the work may stop. Thread-safe.
class http_cancellation {
 public:
  /// Registers the hook run once when the client is gone: at once, on the
  /// calling thread, if it already is; later on an Asio thread otherwise.
  /// It must not block. A later call replaces an earlier hook.
  void on_cancel(std::function<void()> hook);
  /// True once a hook was registered (or the client is already gone). The
  /// server watches the connection only of a request whose handler
  /// subscribed before it returned.
  bool subscribed() const;
  /// The server's side: marks the client gone and runs the hook (once).
  void cancel();

 private:
  mutable std::mutex mtx_;
  bool cancelled_ = false;
  std::function<void()> hook_;
};

/// One received request. Header names are matched case-insensitively by
/// Beast; only the headers endpoints need are copied out.
struct http_request {
  std::string method;            ///< "GET", "POST", ... (as sent)
  std::string target;            ///< raw request target, path plus query
  std::string path;              ///< target up to '?', not percent-decoded
  std::string query;             ///< target after '?', "" when absent
  std::string content_type;      ///< "" when absent
  std::string content_encoding;  ///< "" when absent
  std::string if_none_match;     ///< "" when absent (the web UI's ETags)
  std::string body;
  std::string peer;              ///< "ip:port" of the client
  /// Who the client proved to be, for logs: "CN=writer DNS=writer", "-"
  /// without a verified certificate, "loopback" on the loopback listener.
  std::string identity;
  /// Fires when the client disconnects while the request is handled; null
  /// only for requests not made by http_server (tests).
  std::shared_ptr<http_cancellation> cancellation;
};

/// A response body sent while it is being made (chunked transfer
/// encoding), for answers too large to build in memory. The server pulls:
/// it asks for the next piece only once the one before is written to the
/// socket, so a slow client slows the producer down instead of filling
/// memory. Each piece goes out as it arrives (one HTTP chunk, flushed).
class http_body_source {
 public:
  struct piece {
    std::string bytes;  ///< sent as one chunk unless empty
    /// The body is complete after `bytes`: the terminating chunk follows
    /// and the connection is reused.
    bool last = false;
    /// The producer failed after the status line went out: the connection
    /// is closed without the terminating chunk, so the client sees a
    /// truncated body instead of a complete one.
    bool failed = false;
  };
  virtual ~http_body_source() = default;
  /// Asks for the next piece. `next` must be called exactly once, from any
  /// thread, at once or later.
  virtual void pull(std::function<void(piece)> next) = 0;
  /// The connection failed or closed (or the server stops) before the last
  /// piece: no pull follows. Runs at most once, on an Asio thread; must not
  /// block.
  virtual void cancel() = 0;
};

struct http_response {
  unsigned status = 200;
  std::string content_type;  ///< omitted when empty
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
  /// When set the body comes from here, chunked, and `body` is ignored.
  std::shared_ptr<http_body_source> stream = nullptr;
  /// When set, completes the response (typically its body) on the
  /// connection's thread just before it is written, so that a large answer
  /// (a query result) is encoded there, not on the thread that answered
  /// (an actor's).
  std::function<void(http_response&)> encode = nullptr;
  /// The server sends the body gzip-compressed (Content-Encoding: gzip,
  /// Vary: Accept-Encoding) when the request's Accept-Encoding takes gzip
  /// and the body is not empty (protocol/http_compression.hpp).
  bool compressible = false;
};

/// Runs and clears `r.encode` if set: what the server does before writing
/// (for handlers' tests that stand in for the server).
inline void complete(http_response& r) {
  if (r.encode) {
    auto encode = std::move(r.encode);
    r.encode = nullptr;
    encode(r);
  }
}

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

  /// TLS (optional; owned jointly, thread-safe). When set the listener
  /// speaks only TLS: plain HTTP is answered 400 as Go servers do.
  std::shared_ptr<tls_context_reloader> tls;
  /// How often the TLS files are checked for changes; 0 disables polling.
  /// With TLS, SIGHUP also reloads at once.
  std::chrono::seconds tls_poll_interval{5};
  /// Longest a client may take from connect to a finished handshake.
  std::chrono::seconds handshake_timeout{10};
  /// Per-request access check (optional; absent = everything allowed).
  /// Refusals are answered 403 without calling the handler.
  std::shared_ptr<const authorizer> authz;
  /// Clients of this listener are the `@loopback` identity (the plaintext
  /// loopback listener); otherwise plain-TCP clients are anonymous.
  bool loopback_identity = false;
  /// Counters (optional; must outlive the server).
  tls_failure_counters* tls_failures = nullptr;
  forbidden_counters* forbidden = nullptr;
  /// Receives one line per refused TLS handshake or forbidden request, and
  /// certificate reload problems: things an operator must see (optional).
  std::function<void(const std::string&)> on_warning;
  /// Receives notices such as "tls: reloaded ..." (optional).
  std::function<void(const std::string&)> on_info;
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
  /// dropped. Idempotent. Open connections are released by the destructor,
  /// which every reply must precede (replies refer to their connection).
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace nl::protocol

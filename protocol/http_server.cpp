#include "protocol/http_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include "protocol/authorization.hpp"
#include "protocol/http_compression.hpp"
#include "protocol/tls_context.hpp"
#include "protocol/tls_failure.hpp"

#include <atomic>
#include <chrono>
#include <ctime>
#include <optional>
#include <thread>
#include <csignal>
#include <type_traits>

namespace nl::protocol {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

using clock_type = std::chrono::steady_clock;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// Largest read buffer a connection keeps (see on_header): Beast reads at
// most 64 KiB per receive, so more would only sit idle.
constexpr uint64_t max_read_buffer = 64 * 1024;

// IMF-fixdate, as Go's server sends on every response (clients read it for
// clock-skew checks; the CORS headers expose it). Formatted once a second
// per thread.
const std::string& http_date() {
  thread_local std::time_t cached_at = -1;
  thread_local std::string cached;
  std::time_t now = std::time(nullptr);
  if (now != cached_at) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[40];
    auto n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached.assign(buf, n);
    cached_at = now;
  }
  return cached;
}

// One connection. Reads a header, checks the size, reads the body, hands the
// request to the handler and waits (without a timer) for the reply, which
// arrives through post() on this connection's io_context (one thread).
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

 public:
  /// `ctx` is the TLS context `stream` was made with (null for plain TCP);
  /// holding it keeps this connection on it across reloads.
  session(Stream stream, const http_server_options& opts, const http_handler& handler,
          std::atomic<int64_t>& busy, std::shared_ptr<net::ssl::context> ctx = nullptr)
    : ctx_(std::move(ctx)), stream_(std::move(stream)), opts_(opts), handler_(handler), busy_(busy) {
    if (opts_.loopback_identity)
      identity_.source = peer_identity::kind::loopback;
  }

  // A reply that was dropped unanswered must not keep drain() waiting, and
  // a streamed body's producer must learn that nobody takes it any more.
  ~session() {
    cancel_source();
    uncount();
  }

  void run() {
    boost::system::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec)
      peer_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (is_tls)
        self->read_first_bytes();
      else
        self->read_header();
    });
  }

 private:
  // TLS: look at the first bytes before OpenSSL does, so that a plain HTTP
  // client gets a readable answer instead of a dropped connection.
  void read_first_bytes() {
    auto& tcp = beast::get_lowest_layer(stream_);
    tcp.expires_after(opts_.handshake_timeout);
    tcp.async_read_some(buffer_.prepare(512), [self = this->shared_from_this()](
                                                beast::error_code ec, size_t n) {
      self->on_first_bytes(ec, n);
    });
  }

  void on_first_bytes(beast::error_code ec, size_t n) {
    if (ec)
      return close();  // connected and left (port probes): nothing to report
    buffer_.commit(n);
    auto bytes = buffer_.cdata();
    std::string_view first{static_cast<const char*>(bytes.data()), bytes.size()};
    if (looks_like_plaintext_http(first)) {
      refused(tls_failure::plaintext_http, "plain HTTP request on the TLS port");
      auto text = plaintext_http_response();
      net::async_write(beast::get_lowest_layer(stream_), net::buffer(text.data(), text.size()),
                       [self = this->shared_from_this()](beast::error_code, size_t) {
                         self->close();
                       });
      return;
    }
    if constexpr (is_tls) {
      stream_.async_handshake(net::ssl::stream_base::server, buffer_.data(),
                              [self = this->shared_from_this()](beast::error_code ec, size_t used) {
                                self->on_handshake(ec, used);
                              });
    }
  }

  void on_handshake(beast::error_code ec, size_t used) {
    if constexpr (is_tls) {
      SSL* ssl = stream_.native_handle();
      if (ec) {
        long verify = SSL_get_verify_result(ssl);
        std::string detail = verify != X509_V_OK ? X509_verify_cert_error_string(verify)
                                                 : ec.message();
        // A peer that vanished mid-handshake (reset, EOF: probes, clients
        // that close right after their Finished) is counted but only
        // logged at debug level; real refusals are warnings.
        bool vanished = verify == X509_V_OK && ec.category() != net::error::get_ssl_category();
        refused(classify_handshake_failure(ec, verify), detail, !vanished);
        return close();
      }
      buffer_.consume(used);
      identity_ = identity_of(ssl);
      read_header();
    }
  }

  /// Counts and logs a refused handshake, once per connection.
  void refused(tls_failure reason, const std::string& detail, bool warn = true) {
    if (opts_.tls_failures != nullptr)
      opts_.tls_failures->add(reason);
    auto& log = warn ? opts_.on_warning : opts_.on_error;
    if (log)
      log("tls handshake from " + peer_ + " refused: " + std::string{to_string(reason)} + " ("
          + detail + ")");
  }

  void read_header() {
    parser_.emplace();
    parser_->body_limit(opts_.body_limit);
    beast::get_lowest_layer(stream_).expires_after(opts_.read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(beast::error_code ec) {
    if (ec)
      return on_read_error(ec);
    auto& req = parser_->get();
    // Refuse an announced oversize body before reading any of it.
    if (auto len = parser_->content_length(); len && *len > opts_.body_limit)
      return reject_too_large();
    // The parser moves body bytes out of buffer_ as they arrive, so buffer_
    // never grows past the header's size and a body would be read ~1 KiB
    // per recv (each re-arming the read timer). Room for the body (up to
    // 64 KiB, Beast's largest read; kept for the connection's next
    // requests) makes it one recv per 64 KiB.
    if (auto len = parser_->content_length(); len && *len > buffer_.capacity() - buffer_.size())
      buffer_.reserve(buffer_.size() + std::min<uint64_t>(*len, max_read_buffer));
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      // curl asks before sending a large body; say yes, then read it.
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, req.version());
      http::async_write(stream_, *cont, [self = this->shared_from_this(), cont](beast::error_code ec, size_t) {
        if (ec)
          return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::body_limit)
      return reject_too_large();
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout
        || ec == net::error::operation_aborted || ec == net::error::connection_reset)
      return close();
    if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
      // Malformed HTTP: answer 400 and close, as Go's server does.
      keep_alive_ = false;
      http_response r;
      r.status = 400;
      r.content_type = "text/plain; charset=utf-8";
      r.body = "400 Bad Request: " + ec.message();
      return write(std::move(r));
    }
    if (opts_.on_error)
      opts_.on_error("http read from " + peer_ + ": " + ec.message());
    close();
  }

  void reject_too_large() {
    keep_alive_ = false;
    http_response r;
    r.status = 413;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "request body larger than " + std::to_string(opts_.body_limit) + " bytes";
    write(std::move(r));
  }

  void on_body(beast::error_code ec) {
    if (ec)
      return on_read_error(ec);
    beast::get_lowest_layer(stream_).expires_never();
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    http_request req;
    req.method = std::string{msg.method_string()};
    req.target = std::string{msg.target()};
    auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos)
      req.query = req.target.substr(q + 1);
    req.content_type = std::string{msg[http::field::content_type]};
    req.content_encoding = std::string{msg[http::field::content_encoding]};
    req.if_none_match = std::string{msg[http::field::if_none_match]};
    auto ae = msg[http::field::accept_encoding];
    gzip_ok_ = accepts_gzip(std::string_view{ae.data(), ae.size()});
    req.body = std::move(msg.body());
    req.peer = peer_;
    req.identity = identity_.describe();
    head_request_ = msg.method() == http::verb::head;
    method_ = req.method;
    path_ = req.path;
    started_ = clock_type::now();
    version_ = msg.version();
    if (opts_.authz) {
      auto decision = opts_.authz->check(identity_, req.target);
      if (!decision.allowed) {
        if (opts_.forbidden != nullptr)
          opts_.forbidden->add(req.target);
        if (opts_.on_warning)
          opts_.on_warning("forbidden: " + req.method + " " + req.path + " from " + peer_ + ": "
                           + decision.reason);
        auto fr = make_forbidden_response(req.target, decision);
        http_response r;
        r.status = 403;
        r.content_type = std::move(fr.content_type);
        r.body = std::move(fr.body);
        return write(std::move(r));
      }
    }
    busy_.fetch_add(1);  // until the answer is written (see http_server::drain)
    counted_ = true;
    cancellation_ = std::make_shared<http_cancellation>();
    req.cancellation = cancellation_;
    // The reply may come from any thread; hop onto this connection's thread.
    auto self = this->shared_from_this();
    http_reply reply = [self](http_response r) {
      net::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable {
        self->on_reply(std::move(r));
      });
    };
    handler_(std::move(req), std::move(reply));
    // Only work that can be stopped is worth the watch (a remote write is
    // not: it ends in milliseconds and its samples are kept anyway).
    if (cancellation_->subscribed())
      watch_peer();
  }

  // While the handler works nothing reads the socket, so a client that gives
  // up (Grafana cancelling a panel, curl interrupted) would go unnoticed
  // until the answer is written. A wait for readability costs nothing until
  // bytes or a FIN/RST arrive; the TCP state then says whether the peer is
  // gone. Other bytes (a pipelined request, a TLS close_notify that precedes
  // its FIN) stay unread for the next request and the wait is re-armed.
  void watch_peer() {
    auto& sock = beast::get_lowest_layer(stream_).socket();
    sock.async_wait(tcp::socket::wait_read, [self = this->shared_from_this()](beast::error_code ec) {
      if (!ec && self->cancellation_)  // still with the handler, peer not gone
        self->watch_peer();
    });
    // Checked after arming: a FIN that arrived earlier is seen here, a later
    // one completes the wait (Asio waits do not complete on old readiness).
    if (peer_left())
      peer_gone();
  }

  /// True when the client closed or reset its side of the connection.
  bool peer_left() {
    tcp_info info{};
    socklen_t len = sizeof info;
    int fd = beast::get_lowest_layer(stream_).socket().native_handle();
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
      return true;
    return info.tcpi_state != TCP_ESTABLISHED;
  }

  // A FIN cannot be told from a half-close (shutdown(SHUT_WR) after the
  // request), so the answer is still written, as Go's server does: a
  // half-closed client reads it, for a closed one the write just fails.
  void peer_gone() {
    peer_gone_ = true;
    keep_alive_ = false;
    if (opts_.on_error)
      opts_.on_error("http: " + peer_ + " went away during " + method_ + " " + path_);
    auto c = std::move(cancellation_);
    c->cancel();
  }

  void on_reply(http_response r) {
    cancellation_.reset();
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().cancel(ec);  // ends watch_peer's wait
    complete(r);
    write(std::move(r));
  }

  void write(http_response r) {
    if (r.stream)
      return write_streamed(std::move(r));
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version_ ? version_ : 11);
    res->result(r.status);
    res->set(http::field::server, "Nightlight");
    res->set(http::field::date, http_date());
    if (!r.content_type.empty())
      res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers)
      res->set(k, v);
    status_ = r.status;
    if (r.compressible && gzip_ok_ && !head_request_ && !r.body.empty()) {
      try {
        r.body = gzip_compress(r.body);
        res->set(http::field::content_encoding, "gzip");
        res->insert(http::field::vary, "Accept-Encoding");
      } catch (const std::bad_alloc&) {
        // Sent as it is.
      }
    }
    // HEAD: send the headers a GET would, but no body.
    if (head_request_) {
      res->content_length(r.body.size());
    } else {
      res->body() = std::move(r.body);
      res->prepare_payload();
      // A 304 must not claim a length other than the 200's (RFC 9110
      // 8.6); Beast writes 0, so it goes (the web UI's revalidations).
      if (r.status == 304)
        res->erase(http::field::content_length);
    }
    res->keep_alive(keep_alive_);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    auto write_done = [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
      self->on_write(ec);
    };
    if (head_request_) {
      auto sr = std::make_shared<http::response_serializer<http::string_body>>(*res);
      http::async_write_header(stream_, *sr, [sr, write_done](beast::error_code ec, size_t n) { write_done(ec, n); });
    } else {
      http::async_write(stream_, *res, std::move(write_done));
    }
  }

  // A streamed body (http_body_source): the header with Transfer-Encoding:
  // chunked, then one chunk per piece, each pulled only once the one before
  // is written; the write timeout applies to each write, not to the time
  // the producer takes.
  void write_streamed(http_response r) {
    auto res = std::make_shared<http::response<http::empty_body>>();
    res->version(version_ ? version_ : 11);
    res->result(r.status);
    res->set(http::field::server, "Nightlight");
    res->set(http::field::date, http_date());
    if (!r.content_type.empty())
      res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers)
      res->set(k, v);
    // HTTP/1.0 knows no chunks: the body then ends where the connection does.
    chunked_ = version_ >= 11;
    if (chunked_)
      res->chunked(true);
    else
      keep_alive_ = false;
    res->keep_alive(keep_alive_);
    status_ = r.status;
    source_ = std::move(r.stream);
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    http::async_write_header(stream_, *sr, [self = this->shared_from_this(), res, sr](beast::error_code ec, size_t) {
      self->on_piece_written(ec, false);
    });
  }

  void on_piece_written(beast::error_code ec, bool was_last) {
    if (ec || was_last) {
      if (ec)
        cancel_source();
      source_.reset();
      piece_.clear();
      return on_write(ec);
    }
    auto self = this->shared_from_this();
    source_->pull([self](http_body_source::piece p) {
      net::post(self->stream_.get_executor(), [self, p = std::move(p)]() mutable { self->on_piece(std::move(p)); });
    });
  }

  void on_piece(http_body_source::piece p) {
    if (!source_)
      return;  // the connection failed meanwhile
    if (p.failed) {
      // Closing without the last chunk is the only way left to tell the
      // client that the body is incomplete.
      source_.reset();
      keep_alive_ = false;
      return on_write(net::error::connection_aborted);
    }
    piece_ = std::move(p.bytes);
    bool last = p.last;
    auto done = [self = this->shared_from_this(), last](beast::error_code ec, size_t) {
      if (ec || !last || !self->chunked_)
        return self->on_piece_written(ec, last);
      // The terminating chunk (no trailers) ends the body.
      net::async_write(self->stream_, http::make_chunk_last(), [self](beast::error_code ec, size_t) {
        self->on_piece_written(ec, true);
      });
    };
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    if (piece_.empty())
      return done({}, 0);
    net::const_buffer bytes(piece_.data(), piece_.size());
    if (chunked_)
      net::async_write(stream_, http::make_chunk(bytes), std::move(done));
    else
      net::async_write(stream_, bytes, std::move(done));
  }

  void cancel_source() {
    if (auto s = std::move(source_))
      s->cancel();
  }

  void on_write(beast::error_code ec) {
    uncount();
    if (opts_.on_done && !method_.empty()) {
      http_request info;
      info.method = method_;
      info.path = path_;
      std::chrono::duration<double> d = clock_type::now() - started_;
      opts_.on_done(info, status_, d.count());
    }
    method_.clear();
    head_request_ = false;
    if (ec) {
      if (opts_.on_error && ec != net::error::operation_aborted && !peer_gone_)
        opts_.on_error("http write to " + peer_ + ": " + ec.message());
      return close();
    }
    if (!keep_alive_)
      return close();
    read_header();
  }

  void uncount() {
    if (counted_) {
      counted_ = false;
      busy_.fetch_sub(1);
    }
  }

  void close() {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
    beast::get_lowest_layer(stream_).close();
  }

  std::shared_ptr<net::ssl::context> ctx_;  // before stream_: outlives it
  Stream stream_;
  const http_server_options& opts_;
  const http_handler& handler_;
  std::atomic<int64_t>& busy_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string peer_;
  peer_identity identity_;
  std::string method_;
  std::string path_;
  unsigned version_ = 11;
  unsigned status_ = 0;
  bool keep_alive_ = true;
  bool head_request_ = false;
  bool gzip_ok_ = false;  // the request's Accept-Encoding takes gzip
  bool counted_ = false;  // this request is included in busy_
  bool peer_gone_ = false;       // the client closed or reset (see peer_gone)
  // Of the request with the handler; null once answered or the peer left.
  std::shared_ptr<http_cancellation> cancellation_;
  // A streamed body being sent, and the piece being written.
  std::shared_ptr<http_body_source> source_;
  std::string piece_;
  bool chunked_ = true;  // the streamed body is sent in chunks (HTTP/1.1)
  clock_type::time_point started_;
};

}  // namespace

void http_cancellation::on_cancel(std::function<void()> hook) {
  std::unique_lock<std::mutex> g{mtx_};
  if (!cancelled_) {
    hook_ = std::move(hook);
    return;
  }
  g.unlock();
  hook();
}

bool http_cancellation::subscribed() const {
  std::lock_guard<std::mutex> g{mtx_};
  return static_cast<bool>(hook_) || cancelled_;
}

void http_cancellation::cancel() {
  std::function<void()> hook;
  {
    std::lock_guard<std::mutex> g{mtx_};
    if (cancelled_)
      return;
    cancelled_ = true;
    hook = std::move(hook_);
  }
  if (hook)
    hook();
}

// Ownership: the http_server alone owns the impl. Handlers queued in the
// io_context refer to it by plain pointer (they run only on the threads
// that stop() joins), and sessions are owned by their pending handlers and
// replies. Destroying the impl destroys the io_contexts, which destroy the
// handlers it still holds and so the sessions: nothing points back at the
// impl to keep it alive. Sessions refer to opts, handler and busy, so those
// are declared before iocs and outlive them.
struct http_server::impl {
  http_server_options opts;
  http_handler handler;
  std::atomic<int64_t> busy{0};  // requests handed to the handler, answer not yet written
  // One io_context per thread, each connection on one of them for its whole
  // life: its handlers never run concurrently, so no strand is needed, and
  // the threads share no reactor, timer queue or scheduler lock. With one
  // shared io_context, idle threads were woken for each other's work and the
  // per-read timers contended on one mutex (~8% of server CPU under
  // remote-write load).
  std::vector<std::unique_ptr<net::io_context>> iocs;
  size_t next_ioc = 0;  // round robin over iocs for new connections
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  std::atomic<bool> stopped{false};
  std::optional<net::steady_timer> tls_poll;
  std::optional<net::signal_set> sighup;

  impl(http_server_options o, http_handler h) : opts(std::move(o)), handler(std::move(h)) {
    for (unsigned i = 0; i < std::max(1u, opts.threads); ++i)
      iocs.push_back(std::make_unique<net::io_context>(1));
    acceptor.emplace(*iocs[0]);
  }

  // iocs[0] goes first: an accepted socket of another io_context may still
  // wait in one of its handlers, and must be closed while that one lives.
  ~impl() {
    sighup.reset();
    tls_poll.reset();
    acceptor.reset();
    iocs.front().reset();
    while (!iocs.empty())
      iocs.pop_back();
  }

  net::io_context& main_ioc() {
    return *iocs[0];
  }

  void accept() {
    auto& ioc = *iocs[next_ioc++ % iocs.size()];
    acceptor->async_accept(ioc, [self = this](beast::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == net::error::operation_aborted || !self->acceptor->is_open())
          return;
        if (self->opts.on_error)
          self->opts.on_error("http accept: " + ec.message());
      } else {
        s.set_option(tcp::no_delay(true), ec);
        if (self->opts.tls) {
          auto ctx = self->opts.tls->current();
          std::make_shared<session<tls_stream>>(tls_stream(beast::tcp_stream(std::move(s)), *ctx),
                                                self->opts, self->handler, self->busy, ctx)
            ->run();
        } else {
          std::make_shared<session<beast::tcp_stream>>(beast::tcp_stream(std::move(s)), self->opts,
                                                       self->handler, self->busy)
            ->run();
        }
      }
      self->accept();
    });
  }

  // Certificate reloads run on an Asio thread: a rebuild takes about a
  // millisecond and must not race with accept's current().
  void start_tls_reloads() {
    if (opts.tls_poll_interval.count() > 0) {
      tls_poll.emplace(main_ioc());
      poll_tls_files();
    }
    sighup.emplace(main_ioc(), SIGHUP);
    wait_sighup();
  }

  void poll_tls_files() {
    tls_poll->expires_after(opts.tls_poll_interval);
    tls_poll->async_wait([self = this](beast::error_code ec) {
      if (ec)
        return;
      self->reload_tls(false);
      self->poll_tls_files();
    });
  }

  void wait_sighup() {
    sighup->async_wait([self = this](beast::error_code ec, int) {
      if (ec)
        return;
      self->reload_tls(true);
      self->wait_sighup();
    });
  }

  void reload_tls(bool force) {
    std::vector<std::string> warnings;
    bool reloaded = false;
    auto st = force ? opts.tls->reload(&warnings) : opts.tls->reload_if_changed(&reloaded, &warnings);
    if (!st) {
      if (opts.on_warning)
        opts.on_warning("tls: reload failed, keeping the previous certificates: " + st.message());
      return;
    }
    if ((force || reloaded) && opts.on_info)
      opts.on_info("tls: reloaded " + opts.tls->options().cert_file + " (generation "
                   + std::to_string(opts.tls->generation()) + ")");
    for (auto& w : warnings)
      if (opts.on_warning)
        opts.on_warning("tls: " + w);
  }
};

http_server::http_server(http_server_options opts, http_handler handler)
  : impl_(std::make_unique<impl>(std::move(opts), std::move(handler))) {
}

http_server::~http_server() {
  stop();
}

storage::status http_server::start() {
  auto& a = *impl_->acceptor;
  beast::error_code ec;
  auto addr = net::ip::make_address(impl_->opts.host, ec);
  if (ec)
    return storage::status::invalid_argument("http: bad listen address \"" + impl_->opts.host + "\": " + ec.message());
  tcp::endpoint ep{addr, impl_->opts.port};
  std::string where = impl_->opts.host + ":" + std::to_string(impl_->opts.port);
  if (a.open(ep.protocol(), ec); ec)
    return storage::status::io_error("http: open " + where + ": " + ec.message());
  if (a.set_option(net::socket_base::reuse_address(true), ec); ec)
    return storage::status::io_error("http: reuse_address " + where + ": " + ec.message());
  if (a.bind(ep, ec); ec)
    return storage::status::io_error("http: bind " + where + ": " + ec.message());
  if (a.listen(net::socket_base::max_listen_connections, ec); ec)
    return storage::status::io_error("http: listen " + where + ": " + ec.message());
  impl_->port = a.local_endpoint().port();
  impl_->accept();
  if (impl_->opts.tls)
    impl_->start_tls_reloads();
  for (auto& ioc : impl_->iocs)
    impl_->threads.emplace_back([ioc = ioc.get()] {
      // Idle between connections: keep run() from returning.
      auto guard = net::make_work_guard(*ioc);
      ioc->run();
    });
  return storage::status::ok();
}

uint16_t http_server::port() const {
  return impl_->port;
}

void http_server::stop_accepting() {
  net::post(impl_->acceptor->get_executor(), [p = impl_.get()] {
    beast::error_code ec;
    p->acceptor->close(ec);
  });
}

bool http_server::drain(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (impl_->busy.load() > 0) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void http_server::stop() {
  if (impl_->stopped.exchange(true))
    return;
  for (auto& ioc : impl_->iocs)
    ioc->stop();
  for (auto& t : impl_->threads)
    if (t.joinable())
      t.join();
}

}  // namespace nl::protocol

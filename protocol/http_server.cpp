#include "protocol/http_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <ctime>
#include <optional>
#include <thread>

namespace nl::protocol {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

using clock_type = std::chrono::steady_clock;

// IMF-fixdate, as Go's server sends on every response (clients read it for
// clock-skew checks; the CORS headers expose it).
std::string http_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[40];
  auto n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

// One connection. Reads a header, checks the size, reads the body, hands the
// request to the handler and waits (without a timer) for the reply, which
// arrives through post() on this connection's strand.
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
 public:
  session(Stream stream, const http_server_options& opts, const http_handler& handler,
          std::atomic<int64_t>& busy)
    : stream_(std::move(stream)), opts_(opts), handler_(handler), busy_(busy) {
  }

  // A reply that was dropped unanswered must not keep drain() waiting.
  ~session() {
    uncount();
  }

  void run() {
    boost::system::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec)
      peer_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->read_header(); });
  }

 private:
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
    req.body = std::move(msg.body());
    req.peer = peer_;
    head_request_ = msg.method() == http::verb::head;
    method_ = req.method;
    path_ = req.path;
    started_ = clock_type::now();
    version_ = msg.version();
    busy_.fetch_add(1);  // until the answer is written (see http_server::drain)
    counted_ = true;
    // The reply may come from any thread; hop onto this connection's strand.
    auto self = this->shared_from_this();
    http_reply reply = [self](http_response r) {
      net::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable {
        self->write(std::move(r));
      });
    };
    handler_(std::move(req), std::move(reply));
  }

  void write(http_response r) {
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
    // HEAD: send the headers a GET would, but no body.
    if (head_request_) {
      res->content_length(r.body.size());
    } else {
      res->body() = std::move(r.body);
      res->prepare_payload();
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
      if (opts_.on_error && ec != net::error::operation_aborted)
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

  Stream stream_;
  const http_server_options& opts_;
  const http_handler& handler_;
  std::atomic<int64_t>& busy_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string peer_;
  std::string method_;
  std::string path_;
  unsigned version_ = 11;
  unsigned status_ = 0;
  bool keep_alive_ = true;
  bool head_request_ = false;
  bool counted_ = false;  // this request is included in busy_
  clock_type::time_point started_;
};

}  // namespace

struct http_server::impl : std::enable_shared_from_this<impl> {
  http_server_options opts;
  http_handler handler;
  net::io_context ioc;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  std::vector<std::thread> threads;
  uint16_t port = 0;
  std::atomic<bool> stopped{false};
  std::atomic<int64_t> busy{0};  // requests handed to the handler, answer not yet written

  impl(http_server_options o, http_handler h) : opts(std::move(o)), handler(std::move(h)), ioc(static_cast<int>(std::max(1u, opts.threads))) {
  }

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == net::error::operation_aborted || !self->acceptor.is_open())
          return;
        if (self->opts.on_error)
          self->opts.on_error("http accept: " + ec.message());
      } else {
        s.set_option(tcp::no_delay(true), ec);
        std::make_shared<session<beast::tcp_stream>>(beast::tcp_stream(std::move(s)), self->opts, self->handler, self->busy)->run();
      }
      self->accept();
    });
  }
};

http_server::http_server(http_server_options opts, http_handler handler)
  : impl_(std::make_shared<impl>(std::move(opts), std::move(handler))) {
}

http_server::~http_server() {
  stop();
}

storage::status http_server::start() {
  auto& a = impl_->acceptor;
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
  for (unsigned i = 0; i < std::max(1u, impl_->opts.threads); ++i)
    impl_->threads.emplace_back([p = impl_] { p->ioc.run(); });
  return storage::status::ok();
}

uint16_t http_server::port() const {
  return impl_->port;
}

void http_server::stop_accepting() {
  net::post(impl_->acceptor.get_executor(), [p = impl_] {
    beast::error_code ec;
    p->acceptor.close(ec);
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
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    if (t.joinable())
      t.join();
}

}  // namespace nl::protocol

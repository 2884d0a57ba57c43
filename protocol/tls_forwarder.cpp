#include "protocol/tls_forwarder.hpp"

#include <signal.h>

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "protocol/exposition.hpp"

namespace nl::protocol {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using boost::system::error_code;
using storage::result;
using storage::status;

namespace {

std::string text_of(const tcp::endpoint& ep) {
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

// Why a handshake failed, for a log line: the chain verification's words
// when the chain was the problem, else the transport's or TLS's.
std::string handshake_detail(const error_code& ec, SSL* ssl) {
  long v = SSL_get_verify_result(ssl);
  if (v != X509_V_OK)
    return X509_verify_cert_error_string(v);
  if (ec == net::error::eof || ec == ssl::error::stream_truncated)
    return "connection closed during the handshake";
  return ec.message();
}

// One connection's two halves: the TLS side (to or from another node) and
// the plain loopback side (CAF's BASP). Each direction reads at most one
// buffer, writes it whole, then reads again.
class pipe : public std::enable_shared_from_this<pipe> {
 public:
  pipe(net::io_context& ioc, std::shared_ptr<ssl::context> ctx, size_t buffer_bytes)
    : ctx_(std::move(ctx)), tls_(ioc, *ctx_), plain_(ioc) {
    for (auto& b : buf_)
      b.resize(buffer_bytes);
  }

  ssl::stream<tcp::socket>& tls() { return tls_; }
  tcp::socket& plain() { return plain_; }
  bool closed() const { return closed_; }
  /// Runs once, when the pipe closes (both sockets closed already).
  void on_close(std::function<void()> f) { on_close_ = std::move(f); }

  void start() {
    tls_to_plain();
    plain_to_tls();
  }

  void close() {
    if (closed_)
      return;
    closed_ = true;
    error_code ignored;
    tls_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
    tls_.lowest_layer().close(ignored);
    plain_.shutdown(tcp::socket::shutdown_both, ignored);
    plain_.close(ignored);
    if (on_close_)
      std::exchange(on_close_, nullptr)();
  }

 private:
  void tls_to_plain() {
    tls_.async_read_some(net::buffer(buf_[0]), [self = shared_from_this()](error_code ec, size_t n) {
      if (ec)
        return self->close();
      net::async_write(self->plain_, net::buffer(self->buf_[0].data(), n), [self](error_code ec, size_t) {
        if (ec)
          return self->close();
        self->tls_to_plain();
      });
    });
  }

  void plain_to_tls() {
    plain_.async_read_some(net::buffer(buf_[1]), [self = shared_from_this()](error_code ec, size_t n) {
      if (ec)
        return self->close();
      net::async_write(self->tls_, net::buffer(self->buf_[1].data(), n), [self](error_code ec, size_t) {
        if (ec)
          return self->close();
        self->plain_to_tls();
      });
    });
  }

  std::shared_ptr<ssl::context> ctx_;  // outlives the stream across reloads
  ssl::stream<tcp::socket> tls_;
  tcp::socket plain_;
  std::array<std::vector<char>, 2> buf_;  // [0]: TLS → plain, [1]: plain → TLS
  std::function<void()> on_close_;
  bool closed_ = false;
};

}  // namespace

struct tls_forwarder::impl {
  struct peer {
    std::string name;
    std::string host;
    uint16_t port = 0;
    tcp::acceptor local;
    std::string last_failure;  // logged once per change
    explicit peer(net::io_context& ioc) : local(ioc) {}
  };

  tls_forwarder_options opts;
  net::io_context ioc{1};
  std::shared_ptr<ssl::context> client_ctx;  // replaced on reload (Asio thread only)
  std::optional<tcp::acceptor> inbound;
  std::atomic<uint16_t> target{0};
  std::atomic<bool> said_not_ready{false};
  std::vector<std::unique_ptr<peer>> peers;
  std::optional<net::steady_timer> poll;
  std::optional<net::signal_set> sighup;
  std::thread thread;

  struct inbound_pipe {
    peer_identity who;
    std::weak_ptr<pipe> conn;
  };
  mutable std::mutex identities_mtx;
  std::unordered_map<uint16_t, inbound_pipe> identities;  // by loopback source port

  tls_failure_counters in_failures;
  std::atomic<uint64_t> out_failures{0};
  std::atomic<uint64_t> in_pipes{0};
  std::atomic<uint64_t> out_pipes{0};
  // Inbound failures logged recently, by "address reason" (Asio thread).
  std::map<std::string, std::chrono::steady_clock::time_point> logged;

  void warn(const std::string& m) const {
    if (opts.on_warning)
      opts.on_warning(m);
  }

  // --- inbound ---------------------------------------------------------

  void accept_inbound() {
    inbound->async_accept([this](error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted || !inbound->is_open())
        return;
      if (!ec)
        handshake_inbound(std::move(s));
      accept_inbound();
    });
  }

  // One line per address and reason a minute: anyone who reaches the port
  // can fail handshakes as fast as they like.
  void log_inbound_failure(const std::string& from, tls_failure reason, const std::string& detail) {
    auto addr = from.substr(0, from.rfind(':'));
    auto key = addr + " " + std::string{to_string(reason)};
    auto now = std::chrono::steady_clock::now();
    auto it = logged.find(key);
    if (it != logged.end() && now - it->second < std::chrono::minutes(1))
      return;
    if (logged.size() >= 1024)
      logged.clear();
    logged[key] = now;
    warn("cluster tls: refused a connection from " + from + ": " + std::string{to_string(reason)} + " ("
         + detail + ") (more like this from " + addr
         + " within a minute are only counted: nightlight_cluster_tls_handshake_failures_total)");
  }

  void handshake_inbound(tcp::socket s) {
    error_code ec;
    auto from = text_of(s.remote_endpoint(ec));
    auto p = std::make_shared<pipe>(ioc, opts.tls->current(), opts.buffer_bytes);
    p->tls().next_layer() = std::move(s);
    auto timer = std::make_shared<net::steady_timer>(ioc, opts.handshake_timeout);
    timer->async_wait([p](error_code ec) {
      if (!ec)
        p->close();  // the handshake fails with operation_aborted
    });
    p->tls().async_handshake(ssl::stream_base::server, [this, p, timer, from](error_code ec) {
      bool timed_out = p->closed();
      timer->cancel();
      if (ec) {
        auto reason = timed_out ? tls_failure::other
                                : classify_handshake_failure(ec, SSL_get_verify_result(p->tls().native_handle()));
        in_failures.add(reason);
        log_inbound_failure(from, reason,
                            timed_out ? "no handshake within " + std::to_string(opts.handshake_timeout.count()) + " ms"
                                      : handshake_detail(ec, p->tls().native_handle()));
        p->close();
        return;
      }
      auto who = identity_of(p->tls().native_handle());
      uint16_t port = target.load();
      if (port == 0) {
        // Peers dial while this node still replays its WAL; say so once.
        if (!said_not_ready.exchange(true) && opts.on_info)
          opts.on_info("cluster tls: closing verified connections (first from " + from + ", " + who.describe()
                       + ") until this node's node links start");
        p->close();
        return;
      }
      p->plain().async_connect(tcp::endpoint{net::ip::address_v4::loopback(), port},
                               [this, p, who, from](error_code ec) {
                                 if (ec) {
                                   warn("cluster tls: cannot reach the local node link endpoint for " + from + ": "
                                        + ec.message());
                                   p->close();
                                   return;
                                 }
                                 auto local = p->plain().local_endpoint(ec).port();
                                 {
                                   std::lock_guard<std::mutex> g{identities_mtx};
                                   identities[local] = inbound_pipe{who, p};
                                 }
                                 in_pipes.fetch_add(1, std::memory_order_relaxed);
                                 p->on_close([this, local] {
                                   std::lock_guard<std::mutex> g{identities_mtx};
                                   identities.erase(local);
                                   in_pipes.fetch_sub(1, std::memory_order_relaxed);
                                 });
                                 p->start();
                               });
    });
  }

  // --- outbound --------------------------------------------------------

  void accept_outbound(peer* op) {
    op->local.async_accept([this, op](error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted || !op->local.is_open())
        return;
      if (!ec)
        dial(op, std::move(s));
      accept_outbound(op);
    });
  }

  void outbound_failed(peer* op, const std::shared_ptr<pipe>& p, const std::string& why) {
    out_failures.fetch_add(1, std::memory_order_relaxed);
    if (why != op->last_failure)
      warn("cluster tls: cannot reach node " + op->name + " at " + op->host + ":" + std::to_string(op->port) + ": "
           + why);
    op->last_failure = why;
    p->close();
  }

  void dial(peer* op, tcp::socket local) {
    auto p = std::make_shared<pipe>(ioc, client_ctx, opts.buffer_bytes);
    p->plain() = std::move(local);
    // SNI names the node we mean to reach (no server here uses it yet).
    SSL_set_tlsext_host_name(p->tls().native_handle(), op->name.c_str());
    auto timer = std::make_shared<net::steady_timer>(ioc, opts.handshake_timeout);
    auto resolver = std::make_shared<tcp::resolver>(ioc);
    timer->async_wait([p, resolver](error_code ec) {
      if (ec)
        return;
      resolver->cancel();
      p->close();
    });
    resolver->async_resolve(op->host, std::to_string(op->port), [this, op, p, timer, resolver](
                                                                   error_code ec, tcp::resolver::results_type rs) {
      if (p->closed())
        return outbound_failed(op, p, "no connection within " + std::to_string(opts.handshake_timeout.count()) + " ms");
      if (ec)
        return outbound_failed(op, p, "cannot resolve " + op->host + ": " + ec.message());
      net::async_connect(p->tls().next_layer(), rs, [this, op, p, timer](error_code ec, const tcp::endpoint&) {
        if (p->closed())
          return outbound_failed(op, p, "no connection within " + std::to_string(opts.handshake_timeout.count()) + " ms");
        if (ec)
          return outbound_failed(op, p, ec.message());
        p->tls().async_handshake(ssl::stream_base::client, [this, op, p, timer](error_code ec) {
          bool timed_out = p->closed();
          timer->cancel();
          if (timed_out)
            return outbound_failed(op, p, "no TLS handshake within " + std::to_string(opts.handshake_timeout.count()) + " ms");
          if (ec)
            return outbound_failed(op, p, "TLS handshake failed: " + handshake_detail(ec, p->tls().native_handle())
                                            + " (is its certificate from our cluster.ca_file, and ours from its?)");
          auto who = identity_of(p->tls().native_handle());
          if (!who.has_name(op->name))
            return outbound_failed(op, p, "its certificate (" + who.describe() + ") does not name node " + op->name);
          if (!op->last_failure.empty() && opts.on_info)
            opts.on_info("cluster tls: reached node " + op->name + " again");
          op->last_failure.clear();
          out_pipes.fetch_add(1, std::memory_order_relaxed);
          p->on_close([this] { out_pipes.fetch_sub(1, std::memory_order_relaxed); });
          p->start();
        });
      });
    });
  }

  // --- certificate reloads ---------------------------------------------

  void reload(bool force) {
    std::vector<std::string> warnings;
    bool reloaded = false;
    auto st = force ? opts.tls->reload(&warnings) : opts.tls->reload_if_changed(&reloaded, &warnings);
    for (auto& w : warnings)
      warn("cluster tls: " + w);
    if (!st) {
      warn("cluster tls: reload failed, keeping the previous certificates: " + st.message());
      return;
    }
    if (!force && !reloaded)
      return;
    auto ctx = build_tls_client_context(opts.tls->material());
    if (!ctx) {
      warn("cluster tls: reload failed for outbound links, keeping the previous certificates: "
           + ctx.error().message());
      return;
    }
    client_ctx = std::move(*ctx);
    if (opts.on_info)
      opts.on_info("cluster tls: reloaded " + opts.tls->options().cert_file + " (generation "
                   + std::to_string(opts.tls->generation()) + ")");
  }

  void poll_files() {
    poll->expires_after(opts.poll_interval);
    poll->async_wait([this](error_code ec) {
      if (ec)
        return;
      reload(false);
      poll_files();
    });
  }

  void wait_sighup() {
    sighup->async_wait([this](error_code ec, int) {
      if (ec)
        return;
      reload(true);
      wait_sighup();
    });
  }
};

tls_forwarder::tls_forwarder(std::unique_ptr<impl> p) : impl_(std::move(p)) {
}

tls_forwarder::~tls_forwarder() {
  stop();
}

result<std::unique_ptr<tls_forwarder>> tls_forwarder::create(tls_forwarder_options opts) {
  if (!opts.tls)
    return status::invalid_argument("cluster tls: no certificates");
  auto ctx = build_tls_client_context(opts.tls->material());
  if (!ctx)
    return ctx.error();
  auto p = std::make_unique<impl>();
  p->opts = std::move(opts);
  p->client_ctx = std::move(*ctx);
  return std::unique_ptr<tls_forwarder>(new tls_forwarder(std::move(p)));
}

namespace {

result<uint16_t> open_acceptor(tcp::acceptor& a, const std::string& host, uint16_t port) {
  error_code ec;
  auto addr = net::ip::make_address(host, ec);
  if (ec)
    return status::invalid_argument("bad listen address \"" + host + "\": " + ec.message());
  tcp::endpoint ep{addr, port};
  auto where = host + ":" + std::to_string(port);
  if (a.open(ep.protocol(), ec); ec)
    return status::io_error("open " + where + ": " + ec.message());
  if (a.set_option(net::socket_base::reuse_address(true), ec); ec)
    return status::io_error("reuse_address " + where + ": " + ec.message());
  if (a.bind(ep, ec); ec)
    return status::io_error("bind " + where + ": " + ec.message());
  if (a.listen(net::socket_base::max_listen_connections, ec); ec)
    return status::io_error("listen " + where + ": " + ec.message());
  return a.local_endpoint().port();
}

}  // namespace

result<uint16_t> tls_forwarder::listen(const std::string& host, uint16_t port) {
  impl_->inbound.emplace(impl_->ioc);
  auto got = open_acceptor(*impl_->inbound, host == "localhost" ? "127.0.0.1" : host, port);
  if (got)
    impl_->accept_inbound();
  return got;
}

void tls_forwarder::set_inbound_target(uint16_t port) {
  impl_->target.store(port);
}

result<uint16_t> tls_forwarder::add_peer(const std::string& name, const std::string& host, uint16_t port) {
  auto op = std::make_unique<impl::peer>(impl_->ioc);
  op->name = name;
  op->host = host;
  op->port = port;
  auto got = open_acceptor(op->local, "127.0.0.1", 0);
  if (!got)
    return got;
  impl_->accept_outbound(op.get());
  impl_->peers.push_back(std::move(op));
  return got;
}

void tls_forwarder::start() {
  auto& m = *impl_;
  if (m.thread.joinable())
    return;
  if (m.opts.poll_interval.count() > 0) {
    m.poll.emplace(m.ioc);
    m.poll_files();
  }
  if (m.opts.reload_on_sighup) {
    m.sighup.emplace(m.ioc, SIGHUP);
    m.wait_sighup();
  }
  m.thread = std::thread([&m] {
    auto guard = net::make_work_guard(m.ioc);
    m.ioc.run();
  });
}

void tls_forwarder::stop() {
  auto& m = *impl_;
  if (!m.thread.joinable())
    return;
  m.ioc.stop();
  m.thread.join();
}

std::optional<peer_identity> tls_forwarder::inbound_identity(uint16_t loopback_port) const {
  std::lock_guard<std::mutex> g{impl_->identities_mtx};
  auto it = impl_->identities.find(loopback_port);
  if (it == impl_->identities.end())
    return std::nullopt;
  return it->second.who;
}

void tls_forwarder::close_inbound(uint16_t loopback_port, std::chrono::milliseconds delay) {
  auto timer = std::make_shared<net::steady_timer>(impl_->ioc, delay);
  timer->async_wait([m = impl_.get(), loopback_port, timer](error_code ec) {
    if (ec)
      return;
    std::shared_ptr<pipe> p;
    {
      std::lock_guard<std::mutex> g{m->identities_mtx};
      auto it = m->identities.find(loopback_port);
      if (it != m->identities.end())
        p = it->second.conn.lock();
    }
    if (p)
      p->close();  // its on_close takes the lock
  });
}

const tls_failure_counters& tls_forwarder::inbound_failures() const {
  return impl_->in_failures;
}

uint64_t tls_forwarder::outbound_failures() const {
  return impl_->out_failures.load(std::memory_order_relaxed);
}

uint64_t tls_forwarder::inbound_pipes() const {
  return impl_->in_pipes.load(std::memory_order_relaxed);
}

uint64_t tls_forwarder::outbound_pipes() const {
  return impl_->out_pipes.load(std::memory_order_relaxed);
}

void tls_forwarder::append_metrics(std::string& out) const {
  impl_->in_failures.append_metrics(out, "nightlight_cluster_tls_handshake_failures_total",
                                    "TLS handshakes refused at this node's node port, by reason.");
  append_metric_header(out, "nightlight_cluster_tls_dial_failures_total", "counter",
                       "Connections to peers that failed before carrying node-link bytes (connect, TLS "
                       "handshake, or a certificate that does not name the peer).");
  append_metric_line(out, "nightlight_cluster_tls_dial_failures_total", "", outbound_failures());
  append_metric_header(out, "nightlight_cluster_tls_connections", "gauge",
                       "Verified node-link TLS connections open now, by direction.");
  append_metric_line(out, "nightlight_cluster_tls_connections", "direction=\"inbound\"", inbound_pipes());
  append_metric_line(out, "nightlight_cluster_tls_connections", "direction=\"outbound\"", outbound_pipes());
}

}  // namespace nl::protocol

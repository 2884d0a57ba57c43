#define CAF_SUITE protocol.tls_forwarder
#include "test_support.hpp"

#include "protocol/tls_forwarder.hpp"
#include "protocol/tls_test_pki.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>

using namespace nl::protocol;
using namespace nl::test;

namespace {

// --- blocking loopback sockets with 5 s timeouts ---------------------------

void set_timeouts(int fd) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int dial(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  set_timeouts(fd);
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

/// A listening loopback socket (the stand-in for CAF's BASP port).
struct target {
  int fd = -1;
  uint16_t port = 0;
  target() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    ::listen(fd, 16);
    socklen_t len = sizeof(sa);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
  }
  ~target() { ::close(fd); }
  /// The next connection, waiting up to `ms`; -1 when none came.
  int accept_within(int ms) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, ms) != 1)
      return -1;
    int c = ::accept(fd, nullptr, nullptr);
    if (c >= 0)
      set_timeouts(c);
    return c;
  }
};

uint16_t remote_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  ::getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n <= 0)
      return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

/// Exactly n bytes, or fewer when the connection ends or times out.
std::string read_n(int fd, size_t n) {
  std::string out;
  char buf[65536];
  while (out.size() < n) {
    ssize_t got = ::read(fd, buf, std::min(sizeof(buf), n - out.size()));
    if (got <= 0)
      break;
    out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

/// True when the peer closed (EOF or reset) rather than the read timing out.
bool closed_by_peer(int fd) {
  char c;
  ssize_t n = ::read(fd, &c, 1);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

template <class F>
bool eventually(F f) {
  for (int i = 0; i < 500; ++i) {
    if (f())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// --- certificates and forwarders -------------------------------------------

struct node_cert {
  std::string cert_file;
  std::string key_file;
};

struct fixture {
  pki_dir dir;
  key_ptr ca_key = make_key();
  cert_ptr ca = make_cert({"cluster CA", -3600, 86400, true, eku::none, {}, {}}, ca_key.get());
  key_ptr rogue_ca_key = make_key();
  cert_ptr rogue_ca = make_cert({"rogue CA", -3600, 86400, true, eku::none, {}, {}}, rogue_ca_key.get());
  std::string ca_file = dir.write("ca.pem", pem_of(ca.get()));
  std::mutex mtx;
  std::vector<std::string> warnings;

  /// A node certificate (no extendedKeyUsage: good for both ends) with
  /// CN `cn` and the DNS SANs `dns`, from the cluster CA or the rogue one.
  node_cert cert(const std::string& file, const std::string& cn, std::vector<std::string> dns, bool rogue = false) {
    auto key = make_key();
    auto x = make_cert({cn, -3600, 86400, false, eku::none, std::move(dns), {}}, key.get(),
                       rogue ? rogue_ca.get() : ca.get(), rogue ? rogue_ca_key.get() : ca_key.get());
    return {dir.write(file + ".pem", pem_of(x.get())), dir.write(file + ".key", pem_of(key.get()))};
  }

  /// `ca`: the CA file it trusts (the cluster CA's by default); `poll`:
  /// how often it checks its files for changes (0: never).
  std::unique_ptr<tls_forwarder> forwarder(const node_cert& nc, std::string ca = {},
                                           std::chrono::milliseconds poll = std::chrono::milliseconds(0)) {
    tls_options to;
    to.cert_file = nc.cert_file;
    to.key_file = nc.key_file;
    to.ca_file = ca.empty() ? ca_file : ca;
    auto built = build_tls_context(to);
    CAF_REQUIRE(built);
    tls_forwarder_options fo;
    fo.tls = std::make_shared<tls_context_reloader>(to, std::move(*built));
    fo.poll_interval = poll;
    fo.reload_on_sighup = false;
    fo.on_warning = [this](const std::string& m) {
      std::lock_guard<std::mutex> g{mtx};
      warnings.push_back(m);
    };
    auto f = tls_forwarder::create(std::move(fo));
    CAF_REQUIRE(f);
    return std::move(*f);
  }

  bool warned(const std::string& part) {
    std::lock_guard<std::mutex> g{mtx};
    for (auto& w : warnings)
      if (contains(w, part))
        return true;
    return false;
  }
};

/// Node b listening (its inbound side piped to `t`) and node a with an
/// outbound port for b: the two ends of one node link.
struct link_pair {
  std::unique_ptr<tls_forwarder> b;
  std::unique_ptr<tls_forwarder> a;
  uint16_t b_port = 0;
  uint16_t a_port = 0;  ///< connect here to reach b
};

link_pair make_pair(fixture& fx, target& t, const node_cert& a_cert, const std::string& dial_name = "b") {
  link_pair p;
  p.b = fx.forwarder(fx.cert("b", "b", {"b"}));
  auto bp = p.b->listen("127.0.0.1", 0);
  CAF_REQUIRE(bp);
  p.b_port = *bp;
  p.b->set_inbound_target(t.port);
  p.b->start();
  p.a = fx.forwarder(a_cert);
  auto ap = p.a->add_peer(dial_name, "127.0.0.1", p.b_port);
  CAF_REQUIRE(ap);
  p.a_port = *ap;
  p.a->start();
  return p;
}

}  // namespace

CAF_TEST(a verified pipe carries bytes both ways and names the dialling node) {
  fixture fx;
  target t;
  auto p = make_pair(fx, t, fx.cert("a", "a", {"a", "node-a.example"}));
  int client = dial(p.a_port);
  CAF_REQUIRE(client >= 0);
  CAF_REQUIRE(write_all(client, "ping from a"));
  int server = t.accept_within(5000);
  CAF_REQUIRE(server >= 0);
  CAF_CHECK_EQUAL(read_n(server, 11), "ping from a");
  CAF_REQUIRE(write_all(server, "pong from b"));
  CAF_CHECK_EQUAL(read_n(client, 11), "pong from b");
  // The pipe's loopback port maps to the client certificate's names.
  auto who = p.b->inbound_identity(remote_port(server));
  CAF_REQUIRE(who.has_value());
  CAF_CHECK_EQUAL(who->common_name, "a");
  CAF_CHECK(who->has_name("a"));
  CAF_CHECK(who->has_name("node-a.example"));
  CAF_CHECK(!who->has_name("b"));
  CAF_CHECK(!p.b->inbound_identity(remote_port(client)).has_value());
  CAF_CHECK_EQUAL(p.a->outbound_pipes(), 1u);
  CAF_CHECK_EQUAL(p.b->inbound_pipes(), 1u);
  // Far more than the 64 KiB per direction a pipe holds: backpressure, not
  // loss.
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>(i * 131 + 7);
  std::thread writer([&] { write_all(client, big); });
  auto got = read_n(server, big.size());
  writer.join();
  CAF_CHECK(got == big);
  // Closing one end closes the other and forgets the identity.
  auto port = remote_port(server);
  CAF_CHECK(p.b->inbound_identity(port).has_value());
  ::close(client);
  CAF_CHECK(closed_by_peer(server));
  CAF_CHECK(eventually([&] { return !p.b->inbound_identity(port).has_value(); }));
  CAF_CHECK(eventually([&] { return p.a->outbound_pipes() == 0 && p.b->inbound_pipes() == 0; }));
  ::close(server);
  std::string metrics;
  p.b->append_metrics(metrics);
  CAF_CHECK(contains(metrics, "nightlight_cluster_tls_handshake_failures_total{reason=\"unknown_ca\"} 0\n"));
  CAF_CHECK(contains(metrics, "nightlight_cluster_tls_connections{direction=\"inbound\"} 0\n"));
}

CAF_TEST(close_inbound cuts one pipe and leaves the others) {
  fixture fx;
  target t;
  auto p = make_pair(fx, t, fx.cert("a", "a", {"a"}));
  int c1 = dial(p.a_port);
  CAF_REQUIRE(c1 >= 0);
  CAF_REQUIRE(write_all(c1, "1"));
  int s1 = t.accept_within(5000);
  CAF_REQUIRE(s1 >= 0);
  int c2 = dial(p.a_port);
  CAF_REQUIRE(c2 >= 0);
  CAF_REQUIRE(write_all(c2, "2"));
  int s2 = t.accept_within(5000);
  CAF_REQUIRE(s2 >= 0);
  CAF_CHECK_EQUAL(read_n(s1, 1), "1");
  CAF_CHECK_EQUAL(read_n(s2, 1), "2");
  p.b->close_inbound(remote_port(s1));
  CAF_CHECK(closed_by_peer(s1));
  CAF_CHECK(closed_by_peer(c1));
  CAF_REQUIRE(write_all(c2, "still"));
  CAF_CHECK_EQUAL(read_n(s2, 5), "still");
  for (int fd : {c1, s1, c2, s2})
    ::close(fd);
}

CAF_TEST(a client certificate from another CA never reaches the target) {
  fixture fx;
  target t;
  auto p = make_pair(fx, t, fx.cert("rogue-a", "a", {"a"}, true));
  int client = dial(p.a_port);
  CAF_REQUIRE(client >= 0);
  write_all(client, "let me in");
  CAF_CHECK(closed_by_peer(client));
  CAF_CHECK(eventually([&] { return p.b->inbound_failures().get(tls_failure::unknown_ca) == 1; }));
  // Counted means its handshake handler returned without connecting on.
  CAF_CHECK_EQUAL(t.accept_within(0), -1);
  CAF_CHECK(fx.warned("cluster tls: refused a connection from 127.0.0.1:"));
  CAF_CHECK(fx.warned("unknown_ca (unable to get local issuer certificate)"));
  ::close(client);
}

CAF_TEST(a server certificate that does not name the dialled node is refused) {
  fixture fx;
  target t;
  // a dials "c", but the server at that address is b.
  auto p = make_pair(fx, t, fx.cert("a", "a", {"a"}), "c");
  int client = dial(p.a_port);
  CAF_REQUIRE(client >= 0);
  CAF_CHECK(closed_by_peer(client));
  CAF_CHECK(eventually([&] { return p.a->outbound_failures() == 1; }));
  CAF_CHECK(fx.warned("its certificate (CN=b DNS=b) does not name node c"));
  CAF_CHECK_EQUAL(p.a->outbound_pipes(), 0u);
  ::close(client);
}

CAF_TEST(failed handshakes at the node port leave an established pipe alone) {
  fixture fx;
  target t;
  auto p = make_pair(fx, t, fx.cert("a", "a", {"a"}));
  int client = dial(p.a_port);
  CAF_REQUIRE(client >= 0);
  CAF_REQUIRE(write_all(client, "hello"));
  int server = t.accept_within(5000);
  CAF_REQUIRE(server >= 0);
  CAF_CHECK_EQUAL(read_n(server, 5), "hello");
  // Closed before, and in the middle of, a ClientHello.
  const unsigned char partial[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
  for (size_t n = 0; n <= sizeof(partial); ++n) {
    int raw = dial(p.b_port);
    CAF_REQUIRE(raw >= 0);
    if (n > 0)
      CAF_CHECK_EQUAL(::write(raw, partial, n), static_cast<ssize_t>(n));
    ::close(raw);
  }
  // A whole handshake with a certificate from another CA.
  auto rogue = fx.forwarder(fx.cert("rogue-a", "a", {"a"}, true));
  auto rp = rogue->add_peer("b", "127.0.0.1", p.b_port);
  CAF_REQUIRE(rp);
  rogue->start();
  int bad = dial(*rp);
  CAF_REQUIRE(bad >= 0);
  CAF_CHECK(closed_by_peer(bad));
  ::close(bad);
  CAF_CHECK(eventually([&] {
    return p.b->inbound_failures().get(tls_failure::other) == sizeof(partial) + 1
           && p.b->inbound_failures().get(tls_failure::unknown_ca) == 1;
  }));
  // The established pipe still carries bytes both ways.
  CAF_REQUIRE(write_all(client, "still here"));
  CAF_CHECK_EQUAL(read_n(server, 10), "still here");
  CAF_REQUIRE(write_all(server, "me too"));
  CAF_CHECK_EQUAL(read_n(client, 6), "me too");
  CAF_CHECK_EQUAL(t.accept_within(0), -1);
  ::close(client);
  ::close(server);
}

CAF_TEST(verified connections before the target is known are closed) {
  fixture fx;
  auto b = fx.forwarder(fx.cert("b", "b", {"b"}));
  auto bp = b->listen("127.0.0.1", 0);
  CAF_REQUIRE(bp);
  b->start();
  auto a = fx.forwarder(fx.cert("a", "a", {"a"}));
  auto ap = a->add_peer("b", "127.0.0.1", *bp);
  CAF_REQUIRE(ap);
  a->start();
  int client = dial(*ap);
  CAF_REQUIRE(client >= 0);
  CAF_CHECK(closed_by_peer(client));
  ::close(client);
  CAF_CHECK_EQUAL(b->inbound_pipes(), 0u);
}

CAF_TEST(a changed CA file is picked up for new connections) {
  fixture fx;
  target t;
  // b trusts only the cluster CA at first, from a file of its own.
  auto b_ca = fx.dir.write("b-ca.pem", pem_of(fx.ca.get()));
  auto b = fx.forwarder(fx.cert("b", "b", {"b"}), b_ca, std::chrono::milliseconds(20));
  auto bp = b->listen("127.0.0.1", 0);
  CAF_REQUIRE(bp);
  b->set_inbound_target(t.port);
  b->start();
  auto a = fx.forwarder(fx.cert("rogue-a", "a", {"a"}, true));
  auto ap = a->add_peer("b", "127.0.0.1", *bp);
  CAF_REQUIRE(ap);
  a->start();
  int refused = dial(*ap);
  CAF_REQUIRE(refused >= 0);
  CAF_CHECK(closed_by_peer(refused));
  ::close(refused);
  CAF_CHECK(eventually([&] { return b->inbound_failures().get(tls_failure::unknown_ca) == 1; }));
  // Now b trusts the other CA too: the next poll rebuilds its context.
  fx.dir.write("b-ca.pem", pem_of(fx.ca.get()) + pem_of(fx.rogue_ca.get()));
  int server = -1;
  CAF_CHECK(eventually([&] {
    int c = dial(*ap);
    write_all(c, "x");
    server = t.accept_within(500);
    ::close(c);
    return server >= 0;
  }));
  if (server >= 0)
    ::close(server);
}

CAF_TEST(a client context needs the CA) {
  tls_material m;
  CAF_CHECK(!build_tls_client_context(m));
}

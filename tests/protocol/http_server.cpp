#define CAF_SUITE protocol.http_server
#include "test_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "protocol/http_server.hpp"

#include <zlib.h>

using namespace nl::protocol;

namespace {

// A blocking client socket with a 5 s receive timeout (every loop in these
// tests is bounded by it).
struct client {
  int fd = -1;
  explicit client(uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ~client() {
    if (fd >= 0)
      ::close(fd);
  }
  void send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      auto n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0)
        return;
      off += static_cast<size_t>(n);
    }
  }
  // Reads one response: headers, then Content-Length bytes of body (none
  // for HEAD). Returns "" on timeout or close.
  std::string response(bool head = false) {
    while (buf.find("\r\n\r\n") == std::string::npos)
      if (!fill())
        return "";
    auto hdr_end = buf.find("\r\n\r\n") + 4;
    size_t len = 0;
    auto cl = buf.find("Content-Length: ");
    if (cl != std::string::npos && cl < hdr_end)
      len = std::stoul(buf.substr(cl + 16));
    if (head)
      len = 0;
    while (buf.size() < hdr_end + len)
      if (!fill())
        return "";
    auto r = buf.substr(0, hdr_end + len);
    buf.erase(0, hdr_end + len);
    return r;
  }
  /// Closes the connection; with `reset`, by an RST instead of a FIN.
  void close(bool reset = false) {
    if (reset) {
      linger l{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(fd);
    fd = -1;
  }
  bool closed() {
    char c;
    return ::recv(fd, &c, 1, 0) == 0;
  }
  bool fill() {
    char tmp[4096];
    auto n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0)
      return false;
    buf.append(tmp, static_cast<size_t>(n));
    return true;
  }
  std::string buf;
};

struct fixture {
  http_server_options opts;
  std::unique_ptr<http_server> srv;
  std::vector<std::thread> helpers;  // guarded by held_mtx (server threads add)
  // /hang: the handler keeps the reply (destroyed before srv) and counts
  // the cancellations it is told about.
  std::mutex held_mtx;
  std::vector<http_reply> held;
  std::atomic<int> cancelled{0};
  // Disconnects the server noticed ("... went away during ..." lines).
  std::atomic<int> went_away{0};

  fixture() {
    opts.port = 0;  // any free port
    opts.threads = 2;
    opts.body_limit = 1000;
    opts.read_timeout = std::chrono::seconds(5);
    opts.on_error = [this](const std::string& m) {
      if (m.find("went away") != std::string::npos)
        went_away += 1;
    };
    srv = std::make_unique<http_server>(opts, [this](http_request&& rq, http_reply reply) {
      http_response r;
      r.content_type = "text/plain";
      if (rq.path == "/hang") {
        rq.cancellation->on_cancel([this] { cancelled += 1; });
        std::lock_guard<std::mutex> g{held_mtx};
        held.push_back(std::move(reply));
        return;
      }
      if (rq.path == "/hold") {
        // Keeps the reply without subscribing to cancellation (as a write does).
        std::lock_guard<std::mutex> g{held_mtx};
        held.push_back(std::move(reply));
        return;
      }
      if (rq.path == "/later") {
        // Answer from a foreign thread, as actors do.
        std::lock_guard<std::mutex> g{held_mtx};
        helpers.emplace_back([reply] {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          reply({200, "text/plain", "late", {}});
        });
        return;
      }
      if (rq.path == "/gzip" || rq.path == "/gzip-empty") {
        r.compressible = true;
        for (int i = 0; rq.path == "/gzip" && i < 1000; ++i)
          r.body += "{\"metric\":{\"job\":\"api\"},\"value\":[1700000000," + std::to_string(i) + "]}";
        reply(std::move(r));
        return;
      }
      r.body = rq.method + " " + rq.path + " q=" + rq.query + " body=" + std::to_string(rq.body.size())
               + " ce=" + rq.content_encoding;
      reply(std::move(r));
    });
    auto st = srv->start();
    CAF_REQUIRE(st.is_ok());
  }
  ~fixture() {
    held.clear();
    srv->stop();
    for (auto& t : helpers)
      t.join();
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(http_server_tests, fixture)

CAF_TEST(keep alive serves several requests on one connection) {
  client c{srv->port()};
  CAF_REQUIRE(c.fd >= 0);
  c.send("GET /a?x=1 HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r1 = c.response();
  CAF_CHECK(r1.find("HTTP/1.1 200 OK") == 0);
  CAF_CHECK(r1.find("GET /a q=x=1 body=0") != std::string::npos);
  CAF_CHECK(r1.find("Date: ") != std::string::npos);
  c.send("POST /b HTTP/1.1\r\nHost: t\r\nContent-Encoding: snappy\r\nContent-Length: 5\r\n\r\nhello");
  auto r2 = c.response();
  CAF_CHECK(r2.find("POST /b q= body=5 ce=snappy") != std::string::npos);
  c.send("GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
  CAF_CHECK(c.response().find("late") != std::string::npos);
}

CAF_TEST(compressible answers are gzip only for clients that take gzip) {
  std::string plain;
  for (int i = 0; i < 1000; ++i)
    plain += "{\"metric\":{\"job\":\"api\"},\"value\":[1700000000," + std::to_string(i) + "]}";
  auto body_of = [](const std::string& r) { return r.substr(r.find("\r\n\r\n") + 4); };
  client c{srv->port()};
  c.send("GET /gzip HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
  auto r = c.response();
  CAF_CHECK(r.find("Content-Encoding: gzip\r\n") != std::string::npos);
  CAF_CHECK(r.find("Vary: Accept-Encoding\r\n") != std::string::npos);
  auto zipped = body_of(r);
  CAF_CHECK_LESS(zipped.size(), plain.size() / 5);
  std::string unzipped(plain.size() + 1, '\0');
  z_stream zs{};
  CAF_REQUIRE_EQUAL(inflateInit2(&zs, 15 + 16), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(zipped.data());
  zs.avail_in = static_cast<uInt>(zipped.size());
  zs.next_out = reinterpret_cast<Bytef*>(unzipped.data());
  zs.avail_out = static_cast<uInt>(unzipped.size());
  CAF_CHECK_EQUAL(inflate(&zs, Z_FINISH), Z_STREAM_END);
  unzipped.resize(zs.total_out);
  inflateEnd(&zs);
  CAF_CHECK(unzipped == plain);
  // Not asked for, refused by weight, or an empty body: as it is.
  for (auto ask : {"", "Accept-Encoding: identity\r\n", "Accept-Encoding: gzip;q=0, br\r\n"}) {
    c.send(std::string{"GET /gzip HTTP/1.1\r\nHost: t\r\n"} + ask + "\r\n");
    auto p = c.response();
    CAF_CHECK(p.find("Content-Encoding") == std::string::npos);
    CAF_CHECK(body_of(p) == plain);
  }
  c.send("GET /gzip-empty HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
  auto e = c.response();
  CAF_CHECK(e.find("Content-Encoding") == std::string::npos);
  CAF_CHECK(e.find("Content-Length: 0\r\n") != std::string::npos);
  // Not marked compressible: never compressed.
  c.send("GET /x HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
  auto x = c.response();
  CAF_CHECK(x.find("Content-Encoding") == std::string::npos);
  CAF_CHECK(x.find("GET /x") != std::string::npos);
}

CAF_TEST(an announced oversize body is refused with 413 before it is sent) {
  client c{srv->port()};
  c.send("POST /w HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n");
  auto r = c.response();
  CAF_CHECK(r.find("HTTP/1.1 413") == 0);
  CAF_CHECK(c.closed());
}

CAF_TEST(a chunked body growing past the limit is refused with 413) {
  client c{srv->port()};
  std::string chunk(600, 'x');
  c.send("POST /w HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" + chunk + "\r\n258\r\n" + chunk
         + "\r\n0\r\n\r\n");
  CAF_CHECK(c.response().find("HTTP/1.1 413") == 0);
}

CAF_TEST(expect 100 continue gets a go ahead) {
  client c{srv->port()};
  c.send("POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  auto cont = c.response();
  CAF_CHECK(cont.find("HTTP/1.1 100 Continue") == 0);
  c.send("abc");
  CAF_CHECK(c.response().find("body=3") != std::string::npos);
}

CAF_TEST(garbage is answered 400 and the connection closed) {
  client c{srv->port()};
  c.send("THIS IS NOT HTTP\r\n\r\n");
  CAF_CHECK(c.response().find("HTTP/1.1 400") == 0);
  CAF_CHECK(c.closed());
}

CAF_TEST(head gets the headers of a get without a body) {
  client c{srv->port()};
  c.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = c.response(true);
  CAF_CHECK(r.find("HTTP/1.1 200 OK") == 0);
  CAF_CHECK(r.find("Content-Length: ") != std::string::npos);
  // The next response starts right after the headers: no body was sent.
  c.send("GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
  CAF_CHECK(c.response().find("GET /next") != std::string::npos);
}

CAF_TEST(connection close is honoured) {
  client c{srv->port()};
  c.send("GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  CAF_CHECK(c.response().find("HTTP/1.1 200") == 0);
  CAF_CHECK(c.closed());
}

namespace {

// The hook runs on a server thread: poll for up to 2 s.
bool eventually_cancelled(std::atomic<int>& n, int want) {
  for (int i = 0; i < 200 && n.load() < want; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return n.load() == want;
}

}  // namespace

CAF_TEST(a client that closes while its request is handled cancels it) {
  client c{srv->port()};
  c.send("GET /hang HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CAF_CHECK_EQUAL(cancelled.load(), 0);
  c.close();
  CAF_CHECK(eventually_cancelled(cancelled, 1));
  CAF_CHECK_EQUAL(went_away.load(), 1);
  // The late answer goes nowhere, harmlessly, and ends the request.
  {
    std::lock_guard<std::mutex> g{held_mtx};
    CAF_REQUIRE_EQUAL(held.size(), 1u);
    held[0]({503, "text/plain", "canceled", {}});
  }
  CAF_CHECK(srv->drain(std::chrono::milliseconds(2000)));
}

CAF_TEST(a client that resets the connection cancels its request) {
  client c{srv->port()};
  c.send("GET /hang HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  c.close(true);
  CAF_CHECK(eventually_cancelled(cancelled, 1));
}

CAF_TEST(a client that closes right after sending still cancels) {
  client c{srv->port()};
  c.send("GET /hang HTTP/1.1\r\nHost: t\r\n\r\n");
  c.close();
  CAF_CHECK(eventually_cancelled(cancelled, 1));
}

// Documented choice: after a half-close the server cannot tell "done
// sending" from "gone", and Go's net/http (so Prometheus) cancels too; the
// answer is still written, then the connection is closed.
CAF_TEST(a half close after a complete request cancels and is still answered) {
  client c{srv->port()};
  c.send("GET /hang HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::shutdown(c.fd, SHUT_WR);
  CAF_CHECK(eventually_cancelled(cancelled, 1));
  {
    std::lock_guard<std::mutex> g{held_mtx};
    CAF_REQUIRE_EQUAL(held.size(), 1u);
    held[0]({503, "text/plain", "canceled", {}});
  }
  auto r = c.response();
  CAF_CHECK(r.find("HTTP/1.1 503") == 0);
  CAF_CHECK(r.find("Connection: close") != std::string::npos);
  CAF_CHECK(c.closed());
}

CAF_TEST(a quick answer to a half closed client is not lost) {
  client c{srv->port()};
  c.send("GET /quick HTTP/1.1\r\nHost: t\r\n\r\n");
  ::shutdown(c.fd, SHUT_WR);
  CAF_CHECK(c.response().find("GET /quick") != std::string::npos);
  CAF_CHECK(c.closed());
}

CAF_TEST(pipelined requests are not mistaken for a disconnect) {
  client c{srv->port()};
  // The second request arrives while the first is with the handler.
  c.send("GET /later HTTP/1.1\r\nHost: t\r\n\r\nGET /second HTTP/1.1\r\nHost: t\r\n\r\n");
  CAF_CHECK(c.response().find("late") != std::string::npos);
  CAF_CHECK(c.response().find("GET /second") != std::string::npos);
  c.send("GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  c.send("GET /third HTTP/1.1\r\nHost: t\r\n\r\n");
  CAF_CHECK(c.response().find("late") != std::string::npos);
  CAF_CHECK(c.response().find("GET /third") != std::string::npos);
  CAF_CHECK_EQUAL(cancelled.load(), 0);
}

CAF_TEST(a request whose handler did not subscribe is not watched) {
  client c{srv->port()};
  c.send("GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  c.close();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CAF_CHECK_EQUAL(went_away.load(), 0);
  {
    std::lock_guard<std::mutex> g{held_mtx};
    CAF_REQUIRE_EQUAL(held.size(), 1u);
    held[0]({204, "", "", {}});
  }
  CAF_CHECK(srv->drain(std::chrono::milliseconds(2000)));
}

CAF_TEST(connections on different threads are all served) {
  // Connections go round robin to the server's threads; answers from a
  // foreign thread must find their way back to each.
  std::vector<std::unique_ptr<client>> cs;
  for (int i = 0; i < 5; ++i)
    cs.push_back(std::make_unique<client>(srv->port()));
  for (int round = 0; round < 3; ++round) {
    for (auto& c : cs)
      c->send("GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
    for (auto& c : cs)
      CAF_CHECK(c->response().find("late") != std::string::npos);
  }
}

CAF_TEST(a busy port is reported as an error) {
  http_server_options o;
  o.port = srv->port();
  http_server second{o, [](http_request&&, http_reply r) { r({}); }};
  auto st = second.start();
  CAF_CHECK(!st.is_ok());
  CAF_MESSAGE(st.message());
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(bodies larger than the kept read buffer arrive whole) {
  // The read buffer reserves at most 64 KiB for a body; bigger ones are
  // read in several pieces, smaller ones after them reuse the buffer.
  http_server_options o;
  o.port = 0;
  o.body_limit = 2u << 20;
  http_server srv{o, [](http_request&& rq, http_reply reply) {
                    uint64_t sum = 0;
                    for (unsigned char ch : rq.body)
                      sum = sum * 31 + ch;
                    reply({200, "text/plain",
                           "n=" + std::to_string(rq.body.size()) + " sum=" + std::to_string(sum), {}});
                  }};
  CAF_REQUIRE(srv.start().is_ok());
  client c{srv.port()};
  for (size_t n : {size_t{700'000}, size_t{5}, size_t{300'000}, size_t{1}}) {
    std::string body(n, '\0');
    uint64_t sum = 0;
    for (size_t i = 0; i < n; ++i) {
      body[i] = static_cast<char>('a' + (i * 7) % 26);
      sum = sum * 31 + static_cast<unsigned char>(body[i]);
    }
    c.send("POST /w HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n" + body);
    auto r = c.response();
    CAF_CHECK(r.find("n=" + std::to_string(n) + " sum=" + std::to_string(sum)) != std::string::npos);
  }
  srv.stop();
}

// --- streamed bodies (http_body_source) --------------------------------------

namespace {

// A body source driven by the test: pieces fed before a pull are handed
// out at once, a pull that finds none waits for the next feed(). `auto_bytes`
// > 0 answers every pull at once with that many bytes, forever.
struct scripted_source : http_body_source {
  std::mutex mtx;
  std::deque<piece> script;
  std::function<void(piece)> waiting;
  size_t auto_bytes = 0;
  std::atomic<int> pulls{0};
  std::atomic<int> cancels{0};

  void pull(std::function<void(piece)> next) override {
    pulls += 1;
    std::unique_lock<std::mutex> g{mtx};
    if (auto_bytes > 0) {
      g.unlock();
      next(piece{std::string(auto_bytes, 'x'), false, false});
      return;
    }
    if (script.empty()) {
      waiting = std::move(next);
      return;
    }
    auto p = std::move(script.front());
    script.pop_front();
    g.unlock();
    next(std::move(p));
  }
  void cancel() override { cancels += 1; }
  void feed(piece p) {
    std::unique_lock<std::mutex> g{mtx};
    if (!waiting) {
      script.push_back(std::move(p));
      return;
    }
    auto next = std::move(waiting);
    waiting = nullptr;
    g.unlock();
    next(std::move(p));
  }
};

struct stream_fixture {
  std::shared_ptr<scripted_source> source = std::make_shared<scripted_source>();
  std::unique_ptr<http_server> srv;

  stream_fixture() {
    http_server_options o;
    o.port = 0;
    srv = std::make_unique<http_server>(o, [this](http_request&& rq, http_reply reply) {
      http_response r;
      r.content_type = "application/octet-stream";
      if (rq.path == "/stream")
        r.stream = source;
      else
        r.body = "plain";
      reply(std::move(r));
    });
    CAF_REQUIRE(srv->start().is_ok());
  }
  ~stream_fixture() { srv->stop(); }
};

// Reads a chunked body after the headers in `c.buf`: the data, and whether
// the terminating chunk arrived (false: the connection ended first).
std::pair<std::string, bool> read_chunked(client& c) {
  std::string body;
  for (;;) {
    while (c.buf.find("\r\n") == std::string::npos)
      if (!c.fill())
        return {body, false};
    auto eol = c.buf.find("\r\n");
    size_t n = std::stoul(c.buf.substr(0, eol), nullptr, 16);
    while (c.buf.size() < eol + 2 + n + 2)
      if (!c.fill())
        return {body, false};
    body += c.buf.substr(eol + 2, n);
    c.buf.erase(0, eol + 2 + n + 2);
    if (n == 0)
      return {body, true};
  }
}

// Reads up to the end of the headers and returns them.
std::string read_headers(client& c) {
  while (c.buf.find("\r\n\r\n") == std::string::npos)
    if (!c.fill())
      return "";
  auto end = c.buf.find("\r\n\r\n") + 4;
  auto h = c.buf.substr(0, end);
  c.buf.erase(0, end);
  return h;
}

}  // namespace

CAF_TEST_FIXTURE_SCOPE(http_stream_tests, stream_fixture)

CAF_TEST(a streamed body is sent chunk by chunk and the connection kept) {
  source->feed({"first ", false, false});
  client c{srv->port()};
  c.send("POST /stream HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  auto h = read_headers(c);
  CAF_CHECK(h.find("HTTP/1.1 200") == 0);
  CAF_CHECK(h.find("Transfer-Encoding: chunked") != std::string::npos);
  CAF_CHECK(h.find("Content-Length") == std::string::npos);
  // The producer answers later, from another thread; an empty piece is
  // skipped, the last one ends the body.
  std::thread producer([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    source->feed({"second ", false, false});
    source->feed({"", false, false});
    source->feed({"third", true, false});
  });
  auto [body, complete] = read_chunked(c);
  producer.join();
  CAF_CHECK(complete);
  CAF_CHECK_EQUAL(body, "first second third");
  CAF_CHECK_EQUAL(source->cancels.load(), 0);
  // The connection serves the next request.
  c.send("GET /plain HTTP/1.1\r\nHost: t\r\n\r\n");
  CAF_CHECK(c.response().find("plain") != std::string::npos);
}

CAF_TEST(an http 1.0 client gets the body up to the end of the connection) {
  source->feed({"old ", false, false});
  source->feed({"client", true, false});
  client c{srv->port()};
  c.send("POST /stream HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
  auto h = read_headers(c);
  CAF_CHECK(h.find("HTTP/1.0 200") == 0);
  CAF_CHECK(h.find("Transfer-Encoding") == std::string::npos);
  while (c.fill()) {
  }
  CAF_CHECK_EQUAL(c.buf, "old client");
}

CAF_TEST(a failed piece ends the connection without the last chunk) {
  source->feed({"partial", false, false});
  source->feed({"", false, true});
  client c{srv->port()};
  c.send("POST /stream HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  CAF_CHECK(read_headers(c).find("HTTP/1.1 200") == 0);
  auto [body, complete] = read_chunked(c);
  CAF_CHECK(!complete);
  CAF_CHECK_EQUAL(body, "partial");
}

CAF_TEST(a client that does not read holds the producer back) {
  // Every pull is answered at once: only the socket can slow it down.
  source->auto_bytes = 256 * 1024;
  {
    client c{srv->port()};
    c.send("POST /stream HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    CAF_CHECK(read_headers(c).find("HTTP/1.1 200") == 0);
    // The kernel's socket buffers take a few MiB; then writes wait.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    int pulled = source->pulls.load();
    CAF_MESSAGE("pulled " << pulled << " pieces of 256 KiB while the client read nothing");
    CAF_CHECK_LESS(pulled, 200);  // an unbounded producer: thousands
    c.close(true);
  }
  // The failed write tells the producer that nobody takes its pieces.
  for (int i = 0; i < 500 && source->cancels.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CAF_CHECK_EQUAL(source->cancels.load(), 1);
}

CAF_TEST_FIXTURE_SCOPE_END()

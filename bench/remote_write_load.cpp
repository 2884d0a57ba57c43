// remote_write load generator: a synthetic node_exporter-like fleet pushed
// over several keep-alive HTTP/1.1 connections, the way Prometheus' shards
// do (~500 samples per request, one sample per TimeSeries entry, full label
// set every time, per-series timestamps in order).
//
// Every payload is built and snappy-compressed before the clock starts, and
// the HTTP client is a few hundred lines of POSIX sockets, so on a small
// machine nearly all CPU goes to the server being measured.
//
// Usage: remote_write_load --url 127.0.0.1:9101 [--path /api/v1/write]
//          [--series 10000] [--samples-per-series 2000] [--connections 4]
//          [--duration 20] [--batch 500] [--step-ms N] [--max-payload-mb 2048]
//          [--backfill [--end-ms T] [--max-skew-rounds 20]] [--start-ms T]
//          [--reconnect-every N] [--slow-ms MS] [--leave-out-third K]
//          [--tls-ca F --tls-cert F --tls-key F [--tls-server-name N]]
// Prints a human summary and one machine-readable "RESULT key=value ..." line.
//
// --backfill loads a fixed data set instead of measuring for a while: every
// one of --samples-per-series samples (default step 15 s), the last one at
// --end-ms (default: now), with the same seeds, so several servers loaded
// with the same --end-ms hold identical data. No connection runs more than
// --max-skew-rounds rounds ahead of the slowest one, which keeps all writes
// inside Prometheus' head append window although the data spans hours.
// It exits non-zero unless every sample was acknowledged.
//
// --start-ms puts a timed run's first round at T instead of just under an
// hour ago: several runs against one server (a quiet one, then one under
// query load) then write disjoint, increasing time ranges of the same series.
//
// --tls-* switches every connection to mutual TLS (TLS 1.2+, the server
// verified against --tls-ca for --tls-server-name, default the --url host,
// the client certificate presented); a connection that reconnects resumes
// its previous session. The keep-alive loop is otherwise the same.
// --reconnect-every N closes each connection after N requests (default:
// never), to measure the cost of reconnecting and of TLS session resumption.
// --slow-ms MS prints "SLOW <unix seconds.ms> <latency ms> c<connection>" to
// stderr for every request slower than MS: when the server stalls (a cut,
// a sync), every connection shows it at the same moment.
// --leave-out-third K (0, 1 or 2) does not send series i of a connection's
// fleet when i % 3 == K: three loaders with K = 0, 1, 2 and the same other
// flags put every series on exactly two of three servers (replication by
// the client, bench/cluster_bench.py's "trio").

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <snappy.h>

#include "remote.pb.h"
#include "fleet_model.hpp"
#include "tls_client.hpp"
#include "types.pb.h"

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::string host = "127.0.0.1";
  int port = 9101;
  std::string path = "/api/v1/write";
  size_t series = 10000;
  size_t samples_per_series = 2000;
  size_t connections = 4;
  double duration_s = 20;
  size_t batch = 500;
  int64_t step_ms = 0; // 0: derived so the whole run spans at most 50 minutes
  size_t max_payload_mb = 2048;
  bool backfill = false;
  int64_t end_ms = 0; // backfill: timestamp of the last round, 0 = now
  int64_t start_ms = 0; // timed runs: timestamp of the first round, 0 = derived from now
  size_t max_skew_rounds = 20;
  bool duration_given = false;
  size_t reconnect_every = 0; // close after this many requests per connection; 0 = keep
  double slow_ms = 0;         // log requests slower than this; 0 = none
  int leave_out_third = -1;   // series i with i % 3 == this are not sent; -1 = all are
  nl::bench::tls_options tls; // enabled when ca_file is set
  bool tls_enabled() const { return !tls.ca_file.empty(); }
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "remote_write_load: %s\n"
               "usage: remote_write_load --url HOST:PORT [--path P] [--series N]\n"
               "  [--samples-per-series N] [--connections N] [--duration SECONDS]\n"
               "  [--batch N] [--step-ms N] [--max-payload-mb N]\n"
               "  [--backfill [--end-ms T] [--max-skew-rounds N]]\n"
               "  [--reconnect-every N] [--slow-ms MS] [--leave-out-third K]\n"
               "  [--tls-ca FILE --tls-cert FILE --tls-key FILE [--tls-server-name NAME]]\n",
               msg);
  std::exit(64);
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    auto number = [&]() -> double {
      auto v = value();
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || d < 0)
        usage(("bad number for " + a + ": " + v).c_str());
      return d;
    };
    if (a == "--url") {
      auto v = value();
      if (auto p = v.find("://"); p != std::string::npos)
        v = v.substr(p + 3);
      if (auto p = v.find('/'); p != std::string::npos) {
        o.path = v.substr(p);
        v = v.substr(0, p);
      }
      auto colon = v.rfind(':');
      if (colon == std::string::npos)
        usage("--url needs host:port");
      o.host = v.substr(0, colon);
      o.port = std::atoi(v.c_str() + colon + 1);
      if (o.port <= 0 || o.port > 65535)
        usage("bad port in --url");
    } else if (a == "--path") {
      o.path = value();
    } else if (a == "--series") {
      o.series = static_cast<size_t>(number());
    } else if (a == "--samples-per-series") {
      o.samples_per_series = static_cast<size_t>(number());
    } else if (a == "--connections") {
      o.connections = static_cast<size_t>(number());
    } else if (a == "--duration") {
      o.duration_s = number();
      o.duration_given = true;
    } else if (a == "--batch") {
      o.batch = static_cast<size_t>(number());
    } else if (a == "--step-ms") {
      o.step_ms = static_cast<int64_t>(number());
    } else if (a == "--max-payload-mb") {
      o.max_payload_mb = static_cast<size_t>(number());
    } else if (a == "--backfill") {
      o.backfill = true;
    } else if (a == "--end-ms") {
      o.end_ms = static_cast<int64_t>(number());
    } else if (a == "--start-ms") {
      o.start_ms = static_cast<int64_t>(number());
    } else if (a == "--max-skew-rounds") {
      o.max_skew_rounds = static_cast<size_t>(number());
    } else if (a == "--reconnect-every") {
      o.reconnect_every = static_cast<size_t>(number());
    } else if (a == "--slow-ms") {
      o.slow_ms = number();
    } else if (a == "--leave-out-third") {
      auto k = number();
      if (k != 0 && k != 1 && k != 2)
        usage("--leave-out-third takes 0, 1 or 2");
      o.leave_out_third = static_cast<int>(k);
    } else if (a == "--tls-ca") {
      o.tls.ca_file = value();
    } else if (a == "--tls-cert") {
      o.tls.cert_file = value();
    } else if (a == "--tls-key") {
      o.tls.key_file = value();
    } else if (a == "--tls-server-name") {
      o.tls.server_name = value();
    } else {
      usage(("unknown flag " + a).c_str());
    }
  }
  if (o.series == 0 || o.samples_per_series == 0 || o.connections == 0 || o.batch == 0)
    usage("--series, --samples-per-series, --connections and --batch must be > 0");
  bool any_tls = !o.tls.ca_file.empty() || !o.tls.cert_file.empty() || !o.tls.key_file.empty()
                 || !o.tls.server_name.empty();
  if (any_tls && (o.tls.ca_file.empty() || o.tls.cert_file.empty() || o.tls.key_file.empty()))
    usage("--tls-ca, --tls-cert and --tls-key go together");
  if (any_tls && o.tls.server_name.empty())
    o.tls.server_name = o.host;
  if (o.backfill) {
    if (o.step_ms == 0)
      o.step_ms = 15'000;
    if (!o.duration_given)
      o.duration_s = 600; // still bounded: a stuck server fails the run
    if (o.max_skew_rounds == 0)
      usage("--max-skew-rounds must be > 0");
  }
  if (o.step_ms == 0)
    o.step_ms = std::clamp<int64_t>(3'000'000 / static_cast<int64_t>(o.samples_per_series), 1,
                                    15'000);
  return o;
}

// --- the synthetic fleet (bench/fleet_model.hpp) ---------------------------

using nl::bench::kind;
using nl::bench::label_pairs;

/// A series' labels as the `labels` part of a prometheus.TimeSeries,
/// serialized once.
std::string serialize_labels(label_pairs labels) {
  std::sort(labels.begin(), labels.end());
  prometheus::TimeSeries ts;
  for (auto& [n, v] : labels) {
    auto* l = ts.add_labels();
    l->set_name(n);
    l->set_value(v);
  }
  return ts.SerializeAsString();
}

using fleet = nl::bench::fleet<std::string>;

fleet make_fleet(size_t n, size_t first_target, size_t stride, std::mt19937_64& rng) {
  return nl::bench::make_fleet<std::string>(n, first_target, stride, rng, serialize_labels);
}

using nl::bench::advance;

// --- payloads ---------------------------------------------------------------

struct payload {
  std::string body; // snappy block of a serialized prometheus.WriteRequest
  uint32_t samples;
  uint32_t first_round = 0; // round of the first sample in the body
};

/// Accumulates TimeSeries entries of one connection into WriteRequests.
/// An entry is written as the series' pre-serialized labels followed by one
/// `samples` field: protobuf concatenates repeated fields, so this is the
/// same wire message libprotobuf would produce for the whole TimeSeries.
class request_builder {
public:
  explicit request_builder(size_t batch) : batch_(batch) {}

  /// `round`: index of the sample's round (rounds are added in order).
  void add(const std::string& label_bytes, int64_t t, double v, uint32_t round) {
    if (count_ == 0)
      first_round_ = round;
    prometheus::Sample s;
    s.set_timestamp(t);
    s.set_value(v);
    sample_bytes_.clear();
    s.SerializeToString(&sample_bytes_);
    // Tags and lengths go through a small stack buffer: a CodedOutputStream
    // over raw_ would zero-fill raw_'s spare capacity on every entry.
    using cos = google::protobuf::io::CodedOutputStream;
    auto inner = label_bytes.size() + 1
                 + cos::VarintSize32(static_cast<uint32_t>(sample_bytes_.size()))
                 + sample_bytes_.size();
    uint8_t head[16];
    uint8_t* p = cos::WriteTagToArray(prometheus::WriteRequest::kTimeseriesFieldNumber << 3 | 2, head);
    p = cos::WriteVarint32ToArray(static_cast<uint32_t>(inner), p);
    raw_.append(reinterpret_cast<char*>(head), static_cast<size_t>(p - head));
    raw_ += label_bytes;
    p = cos::WriteTagToArray(prometheus::TimeSeries::kSamplesFieldNumber << 3 | 2, head);
    p = cos::WriteVarint32ToArray(static_cast<uint32_t>(sample_bytes_.size()), p);
    raw_.append(reinterpret_cast<char*>(head), static_cast<size_t>(p - head));
    raw_ += sample_bytes_;
    ++count_;
  }

  bool full() const { return count_ >= batch_; }
  bool empty() const { return count_ == 0; }

  payload finish() {
    // Compress into a reused scratch buffer and copy out the exact size:
    // snappy::Compress(…, std::string*) would leave every body with the
    // capacity of the worst case, several times its real size.
    scratch_.resize(snappy::MaxCompressedLength(raw_.size()));
    size_t n = 0;
    snappy::RawCompress(raw_.data(), raw_.size(), scratch_.data(), &n);
    payload p;
    p.body.assign(scratch_.data(), n);
    p.samples = static_cast<uint32_t>(count_);
    p.first_round = first_round_;
    raw_.clear();
    count_ = 0;
    return p;
  }

  size_t raw_size() const { return raw_.size(); }

private:
  size_t batch_;
  size_t count_ = 0;
  uint32_t first_round_ = 0;
  std::string raw_;
  std::string sample_bytes_;
  std::vector<char> scratch_;
};

/// Decodes one payload with libprotobuf: the hand-assembled entries must be
/// exactly what the generator meant to send.
bool self_check(const payload& p, size_t want_samples) {
  std::string raw;
  if (!snappy::Uncompress(p.body.data(), p.body.size(), &raw))
    return false;
  prometheus::WriteRequest req;
  if (!req.ParseFromString(raw) || static_cast<size_t>(req.timeseries_size()) != want_samples)
    return false;
  for (auto& ts : req.timeseries())
    if (ts.samples_size() != 1 || ts.labels_size() < 6 || ts.labels(0).name() != "__name__")
      return false;
  return true;
}

// --- HTTP/1.1 client ---------------------------------------------------------

struct response {
  int status = 0;
  double retry_after_s = -1;
  bool close = false;
};

/// One keep-alive connection, plain or (with a TLS context) mutual TLS.
class http_connection {
public:
  http_connection(const options& o, const nl::bench::tls_client_context* tls) : opts_(o) {
    if (tls != nullptr)
      tls_.emplace(*tls);
  }
  ~http_connection() { disconnect(); }

  bool connect_once() {
    disconnect();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(opts_.host.c_str(), std::to_string(opts_.port).c_str(), &hints, &res) != 0)
      return false;
    for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
      int fd = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
      if (fd < 0)
        continue;
      if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        timeval tv{30, 0}; // bounded: a stuck server fails the request, not the run
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        fd_ = fd;
        break;
      }
      ::close(fd);
    }
    freeaddrinfo(res);
    rbuf_.clear();
    if (fd_ >= 0 && tls_ && !tls_->handshake(fd_))
      disconnect();
    return fd_ >= 0;
  }

  void disconnect() {
    if (tls_)
      tls_->close();
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

  uint64_t tls_handshakes() const { return tls_ ? tls_->handshakes() : 0; }
  uint64_t tls_resumed() const { return tls_ ? tls_->resumed() : 0; }

  bool connected() const { return fd_ >= 0; }

  /// Sends one POST and reads the whole response; false on any network or
  /// framing error (the caller reconnects and retries).
  bool post(const std::string& body, response& out) {
    char head[512];
    int n = std::snprintf(head, sizeof head,
                          "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
                          "Content-Type: application/x-protobuf\r\n"
                          "Content-Encoding: snappy\r\n"
                          "X-Prometheus-Remote-Write-Version: 0.1.0\r\n"
                          "User-Agent: nightlight-remote-write-load/1\r\n"
                          "Content-Length: %zu\r\n\r\n",
                          opts_.path.c_str(), opts_.host.c_str(), opts_.port, body.size());
    if (tls_) {
      // One buffer, so head and body share TLS records instead of the head
      // going out as a record (and a TCP segment) of its own.
      wbuf_.assign(head, static_cast<size_t>(n));
      wbuf_ += body;
      if (!tls_->write_all(wbuf_.data(), wbuf_.size()))
        return false;
      return read_response(out);
    }
    iovec iov[2] = {{head, static_cast<size_t>(n)},
                    {const_cast<char*>(body.data()), body.size()}};
    if (!write_all(iov, 2))
      return false;
    return read_response(out);
  }

private:
  bool write_all(iovec* iov, int cnt) {
    while (cnt > 0) {
      ssize_t w = ::writev(fd_, iov, cnt);
      if (w < 0) {
        if (errno == EINTR)
          continue;
        return false;
      }
      auto left = static_cast<size_t>(w);
      while (cnt > 0 && left >= iov->iov_len) {
        left -= iov->iov_len;
        ++iov;
        --cnt;
      }
      if (cnt > 0) {
        iov->iov_base = static_cast<char*>(iov->iov_base) + left;
        iov->iov_len -= left;
      }
    }
    return true;
  }

  bool fill() {
    char buf[16384];
    if (tls_) {
      long r = tls_->read_some(buf, sizeof buf);
      if (r <= 0)
        return false;
      rbuf_.append(buf, static_cast<size_t>(r));
      return true;
    }
    for (;;) {
      ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r > 0) {
        rbuf_.append(buf, static_cast<size_t>(r));
        return true;
      }
      if (r < 0 && errno == EINTR)
        continue;
      return false;
    }
  }

  static std::string lower(std::string s) {
    for (auto& c : s)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  bool read_response(response& out) {
    size_t end;
    while ((end = rbuf_.find("\r\n\r\n")) == std::string::npos) {
      if (rbuf_.size() > 65536 || !fill())
        return false;
    }
    std::string head = rbuf_.substr(0, end + 2);
    rbuf_.erase(0, end + 4);
    if (head.compare(0, 7, "HTTP/1.") != 0 || head.size() < 12)
      return false;
    out = response{};
    out.status = std::atoi(head.c_str() + 9);
    out.close = head.compare(0, 8, "HTTP/1.0") == 0;
    long long content_length = -1;
    bool chunked = false;
    size_t pos = head.find("\r\n") + 2;
    while (pos < head.size()) {
      size_t eol = head.find("\r\n", pos);
      std::string line = head.substr(pos, eol - pos);
      pos = eol + 2;
      auto colon = line.find(':');
      if (colon == std::string::npos)
        continue;
      auto name = lower(line.substr(0, colon));
      auto value = line.substr(line.find_first_not_of(' ', colon + 1));
      if (name == "content-length")
        content_length = std::atoll(value.c_str());
      else if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos)
        chunked = true;
      else if (name == "connection" && lower(value).find("close") != std::string::npos)
        out.close = true;
      else if (name == "retry-after")
        out.retry_after_s = std::atof(value.c_str());
    }
    if (chunked)
      return skip_chunked();
    if (content_length < 0)
      content_length = 0; // 204/304 and friends; nothing else is expected here
    while (rbuf_.size() < static_cast<size_t>(content_length))
      if (!fill())
        return false;
    rbuf_.erase(0, static_cast<size_t>(content_length));
    return true;
  }

  bool skip_chunked() {
    for (;;) {
      size_t eol;
      while ((eol = rbuf_.find("\r\n")) == std::string::npos)
        if (!fill())
          return false;
      size_t len = std::strtoul(rbuf_.c_str(), nullptr, 16);
      rbuf_.erase(0, eol + 2);
      while (rbuf_.size() < len + 2)
        if (!fill())
          return false;
      rbuf_.erase(0, len + 2);
      if (len == 0)
        return true; // no trailers expected
    }
  }

  const options& opts_;
  int fd_ = -1;
  std::string rbuf_;
  std::optional<nl::bench::tls_stream> tls_;
  std::string wbuf_; // TLS only: request head + body
};

// --- the run -----------------------------------------------------------------

struct worker_stats {
  std::vector<double> latencies_ms; // one per attempt that got an answer
  uint64_t acked_samples = 0;
  uint64_t acked_requests = 0;
  uint64_t retries_503 = 0;
  uint64_t conn_errors = 0;
  uint64_t tls_handshakes = 0;
  uint64_t tls_resumed = 0;
  std::map<int, uint64_t> non2xx;
  clock_type::time_point finished;
};

/// Backfill pacing: each connection publishes the round of the next sample
/// it has yet to get acknowledged; a connection waits before sending a round
/// more than `skew` rounds past the slowest one's.
class round_gate {
public:
  round_gate(size_t connections, size_t skew) : progress_(connections), skew_(skew) {}

  void publish(size_t conn, uint32_t round) { progress_[conn].store(round); }
  void done(size_t conn) { progress_[conn].store(UINT32_MAX); }

  /// False when the deadline passed first.
  bool wait_for(uint32_t round, clock_type::time_point deadline) const {
    while (round > slowest() + skew_) {
      if (clock_type::now() >= deadline)
        return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

private:
  uint64_t slowest() const {
    uint64_t m = UINT32_MAX;
    for (auto& p : progress_)
      m = std::min<uint64_t>(m, p.load());
    return m;
  }

  std::vector<std::atomic<uint32_t>> progress_;
  uint64_t skew_;
};

void run_connection(const options& o, const std::vector<payload>& payloads,
                    clock_type::time_point deadline, worker_stats& st, round_gate* gate,
                    size_t conn_index, const nl::bench::tls_client_context* tls) {
  http_connection conn(o, tls);
  double backoff_s = 0.01;
  size_t i = 0;
  size_t sent = 0; // requests answered on this connection slot
  while (i < payloads.size() && clock_type::now() < deadline) {
    if (gate != nullptr) {
      gate->publish(conn_index, payloads[i].first_round);
      if (!gate->wait_for(payloads[i].first_round, deadline))
        break;
    }
    if (!conn.connected() && !conn.connect_once()) {
      ++st.conn_errors;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    response r;
    auto t0 = clock_type::now();
    if (!conn.post(payloads[i].body, r)) {
      ++st.conn_errors;
      conn.disconnect();
      continue;
    }
    st.latencies_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    if (o.slow_ms > 0 && st.latencies_ms.back() > o.slow_ms) {
      timespec now{};
      clock_gettime(CLOCK_REALTIME, &now);
      std::fprintf(stderr, "SLOW %lld.%03ld %.2f c%zu\n", static_cast<long long>(now.tv_sec),
                   now.tv_nsec / 1'000'000, st.latencies_ms.back(), conn_index);
    }
    ++sent;
    if (r.close || (o.reconnect_every > 0 && sent % o.reconnect_every == 0))
      conn.disconnect();
    if (r.status >= 200 && r.status < 300) {
      st.acked_samples += payloads[i].samples;
      ++st.acked_requests;
      backoff_s = 0.01;
      ++i;
    } else if (r.status == 503 || r.status >= 500) {
      // Retry like Prometheus: the server asked for patience, not for the
      // batch to be dropped.
      ++st.non2xx[r.status];
      ++st.retries_503;
      double wait = r.retry_after_s > 0 ? std::min(r.retry_after_s, 1.0) : backoff_s;
      backoff_s = std::min(backoff_s * 2, 1.0);
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    } else {
      ++st.non2xx[r.status];
      ++i; // 4xx: the batch can never succeed; Prometheus drops it too
    }
  }
  if (gate != nullptr)
    gate->done(conn_index);
  st.finished = clock_type::now();
  st.tls_handshakes = conn.tls_handshakes();
  st.tls_resumed = conn.tls_resumed();
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty())
    return 0;
  auto k = static_cast<size_t>(std::min<double>(v.size() - 1, std::ceil(p * v.size()) - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

} // namespace

int main(int argc, char** argv) {
  GOOGLE_PROTOBUF_VERIFY_VERSION;
  std::signal(SIGPIPE, SIG_IGN); // a server closing mid-request is an error to count, not a crash
  auto o = parse_args(argc, argv);
  nl::bench::tls_client_context tls;
  if (o.tls_enabled() && !tls.init(o.tls))
    return 3;
  // Pre-encode. Each connection owns whole targets (disjoint series) and
  // sends rounds in order, so every series' timestamps increase on the wire;
  // connections are encoded in parallel because snappy dominates.
  auto t_start = clock_type::now();
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  int64_t t0 = o.start_ms > 0 ? o.start_ms
                              : now_ms - static_cast<int64_t>(o.samples_per_series) * o.step_ms - 60'000;
  if (o.backfill)
    t0 = (o.end_ms > 0 ? o.end_ms : now_ms)
         - static_cast<int64_t>(o.samples_per_series - 1) * o.step_ms;
  std::vector<std::vector<payload>> per_conn(o.connections);
  std::vector<fleet> fleets(o.connections);
  std::vector<size_t> rounds(o.connections, 0);
  size_t budget = (o.max_payload_mb << 20) / o.connections;
  auto encode = [&](size_t c) {
    std::mt19937_64 rng(42 + c);
    auto n = o.series / o.connections + (c < o.series % o.connections ? 1 : 0);
    fleets[c] = make_fleet(n, c, o.connections, rng);
    auto& f = fleets[c];
    request_builder builder(o.batch);
    size_t used = 0, r = 0;
    for (; r < o.samples_per_series && used < budget; ++r) {
      advance(f, static_cast<double>(o.step_ms) / 1000.0, rng);
      int64_t t = t0 + static_cast<int64_t>(r) * o.step_ms;
      for (size_t i = 0; i < f.series.size(); ++i) {
        if (o.leave_out_third >= 0 && static_cast<int>(i % 3) == o.leave_out_third)
          continue;  // advanced all the same, so every loader's values agree
        const auto& s = f.series[i];
        builder.add(s.labels, t, s.value, static_cast<uint32_t>(r));
        if (builder.full()) {
          per_conn[c].push_back(builder.finish());
          used += per_conn[c].back().body.size();
        }
      }
    }
    if (!builder.empty())
      per_conn[c].push_back(builder.finish());
    rounds[c] = r;
  };
  {
    std::vector<std::thread> encoders;
    auto parallel = std::max<size_t>(1, std::thread::hardware_concurrency());
    for (size_t c = 0; c < o.connections; ++c) {
      if (encoders.size() == parallel) {
        for (auto& t : encoders)
          t.join();
        encoders.clear();
      }
      encoders.emplace_back(encode, c);
    }
    for (auto& t : encoders)
      t.join();
  }
  size_t min_rounds = *std::min_element(rounds.begin(), rounds.end());
  size_t n_series = 0;
  for (auto& f : fleets)
    for (size_t i = 0; i < f.series.size(); ++i)
      n_series += o.leave_out_third < 0 || static_cast<int>(i % 3) != o.leave_out_third;
  size_t total_payloads = 0, total_samples = 0, total_bytes = 0;
  for (auto& v : per_conn)
    for (auto& p : v) {
      ++total_payloads;
      total_samples += p.samples;
      total_bytes += p.body.size();
    }
  if (per_conn[0].empty() || !self_check(per_conn[0][0], per_conn[0][0].samples)) {
    std::fprintf(stderr, "remote_write_load: generated payload does not decode\n");
    return 3;
  }
  prometheus::TimeSeries first;
  first.ParseFromString(fleets[0].series[0].labels);
  std::printf("workload: %zu series (%d labels in the first), %zu rounds %lld ms apart, "
              "%zu requests, %zu samples, %.1f MiB compressed (%.1f B/sample), encoded in %.1fs%s\n",
              n_series, first.labels_size(), min_rounds, static_cast<long long>(o.step_ms),
              total_payloads, total_samples, total_bytes / 1048576.0,
              static_cast<double>(total_bytes) / static_cast<double>(total_samples),
              std::chrono::duration<double>(clock_type::now() - t_start).count(),
              min_rounds < o.samples_per_series ? " (capped by --max-payload-mb)" : "");
  std::fflush(stdout);

  std::vector<worker_stats> stats(o.connections);
  std::vector<std::thread> threads;
  auto start = clock_type::now();
  auto deadline = start + std::chrono::duration_cast<clock_type::duration>(
                            std::chrono::duration<double>(o.duration_s));
  round_gate gate(o.connections, o.max_skew_rounds);
  for (size_t c = 0; c < o.connections; ++c)
    threads.emplace_back(run_connection, std::cref(o), std::cref(per_conn[c]), deadline,
                         std::ref(stats[c]), o.backfill ? &gate : nullptr, c,
                         o.tls_enabled() ? &tls : nullptr);
  for (auto& t : threads)
    t.join();

  worker_stats all;
  auto end = start;
  for (auto& s : stats) {
    all.latencies_ms.insert(all.latencies_ms.end(), s.latencies_ms.begin(), s.latencies_ms.end());
    all.acked_samples += s.acked_samples;
    all.acked_requests += s.acked_requests;
    all.retries_503 += s.retries_503;
    all.conn_errors += s.conn_errors;
    all.tls_handshakes += s.tls_handshakes;
    all.tls_resumed += s.tls_resumed;
    for (auto& [code, n] : s.non2xx)
      all.non2xx[code] += n;
    end = std::max(end, s.finished);
  }
  double secs = std::chrono::duration<double>(end - start).count();
  double rate = secs > 0 ? all.acked_samples / secs : 0;
  double p50 = percentile(all.latencies_ms, 0.50);
  double p99 = percentile(all.latencies_ms, 0.99);
  double pmax = all.latencies_ms.empty()
                  ? 0
                  : *std::max_element(all.latencies_ms.begin(), all.latencies_ms.end());
  uint64_t non2xx = 0;
  std::string codes;
  for (auto& [code, n] : all.non2xx) {
    non2xx += n;
    codes += (codes.empty() ? "" : ",") + std::to_string(code) + ":" + std::to_string(n);
  }
  std::printf("acknowledged %llu requests, %llu samples in %.2fs: %.0f samples/s\n"
              "latency p50 %.2f ms, p99 %.2f ms, max %.2f ms; non-2xx %llu {%s}; "
              "5xx retries %llu; connection errors %llu\n",
              static_cast<unsigned long long>(all.acked_requests),
              static_cast<unsigned long long>(all.acked_samples), secs, rate, p50, p99, pmax,
              static_cast<unsigned long long>(non2xx), codes.c_str(),
              static_cast<unsigned long long>(all.retries_503),
              static_cast<unsigned long long>(all.conn_errors));
  if (o.tls_enabled())
    std::printf("mutual TLS: %llu handshakes, %llu resumed\n",
                static_cast<unsigned long long>(all.tls_handshakes),
                static_cast<unsigned long long>(all.tls_resumed));
  std::printf("RESULT samples_per_sec=%.0f p50_ms=%.3f p99_ms=%.3f requests=%llu samples=%llu "
              "seconds=%.3f non2xx=%llu retries=%llu conn_errors=%llu series=%zu "
              "tls=%d tls_handshakes=%llu tls_resumed=%llu\n",
              rate, p50, p99, static_cast<unsigned long long>(all.acked_requests),
              static_cast<unsigned long long>(all.acked_samples), secs,
              static_cast<unsigned long long>(non2xx),
              static_cast<unsigned long long>(all.retries_503),
              static_cast<unsigned long long>(all.conn_errors), n_series, o.tls_enabled() ? 1 : 0,
              static_cast<unsigned long long>(all.tls_handshakes),
              static_cast<unsigned long long>(all.tls_resumed));
  if (o.backfill) {
    std::printf("BACKFILL first_ts_ms=%lld last_ts_ms=%lld step_ms=%lld complete=%d\n",
                static_cast<long long>(t0),
                static_cast<long long>(t0 + static_cast<int64_t>(min_rounds - 1) * o.step_ms),
                static_cast<long long>(o.step_ms), all.acked_samples == total_samples ? 1 : 0);
    if (all.acked_samples != total_samples || min_rounds < o.samples_per_series) {
      std::fprintf(stderr, "remote_write_load: backfill incomplete (%llu of %zu samples acked)\n",
                   static_cast<unsigned long long>(all.acked_samples), total_samples);
      return 2;
    }
  }
  return all.acked_samples > 0 ? 0 : 2;
}

// Nightlight's entry point: read the configuration, start HTTP (not ready),
// replay the WAL, start the actors (ready), wait for SIGINT/SIGTERM or a
// fatal error, then shut down in order:
//   stop accepting → refuse new writes → wait for writes in flight →
//   flush + fdatasync the WAL → stop the actors → exit 0 (1 after a fatal
//   error). Exit code 2: bad configuration or command line.
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "actors/cluster/cluster_view.hpp"
#include "actors/config.hpp"
#include "actors/frontend.hpp"
#include "actors/grpc_server.hpp"
#include "actors/log.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "actors/network.hpp"
#include "actors/storage_open.hpp"
#include "actors/supervisor.hpp"
#include "protocol/authorization.hpp"
#include "protocol/http_server.hpp"
#include "protocol/tls_context.hpp"
#include "protocol/tls_forwarder.hpp"
#include "storage/cores.hpp"

using namespace nl::actors;
namespace protocol = nl::protocol;
namespace storage = nl::storage;

namespace {

// Set once by whoever decides the process must stop first.
class stop_request {
 public:
  void request(int code) {
    std::lock_guard<std::mutex> g{mtx_};
    if (!requested_) {
      requested_ = true;
      code_ = code;
    }
    cv_.notify_all();
  }
  int wait() {
    std::unique_lock<std::mutex> g{mtx_};
    cv_.wait(g, [this] { return requested_; });
    return code_;
  }

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool requested_ = false;
  int code_ = 0;
};

struct nightlight_config : caf::actor_system_config {
  nightlight_config(size_t threads, const cluster_settings& cluster) {
    register_message_types(*this);
    if (cluster.enabled()) {
      // Node links: CAF's middleman in plain TCP (with cluster TLS, on
      // loopback behind protocol/tls_forwarder). Heartbeats both ways, or
      // healthy idle links are dropped (DEPENDENCIES.md, section 4).
      load<caf::io::middleman>();
      set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(cluster.heartbeat_interval_ms)});
      set("middleman.connection-timeout", caf::timespan{std::chrono::milliseconds(cluster.connection_timeout_ms)});
    }
    // Debian's default is max(cores, 4) workers; on small machines the extra
    // spinning workers make cross-thread messaging slow and erratic.
    set("scheduler.max-threads", threads);
    // After a message an idle worker spins briefly, then by default wakes
    // every 50 us for 25 ms before it sleeps on its condition variable
    // (which an enqueue signals). A write passes through several actors and
    // the WAL thread, and one API request per millisecond keeps that middle
    // phase going forever: its wake-ups took ~15% of server CPU under
    // remote-write load and ~2/3 per /api/v1/labels call. Skip it. Measured
    // against the "sharing" scheduler (which never polls), alternating
    // binaries on one box: 0.89-0.90 vs 0.94-0.95 CPU s per million samples,
    // API calls equal within noise.
    set("work-stealing.moderate-poll-attempts", size_t{0});
  }
};

// The TLS context and allow lists from the configuration. Bad files are a
// configuration error (exit 2): each message names the setting and file.
bool setup_tls(const settings& cfg, protocol::http_server_options& ho) {
  protocol::tls_options to;
  to.cert_file = cfg.tls.cert_file;
  to.key_file = cfg.tls.key_file;
  to.ca_file = cfg.tls.ca_file;
  to.require_client_cert = cfg.tls.require_client_cert;
  auto built = protocol::build_tls_context(to);
  if (!built) {
    std::cerr << "nightlight: " << built.error().message() << "\n";
    return false;
  }
  for (auto& w : built->warnings)
    log_warn("tls: " + w);
  ho.tls = std::make_shared<protocol::tls_context_reloader>(to, std::move(*built));
  protocol::authorization_options ao;
  ao.allowed_writers = cfg.tls.allowed_writers;
  ao.allowed_readers = cfg.tls.allowed_readers;
  ao.open_endpoints_for_any_client = cfg.tls.open_endpoints_for_any_client;
  ao.allowed_admins = cfg.tls.allowed_admins;
  ao.admin_api_enabled = cfg.server.enable_admin_api;
  ho.authz = std::make_shared<protocol::authorizer>(std::move(ao));
  return true;
}

// Node-link TLS (docs/CLUSTER.md, "Why node links terminate TLS
// themselves"): the forwarder listens with mutual TLS at the node port and
// opens a loopback port per peer this node dials; CAF's BASP stays plain
// on loopback. Returns 0, or the exit code: 2 for bad certificate files
// (the message names the file), 1 when the node port cannot be bound.
int setup_cluster_tls(const cluster_settings& c, cluster_view& view) {
  auto listen = c.listen_addr.empty() ? c.nodes[c.self_index()].addr : c.listen_addr;
  if (!c.tls()) {
    log_warn("cluster: node links are plain TCP (no cluster.cert_file): whoever reaches " + listen
             + " can write and read as a node");
    return 0;
  }
  protocol::tls_options to;
  to.cert_file = c.cert_file;
  to.key_file = c.key_file;
  to.ca_file = c.ca_file;
  to.require_client_cert = true;
  auto built = protocol::build_tls_context(to);
  if (!built) {
    std::cerr << "nightlight: cluster (cert_file, key_file, ca_file): " << built.error().message() << "\n";
    return 2;
  }
  for (auto& w : built->warnings)
    log_warn("cluster tls: " + w);
  protocol::tls_forwarder_options fo;
  fo.tls = std::make_shared<protocol::tls_context_reloader>(to, std::move(*built));
  fo.handshake_timeout = std::chrono::milliseconds(std::max<int64_t>(c.connection_timeout_ms, 1000));
  fo.on_warning = [](const std::string& m) { log_warn(m); };
  fo.on_info = [](const std::string& m) { log_info(m); };
  auto fwd = protocol::tls_forwarder::create(std::move(fo));
  if (!fwd) {
    std::cerr << "nightlight: cluster (cert_file, key_file, ca_file): " << fwd.error().message() << "\n";
    return 2;
  }
  auto [host, port] = split_host_port(listen, "cluster.listen_addr");
  if (auto got = (*fwd)->listen(host, port); !got) {
    log_error("cluster: cannot listen on " + listen + ": " + got.error().message());
    return 1;
  }
  std::vector<uint16_t> ports(view.num_nodes(), 0);
  for (size_t i = 0; i < view.num_nodes(); ++i) {
    if (i == view.self() || !view.dials(i))
      continue;
    auto [phost, pport] = split_host_port(c.nodes[i].addr, "cluster.nodes");
    auto got = (*fwd)->add_peer(view.name(i), phost, pport);
    if (!got) {
      log_error("cluster: cannot open the loopback endpoint for node " + view.name(i) + ": " + got.error().message());
      return 1;
    }
    ports[i] = *got;
  }
  (*fwd)->start();
  view.set_tls(std::shared_ptr<protocol::tls_forwarder>(std::move(*fwd)), std::move(ports));
  return 0;
}

// The CPUs this process may use, capped by its cgroup's CPU quota: sizes
// the scheduler, the head shards and the HTTP threads.
size_t cores() {
  return nl::storage::available_cores();
}

int run(const settings& cfg, const cli_options& cli) {
  const bool wal_repair = cli.wal_repair;
  metrics stats;
  storage::wal_replay_progress replay;  // /api/v1/status/walreplay, answered before ready
  frontend front{cfg, stats, &replay, cli};
  auto [host, port] = split_host_port(cfg.server.http_addr, "server.http_addr");
  protocol::http_server_options ho;
  ho.host = host;
  ho.port = port;
  // By default half the cores: the HTTP threads decode remote writes while
  // the actors (one scheduler thread per core) append and the WAL thread
  // writes; a thread per core each oversubscribed the machine, and the
  // context switches cost more than the extra decoder (2 cores: 0.71 vs
  // 0.65 CPU s per 1M samples, rate up 2%).
  ho.threads = cfg.server.http_threads ? cfg.server.http_threads
                                       : std::max(1u, static_cast<unsigned>(cores()) / 2);
  ho.body_limit = cfg.server.max_request_bytes;
  ho.on_error = [](const std::string& m) { log_debug(m); };
  ho.on_warning = [](const std::string& m) { log_warn(m); };
  ho.on_info = [](const std::string& m) { log_info(m); };
  ho.tls_failures = &stats.tls_handshake_failures;
  ho.forbidden = &stats.http_forbidden;
  if (cfg.tls.enabled() && !setup_tls(cfg, ho))
    return 2;
  std::shared_ptr<cluster_view> cluster;
  if (cfg.cluster.enabled()) {
    cluster = std::make_shared<cluster_view>(cfg.cluster);
    if (int rc = setup_cluster_tls(cfg.cluster, *cluster); rc != 0)
      return rc;
    front.set_cluster(cluster);
  }
  // The loopback listener: same handler and allow lists, no TLS; its
  // clients are the "@loopback" identity (promtool 2.42 has no client cert).
  std::optional<protocol::http_server_options> lo;
  if (!cfg.server.plaintext_loopback_addr.empty()) {
    auto [lhost, lport] = split_host_port(cfg.server.plaintext_loopback_addr, "server.plaintext_loopback_addr");
    lo = ho;
    lo->host = lhost == "localhost" ? "127.0.0.1" : lhost;
    lo->port = lport;
    lo->threads = 1;
    lo->tls = nullptr;
    lo->loopback_identity = true;
  }
  ho.on_done = [&stats](const protocol::http_request& rq, unsigned code, double secs) {
    stats.observe_http(frontend::handler_name(rq.method, rq.path), code, secs);
  };
  // Declared before the actor system so it is destroyed after it: replies
  // held by actors point into the server's sockets.
  protocol::http_server http{ho, [&front](protocol::http_request&& rq, protocol::http_reply rp) {
                               front.handle(std::move(rq), std::move(rp));
                             }};
  if (auto st = http.start(); !st) {
    log_error(st.message());
    return 1;
  }
  log_info(std::string{cfg.tls.enabled() ? "https" : "http"} + ": listening on " + host + ":"
           + std::to_string(http.port()) + " (not ready until the WAL is replayed)");
  std::optional<protocol::http_server> loopback_http;
  if (lo) {
    loopback_http.emplace(*lo, [&front](protocol::http_request&& rq, protocol::http_reply rp) {
      front.handle(std::move(rq), std::move(rp));
    });
    if (auto st = loopback_http->start(); !st) {
      log_error("server.plaintext_loopback_addr: " + st.message());
      http.stop();
      return 1;
    }
    log_info("http: plaintext loopback listener on " + lo->host + ":" + std::to_string(loopback_http->port()));
  }
  // The gRPC query API: same TLS files and allow lists; NOT_SERVING in
  // its health service until the storage is attached.
  grpc_query_server grpc{cfg, front, stats, ho.tls, ho.authz};
  if (auto st = grpc.start(); !st) {
    log_error(st.message());
    http.stop();
    if (loopback_http)
      loopback_http->stop();
    return 1;
  }
  front.on_ready([&grpc] { grpc.set_serving(true); });
  log_info(std::string{cfg.tls.enabled() ? "grpc (tls)" : "grpc"} + ": listening on "
           + split_host_port(cfg.server.grpc_addr, "server.grpc_addr").first + ":" + std::to_string(grpc.port()));

  size_t shards = cfg.storage.head_shards ? cfg.storage.head_shards : cores();
  auto opened = open_storage(cfg, shards, wal_repair, &replay);
  if (!opened) {
    log_error("storage: " + opened.error().message());
    http.stop();
    return 1;
  }

  stop_request stop;
  int code = 0;
  // Kept for the head snapshot once every actor has stopped.
  auto heads = opened->heads;
  auto metadata = opened->metadata;
  auto wal = opened->wal;
  // Every write and admin request answered and the WAL synced: the heads
  // then hold everything the WAL does (checked once more after the close).
  bool quiet = false;
  uint64_t synced_records = 0;
  std::atomic<bool> failed{false};
  {
    nightlight_config caf_cfg{cores(), cfg.cluster};
    caf::actor_system sys{caf_cfg};
    supervisor_options so;
    so.cfg = &cfg;
    so.stats = &stats;
    so.front = &front;
    so.on_fatal = [&stop, &failed](int c) {
      failed = true;  // also after the stop began, when `code` is set already
      stop.request(c);
    };
    so.metadata = opened->metadata;
    if (cluster) {
      so.cluster = cluster;
      so.connector = sys.middleman().actor_handle();
    }
    uint64_t nseries = 0;
    for (auto& h : opened->heads) {
      nseries += h->num_series();
      if (h->num_series() > 0)
        front.observe_time(h->max_time());
    }
    stats.head_series = static_cast<int64_t>(nseries);
    stats.corrupted_blocks = opened->corrupted_blocks;
    stats.blocks_loaded = static_cast<int64_t>(opened->blocks->size());
    stats.block_bytes = static_cast<int64_t>(opened->blocks->size_bytes());
    auto sup = sys.spawn(supervisor, std::move(opened->heads), std::move(opened->wal), opened->blocks, so);
    log_info("nightlight " NL_VERSION " ready: " + std::to_string(cores()) + " cores, " + std::to_string(shards)
             + " head shards, data in " + cfg.storage.data_dir);

    // SIGINT/SIGTERM are blocked in every thread (see main); this one waits.
    std::thread signals([&stop] {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGINT);
      sigaddset(&set, SIGTERM);
      int sig = 0;
      if (sigwait(&set, &sig) == 0)
        log_info(std::string{"received "} + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");
      stop.request(0);
    });
    code = stop.wait();

    // Shutdown: finish what was acknowledged-to-be, refuse the rest.
    http.stop_accepting();
    if (loopback_http)
      loopback_http->stop_accepting();
    // gRPC only reads: its calls get a second, then are withdrawn, while
    // the actors still answer them.
    grpc.shutdown(std::chrono::seconds(1));
    front.close_writes();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
    while (front.writes_in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    quiet = front.writes_in_flight() == 0;
    if (!quiet)
      log_warn("shutdown: " + std::to_string(front.writes_in_flight()) + " writes still in flight after 8s");
    {
      caf::scoped_actor self{sys};
      bool synced = false;
      self->request(sup, std::chrono::seconds(2), wal_sync_atom_v)
        .receive([&synced, &synced_records](uint64_t records) {
                   synced = true;
                   synced_records = records;
                   log_info("wal: synced (" + std::to_string(records) + " records this run)");
                 },
                 [&](caf::error& err) {
                   if (code == 0)
                     log_warn("wal: final sync failed: " + sys.render(err));
                 });
      quiet = quiet && synced;
    }
    // Let the answers of finished requests reach their clients.
    if (!http.drain(std::chrono::seconds(1)) || (loopback_http && !loopback_http->drain(std::chrono::seconds(1)))) {
      log_warn("shutdown: some HTTP answers were not written within 1s");
      quiet = false;  // an admin deletion may not have reached its head yet
    }
    http.stop();
    if (loopback_http)
      loopback_http->stop();
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    // Wake the signal thread if it is still waiting (fatal-error path).
    pthread_kill(signals.native_handle(), SIGTERM);
    signals.join();
  }  // the actor system waits for every actor here; the WAL closes
  // Not in cluster mode: peers' writes and deletions are not among the
  // requests counted above. Not when the WAL took a record after the
  // final sync (a batch still queued when its request had failed).
  if (code == 0 && !failed && quiet && cfg.storage.snapshot_on_shutdown && !cfg.cluster.enabled()) {
    if (!wal->health() || wal->records_taken() != synced_records)
      log_info("head snapshot: not written, the WAL took records after the final sync");
    else
      write_head_snapshot(cfg, heads, *metadata, *opened->blocks);
  }
  wal.reset();
  heads.clear();
  opened->lock.release();
  log_info(code == 0 ? "nightlight stopped" : "nightlight stopped after a fatal error");
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread exists, so all threads inherit
  // the mask and only the dedicated sigwait thread receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // SIGHUP reloads certificates when TLS is on (the HTTP server installs
  // its handler then); without TLS it must not kill the process, as a
  // `systemctl reload` would.
  signal(SIGHUP, SIG_IGN);

  cli_options cli;
  settings cfg;
  try {
    cli = parse_cli(argc, argv);
    if (cli.help) {
      std::cout << usage_text();
      return 0;
    }
    if (cli.version) {
      std::cout << "nightlight " NL_VERSION "\n";
      return 0;
    }
    if (!cli.config_path.empty())
      cfg = load_settings(cli.config_path);
  } catch (const config_error& e) {
    std::cerr << "nightlight: " << e.what() << "\n";
    return 2;
  }
  set_log_level(cfg.log);
  log_info("nightlight " NL_VERSION " starting"
           + (cli.config_path.empty() ? std::string{" with built-in defaults"} : " with " + cli.config_path));
  return run(cfg, cli);
}

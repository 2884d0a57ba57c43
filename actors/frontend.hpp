#pragma once
// The HTTP policy: `frontend` is the HTTP handler, run on the Asio threads.
// It routes, answers what needs no storage (health, build info, metrics,
// status), and for writes does the CPU work there (snappy, protobuf,
// validation, grouping by shard), then applies admission control: an
// atomic budget of samples in flight plus a pending counter per shard. A
// write over budget is answered at once (503 with Retry-After, or 429 by
// setting) BEFORE any work is queued, so memory stays bounded. Accepted
// work goes to the `network` actor (actors/network.hpp) as a job; the
// actor answers through the job's reply callback. No Asio thread ever
// waits for an actor.
//
// Thread-safety: handle() is called concurrently from every HTTP thread;
// attach(), observe_time() and close_writes() may be called from any
// thread at any time.
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "actors/config.hpp"
#include "actors/metrics.hpp"
#include "actors/network.hpp"
#include "protocol/http_server.hpp"
#include "protocol/router.hpp"

namespace nl::storage {
class wal_replay_progress;
}  // namespace nl::storage

namespace nl::actors {

class cluster_view;

class frontend {
 public:
  /// `cfg` and `m` must outlive the frontend; the frontend must outlive the
  /// HTTP server and the actor system (jobs point back to it). `replay`
  /// (may be null: all zeros) is what /api/v1/status/walreplay reports,
  /// also before the storage is attached; it must outlive the frontend.
  /// `cli` is the command line /api/v1/status/flags shows. The frontend's
  /// construction is the start time /api/v1/status/runtimeinfo reports.
  frontend(const settings& cfg, metrics& m, const storage::wal_replay_progress* replay = nullptr,
           cli_options cli = {});

  /// The HTTP handler: install with
  /// `http_server{opts, [&fe](auto&& rq, auto rp) { fe.handle(std::move(rq), std::move(rp)); }}`.
  void handle(protocol::http_request&& req, protocol::http_reply reply);

  /// Connects the storage: from now on the server is ready. Called again
  /// with a new handle when the network actor is restarted.
  void attach(network_actor net, size_t num_shards);

  /// Cluster mode (actors/cluster/): writes are placed by the ring and
  /// replicated; /metrics adds the per-peer series. Call before attach().
  void set_cluster(std::shared_ptr<cluster_view> view) { cluster_ = std::move(view); }

  /// Raises the newest sample time all shards judge "out of bounds"
  /// against (main calls it with the replayed heads' newest time).
  void observe_time(int64_t t_ms);

  /// Shutdown: new writes are refused (503); queries continue. Remote
  /// reads still waiting for a slot, and new ones, are answered 503 now,
  /// while the HTTP server can still write their answers.
  void close_writes();

  /// Write requests accepted and not yet answered.
  int64_t writes_in_flight() const { return writes_in_flight_.load(); }

  bool ready() const { return ready_.load(std::memory_order_acquire); }

  /// Called once, on the thread that attaches the storage, when the server
  /// becomes ready (the gRPC health service follows it). Set before
  /// attach().
  void on_ready(std::function<void()> hook) { on_ready_ = std::move(hook); }

  /// The current network actor (invalid before attach()), for the gRPC
  /// server, which sends its calls there too.
  network_actor network() const;

  /// A fresh query_request::id: unique among all queries in flight, HTTP
  /// and gRPC alike (the planner withdraws queries by it).
  uint64_t next_query_id() { return next_query_id_.fetch_add(1, std::memory_order_relaxed); }

  /// For the network actor: answer a finished write job.
  void finish_write(write_job& job);

  /// Releases a job's admission reservations (idempotent per job).
  void release(write_job& job);

  /// For read jobs: a remote read gave its slot back (its job ended); the
  /// oldest waiting read whose client is still there takes it.
  void read_finished();

  /// The handler label used in HTTP metrics for a method and path.
  static std::string handler_name(const std::string& method, const std::string& path);

 private:
  /// A random 48-bit start for write ids (the top bits stay free for
  /// cluster mode's node number, and counting never reaches them).
  static uint64_t random_write_id_start();

  void handle_write(protocol::http_request&& req, protocol::http_reply reply);
  void handle_query(bool range, protocol::http_request&& req, protocol::http_reply reply);
  void handle_format_query(protocol::http_request&& req, protocol::http_reply reply);
  enum meta_kind { meta_series, meta_labels, meta_values };
  void handle_meta(int kind, std::string label_name, protocol::http_request&& req, protocol::http_reply reply);
  void handle_tsdb_status(protocol::http_request&& req, protocol::http_reply reply);
  /// /api/v1/metadata: parameters checked here, answered by the metadata actor.
  void handle_metadata(protocol::http_request&& req, protocol::http_reply reply);
  /// /federate: match[] parsed here (plain-text 400s, as Prometheus), the
  /// newest samples within the lookback delta before now fetched and
  /// formatted by a federation worker.
  void handle_federate(protocol::http_request&& req, protocol::http_reply reply);
  /// /api/v1/read: decoded and checked here; then it waits for one of
  /// server.remote_read_concurrent_limit slots (as long as its client
  /// stays, as in Prometheus) and is read by a reader actor.
  void handle_read(protocol::http_request&& req, protocol::http_reply reply);
  /// /api/v1/admin/tsdb/*, once enabled and ready: parameters checked here,
  /// the work done by the compactor.
  void handle_admin(protocol::endpoint ep, protocol::http_request&& req, protocol::http_reply reply);
  /// The overload answer (503 or server.overload_status, with Retry-After),
  /// counted in /metrics.
  protocol::http_response overloaded(const std::string& why);

  /// /api/v1/status/runtimeinfo data (its thread count read now).
  std::string runtime_info_json() const;

  const settings& cfg_;
  metrics& m_;
  const storage::wal_replay_progress* replay_;
  const cli_options cli_;
  const int64_t start_time_ns_;
  const std::string cwd_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> writes_closed_{false};
  std::atomic<int64_t> writes_in_flight_{0};
  std::atomic<int64_t> inflight_samples_{0};
  /// Numbers write requests, so their per-shard WAL batches are taken or
  /// refused alike (append_batch::write_id). Starts at a random point:
  /// peers' WAL writers remember the decisions on recent ids, and a
  /// restarted node must not reuse them.
  std::atomic<uint64_t> next_write_id_{random_write_id_start()};
  /// Newest sample timestamp admitted so far (ms), shared by all shards.
  std::atomic<int64_t> max_t_{INT64_MIN};
  /// query_request::id of the next query (its key for query_cancel).
  std::atomic<uint64_t> next_query_id_{1};
  std::unique_ptr<std::atomic<int64_t>[]> shard_pending_;
  size_t num_shards_ = 0;
  std::shared_ptr<cluster_view> cluster_;  ///< null: a single node
  mutable std::mutex net_mtx_;
  network_actor net_;
  /// Remote reads holding a slot, and those waiting for one, oldest first.
  std::mutex reads_mtx_;
  uint32_t reads_running_ = 0;
  std::deque<read_job_ptr> reads_waiting_;
  std::function<void()> on_ready_;
};

}  // namespace nl::actors

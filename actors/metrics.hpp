#pragma once
// The process's own metrics, served at /metrics in the Prometheus text
// format (version 0.0.4). One `metrics` object is created by main and shared
// (by reference; it outlives every actor and the HTTP server). Every member
// is safe to update from any thread.
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "protocol/authorization.hpp"
#include "protocol/tls_failure.hpp"

namespace nl::actors {

/// A cumulative histogram with fixed upper bounds (seconds).
class histogram {
 public:
  explicit histogram(std::vector<double> bounds);
  void observe(double v);
  /// Appends `name_bucket{<labels>le="…"}`, `_sum` and `_count` lines;
  /// `labels` is "" or `k="v",` (with the trailing comma).
  void render(const std::string& name, const std::string& labels, std::string& out) const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mtx_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last = +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

/// Why a sample was not stored; indexes `samples_rejected`.
enum class reject_reason : uint8_t {
  out_of_order,
  duplicate,
  out_of_bounds,
  non_finite,      ///< NaN/Inf dropped (ingest.drop_non_finite)
  invalid_labels,  ///< refused while decoding: a label breaks the rules (spec §1.5)
  native_histogram,   ///< float samples of a series that also carried histograms
  too_far_in_future,  ///< more than ingest.max_future_seconds ahead of the server clock
  count_           ///< number of reasons
};

/// The label value used for `reason`.
const char* to_string(reject_reason r);

struct metrics {
  metrics();

  std::atomic<uint64_t> samples_appended{0};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(reject_reason::count_)> samples_rejected{};
  std::atomic<int64_t> head_series{0};
  std::atomic<int64_t> head_chunks{0};  ///< open and closed, all shards
  std::atomic<uint64_t> wal_bytes_written{0};
  std::atomic<uint64_t> wal_fsyncs{0};
  std::atomic<uint64_t> wal_no_space_failures{0};
  std::atomic<uint64_t> wal_writes_expired{0};
  histogram wal_fsync_seconds;
  std::atomic<uint64_t> overload_responses{0};
  std::atomic<int64_t> inflight_samples{0};
  // Storage engine: blocks, compaction, checkpoints, retention.
  std::atomic<int64_t> blocks_loaded{0};
  std::atomic<int64_t> block_bytes{0};
  std::atomic<uint64_t> compactions_total{0};
  std::atomic<uint64_t> compactions_failed{0};
  histogram compaction_seconds;
  std::atomic<uint64_t> wal_checkpoints{0};
  std::atomic<uint64_t> wal_checkpoints_failed{0};
  std::atomic<uint64_t> retention_blocks_deleted{0};
  std::atomic<uint64_t> retention_samples_deleted{0};
  std::atomic<uint64_t> ooo_samples_appended{0};
  std::atomic<uint64_t> corrupted_blocks{0};
  /// Queries stopped because their client disconnected (not timeouts).
  std::atomic<uint64_t> queries_cancelled{0};
  /// Queries whose series were fetched and handed to a worker: on a
  /// scheduler thread (small) or on a thread of its own (heavy).
  std::atomic<uint64_t> query_workers_inline{0};
  std::atomic<uint64_t> query_workers_detached{0};
  /// Queries refused a slot by the planner: the queue was full, or their
  /// deadline passed while they waited.
  std::atomic<uint64_t> queries_rejected_queue_full{0};
  std::atomic<uint64_t> queries_rejected_queue_timeout{0};
  /// Admin API requests carried out (the compactor counts them).
  std::atomic<uint64_t> snapshots{0};
  std::atomic<uint64_t> series_deletions{0};
  std::atomic<uint64_t> tombstone_cleanups{0};
  /// Metric metadata (the metadata actor sets these).
  std::atomic<int64_t> metadata_families{0};
  std::atomic<int64_t> metadata_bytes{0};
  std::atomic<uint64_t> metadata_evicted{0};
  /// Metadata entries the remote-write decoder refused.
  std::atomic<uint64_t> metadata_rejected{0};
  /// Remote reads running or waiting for a slot (Prometheus'
  /// prometheus_remote_read_handler_queries).
  std::atomic<int64_t> remote_read_queries{0};
  /// Bumped by the HTTP server's TLS sessions and authorization check.
  protocol::tls_failure_counters tls_handshake_failures;
  protocol::forbidden_counters http_forbidden;

  void count_rejected(reject_reason r, uint64_t n = 1) {
    samples_rejected[static_cast<size_t>(r)].fetch_add(n, std::memory_order_relaxed);
  }

  /// Counts one HTTP answer. `handler` is a route name from a fixed set, so
  /// the number of label combinations stays bounded.
  void observe_http(const std::string& handler, unsigned code, double seconds);

  /// gRPC query API calls in progress (server.max_concurrent_streams).
  std::atomic<int64_t> grpc_streams_active{0};
  /// Counts one finished gRPC call: `method` from QueryService's fixed
  /// set, `code` a gRPC status name ("OK", "INVALID_ARGUMENT", ...),
  /// seconds from its arrival to its end.
  void observe_grpc(const std::string& method, const std::string& code, double seconds);

  /// The full exposition.
  std::string render() const;

 private:
  mutable std::mutex http_mtx_;
  std::map<std::pair<std::string, unsigned>, uint64_t> http_requests_;
  std::map<std::string, histogram> http_seconds_;
  std::map<std::pair<std::string, std::string>, uint64_t> grpc_calls_;
  std::map<std::string, histogram> grpc_seconds_;
};

}  // namespace nl::actors

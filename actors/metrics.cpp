#include "actors/metrics.hpp"

#include <type_traits>

#include "actors/allocator.hpp"
#include "actors/process_stats.hpp"
#include "protocol/exposition.hpp"
#include "storage/chunk/chunk_files.hpp"

namespace nl::actors {

namespace {

const std::vector<double>& latency_bounds() {
  static const std::vector<double> b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return b;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  protocol::append_metric_header(out, name, type, help);
}

template <class T>
void line(std::string& out, const std::string& name, const std::string& labels, T v) {
  if constexpr (std::is_floating_point_v<T>)
    protocol::append_metric_float_line(out, name, labels, v);
  else if constexpr (std::is_signed_v<T>)
    protocol::append_metric_line(out, name, labels, static_cast<int64_t>(v));
  else
    protocol::append_metric_line(out, name, labels, static_cast<uint64_t>(v));
}

/// A family of one unlabelled sample: most of ours.
template <class T>
void family(std::string& out, const char* name, const char* type, const char* help, T v) {
  header(out, name, type, help);
  line(out, name, "", v);
}

}  // namespace

histogram::histogram(std::vector<double> bounds)
  : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
}

void histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i])
    ++i;
  std::lock_guard<std::mutex> g{mtx_};
  counts_[i] += 1;
  sum_ += v;
  count_ += 1;
}

void histogram::render(const std::string& name, const std::string& labels, std::string& out) const {
  std::lock_guard<std::mutex> g{mtx_};
  uint64_t cum = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cum += counts_[i];
    auto le = i < bounds_.size() ? protocol::exposition_float(bounds_[i]) : std::string{"+Inf"};
    out += name + "_bucket{" + labels + "le=\"" + le + "\"} " + std::to_string(cum) + "\n";
  }
  auto plain = labels.empty() ? std::string{} : "{" + labels.substr(0, labels.size() - 1) + "}";
  out += name + "_sum" + plain + " " + protocol::exposition_float(sum_) + "\n";
  out += name + "_count" + plain + " " + std::to_string(count_) + "\n";
}

const char* to_string(reject_reason r) {
  switch (r) {
    case reject_reason::out_of_order:
      return "out_of_order";
    case reject_reason::duplicate:
      return "duplicate";
    case reject_reason::out_of_bounds:
      return "out_of_bounds";
    case reject_reason::non_finite:
      return "non_finite";
    case reject_reason::invalid_labels:
      return "invalid_labels";
    case reject_reason::native_histogram:
      return "native_histogram";
    case reject_reason::too_far_in_future:
      return "too_far_in_future";
    case reject_reason::count_:
      break;
  }
  return "unknown";
}

metrics::metrics() : wal_fsync_seconds(latency_bounds()), compaction_seconds({0.1, 0.5, 1, 5, 10, 30, 60, 300, 900}) {
}

void metrics::observe_http(const std::string& handler, unsigned code, double seconds) {
  std::lock_guard<std::mutex> g{http_mtx_};
  http_requests_[{handler, code}] += 1;
  auto it = http_seconds_.find(handler);
  if (it == http_seconds_.end())
    it = http_seconds_.try_emplace(handler, latency_bounds()).first;
  it->second.observe(seconds);
}

void metrics::observe_grpc(const std::string& method, const std::string& code, double seconds) {
  std::lock_guard<std::mutex> g{http_mtx_};
  grpc_calls_[{method, code}] += 1;
  auto it = grpc_seconds_.find(method);
  if (it == grpc_seconds_.end())
    it = grpc_seconds_.try_emplace(method, latency_bounds()).first;
  it->second.observe(seconds);
}

std::string metrics::render() const {
  std::string out;
  out.reserve(8192);
  family(out, "nightlight_samples_appended_total", "counter", "Samples stored in the head.", samples_appended.load());
  header(out, "nightlight_samples_rejected_total", "counter", "Samples refused, by reason.");
  for (size_t i = 0; i < samples_rejected.size(); ++i)
    line(out, "nightlight_samples_rejected_total",
         std::string{"reason=\""} + to_string(static_cast<reject_reason>(i)) + "\"",
         samples_rejected[i].load());
  family(out, "nightlight_head_series", "gauge", "Series in the head (all shards).", head_series.load());
  family(out, "nightlight_head_chunks", "gauge", "Chunks in the head, open ones included (all shards).",
         head_chunks.load());
  family(out, "nightlight_wal_bytes_written_total", "counter",
         "Record bytes handed to the WAL.", wal_bytes_written.load());
  family(out, "nightlight_wal_no_space_failures_total", "counter",
         "WAL writes refused because the file system was full (their samples were answered 503).",
         wal_no_space_failures.load());
  family(out, "nightlight_wal_writes_expired_total", "counter",
         "WAL writes refused unwritten because they waited past their deadline (answered 503).",
         wal_writes_expired.load());
  header(out, "nightlight_wal_fsync_duration_seconds", "histogram", "Duration of WAL fdatasync calls.");
  wal_fsync_seconds.render("nightlight_wal_fsync_duration_seconds", "", out);
  // Only with jemalloc (the server): what the process holds against what
  // the allocator keeps resident (allocator.hpp).
  if (allocator_is_jemalloc()) {
    auto a = allocator_usage();
    family(out, "nightlight_allocator_allocated_bytes", "gauge",
           "Bytes allocated by the process (jemalloc).", a.allocated);
    family(out, "nightlight_allocator_resident_bytes", "gauge",
           "Bytes in pages the allocator keeps resident (jemalloc).", a.resident);
  }
  family(out, "nightlight_head_chunk_file_bytes", "gauge",
         "Bytes of the files under data_dir/head_chunks holding closed head chunks.",
         storage::chunk_files::file_bytes());
  family(out, "nightlight_head_chunk_file_failures_total", "counter",
         "Head chunk files that could not be made (no space): those chunks stayed in memory.",
         storage::chunk_files::failures_total());
  family(out, "nightlight_blocks_loaded", "gauge", "Persistent blocks open for queries.", blocks_loaded.load());
  family(out, "nightlight_block_bytes", "gauge", "Bytes on disk of the open blocks.", block_bytes.load());
  family(out, "nightlight_compactions_total", "counter",
         "Blocks written: head cuts and merges.", compactions_total.load());
  family(out, "nightlight_compactions_failed_total", "counter",
         "Head cuts and merges that failed.", compactions_failed.load());
  header(out, "nightlight_compaction_duration_seconds", "histogram", "Duration of head cuts and merges.");
  compaction_seconds.render("nightlight_compaction_duration_seconds", "", out);
  family(out, "nightlight_wal_checkpoints_total", "counter", "WAL checkpoints written.", wal_checkpoints.load());
  family(out, "nightlight_wal_checkpoints_failed_total", "counter",
         "WAL checkpoints that failed.", wal_checkpoints_failed.load());
  family(out, "nightlight_retention_blocks_deleted_total", "counter",
         "Blocks deleted by retention (time or size).", retention_blocks_deleted.load());
  family(out, "nightlight_retention_samples_deleted_total", "counter",
         "Samples in the blocks retention deleted.", retention_samples_deleted.load());
  family(out, "nightlight_out_of_order_samples_appended_total", "counter",
         "Samples accepted inside the out-of-order window.", ooo_samples_appended.load());
  family(out, "nightlight_corrupted_blocks_total", "counter",
         "Damaged blocks moved aside at start-up.", corrupted_blocks.load());
  family(out, "nightlight_inflight_samples", "gauge",
         "Samples accepted for writing but not yet acknowledged.", inflight_samples.load());
  family(out, "nightlight_overload_responses_total", "counter",
         "Writes refused because the server was over its in-flight budget.", overload_responses.load());
  family(out, "nightlight_remote_read_queries", "gauge",
         "Remote reads (/api/v1/read) running or waiting for a slot (server.remote_read_concurrent_limit).",
         remote_read_queries.load());
  family(out, "nightlight_queries_cancelled_total", "counter",
         "Queries stopped because their client disconnected.", queries_cancelled.load());
  header(out, "nightlight_query_workers_started_total", "counter",
         "Queries evaluated after their fetch, by where the worker ran: a scheduler thread or a thread of its own.");
  line(out, "nightlight_query_workers_started_total", "thread=\"scheduler\"", query_workers_inline.load());
  line(out, "nightlight_query_workers_started_total", "thread=\"own\"", query_workers_detached.load());
  header(out, "nightlight_queries_rejected_total", "counter",
         "Queries answered 503 without running: the wait queue was full, or they waited until their deadline.");
  line(out, "nightlight_queries_rejected_total", "reason=\"queue_full\"", queries_rejected_queue_full.load());
  line(out, "nightlight_queries_rejected_total", "reason=\"queue_timeout\"", queries_rejected_queue_timeout.load());
  family(out, "nightlight_snapshots_total", "counter", "Snapshots created by the admin API.", snapshots.load());
  family(out, "nightlight_delete_series_requests_total", "counter",
         "delete_series requests of the admin API carried out.", series_deletions.load());
  family(out, "nightlight_tombstone_cleanups_total", "counter",
         "clean_tombstones requests of the admin API carried out.", tombstone_cleanups.load());
  family(out, "nightlight_metadata_families", "gauge",
         "Metric families with metadata (/api/v1/metadata).", metadata_families.load());
  family(out, "nightlight_metadata_bytes", "gauge",
         "Approximate memory of the metric metadata, counted against storage.max_metadata_bytes.",
         metadata_bytes.load());
  family(out, "nightlight_metadata_evicted_total", "counter",
         "Metadata descriptions dropped as superseded or over the per-family or byte limits.", metadata_evicted.load());
  family(out, "nightlight_metadata_rejected_total", "counter",
         "Remote-write metadata entries refused (empty or invalid family name, invalid UTF-8, too long).",
         metadata_rejected.load());
  tls_handshake_failures.append_metrics(out);
  http_forbidden.append_metrics(out);
  {
    std::lock_guard<std::mutex> g{http_mtx_};
    header(out, "nightlight_http_requests_total", "counter", "HTTP requests answered, by handler and status code.");
    for (auto& [k, n] : http_requests_)
      line(out, "nightlight_http_requests_total",
           "handler=\"" + k.first + "\",code=\"" + std::to_string(k.second) + "\"", n);
    header(out, "nightlight_http_request_duration_seconds", "histogram", "Time from a complete request to the end of its answer.");
    for (auto& [h, hist] : http_seconds_)
      hist.render("nightlight_http_request_duration_seconds", "handler=\"" + h + "\",", out);
    family(out, "nightlight_grpc_streams_active", "gauge",
           "gRPC query API calls in progress (at most server.max_concurrent_streams).", grpc_streams_active.load());
    header(out, "nightlight_grpc_requests_total", "counter", "gRPC query API calls finished, by method and status code.");
    for (auto& [k, n] : grpc_calls_)
      line(out, "nightlight_grpc_requests_total", "method=\"" + k.first + "\",code=\"" + k.second + "\"", n);
    header(out, "nightlight_grpc_request_duration_seconds", "histogram", "Time from a gRPC call's arrival to its end.");
    for (auto& [m, hist] : grpc_seconds_)
      hist.render("nightlight_grpc_request_duration_seconds", "method=\"" + m + "\",", out);
  }
  // Last: the standard families sort after nightlight_* in a Go registry.
  append_process_metrics(out, read_process_stats());
  return out;
}

}  // namespace nl::actors

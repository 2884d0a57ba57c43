#pragma once
// Nightlight's configuration: a YAML file (conf/nightlight.yaml) read into a
// plain `settings` struct, plus the command line. Every key has a default;
// an unknown key, a value of the wrong type or one out of range stops
// start-up with a message that names the key and its line (exit code 2).
#include <algorithm>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/cluster/series_refs.hpp"

namespace nl::actors {

/// When the WAL writer calls fdatasync.
enum class fsync_policy {
  interval,  ///< on segment close and every `fsync_interval_ms` (Prometheus' way)
  always,    ///< before every acknowledgement: an acked sample survives power loss
};

enum class log_level { debug, info, warn, error };

struct server_settings {
  std::string grpc_addr = "127.0.0.1:9100";
  std::string http_addr = "127.0.0.1:9101";
  uint32_t max_concurrent_streams = 100;
  uint32_t query_timeout_seconds = 120;
  /// Samples a query may hold at once while evaluating, and a tenth of
  /// what it may fetch (in its selectors' windows, in total); more → 422.
  uint64_t max_samples_per_query = 50000000;
  /// Queries fetched or evaluated at once (0 = one per available core);
  /// up to four times as many wait, later ones get 503 with Retry-After.
  uint32_t max_concurrent_queries = 0;
  /// Largest accepted request body as sent (compressed); larger → 413.
  uint64_t max_request_bytes = 32ull << 20;
  /// Largest snappy-decoded remote-write body; larger → 413.
  uint64_t max_decoded_bytes = 64ull << 20;
  /// HTTP status for overload answers: 503 (Prometheus retries) or 429
  /// (Prometheus drops the batch unless retry_on_http_429 is set).
  uint32_t overload_status = 503;
  /// Samples accepted but not yet acknowledged, over all shards; a write
  /// that would exceed it is answered `overload_status` at once.
  uint64_t max_inflight_samples = 1000000;
  uint32_t retry_after_seconds = 1;
  /// PromQL lookback window in milliseconds.
  int64_t lookback_delta_ms = 5 * 60 * 1000;
  /// Threads serving HTTP (0 = half the cores, at least one).
  uint32_t http_threads = 0;
  /// Optional extra plain-HTTP listener for local tools that cannot present
  /// a client certificate (promtool 2.42); loopback addresses only. Empty:
  /// off.
  std::string plaintext_loopback_addr;
  /// Serve the Prometheus-compatible admin API (/api/v1/admin/tsdb/*).
  /// With mutual TLS a caller must also be in tls.allowed_admins.
  bool enable_admin_api = false;
  /// Remote read (/api/v1/read), as Prometheus' --storage.remote.read-*
  /// flags: samples one query of a SAMPLES answer may return (more: 400;
  /// 0: no limit), reads served at once (others wait; 0: no limit), and
  /// the largest frame of a streamed answer before a series is split.
  uint64_t remote_read_sample_limit = 50000000;
  uint32_t remote_read_concurrent_limit = 10;
  uint64_t remote_read_max_bytes_in_frame = 1 << 20;
};

struct storage_settings {
  std::string data_dir = "./data";
  /// Blocks older than this are deleted, oldest first. `retention_ms`
  /// (key storage.retention) takes precedence; see effective_retention_ms().
  uint32_t retention_days = 15;
  /// storage.retention in milliseconds; 0: use retention_days.
  int64_t retention_ms = 0;
  /// storage.retention_size: blocks are deleted, oldest first, while the
  /// storage is larger than this many bytes; 0: no size limit.
  uint64_t retention_bytes = 0;
  uint32_t wal_segment_size_mb = 128;
  /// Length of a persistent block (the head is cut into blocks this long).
  /// `block_duration_ms` (key storage.block_duration) takes precedence; see
  /// effective_block_duration_ms().
  uint32_t block_duration_hours = 2;
  /// storage.block_duration in milliseconds; 0: use block_duration_hours.
  int64_t block_duration_ms = 0;
  uint64_t max_head_samples = 200000000;
  uint32_t compaction_interval_seconds = 3600;
  /// Head shards (actors); 0 = one per core.
  uint32_t head_shards = 0;
  fsync_policy fsync = fsync_policy::interval;
  uint32_t fsync_interval_ms = 1000;
  /// storage.wal_write_timeout: a write batch the WAL writer has not
  /// started this long after it was sent is refused unwritten (503), so
  /// that it can never become durable after its request failed.
  int64_t wal_write_timeout_ms = 25000;
  /// Samples older than the head's newest sample minus this window are
  /// rejected "out of bounds" (milliseconds).
  int64_t out_of_bounds_window_ms = 60 * 60 * 1000;
  /// Samples older than their series' newest sample, but by at most this
  /// much, are accepted (milliseconds; 0: off, at most 7 days).
  int64_t out_of_order_window_ms = 0;
  /// storage.max_metadata_bytes: memory the metric metadata may take
  /// (storage::metadata_store_options::max_bytes).
  uint64_t max_metadata_bytes = uint64_t{64} << 20;
  /// storage.snapshot_on_shutdown: a clean stop writes the head to
  /// data_dir/head.snapshot so the next start skips the WAL replay
  /// (storage/head/head_snapshot.hpp).
  bool snapshot_on_shutdown = true;

  /// The block length in milliseconds: block_duration_ms if set, else
  /// block_duration_hours.
  int64_t effective_block_duration_ms() const {
    return block_duration_ms != 0 ? block_duration_ms : int64_t{block_duration_hours} * 3600000;
  }
  /// The retention time in milliseconds: retention_ms if set, else
  /// retention_days.
  int64_t effective_retention_ms() const {
    return retention_ms != 0 ? retention_ms : int64_t{retention_days} * 86400000;
  }
};

struct tls_settings {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  bool require_client_cert = false;
  /// Identities (CN, DNS or URI SAN) allowed to write / read; empty = any
  /// client that passed the handshake. "@loopback" names the plaintext
  /// loopback listener.
  std::vector<std::string> allowed_writers;
  std::vector<std::string> allowed_readers;
  /// Identities allowed to call the admin API (server.enable_admin_api)
  /// when mutual TLS is on; same syntax as allowed_writers.
  std::vector<std::string> allowed_admins;
  /// /metrics, /-/healthy, /-/ready need only a handshake (else a reader).
  bool open_endpoints_for_any_client = true;
  bool enabled() const { return !cert_file.empty(); }
};

struct ingest_settings {
  /// Reject (400) NaN/±Inf sample values other than the staleness marker.
  bool drop_non_finite = false;
  /// Samples further ahead of the server clock are rejected (400).
  uint32_t max_future_seconds = 600;
  /// Accept any UTF-8 metric and label names (Prometheus 3 behaviour);
  /// when false, names must match the legacy regexes.
  bool allow_utf8_names = true;
};

/// One member of a cluster (cluster.nodes).
struct cluster_node {
  std::string name;  ///< unique within the cluster; the ring hashes it
  std::string addr;  ///< host:port of its node link (its cluster.listen_addr)
};

/// Cluster mode (the `cluster:` section). Without nodes the process is a
/// single node, exactly as without the section.
struct cluster_settings {
  /// The cluster's name: a node whose hello names another is refused.
  std::string name = "nightlight";
  /// This node's name; must be one of `nodes`.
  std::string self;
  /// Where this node's gateway listens for node links; default: the
  /// address `nodes` gives for `self`.
  std::string listen_addr;
  /// Every member, this node included, in any order (the ring hashes
  /// names, so the order does not matter).
  std::vector<cluster_node> nodes;
  /// Copies of each series (capped at the node count by
  /// effective_replication_factor()).
  uint32_t replication_factor = 2;
  /// Copies that must be in their node's WAL before a write is answered
  /// 204; 0: the replication factor.
  uint32_t write_quorum = 0;
  /// Node-link mutual TLS: all three or none. Only certificates issued by
  /// `ca_file` (a cluster CA of its own) are nodes.
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  /// CAF middleman heartbeats, identical on every node: a peer silent for
  /// connection_timeout is dropped (and its link goes down).
  int64_t heartbeat_interval_ms = 500;
  int64_t connection_timeout_ms = 2000;
  /// A request forwarded over a node link that has no answer after this
  /// is failed by the link (CAF never fails it by itself).
  int64_t request_timeout_ms = 10000;
  /// Reconnect backoff: doubles from heartbeat_interval up to this.
  int64_t reconnect_backoff_max_ms = 5000;
  /// Samples a node accepts from its peers' writes at once (its gateway's
  /// budget); over it the sender gets an overload error at once.
  uint64_t max_inflight_samples = 1000000;
  /// How long a write forwarded to a peer waits for others to share its
  /// batch (0: sent at once); trades up to that much latency for fewer
  /// batches (docs/CLUSTER.md: 1ms is where the CPU per sample is least).
  int64_t write_linger_ms = 1;
  /// A link session's label keys at most (storage/cluster/series_refs.hpp);
  /// not a setting: tests lower it.
  uint64_t max_session_key_bytes = storage::max_session_key_bytes;
  /// Queries and metadata requests with more nodes unreachable than
  /// write_quorum - 1 (beyond that an acknowledged sample may have no copy
  /// on a node that answers): true answers what the reachable nodes have
  /// with a warning naming the missing ones, false answers 503.
  bool partial_response = true;

  bool enabled() const { return !nodes.empty(); }
  bool tls() const { return !cert_file.empty(); }
  uint32_t effective_replication_factor() const {
    return std::min<uint32_t>(replication_factor, static_cast<uint32_t>(nodes.size()));
  }
  uint32_t effective_write_quorum() const {
    return write_quorum == 0 ? effective_replication_factor()
                             : std::min(write_quorum, effective_replication_factor());
  }
  /// Index of `self` in `nodes`.
  size_t self_index() const;
};

struct settings {
  server_settings server;
  storage_settings storage;
  tls_settings tls;
  ingest_settings ingest;
  cluster_settings cluster;
  log_level log = log_level::info;
};

/// A configuration error. what() names the key and the line, e.g.
/// `conf.yaml:4: server.overload_status: must be 503 or 429, got 500`.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Parses YAML text; `source` names the file in messages. Throws config_error.
settings parse_settings(const std::string& yaml_text, const std::string& source);

/// Reads and parses a file. Throws config_error (also for a missing file).
settings load_settings(const std::string& path);

/// One key's effective value, as /api/v1/status/flags and
/// /api/v1/status/config show it.
struct shown_setting {
  std::string key;                  ///< "server.http_addr", as in the file
  std::vector<std::string> values;  ///< one scalar, or a list key's items
  bool list = false;
  /// False for an optional key without a value (storage.retention,
  /// tls.cert_file, ...): left out of the YAML, "" among the flags.
  bool set = true;
  /// The list's items are YAML flow mappings (cluster.nodes).
  bool mapping_items = false;
};

/// What tls.key_file shows instead of its path, as Prometheus shows its
/// secrets.
inline constexpr const char* redacted_value = "<secret>";

/// Every key parse_settings accepts, in the schema's order, with its value
/// in `s` spelled as the file takes it: durations as Prometheus prints
/// them ("5m", "1d12h", "0s"), sizes in the largest exact unit ("512MB"),
/// booleans "true"/"false". tls.key_file shows redacted_value.
std::vector<shown_setting> shown_settings(const settings& s);

/// shown_settings as one YAML document, a mapping per section; reading it
/// back with parse_settings gives `s` again (tls.key_file aside).
std::string effective_yaml(const settings& s);

/// Every key parse_settings accepts ("server.http_addr", ...), schema order.
std::vector<std::string> config_keys();

/// A duration as Prometheus' model.Duration prints it: units y w d h m s
/// ms, years and weeks only when they divide it exactly ("90d", "2w",
/// "1h30m"); 0 is "0s".
std::string format_duration(int64_t ms);

/// Splits "host:port"; throws config_error naming `key` when malformed.
std::pair<std::string, uint16_t> split_host_port(const std::string& addr, const std::string& key);

/// What the command line asked for.
struct cli_options {
  std::string config_path;  ///< empty: built-in defaults
  bool help = false;
  bool version = false;
  bool wal_repair = false;
};

/// /api/v1/status/flags: every key of shown_settings with its value as
/// one string ("" when unset; a list key in YAML flow form, "[a, b]"),
/// plus the command line: "config" (the file, "" for built-in defaults)
/// and "wal-repair" ("true"/"false").
std::map<std::string, std::string> shown_flags(const settings& s, const cli_options& cli);

/// Parses argv; throws config_error for unknown options or a missing value.
cli_options parse_cli(int argc, char** argv);

/// The --help text.
std::string usage_text();

}  // namespace nl::actors

#pragma once
// What every part of cluster mode shares: the configuration, the placement
// ring and, per node, whether its link is up plus its counters. The link
// actors (actors/cluster/link.hpp) write the state; the frontend (write
// placement on the HTTP threads), the cluster index and /metrics read it.
//
// Thread-safety: everything after construction is atomics, immutable or
// (the admitted nodes) behind a mutex; any thread may call any member.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "actors/config.hpp"
#include "actors/messages.hpp"
#include "storage/cluster/ring.hpp"

namespace nl::protocol {
class tls_forwarder;
}

namespace nl::actors {

/// Bumped whenever a node-link message changes meaning; nodes of different
/// versions refuse each other's hello.
// 6: the hello carries the heartbeat settings; 7: link batches merge
// writes (append_batch::part_ends, append_result::parts).
constexpr uint32_t cluster_protocol_version = 8;

/// Counters of one peer's link (all zero for this node itself).
struct peer_counters {
  std::atomic<bool> up{false};
  std::atomic<int64_t> inflight{0};      ///< forwarded requests not answered yet
  std::atomic<uint64_t> requests{0};     ///< forwarded requests, all outcomes
  std::atomic<uint64_t> failures{0};     ///< failed by the peer, by DOWN, by deadline or refused at once
  std::atomic<uint64_t> bytes_sent{0};   ///< payload bytes of forwarded writes (keys and samples)
  std::atomic<uint64_t> write_batches{0};  ///< link batches sent (writes merged by cluster.write_linger count once)
  std::atomic<uint64_t> link_changes{0}; ///< up/down transitions
};

class cluster_view {
 public:
  /// REQUIRES: cfg.enabled() (validated by parse_settings).
  explicit cluster_view(const cluster_settings& cfg);

  const cluster_settings& settings() const { return cfg_; }
  const storage::placement_ring& ring() const { return ring_; }
  size_t num_nodes() const { return cfg_.nodes.size(); }
  size_t self() const { return self_; }
  const std::string& name(size_t node) const { return cfg_.nodes[node].name; }
  size_t replication_factor() const { return cfg_.effective_replication_factor(); }
  size_t write_quorum() const { return cfg_.effective_write_quorum(); }

  /// This node plus every peer whose link is up now.
  storage::node_mask healthy() const;
  /// Records a link change; returns whether it was one.
  bool set_up(size_t node, bool up);
  peer_counters& counters(size_t node) { return *counters_[node]; }
  const peer_counters& counters(size_t node) const { return *counters_[node]; }

  /// Node names of a mask, comma-separated, in configuration order.
  std::string describe(storage::node_mask nodes) const;
  /// Whether this node opens the connection to `node` (its name sorts
  /// first), or waits for `node` to open it. One connection (one TLS
  /// session, one pipe) per pair of nodes, carrying both directions.
  bool dials(size_t node) const { return cfg_.self < cfg_.nodes[node].name; }

  /// With cluster TLS: the forwarder that terminates node-link TLS (set
  /// once by main before the actors start; null for plain TCP links), and
  /// the loopback port per dialled peer that leads to it (0 otherwise).
  void set_tls(std::shared_ptr<protocol::tls_forwarder> f, std::vector<uint16_t> peer_ports);
  protocol::tls_forwarder* tls() const { return tls_.get(); }
  uint16_t tls_peer_port(size_t node) const { return node < tls_ports_.size() ? tls_ports_[node] : 0; }

  /// Cluster TLS: the CAF nodes a verified connection proved to be a peer
  /// (one this node dialled through the forwarder, or whose hello passed
  /// the certificate check), while its link lasts. The links admit and
  /// revoke; the gateway serves remote senders only when admitted, since
  /// CAF's loopback port is reachable by any local process.
  void admit(const caf::node_id& n);
  void revoke(const caf::node_id& n);
  /// Whether the gateway serves a request from `sender` on node `self`:
  /// always without TLS and for this node's own actors, else only from
  /// admitted nodes.
  bool may_serve(const caf::node_id& sender, const caf::node_id& self) const;
  /// This node's hello.
  cluster_hello hello() const;
  /// Why a peer's hello is refused, or "" when it is accepted.
  std::string check_hello(const cluster_hello& h) const;

  /// The per-peer series of /metrics (Prometheus text format).
  std::string render_metrics() const;
  /// /api/v1/status/cluster's data: the nodes and their state (JSON).
  std::string status_json() const;

 private:
  cluster_settings cfg_;
  storage::placement_ring ring_;
  size_t self_;
  std::vector<std::unique_ptr<peer_counters>> counters_;
  std::shared_ptr<protocol::tls_forwarder> tls_;
  std::vector<uint16_t> tls_ports_;
  mutable std::mutex admitted_mtx_;
  std::set<caf::node_id> admitted_;
};

}  // namespace nl::actors

#pragma once
// What every part of cluster mode shares: the configuration, the placement
// ring and, per node, whether its link is up plus its counters. The link
// actors (actors/cluster/link.hpp) write the state; the frontend (write
// placement on the HTTP threads), the cluster index and /metrics read it.
//
// Thread-safety: everything after construction is atomics or immutable;
// any thread may call any member.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/config.hpp"
#include "actors/messages.hpp"
#include "storage/cluster/ring.hpp"

namespace nl::actors {

/// Bumped whenever a node-link message changes meaning; nodes of different
/// versions refuse each other's hello.
constexpr uint32_t cluster_protocol_version = 3;

/// Counters of one peer's link (all zero for this node itself).
struct peer_counters {
  std::atomic<bool> up{false};
  std::atomic<int64_t> inflight{0};      ///< forwarded requests not answered yet
  std::atomic<uint64_t> requests{0};     ///< forwarded requests, all outcomes
  std::atomic<uint64_t> failures{0};     ///< failed by the peer, by DOWN, by deadline or refused at once
  std::atomic<uint64_t> bytes_sent{0};   ///< payload bytes of forwarded writes (keys and samples)
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
  /// first), or waits for `node` to open it. One connection per pair of
  /// nodes: CAF's openssl module breaks both when two nodes dial each
  /// other (docs/CLUSTER.md).
  bool dials(size_t node) const { return cfg_.self < cfg_.nodes[node].name; }
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
};

}  // namespace nl::actors

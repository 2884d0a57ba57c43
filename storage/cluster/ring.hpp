#pragma once
// Placement of series on the nodes of a cluster: a consistent-hash ring
// with virtual nodes. Each node owns `vnodes` points on a 64-bit circle
// (hashes of its name and the point's number); a series sits at the point
// of its re-mixed label hash and is stored on the first
// `replication_factor` distinct *healthy* nodes clockwise from there. When
// an owner is down the next healthy node takes its samples (VictoriaMetrics'
// rule), and reads find them because reads ask every node.
//
// Properties the tests hold it to:
// - balance: with 256 points a node, every node owns its share within a few
//   percent;
// - stability: a node going down moves only the series it owned, each to
//   one new node; when it returns every series goes back where it was.
//
// The label hash (storage/labels.hpp) is re-mixed first: head shards are
// picked by the same hash modulo their count, and a node's series would
// otherwise land on a skewed subset of its shards.
//
// Every node must build the same ring: same names, same vnodes. digest()
// fingerprints it for the nodes' hello. Immutable after construction;
// thread-safe to read.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nl::storage {

/// A set of nodes as a bit mask: bit i is node i (at most 64 nodes).
using node_mask = uint64_t;

class placement_ring {
 public:
  static constexpr size_t default_vnodes = 256;
  static constexpr size_t max_nodes = 64;

  /// REQUIRES: 1 <= names.size() <= max_nodes, names distinct, vnodes >= 1.
  explicit placement_ring(std::vector<std::string> names, size_t vnodes = default_vnodes);

  size_t num_nodes() const { return names_.size(); }
  const std::string& name(size_t node) const { return names_[node]; }
  /// Every node's bit set.
  node_mask all() const { return names_.size() == 64 ? ~node_mask{0} : (node_mask{1} << names_.size()) - 1; }

  /// The nodes that store a series with this label hash: the first
  /// min(rf, healthy nodes) distinct nodes of `healthy` clockwise from its
  /// point. Empty when no node is healthy.
  node_mask owners(uint64_t label_hash, size_t rf, node_mask healthy) const;

  /// A fingerprint of names (in ring order) and vnodes: equal rings, equal
  /// digests.
  uint64_t digest() const { return digest_; }

  /// Where a label hash sits on the circle.
  static uint64_t point_of(uint64_t label_hash);

 private:
  std::vector<std::string> names_;
  std::vector<uint64_t> positions_;  ///< the points, sorted
  /// For point i, every node in the order a walk clockwise from it meets
  /// them: successors_[i * num_nodes() .. (i + 1) * num_nodes()). So
  /// owners() reads at most num_nodes() bytes after its search instead of
  /// walking points past repeats of a node.
  std::vector<uint8_t> successors_;
  /// The index of the first point at or after the start of each of
  /// 2^bucket_bits_ equal slices of the circle: owners() starts its search
  /// there and passes at most the few points of one slice, instead of a
  /// binary search whose every step is a branch it cannot predict.
  std::vector<uint32_t> bucket_start_;
  unsigned bucket_bits_ = 0;
  uint64_t digest_ = 0;
};

/// The number of nodes in a mask.
inline size_t count_nodes(node_mask m) {
  return static_cast<size_t>(__builtin_popcountll(m));
}

}  // namespace nl::storage

#pragma once
// The answer to a replicated write (actors/network.cpp sends each node its
// part, split_by_node's batches): 204 needs write_quorum copies of every
// series, and a replica that failed beyond them is not the client's
// problem; short of the quorum, 503 naming the nodes that failed, so the
// sender retries, unless a node found the batch bad, which no retry fixes
// (400). Plain data and functions: the network actor gathers the replies,
// these decide.
//
// Counting (the 400 body): every node answers for its own batch, and each
// series is in the batch of each of its owners, so the sums over the nodes
// count it once per replica. All owner sets of one request have the same
// size (replication_factor, or fewer healthy nodes: one `healthy` mask
// splits the request), and the sums are divided by it: exact when every
// owner answered and the replicas agree; a series whose owner failed
// (quorum met without it) is undercounted.
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "storage/cluster/ring.hpp"

namespace nl::actors {

/// One replicated write's placement and what its nodes answered so far.
struct replica_replies {
  std::vector<storage::node_mask> owner_sets;  ///< the series' distinct owner sets (split_by_node)
  storage::node_mask acked = 0;                ///< nodes that stored their part
  append_result result;                        ///< summed over those nodes' answers
  caf::error failure;                          ///< the first node's failure
  std::string node_errors;                     ///< "b: reason; c: reason"
  caf::error metadata_failure;                 ///< this node could not store the request's metadata

  /// Node `node` stored its part (`r`: its counts and refusals).
  void stored(size_t node, append_result&& r);
  /// Node `node_name` could not store its part.
  void failed(const std::string& node_name, caf::error err);
};

/// Whether every series has `quorum` copies stored: each owner set has at
/// least `quorum` nodes in `acked`. A series whose owners are fewer than
/// the quorum (too few healthy nodes) never meets it.
bool quorum_met(const std::vector<storage::node_mask>& owner_sets, storage::node_mask acked, size_t quorum);

/// Whether the quorum can be met at all: every owner set has `quorum`
/// nodes. If not (too few nodes healthy), the write is refused before
/// anything is stored.
bool quorum_reachable(const std::vector<storage::node_mask>& owner_sets, size_t quorum);

/// What the client is answered.
struct write_answer {
  caf::error failure;    ///< none: stored (204, or 400 naming `result`'s refusals)
  append_result result;  ///< counted once per series, not once per replica
};

/// The answer once every node that got a part has replied (or, when the
/// write was refused up front, with no replies). `healthy_nodes` (nodes
/// reachable now) explains a missed quorum that no node's failure does.
write_answer replicated_write_answer(replica_replies&& r, size_t quorum, size_t healthy_nodes);

}  // namespace nl::actors

#pragma once
// The cluster index: what the query planner and the metadata endpoints ask
// in cluster mode instead of the node's own index, with the same
// interface (index_actor), and what /api/v1/metadata and gRPC Metadata
// ask instead of the metadata actor (metadata_reader_actor). Every
// request goes to every node: this node's
// gateway and each peer's link (actors/cluster/peer.hpp), since a series
// may live on any node (its owners, or the nodes that took its samples
// while an owner was down). The answers are merged by label set; replicas
// of a series are deduplicated sample by sample
// (storage/cluster/replica_merge.hpp), names and values are joined and cut
// to the request's limit. Metric metadata is merged as one node's store
// would hold it (storage/metadata/metadata_merge.hpp).
//
// Missing nodes. A node whose request fails for a reason of the node (link
// down, the peer's DOWN, the link's deadline, an overloaded peer) is
// missing; a request that fails for a reason of its own (bad input, over
// the sample budget, a damaged block: bad_input, too_many_samples,
// internal) fails as a whole, as on one node. With at most
// write_quorum - 1 nodes missing (replication_factor - 1 by default) every
// acknowledged sample still has a copy on a node that answered: the answer
// is complete and says nothing. With more, cluster.partial_response
// decides: true answers what the others have, plus a warning naming the
// missing nodes; false fails with `unavailable` (HTTP 503) naming them.
// Metric metadata is not replicated (a node keeps what the writes it
// received carried), so for metadata reads any missing node counts as
// too many.
//
// Budgets. A select's fetch budget (select_request::max_samples) counts
// every node's answer as it arrives, replicas included, since all of them
// are held until merged; over it the select fails with too_many_samples
// and its other fetches are withdrawn.
//
// Cancellation. Each select goes out under a fetch id of this actor's own
// (select_request::fetch_id). fetch_cancel with the planner's id (its
// query stopped: timeout, client gone, over budget) withdraws them: the
// links fail them at once and tell the peers' gateways, which drop the
// data instead of sending it.
//
// tsdb_status: this node's own head only (like each Prometheus).
#include <caf/all.hpp>

#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "actors/cluster/cluster_view.hpp"
#include "actors/cluster/peer.hpp"
#include "actors/index.hpp"
#include "actors/metadata.hpp"

namespace nl::actors {

/// index_actor plus metadata reads.
using cluster_index_actor = index_actor::extend_with<metadata_reader_actor>;

struct cluster_index_state {
  std::shared_ptr<cluster_view> view;
  std::vector<peer_actor> peers;  ///< index = node; this node's gateway for itself
  index_actor local;              ///< this node's own index (tsdb_status)
  /// Selects in flight, by the fetch id they went out with: how to
  /// withdraw each.
  std::unordered_map<uint64_t, std::function<void()>> withdraw;
  /// The requester's fetch_id -> the fetch ids of its selects.
  std::unordered_multimap<uint64_t, uint64_t> fetches_of;
  static inline const char* name = "cluster_index";
};

/// `peers` holds one handle per node of `view` (this node's own gateway
/// at view->self()).
cluster_index_actor::behavior_type cluster_index(cluster_index_actor::stateful_pointer<cluster_index_state> self,
                                                 std::shared_ptr<cluster_view> view,
                                                 std::vector<peer_actor> peers, index_actor local);

/// Whether a node's error means the node is missing (link down, deadline,
/// overloaded, anything CAF reports), rather than a failure of the request
/// itself (bad_input, too_many_samples, execution, internal).
bool node_missing(const caf::error& err);

}  // namespace nl::actors

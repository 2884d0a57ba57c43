#pragma once
// The write path's cluster step, on the HTTP thread that decoded the
// request: each series goes to its owners on the ring (the first
// replication_factor healthy nodes, storage/cluster/ring.hpp), one
// columnar batch per node. The answer once the nodes have replied:
// actors/cluster/write_quorum.hpp.
#include <vector>

#include "actors/messages.hpp"
#include "protocol/remote_write.hpp"
#include "storage/cluster/ring.hpp"

namespace nl::actors {

class cluster_view;

/// Fills `out` with one batch per node (index = node; nodes that own none
/// of the series get an empty batch) and `owner_sets` with the distinct
/// owner sets the request's series have (few: at most one per ring arc).
/// This node's own series go to `local` instead, one batch per head shard
/// (`num_shards` of them; out[view.self()] stays empty): the write path
/// hands them to the shards itself, as a single node does, without a
/// detour through its own gateway and a second split there.
void split_by_node(const protocol::write_batch& wb, const cluster_view& view, storage::node_mask healthy,
                   size_t num_shards, std::vector<append_batch>& out, std::vector<append_batch>& local,
                   std::vector<storage::node_mask>& owner_sets);

}  // namespace nl::actors

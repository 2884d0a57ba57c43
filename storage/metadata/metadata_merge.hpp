#pragma once
// Cluster mode: /api/v1/metadata over every node. Metric metadata is not
// replicated: a node holds what the remote writes it received carried. A
// read therefore asks every node for its descriptions with their receipt
// times (metadata_store::entries) and merges them here into what one node
// would answer had it received every write: the answers are applied to a
// fresh metadata_store, so the store's own rules decide (one entry per
// distinct (type, help, unit) of a family, its newest receipt time; a
// description superseded for superseded_after_ms by a newer one of its
// family dropped; at most max_per_family, the most recent), and list()
// orders and limits the result.
//
// Limits. Each node may answer only its first `limit` families by name:
// the first `limit` of the union are among them, and merging never empties
// a family. `limit_per_metric` must not be applied by the nodes (the rules
// above may drop descriptions a node listed first); it is applied here.
#include <cstdint>
#include <string_view>
#include <vector>

#include "storage/metadata/metadata_store.hpp"
#include "storage/metadata/metric_metadata.hpp"
#include "storage/wal/records.hpp"

namespace nl::storage {

/// The merged answer to /api/v1/metadata's (metric, limit,
/// limit_per_metric) over `parts`, one per node that answered (receipt
/// times from the nodes' clocks). `opts`: the nodes' store options (only
/// max_per_family and superseded_after_ms matter; nothing is evicted by
/// size). Independent of the order of the parts and of the records
/// within them.
std::vector<metric_metadata> merge_metadata(const std::vector<std::vector<metadata_record>>& parts,
                                            std::string_view metric, int64_t limit, int64_t limit_per_metric,
                                            metadata_store_options opts = {});

}  // namespace nl::storage

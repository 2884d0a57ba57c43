#pragma once
// The index: answers series metadata and select requests over all head
// shards and the persistent blocks, by asking every shard, reading the
// blocks that overlap the request on short-lived workers (block reads
// touch the disk; the index stays free for other requests; one worker per
// core, each over a run of adjacent blocks), and merging the sorted
// answers. A worker holds its blocks until it has answered, so compaction
// or retention may remove them meanwhile.
#include <caf/all.hpp>

#include <vector>

#include "actors/head_block.hpp"
#include "actors/messages.hpp"
#include "storage/block/block_set.hpp"

namespace nl::actors {

/// series / label_names / label_values: the union over all shards, sorted,
///   distinct, cut to `limit` (truncated=true then).
/// select: every shard's and block's matching series, sorted by labels; a
///   series found in several places has its chunks joined in time order.
///   A paged select (select_request::page_series) answers the next page:
///   every source's page, merged up to where all of them are complete
///   (storage::merge_pages).
/// tsdb_status(limit): /api/v1/status/tsdb over the head (every shard's
///   cardinality merged, top-`limit` lists; 0 = Prometheus' 10). Like
///   Prometheus, persistent blocks are not counted.
/// fetch_cancel(id): withdraws the selects whose fetch_id is `id` (their
///   query stopped). This index ignores it: its sources answer within
///   milliseconds and the planner drops late answers. The cluster index
///   (actors/cluster/cluster_index.hpp) has the same interface and stops
///   its remote fetches.
using index_actor = caf::typed_actor<
  caf::replies_to<series_atom, meta_query>::with<series_list>,
  caf::replies_to<label_names_atom, meta_query>::with<string_list>,
  caf::replies_to<label_values_atom, meta_query>::with<string_list>,
  caf::replies_to<select_atom, select_request>::with<select_result>,
  caf::replies_to<tsdb_status_atom, uint64_t>::with<storage::tsdb_status>,
  caf::reacts_to<fetch_cancel_atom, uint64_t>>;

/// Merges answers that are each sorted and distinct (the shards' of one
/// node, or the nodes' of a cluster) into one, cut to `limit` (0: none);
/// truncated when the union is longer or any part was cut already.
/// Warnings are joined, each once.
string_list merge_lists(std::vector<string_list>& parts, uint64_t limit);
series_list merge_lists(std::vector<series_list>& parts, uint64_t limit);

struct index_state {
  std::vector<head_block_actor> shards;
  std::shared_ptr<const storage::block_set> blocks;
  /// Block readers running on threads of their own (see fan_out in
  /// index.cpp): past a cap, further ones run on the scheduler.
  std::shared_ptr<std::atomic<size_t>> reader_threads = std::make_shared<std::atomic<size_t>>(0);
  static inline const char* name = "index";
};

/// `blocks` may be null (no persistent blocks).
index_actor::behavior_type series_index(index_actor::stateful_pointer<index_state> self,
                                        std::vector<head_block_actor> shards,
                                        std::shared_ptr<const storage::block_set> blocks);

}  // namespace nl::actors

#pragma once
// The index: answers series metadata and select requests over all head
// shards by asking every shard and merging the sorted answers. Later it
// also consults the persistent blocks' indexes.
#include <caf/all.hpp>

#include <vector>

#include "actors/head_block.hpp"
#include "actors/messages.hpp"

namespace nl::actors {

/// series / label_names / label_values: the union over all shards, sorted,
///   distinct, cut to `limit` (truncated=true then).
/// select: every shard's matching series, sorted by labels.
using index_actor = caf::typed_actor<
  caf::replies_to<series_atom, meta_query>::with<series_list>,
  caf::replies_to<label_names_atom, meta_query>::with<string_list>,
  caf::replies_to<label_values_atom, meta_query>::with<string_list>,
  caf::replies_to<select_atom, select_request>::with<select_result>>;

struct index_state {
  std::vector<head_block_actor> shards;
  static inline const char* name = "index";
};

index_actor::behavior_type series_index(index_actor::stateful_pointer<index_state> self,
                                 std::vector<head_block_actor> shards);

}  // namespace nl::actors

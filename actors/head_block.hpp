#pragma once
// One head shard: owns a storage::head (series whose label hash maps to this
// shard) and is the only code that touches it.
//
// Write path (append): validate every sample against the head *and* against
// samples of earlier batches still waiting for the WAL ("staged"), log the
// new series and the valid samples to the WAL writer, and only when the WAL
// has answered append them to the head and reply. So a reply means "stored
// and in the WAL"; samples never become visible before they are logged, and
// batches of one shard still overlap in the WAL's group commit.
//
// A refused sample does not fail the batch: the reply counts it and names
// the first few (partial write, as remote write 1.0 allows).
#include <caf/all.hpp>

#include <chrono>
#include <memory>

#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "actors/wal_writer.hpp"
#include "storage/head.hpp"

namespace nl::actors {

/// append: store a batch (see above); replies what was accepted/refused, or
///   an error when the WAL failed or timed out (nothing was acknowledged).
/// select: series matching a selector with their chunks in [mint, maxt].
/// series / label_names / label_values: metadata of matching series
///   (the meta_query's selectors are a union; `limit` is not applied here).
/// stats: counts of this shard.
using head_block_actor = caf::typed_actor<
  caf::replies_to<append_atom, append_batch>::with<append_result>,
  caf::replies_to<select_atom, select_request>::with<select_result>,
  caf::replies_to<series_atom, meta_query>::with<series_list>,
  caf::replies_to<label_names_atom, meta_query>::with<string_list>,
  caf::replies_to<label_values_atom, meta_query>::with<string_list>,
  caf::replies_to<stats_atom>::with<shard_stats>>;

struct head_block_options {
  size_t shard = 0;
  /// How long a batch may wait for the WAL before the request fails.
  std::chrono::milliseconds wal_timeout{60000};
  /// Shared with the rest of the process; must outlive the actor.
  metrics* stats = nullptr;
};

/// Samples accepted but not yet in the head are staged in the head itself
/// (storage::head::stage), per series.
struct head_block_state {
  std::shared_ptr<storage::head> head;
  wal_writer_actor wal;
  head_block_options opts;
  static inline const char* name = "head_block";
};

/// The behaviour; `head` is already replayed from the WAL and is owned by
/// this actor from now on.
head_block_actor::behavior_type head_block(head_block_actor::stateful_pointer<head_block_state> self,
                                           std::shared_ptr<storage::head> head, wal_writer_actor wal,
                                           head_block_options opts);

/// Compiles wire matchers; invalid_argument with RE2's message for a bad
/// regex.
storage::result<storage::matcher_list> compile_selector(const selector& sel);

}  // namespace nl::actors

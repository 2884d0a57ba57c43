#pragma once
// The metadata actor: owns the metric metadata store
// (storage/metadata/metadata_store.hpp) and is the only code that touches
// it. Like a head shard it logs before it shows: what a remote-write
// request brings is written to the WAL first (only what the store asks for:
// new descriptions, and held ones every ten minutes), then applied, then
// acknowledged, so /api/v1/metadata never shows what a crash could lose.
#include <caf/all.hpp>

#include <chrono>
#include <memory>

#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "actors/wal_writer.hpp"
#include "storage/metadata/metadata_store.hpp"

namespace nl::actors {

/// Where /api/v1/metadata and gRPC Metadata are answered: the metadata
/// actor, or in cluster mode the cluster index (every node's, merged).
using metadata_reader_actor = caf::typed_actor<caf::replies_to<metadata_atom, metadata_query>::with<metadata_list>>;

/// metadata_put: store a request's metadata; replies the number of WAL
///   entries written for it (0 when the store held everything already), or
///   an error when the WAL failed or did not start the write in time
///   (nothing new was stored).
/// metadata: /api/v1/metadata (storage::metadata_store::list).
/// metadata_fetch: this node's part of a cluster metadata read: the
///   descriptions of the query's families (`metric`, `limit`; not
///   `limit_per_metric`) with their receipt times
///   (storage/metadata/metadata_merge.hpp).
/// metadata_records(expire_before): families last received before
///   `expire_before` (ms since epoch) are dropped, then the store's
///   content is answered for a WAL checkpoint.
using metadata_actor = metadata_reader_actor::extend<
  caf::replies_to<metadata_put_atom, metadata_update>::with<uint64_t>,
  caf::replies_to<metadata_fetch_atom, metadata_query>::with<metadata_records>,
  caf::replies_to<metadata_records_atom, int64_t>::with<metadata_records>>;

struct metadata_options {
  /// As head_block_options::wal_timeout: how long a write may wait for the
  /// WAL writer to start it (wal_batch::deadline).
  std::chrono::milliseconds wal_timeout{25000};
  /// Shared with the rest of the process; must outlive the actor.
  metrics* stats = nullptr;
};

struct metadata_state {
  std::shared_ptr<storage::metadata_store> store;
  wal_writer_actor wal;
  metadata_options opts;
  static inline const char* name = "metadata";
};

/// The behaviour; `store` is already replayed from the WAL and is owned by
/// this actor from now on.
metadata_actor::behavior_type metadata(metadata_actor::stateful_pointer<metadata_state> self,
                                       std::shared_ptr<storage::metadata_store> store, wal_writer_actor wal,
                                       metadata_options opts);

}  // namespace nl::actors

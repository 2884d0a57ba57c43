#pragma once
// The supervisor: spawns every storage and network actor in dependency
// order (WAL writer, head shards, metadata, compactor, index, query
// planner, network), monitors them all, and keeps the process whole:
// - the stateless ones (compactor, index, query planner, network) are
//   restarted, with a log line (queries in flight then fail with 503; a
//   compaction in flight is redone by the next round);
// - a head shard, the metadata actor or the WAL writer that dies cannot be
//   replaced without losing acknowledged state, so the process is stopped
//   (exit code 1) instead of running half-alive.
// On an exit message (shutdown) it stops its children in reverse order;
// the WAL writer closes (flush + fdatasync) its segment as it ends.
#include <caf/all.hpp>
#include <caf/io/middleman_actor.hpp>

#include <functional>
#include <memory>
#include <vector>

#include "actors/cluster/cluster_index.hpp"
#include "actors/cluster/gateway.hpp"
#include "actors/cluster/link.hpp"
#include "actors/compactor.hpp"
#include "actors/config.hpp"
#include "actors/frontend.hpp"
#include "actors/head_block.hpp"
#include "actors/index.hpp"
#include "actors/metadata.hpp"
#include "actors/metrics.hpp"
#include "actors/network.hpp"
#include "actors/query_planner.hpp"
#include "actors/wal_writer.hpp"

namespace nl::actors {

/// wal_sync: flush and fdatasync the WAL now (delegated to the writer).
using supervisor_actor = caf::typed_actor<caf::replies_to<wal_sync_atom>::with<uint64_t>>;

struct supervisor_options {
  const settings* cfg = nullptr;
  metrics* stats = nullptr;
  frontend* front = nullptr;
  /// Called (on a CAF thread) when the process must stop: exit code 1.
  std::function<void(int)> on_fatal;
  /// Spawn the WAL writer detached (production) or scheduled (tests).
  bool detach_wal = true;
  /// The replayed metric metadata (open_storage()); null: an empty store.
  std::shared_ptr<storage::metadata_store> metadata;
  /// Cluster mode: the shared view, and CAF's middleman actor to publish
  /// the gateway, connect the links and tell which connection a hello
  /// came through.
  /// Null: a single node.
  std::shared_ptr<cluster_view> cluster;
  caf::io::middleman_actor connector;
};

struct supervisor_state {
  supervisor_options opts;
  std::vector<std::shared_ptr<storage::head>> heads;
  wal_writer_actor wal;
  std::vector<head_block_actor> shards;
  metadata_actor meta;
  std::shared_ptr<storage::block_set> blocks;
  compactor_actor compact;
  index_actor idx;  ///< cluster mode: the cluster index
  /// Where metadata reads go: the metadata actor, or the cluster index.
  metadata_reader_actor meta_reads;
  query_planner_actor planner;
  network_actor net;
  // Cluster mode: the gateway with its own index, one link per peer, and
  // the handle per node the network actor writes through.
  index_actor gateway_idx;
  gateway_actor gateway;
  std::vector<link_actor> links;
  std::vector<peer_actor> peers;
  bool stopping = false;
  static inline const char* name = "supervisor";
};

/// The heads (replayed), the opened WAL writer and the blocks come from
/// open_storage().
supervisor_actor::behavior_type supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
                                           std::vector<std::shared_ptr<storage::head>> heads,
                                           std::shared_ptr<storage::wal_segment_writer> wal,
                                           std::shared_ptr<storage::block_set> blocks,
                                           supervisor_options opts);

}  // namespace nl::actors

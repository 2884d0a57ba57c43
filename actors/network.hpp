#pragma once
// The network actor: the actor side of the bridge between the APIs and the
// actors. The HTTP frontend (actors/frontend.hpp) and the gRPC server
// (actors/grpc_server.hpp) turn requests into jobs and typed calls
// (actors/network_jobs.hpp) and send them here; this actor talks to the
// shards, the index, the query planner and the compactor, and answers
// through each job's or call's callback, which hands the answer back to
// the request's own threads. No I/O thread ever waits for an actor.
#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "actors/cluster/peer.hpp"
#include "actors/compactor.hpp"
#include "actors/config.hpp"
#include "actors/head_block.hpp"
#include "actors/index.hpp"
#include "actors/metadata.hpp"
#include "actors/metrics.hpp"
#include "actors/query_planner.hpp"
#include "protocol/http_server.hpp"
#include "protocol/router.hpp"

namespace nl::actors {

struct write_job;
struct admin_job;
struct read_job;
struct query_call;
struct series_call;
struct labels_call;
struct tsdb_status_call;
struct metadata_call;
struct federate_call;
using write_job_ptr = std::shared_ptr<write_job>;
using admin_job_ptr = std::shared_ptr<admin_job>;
using read_job_ptr = std::shared_ptr<read_job>;
using query_call_ptr = std::shared_ptr<query_call>;
using series_call_ptr = std::shared_ptr<series_call>;
using labels_call_ptr = std::shared_ptr<labels_call>;
using tsdb_status_call_ptr = std::shared_ptr<tsdb_status_call>;
using metadata_call_ptr = std::shared_ptr<metadata_call>;
using federate_call_ptr = std::shared_ptr<federate_call>;

}  // namespace nl::actors

// Jobs and calls carry reply callbacks: local messages only, never
// serialised.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nl::actors::write_job_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nl::actors::admin_job_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nl::actors::query_call_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nl::actors::series_call_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nl::actors::labels_call_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nl::actors::tsdb_status_call_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nl::actors::metadata_call_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nl::actors::federate_call_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nl::actors::read_job_ptr)

namespace nl::actors {

/// Queries go to the planner, query_cancel behind the query it withdraws;
/// series, labels and tsdb status to the index; metadata reads to the
/// metadata reader (the metadata actor, or the cluster index); federation to a worker; admin jobs (the admin API) to the
/// compactor. A read job (remote read) gets a reader of its own
/// (actors/remote_reader.hpp).
using network_actor =
  caf::typed_actor<caf::reacts_to<write_job_ptr>, caf::reacts_to<admin_job_ptr>, caf::reacts_to<query_call_ptr>,
                   caf::reacts_to<query_cancel>, caf::reacts_to<series_call_ptr>, caf::reacts_to<labels_call_ptr>,
                   caf::reacts_to<tsdb_status_call_ptr>, caf::reacts_to<metadata_call_ptr>,
                   caf::reacts_to<federate_call_ptr>, caf::reacts_to<read_job_ptr>>;

struct network_state {
  std::vector<head_block_actor> shards;
  index_actor idx;
  query_planner_actor planner;
  compactor_actor compact;  ///< may be invalid (tests): admin jobs get 503
  metadata_actor meta;      ///< may be invalid (tests): metadata writes are refused (503)
  /// /api/v1/metadata: `meta` itself, or in cluster mode the cluster
  /// index (every node's); may be invalid (tests): refused (503).
  metadata_reader_actor meta_reads;
  /// Cluster mode: one per node (this node's gateway, links to the
  /// others), for writes the frontend placed by node. Empty: one node.
  std::vector<peer_actor> peers;
  std::chrono::milliseconds timeout{60000};
  static inline const char* name = "network";
};

/// The actor side of the bridge: forwards write jobs to the shards (their
/// metric metadata to the metadata actor), series and label calls to the
/// index, metadata calls to `meta_reads`, federation calls to a
/// federation worker, queries to the query planner and admin jobs to the
/// compactor, and answers through their callbacks.
network_actor::behavior_type network(network_actor::stateful_pointer<network_state> self,
                                     std::vector<head_block_actor> shards, index_actor idx,
                                     query_planner_actor planner, std::chrono::milliseconds timeout,
                                     compactor_actor compact, metadata_actor meta, metadata_reader_actor meta_reads,
                                     std::vector<peer_actor> peers);

}  // namespace nl::actors

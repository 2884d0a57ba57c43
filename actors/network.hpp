#pragma once
// The network actor: the actor side of the bridge between HTTP and the
// actors. The frontend (actors/frontend.hpp) turns HTTP requests into jobs
// (actors/network_jobs.hpp) and sends them here; this actor talks to the
// shards, the index, the query planner and the compactor, and answers
// through each job's reply callback, which posts back to the connection's
// thread. No Asio thread ever waits for an actor.
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
#include "actors/metrics.hpp"
#include "actors/query_planner.hpp"
#include "protocol/http_server.hpp"
#include "protocol/router.hpp"

namespace nl::actors {

struct write_job;
struct meta_job;
struct query_http_job;
struct admin_job;
using write_job_ptr = std::shared_ptr<write_job>;
using meta_job_ptr = std::shared_ptr<meta_job>;
using query_http_job_ptr = std::shared_ptr<query_http_job>;
using admin_job_ptr = std::shared_ptr<admin_job>;

}  // namespace nl::actors

// Jobs carry an HTTP reply callback: local messages only, never serialised.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nl::actors::write_job_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nl::actors::meta_job_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nl::actors::query_http_job_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nl::actors::admin_job_ptr)

namespace nl::actors {

/// query_cancel is forwarded to the planner, behind the query it withdraws.
/// admin jobs (the admin API) go to the compactor.
using network_actor = caf::typed_actor<caf::reacts_to<write_job_ptr>, caf::reacts_to<meta_job_ptr>,
                                      caf::reacts_to<query_http_job_ptr>, caf::reacts_to<query_cancel>,
                                      caf::reacts_to<admin_job_ptr>>;

struct network_state {
  std::vector<head_block_actor> shards;
  index_actor idx;
  query_planner_actor planner;
  compactor_actor compact;  ///< may be invalid (tests): admin jobs get 503
  /// Cluster mode: one per node (this node's gateway, links to the
  /// others), for writes the frontend placed by node. Empty: one node.
  std::vector<peer_actor> peers;
  std::chrono::milliseconds timeout{60000};
  static inline const char* name = "network";
};

/// The actor side of the bridge: forwards write jobs to the shards, meta
/// jobs to the index, queries to the query planner and admin jobs to the
/// compactor, and answers through the frontend.
network_actor::behavior_type network(network_actor::stateful_pointer<network_state> self,
                                     std::vector<head_block_actor> shards, index_actor idx,
                                     query_planner_actor planner, std::chrono::milliseconds timeout,
                                     compactor_actor compact, std::vector<peer_actor> peers);

}  // namespace nl::actors

#pragma once
// The query planner: the entry of every PromQL query (/api/v1/query,
// /api/v1/query_range). It parses, works out which series over which time
// windows the query reads (promql/analysis.hpp), fetches them from the index
// by message, and hands the fetched data to a fresh query worker: an
// ordinary actor when the fetched data is small, one on its own thread
// otherwise (so heavy queries never hold up the scheduler's threads); each
// start is counted in nightlight_query_workers_started_total{thread}.
//
// Admission: at most max_concurrent queries are fetched or evaluated at
// once (server.max_concurrent_queries). Later ones wait, in arrival order,
// in a queue of max_queued places; a query that finds the queue full, or
// whose deadline passes while it waits, is answered 503 "unavailable" at
// once (error_code::overloaded; HTTP adds Retry-After), and counted in
// nightlight_queries_rejected_total{reason}. Only parsing happens before
// admission. The metadata endpoints (/series, /labels, /label/../values)
// do not pass through here and are not limited by it.
//
// Limits are the planner's: the deadline (query_timeout_seconds, or the
// request's smaller `timeout`) runs from arrival, queueing included; when
// it passes the planner answers "timeout" (HTTP 503) at once, raises the worker's
// cancel flag (the engine checks it between steps and in long loops, so the
// CPU is free within milliseconds) and kills the worker.
// max_samples_per_query is enforced by the engine on the samples it holds
// at once, counted exactly as Prometheus' evaluator counts them (its
// peakSamples, promql/engine.hpp sample_stats); the fetch before
// it is bounded too, by max_fetched_samples: the samples the query's
// windows hold in total, counted from chunk headers as every shard and
// block reader collects and summed here as their answers arrive; the first
// source over budget stops. Both answer too_many_samples (HTTP 422
// "execution"). The engine holds
// one series' window at a time where it can, so a query may fetch far more
// than it holds: the fetch budget defaults to 10x max_samples, as fetched
// chunks cost 1-2 bytes a sample, about the memory the evaluation limit
// allows.
//
// With query_request::stats the answer carries Prometheus' data.stats: the
// engine's samples and evaluation times, and the planner's queue, fetch
// and total times.
//
// A query_cancel (its HTTP client went away) stops a query the same way at
// any stage, answers it "canceled" (HTTP 503), counts it in
// nightlight_queries_cancelled_total and logs one line.
//
// Every select carries the query's id (select_request::fetch_id); a query
// stopped while its data is being fetched (deadline, cancel, budget) sends
// fetch_cancel with it to the index, so the cluster index withdraws the
// fetches still out on other nodes.
#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>

#include "actors/index.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"

namespace nl::actors {

/// query: evaluate a PromQL query; answers the typed value, or an error
///   whose code (actors/errors.hpp) tells the cause: bad_input, execution,
///   too_many_samples, timeout, canceled, overloaded, unavailable, internal.
using query_planner_actor = caf::typed_actor<
  caf::replies_to<query_atom, query_request>::with<query_answer>,
  caf::reacts_to<query_expire_atom, uint64_t>, caf::reacts_to<query_cancel>>;

struct query_job;

struct query_planner_options {
  std::chrono::milliseconds timeout{120000};  ///< ceiling and default
  int64_t max_samples = 50000000;
  /// Samples a query may fetch in total; 0: 10 x max_samples.
  uint64_t max_fetched_samples = 0;
  int64_t lookback_delta_ms = 300000;
  /// Queries fetched or evaluated at once; 0: one per available core.
  uint32_t max_concurrent = 0;
  /// Queries waiting for a slot at most; 0: four per max_concurrent.
  uint32_t max_queued = 0;
  metrics* stats = nullptr;  ///< counts cancellations, rejections, workers (optional; outlives the planner)
};

struct query_planner_state {
  struct running {
    caf::typed_response_promise<query_answer> promise;
    std::shared_ptr<std::atomic<bool>> cancel;
    caf::actor worker;  ///< invalid while waiting or fetching
    uint64_t request_id;  ///< query_request::id, for query_cancel
    std::string query;    ///< for the cancellation log line
    std::chrono::steady_clock::time_point arrived;
    std::chrono::steady_clock::time_point deadline;  ///< arrived + the query's timeout
    /// For query_answer::stats: when it got its slot, and its worker started.
    std::chrono::steady_clock::time_point admitted_at;
    std::chrono::steady_clock::time_point worker_started_at;
    /// Set while the query waits for a slot; taken when it is admitted.
    std::shared_ptr<query_job> waiting_job;
    bool admitted = false;  ///< holds one of the max_concurrent slots
    uint64_t fetched_samples = 0;  ///< in its windows, summed over the answers so far
  };
  index_actor index;
  query_planner_options opts;  ///< max_concurrent, max_queued, max_fetched_samples resolved (> 0)
  uint64_t next_id = 1;
  /// Every query not answered yet, admitted or waiting.
  std::unordered_map<uint64_t, running> queries;
  size_t admitted = 0;          ///< queries holding a slot
  std::deque<uint64_t> queue;   ///< ids of the waiting queries, oldest first
  static inline const char* name = "query_planner";
};

query_planner_actor::behavior_type query_planner(
  query_planner_actor::stateful_pointer<query_planner_state> self, index_actor index,
  query_planner_options opts);

}  // namespace nl::actors

#pragma once
// A query worker: one per query, spawned by the query planner (detached, on
// its own thread, unless the fetched data is small) with everything the
// query reads already fetched. It evaluates with promql::engine and renders
// the JSON answer. The planner may raise the cancel flag at any time
// (timeout, a client gone); the engine then stops within milliseconds and
// the worker's answer is dropped.
#include <caf/all.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "promql/analysis.hpp"
#include "promql/ast.hpp"
#include "promql/engine.hpp"

namespace nl::actors {

/// Everything a worker needs; shared with the planner until the worker runs.
struct query_job {
  std::shared_ptr<const promql::expr> expr;
  query_request request;
  /// The query's one analysis: find_selector_windows over `expr` (which
  /// the windows point into) for the request's times.
  std::vector<promql::selector_window> windows;
  /// data[i]: what the index answered for windows[i]; same size. The
  /// engine takes each over when it asks for window i.
  std::vector<select_result> data;
  /// The fetches' warnings (distinct), handed on with the answer.
  std::vector<std::string> warnings;
  std::shared_ptr<std::atomic<bool>> cancel;
  promql::engine_options engine_opts;  ///< its `cancel` points into `cancel`
  /// The worker runs on a thread of its own (detached): it lowers that
  /// thread's priority to the query helpers' (promql/parallel.hpp).
  bool own_thread = false;
};

/// run: evaluate the job; an evaluation error is answered as an error
/// (query_error_of).
using query_worker_actor = caf::typed_actor<caf::replies_to<query_run_atom>::with<query_answer>>;

query_worker_actor::behavior_type query_worker(query_worker_actor::pointer self,
                                               std::shared_ptr<query_job> job);

/// An engine error as an actor error (actors/errors.hpp), message kept.
caf::error query_error_of(const promql::query_error& e);

/// Evaluates a job on the calling thread (the worker's handler; also used by
/// tests without an actor system).
caf::expected<query_answer> run_query_job(query_job& job);

}  // namespace nl::actors

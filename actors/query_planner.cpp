#include "actors/query_planner.hpp"

#include <algorithm>
#include <type_traits>
#include <variant>

#include "actors/log.hpp"
#include "actors/query_worker.hpp"
#include "promql/analysis.hpp"
#include "promql/parser.hpp"
#include "protocol/query_json.hpp"

namespace nl::actors {

namespace {

using protocol::api_error;

bool has_subquery(const promql::expr& e) {
  return std::visit(
    [](const auto& n) -> bool {
      using T = std::decay_t<decltype(n)>;
      if constexpr (std::is_same_v<T, promql::subquery_expr>) {
        return true;
      } else if constexpr (std::is_same_v<T, promql::paren_expr>
                           || std::is_same_v<T, promql::unary_expr>) {
        return has_subquery(*n.inner);
      } else if constexpr (std::is_same_v<T, promql::binary_expr>) {
        return has_subquery(*n.lhs) || has_subquery(*n.rhs);
      } else if constexpr (std::is_same_v<T, promql::call_expr>) {
        return std::any_of(n.args.begin(), n.args.end(),
                           [](const auto& a) { return a && has_subquery(*a); });
      } else if constexpr (std::is_same_v<T, promql::aggregate_expr>) {
        return has_subquery(*n.inner) || (n.param && has_subquery(*n.param));
      } else {
        return false;  // literals and selectors
      }
    },
    e.node);
}

// Whether a job is small enough to evaluate on a scheduler thread. The
// bound assumes the worst per step: a range function may scan a series'
// whole fetched window at every step (quantile_over_time sorts it), so the
// cost is taken as steps x (fetched samples + 1) per series. Within about
// 300k that is a few ms of CPU; anything bigger, and every subquery (whose
// cost the fetched data does not bound), gets a thread of its own, so a
// heavy query never holds up the actors that ingest.
bool runs_inline(const query_job& job) {
  constexpr uint64_t max_inline_work = 300'000;
  if (has_subquery(*job.expr))
    return false;
  const auto& r = job.request;
  if (r.step > 0 && (r.end - r.start) / r.step >= static_cast<int64_t>(max_inline_work))
    return false;
  uint64_t steps = r.step > 0 ? static_cast<uint64_t>((r.end - r.start) / r.step + 1) : 1;
  uint64_t work = 0;
  for (const auto& w : job.data) {
    for (const auto& s : w.series) {
      uint64_t samples = 1;
      for (const auto& c : s.chunks)
        samples += c.chunk ? c.chunk->num_samples() : 0;
      work += steps * samples;
      if (work > max_inline_work)
        return false;
    }
  }
  return true;
}

}  // namespace

query_planner_actor::behavior_type query_planner(
  query_planner_actor::stateful_pointer<query_planner_state> self, index_actor index,
  query_planner_options opts) {
  self->state.index = std::move(index);
  self->state.opts = opts;

  // Answers a query still in flight (once) and forgets it.
  auto finish = [self](uint64_t id, query_reply reply) {
    auto& qs = self->state.queries;
    auto it = qs.find(id);
    if (it == qs.end())
      return;  // already answered (timeout) — drop the late result
    it->second.promise.deliver(std::move(reply));
    qs.erase(it);
  };

  // Stops a query in flight at any stage: the engine sees the flag within
  // milliseconds, the worker is killed, a pending fetch finds no entry.
  auto stop = [self, finish](uint64_t id, query_reply reply) {
    auto& q = self->state.queries.at(id);
    q.cancel->store(true);
    if (q.worker)
      self->send_exit(q.worker, caf::exit_reason::user_shutdown);
    finish(id, std::move(reply));
  };

  auto start_worker = [self, finish](uint64_t id, std::shared_ptr<query_job> job) {
    auto it = self->state.queries.find(id);
    if (it == self->state.queries.end())
      return;
    // The engine keeps the rest of the deadline itself: the expiry message
    // raises the cancel flag only when a scheduler thread is free to run
    // the planner, which inline workers may not leave.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(it->second.deadline
                                                                      - std::chrono::steady_clock::now());
    job->engine_opts.timeout = std::max(left, std::chrono::milliseconds{1});
    // A thread costs ~0.1 ms to start and stop here: worth it only for
    // evaluations long enough to hold up the scheduler's threads.
    bool inline_worker = runs_inline(*job);
    query_worker_actor worker = inline_worker ? self->spawn(query_worker, std::move(job))
                                              : self->spawn<caf::detached>(query_worker, std::move(job));
    if (auto* stats = self->state.opts.stats)
      (inline_worker ? stats->query_workers_inline : stats->query_workers_detached)
        .fetch_add(1, std::memory_order_relaxed);
    it->second.worker = caf::actor_cast<caf::actor>(worker);
    self->request(worker, caf::infinite, query_run_atom_v)
      .then([finish, id](query_reply& reply) { finish(id, std::move(reply)); },
            [finish, id](caf::error& err) {
              finish(id, query_error_reply(api_error::internal, "query worker failed: " + message_of(err)));
            });
  };

  return {
    [self, finish, start_worker](query_atom, query_request& req) -> caf::result<query_reply> {
      auto& st = self->state;
      auto parsed = promql::parse(req.query);
      if (!parsed)
        return query_error_reply(api_error::bad_data, "invalid parameter \"query\": " + parsed.error.message);
      std::shared_ptr<const promql::expr> e{std::move(parsed.expr)};
      auto type = e->type();
      if (req.step > 0 && type != promql::value_type::scalar && type != promql::value_type::vector)
        return query_error_reply(api_error::bad_data,
                           "invalid expression type \"" + std::string(promql::to_string(type)) +
                             "\" for range query, must be Scalar or instant Vector");
      auto timeout = st.opts.timeout;
      if (req.timeout_ms > 0)
        timeout = std::min(timeout, std::chrono::milliseconds{req.timeout_ms});
      int64_t end = req.step > 0 ? req.end : req.start;
      auto id = st.next_id++;
      auto cancel = std::make_shared<std::atomic<bool>>(false);
      auto job = std::make_shared<query_job>();
      job->expr = e;
      job->request = std::move(req);
      job->cancel = cancel;
      job->engine_opts.lookback_delta = st.opts.lookback_delta_ms;
      job->engine_opts.max_samples = st.opts.max_samples;
      job->engine_opts.cancel = cancel.get();
      // The query's one analysis: the worker's engine evaluates with these
      // windows and asks for window i's data by its index.
      job->windows = promql::find_selector_windows(*e, job->request.start, end, st.opts.lookback_delta_ms);
      job->data.resize(job->windows.size());
      auto promise = self->make_response_promise<query_reply>();
      auto now = std::chrono::steady_clock::now();
      st.queries.emplace(id, query_planner_state::running{promise, cancel, caf::actor{}, job->request.id,
                                                         job->request.query, now, now + timeout});
      self->delayed_send(self, timeout, query_expire_atom_v, id);

      const auto& windows = job->windows;
      if (windows.empty()) {
        start_worker(id, job);
        return promise;
      }
      auto pending = std::make_shared<size_t>(windows.size());
      for (size_t i = 0; i < windows.size(); ++i) {
        select_request sel{windows[i].selector->matchers, windows[i].mint, windows[i].maxt};
        // No timeout of its own: the expiry message answers a slow fetch,
        // and each timed request costs two wake-ups of CAF's clock thread.
        self->request(st.index, caf::infinite, select_atom_v, std::move(sel))
          .then(
            [job, pending, i, id, start_worker](select_result& r) {
              job->data[i] = std::move(r);
              if (--*pending == 0)
                start_worker(id, job);
            },
            [finish, id](caf::error& err) {
              // By cause: a block that cannot be read is internal, a
              // shard that went away (restart, shutdown) unavailable.
              auto code = code_of(err);
              auto type = code == error_code::bad_input ? api_error::bad_data
                          : code == error_code::timeout ? api_error::timeout
                          : code == error_code::internal ? api_error::internal
                                                         : api_error::unavailable;
              finish(id, query_error_reply(type, "fetching series: " + message_of(err)));
            });
      }
      return promise;
    },
    [self, stop](query_expire_atom, uint64_t id) {
      if (self->state.queries.count(id) != 0)
        stop(id, query_error_reply(api_error::timeout, "query timed out in query execution"));
    },
    [self, stop](query_cancel c) {
      // Few queries run at once, and cancels are rare: a scan is enough.
      auto& qs = self->state.queries;
      auto it = std::find_if(qs.begin(), qs.end(),
                             [&](const auto& kv) { return c.id != 0 && kv.second.request_id == c.id; });
      if (it == qs.end())
        return;  // answered already
      auto ran = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                                       - it->second.arrived);
      auto query = it->second.query.substr(0, 200);
      if (self->state.opts.stats != nullptr)
        self->state.opts.stats->queries_cancelled.fetch_add(1, std::memory_order_relaxed);
      stop(it->first, query_error_reply(api_error::canceled, "query canceled: the client went away"));
      log_info("query: canceled after " + std::to_string(ran.count())
               + " ms, its client went away: " + query);
    },
  };
}

}  // namespace nl::actors

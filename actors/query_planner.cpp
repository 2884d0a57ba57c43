#include "actors/query_planner.hpp"

#include <algorithm>
#include <type_traits>
#include <variant>

#include "actors/log.hpp"
#include "actors/query_worker.hpp"
#include "promql/analysis.hpp"
#include "promql/parser.hpp"
#include "storage/chunk/chunk.hpp"
#include "storage/cores.hpp"

namespace nl::actors {

namespace {

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

using self_ptr = query_planner_actor::stateful_pointer<query_planner_state>;

// The samples the chunks of `r` hold in [mint, maxt], from their headers.
uint64_t samples_in(const select_result& r, int64_t mint, int64_t maxt) {
  uint64_t n = 0;
  for (const auto& s : r.series)
    for (const auto& c : s.chunks)
      n += c.chunk ? storage::estimate_samples_in(*c.chunk, mint, maxt) : 0;
  return n;
}

caf::error too_many_samples() {
  return caf::make_error(error_code::too_many_samples,
                         "query processing would load too many samples into memory in query execution");
}

// A query refused a slot: overloaded (HTTP 503 "unavailable" with
// Retry-After, gRPC UNAVAILABLE).
caf::error overloaded(const std::string& why) {
  return caf::make_error(error_code::overloaded, why);
}

void admit(self_ptr self, uint64_t id);

// Answers a query still in flight (once), with its value or an error,
// forgets it and gives its slot, if it held one, to the oldest waiting
// query.
template <class Reply>
void finish(self_ptr self, uint64_t id, Reply reply) {
  auto& st = self->state;
  auto it = st.queries.find(id);
  if (it == st.queries.end())
    return;  // already answered (timeout) — drop the late result
  it->second.promise.deliver(std::move(reply));
  bool held_slot = it->second.admitted;
  if (!held_slot)
    st.queue.erase(std::find(st.queue.begin(), st.queue.end(), id));
  st.queries.erase(it);
  if (held_slot) {
    st.admitted -= 1;
    if (!st.queue.empty()) {
      auto next = st.queue.front();
      st.queue.pop_front();
      admit(self, next);
    }
  }
}

// Stops a query in flight at any stage: the engine sees the flag within
// milliseconds, the worker is killed, a pending fetch finds no entry and
// the index withdraws the fetches still out (the cluster index's go to
// other nodes).
void stop(self_ptr self, uint64_t id, caf::error reply) {
  auto& q = self->state.queries.at(id);
  q.cancel->store(true);
  if (q.worker)
    self->send_exit(q.worker, caf::exit_reason::user_shutdown);
  else if (q.admitted)
    self->send(self->state.index, fetch_cancel_atom_v, id);
  finish(self, id, std::move(reply));
}

// Prometheus' timings besides the engine's own: queueing for a slot, the
// fetch (its query preparation), and the totals.
void add_planner_times(self_ptr self, uint64_t id, promql::query_stats& st) {
  auto it = self->state.queries.find(id);
  if (it == self->state.queries.end())
    return;
  const auto& q = it->second;
  auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };
  auto now = std::chrono::steady_clock::now();
  st.exec_total = seconds(now - q.arrived);
  st.exec_queue = seconds(q.admitted_at - q.arrived);
  st.eval_total = seconds(now - q.admitted_at);
  st.query_preparation = seconds(q.worker_started_at - q.admitted_at);
}

void start_worker(self_ptr self, uint64_t id, std::shared_ptr<query_job> job) {
  auto it = self->state.queries.find(id);
  if (it == self->state.queries.end())
    return;
  it->second.worker_started_at = std::chrono::steady_clock::now();
  // The engine keeps the rest of the deadline itself: the expiry message
  // raises the cancel flag only when a scheduler thread is free to run
  // the planner, which inline workers may not leave.
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(it->second.deadline
                                                                    - std::chrono::steady_clock::now());
  job->engine_opts.timeout = std::max(left, std::chrono::milliseconds{1});
  // A thread costs ~0.1 ms to start and stop here: worth it only for
  // evaluations long enough to hold up the scheduler's threads.
  bool inline_worker = runs_inline(*job);
  job->own_thread = !inline_worker;
  query_worker_actor worker = inline_worker ? self->spawn(query_worker, std::move(job))
                                            : self->spawn<caf::detached>(query_worker, std::move(job));
  if (auto* stats = self->state.opts.stats)
    (inline_worker ? stats->query_workers_inline : stats->query_workers_detached)
      .fetch_add(1, std::memory_order_relaxed);
  it->second.worker = caf::actor_cast<caf::actor>(worker);
  self->request(worker, caf::infinite, query_run_atom_v)
    .then(
      [self, id](query_answer& answer) {
        if (answer.stats)
          add_planner_times(self, id, *answer.stats);
        finish(self, id, std::move(answer));
      },
          [self, id](caf::error& err) {
            // The engine's own errors keep their code; a worker that died
            // is a bug.
            if (err.category() != error_category)
              err = caf::make_error(error_code::internal, "query worker failed: " + message_of(err));
            finish(self, id, std::move(err));
          });
}

// Gives query `id` (waiting, or just arrived) a slot and starts its fetch:
// one select per window, each with the query's sample budget; the answers
// are summed against it as they arrive.
void admit(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto& q = st.queries.at(id);
  q.admitted = true;
  q.admitted_at = std::chrono::steady_clock::now();
  st.admitted += 1;
  auto job = std::move(q.waiting_job);
  const auto& windows = job->windows;
  if (windows.empty()) {
    start_worker(self, id, job);
    return;
  }
  auto budget = st.opts.max_fetched_samples;
  auto pending = std::make_shared<size_t>(windows.size());
  for (size_t i = 0; i < windows.size(); ++i) {
    select_request sel{windows[i].selector->matchers, windows[i].mint, windows[i].maxt, budget};
    sel.fetch_id = id;
    // No timeout of its own: the expiry message answers a slow fetch,
    // and each timed request costs two wake-ups of CAF's clock thread.
    self->request(st.index, caf::infinite, select_atom_v, std::move(sel))
      .then(
        [self, job, pending, i, id, budget](select_result& r) {
          auto it = self->state.queries.find(id);
          if (it == self->state.queries.end())
            return;  // answered already: drop the data at once
          auto& q = it->second;
          q.fetched_samples += samples_in(r, job->windows[i].mint, job->windows[i].maxt);
          if (budget > 0 && q.fetched_samples > budget) {
            job->data.clear();  // the other answers are dropped on arrival
            stop(self, id, too_many_samples());
            return;
          }
          // Cluster mode: nodes that did not answer (cluster_index.hpp).
          for (auto& w : r.warnings)
            if (std::find(job->warnings.begin(), job->warnings.end(), w) == job->warnings.end())
              job->warnings.push_back(std::move(w));
          r.warnings.clear();
          job->data[i] = std::move(r);
          if (--*pending == 0)
            start_worker(self, id, job);
        },
        [self, id](caf::error& err) {
          if (self->state.queries.count(id) == 0)
            return;
          // By cause: a block that cannot be read is internal, a
          // shard that went away (restart, shutdown) unavailable.
          auto code = code_of(err);
          if (code == error_code::too_many_samples)
            return stop(self, id, too_many_samples());
          if (code != error_code::bad_input && code != error_code::timeout && code != error_code::internal)
            code = error_code::unavailable;
          stop(self, id, caf::make_error(code, "fetching series: " + message_of(err)));
        });
  }
}

void count_rejected(self_ptr self, std::atomic<uint64_t> metrics::*counter) {
  if (auto* stats = self->state.opts.stats)
    (stats->*counter).fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

query_planner_actor::behavior_type query_planner(self_ptr self, index_actor index, query_planner_options opts) {
  if (opts.max_concurrent == 0)
    opts.max_concurrent = std::max(1u, storage::available_cores());
  if (opts.max_queued == 0)
    opts.max_queued = 4 * opts.max_concurrent;
  if (opts.max_fetched_samples == 0) {
    auto held = static_cast<uint64_t>(std::max<int64_t>(opts.max_samples, 1));
    opts.max_fetched_samples = held > UINT64_MAX / 10 ? UINT64_MAX : 10 * held;
  }
  self->state.index = std::move(index);
  self->state.opts = opts;

  return {
    [self](query_atom, query_request& req) -> caf::result<query_answer> {
      auto& st = self->state;
      auto parsed = promql::parse(req.query);
      if (!parsed)
        return caf::make_error(error_code::bad_input, "invalid parameter \"query\": " + parsed.error.message);
      std::shared_ptr<const promql::expr> e{std::move(parsed.expr)};
      auto type = e->type();
      if (req.step > 0 && type != promql::value_type::scalar && type != promql::value_type::vector)
        return caf::make_error(error_code::bad_input,
                               "invalid expression type \"" + std::string(promql::to_string(type))
                                 + "\" for range query, must be Scalar or instant Vector");
      bool has_slot = st.admitted < st.opts.max_concurrent;
      if (!has_slot && st.queue.size() >= st.opts.max_queued) {
        count_rejected(self, &metrics::queries_rejected_queue_full);
        return overloaded("too many queries: " + std::to_string(st.admitted) + " running and "
                                + std::to_string(st.queue.size())
                                + " waiting (server.max_concurrent_queries); retry later");
      }
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
      job->engine_opts.per_step_stats = req.stats >= 2;
      // The query's one analysis: the worker's engine evaluates with these
      // windows and asks for window i's data by its index.
      job->windows = promql::find_selector_windows(*e, job->request.start, end, st.opts.lookback_delta_ms);
      job->data.resize(job->windows.size());
      auto promise = self->make_response_promise<query_answer>();
      auto now = std::chrono::steady_clock::now();
      query_planner_state::running q;
      q.promise = promise;
      q.cancel = cancel;
      q.request_id = job->request.id;
      q.query = job->request.query;
      q.arrived = now;
      q.deadline = now + timeout;
      q.waiting_job = std::move(job);
      st.queries.emplace(id, std::move(q));
      self->delayed_send(self, timeout, query_expire_atom_v, id);
      if (has_slot)
        admit(self, id);
      else
        st.queue.push_back(id);
      return promise;
    },
    [self](query_expire_atom, uint64_t id) {
      auto it = self->state.queries.find(id);
      if (it == self->state.queries.end())
        return;
      if (it->second.admitted)
        return stop(self, id, caf::make_error(error_code::timeout, "query timed out in query execution"));
      // Its whole time went by in the queue: the server is overloaded and
      // the client may retry. (Prometheus answers this case "timeout",
      // "query timed out in query queue"; both are 503, and "unavailable"
      // tells the client that the query itself never ran.)
      auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                                          - it->second.arrived);
      count_rejected(self, &metrics::queries_rejected_queue_timeout);
      stop(self, id,
           overloaded("too many queries: waited " + std::to_string(waited.count())
                            + " ms for one of " + std::to_string(self->state.opts.max_concurrent)
                            + " query slots (server.max_concurrent_queries) until the query's deadline; retry later"));
    },
    [self](query_cancel c) {
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
      stop(self, it->first, caf::make_error(error_code::canceled, "query canceled: the client went away"));
      log_info("query: canceled after " + std::to_string(ran.count())
               + " ms, its client went away: " + query);
    },
  };
}

}  // namespace nl::actors

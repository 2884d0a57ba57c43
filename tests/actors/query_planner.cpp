#define CAF_SUITE actors.query_planner
#include "test_support.hpp"

#include <sys/resource.h>

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "actors/network_jobs.hpp"
#include "actors/query_planner.hpp"
#include "storage/chunk/xor_chunk.hpp"

using namespace nl::actors;
using namespace std::chrono_literals;

namespace {

constexpr int64_t step_ms = 15000;

// A planner's reply as the HTTP API sends it (actors/network_jobs.hpp).
struct http_answer {
  unsigned status = 0;
  std::string body = "no answer";
};

template <class ResponseHandle>
http_answer receive_http(ResponseHandle&& h) {
  http_answer out;
  h.receive(
    [&](query_answer& a) {
      auto r = query_success(std::move(a));
      nl::protocol::complete(r);
      out = {r.status, std::move(r.body)};
    },
    [&](caf::error& err) {
      auto r = query_failure(err, 1);
      out = {r.status, std::move(r.body)};
    });
  return out;
}

// One series `big{job="x"}` with `n` samples ending at `end_ms`, as XOR
// chunks of 120 samples, the way the head hands them out.
series_data make_series(int n, int64_t end_ms) {
  series_data s;
  s.labels = nl::storage::label_set::from_unsorted({{"__name__", "big"}, {"job", "x"}});
  nl::storage::xor_appender app;
  int64_t t0 = end_ms - int64_t{n - 1} * step_ms;
  for (int i = 0; i < n; ++i) {
    app.append(t0 + i * step_ms, static_cast<double>(i % 97));
    if (app.num_samples() == 120 || i == n - 1) {
      s.chunks.push_back(chunk_data{app.cut()});
    }
  }
  return s;
}

// An index that serves one prepared series to every select.
index_actor::behavior_type fake_index(index_actor::pointer, std::shared_ptr<const series_data> data) {
  return {
    [](series_atom, meta_query&) { return series_list{}; },
    [](label_names_atom, meta_query&) { return string_list{}; },
    [](label_values_atom, meta_query&) { return string_list{}; },
    [data](select_atom, select_request&) {
      select_result r;
      r.series.push_back(*data);
      return r;
    },
    [](tsdb_status_atom, uint64_t) { return nl::storage::tsdb_status{}; },
    [](fetch_cancel_atom, uint64_t) {},
  };
}

// Polls `done` every millisecond for up to `limit`; whether it came true.
// Tests wait with it for a state the planner reports through its counters,
// instead of sleeping for a time that may be too short on a busy machine.
template <class Predicate>
bool wait_for(Predicate done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Whether the process uses `seconds` of CPU within the next 10 s: a query
// worker is evaluating (the test's own threads sleep meanwhile).
bool burns_cpu(double seconds) {
  auto cpu0 = process_cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  bool ok = wait_for([&] { return process_cpu_seconds() - cpu0 >= seconds; }, 10s);
  CAF_MESSAGE(process_cpu_seconds() - cpu0 << " s of cpu used in "
                                           << std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::steady_clock::now() - t0)
                                                .count()
                                           << " ms");
  return ok;
}

struct fixture {
  caf::actor_system_config cfg;
  metrics stats;  // before sys: the planner counts into it until sys is gone
  std::unique_ptr<caf::actor_system> sys;
  int64_t end_ms = 1700000000000;
  query_planner_actor planner;

  explicit fixture() {
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  void start(int samples, query_planner_options opts) {
    opts.stats = &stats;
    auto data = std::make_shared<const series_data>(make_series(samples, end_ms));
    auto idx = sys->spawn(fake_index, data);
    planner = sys->spawn(query_planner, idx, opts);
  }

  http_answer ask(query_request req) {
    caf::scoped_actor self{*sys};
    return receive_http(self->request(planner, 60s, query_atom_v, std::move(req)));
  }

  ~fixture() {
    caf::anon_send_exit(planner, caf::exit_reason::user_shutdown);
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(query_planner_tests, fixture)

CAF_TEST(an instant query is fetched evaluated and rendered) {
  start(100, {});
  auto r = ask({"sum(big)", end_ms, end_ms, 0, 0});
  CAF_CHECK_EQUAL(r.status, 200u);
  // The newest sample is (100 - 1) % 97 = 2.
  CAF_CHECK_EQUAL(r.body, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"2"]}]}})");
}

CAF_TEST(a syntax error is bad_data with the parser position) {
  start(10, {});
  auto r = ask({"sum(big", end_ms, end_ms, 0, 0});
  CAF_CHECK_EQUAL(r.status, 400u);
  CAF_CHECK(r.body.find(R"("errorType":"bad_data")") != std::string::npos);
  CAF_CHECK(r.body.find("1:8: parse error") != std::string::npos);
}

CAF_TEST(a range query over a range vector is refused) {
  start(10, {});
  auto r = ask({"big[5m]", end_ms - 60000, end_ms, 15000, 0});
  CAF_CHECK_EQUAL(r.status, 400u);
  CAF_CHECK(r.body.find("invalid expression type \\\"range vector\\\" for range query") != std::string::npos);
}

CAF_TEST(too many samples is an execution error) {
  query_planner_options opts;
  opts.max_samples = 50;
  start(1000, opts);
  auto r = ask({"big[1d]", end_ms, end_ms, 0, 0});
  CAF_CHECK_EQUAL(r.status, 422u);
  CAF_CHECK(r.body.find("query processing would load too many samples into memory") != std::string::npos);
}

// A deliberately huge query: quantile_over_time sorts a window of 200k
// samples at each of 11,000 steps, minutes of CPU. The deadline answers it
// within its budget, and the worker must stop burning CPU right after.
CAF_TEST(a timed out query answers 503 and frees the cpu) {
  query_planner_options opts;
  opts.timeout = 300ms;
  start(200000, opts);
  auto t0 = std::chrono::steady_clock::now();
  auto r = ask({"quantile_over_time(0.5, big[30d])", end_ms - 11000 * 1000, end_ms, 1000, 0});
  auto took = std::chrono::steady_clock::now() - t0;
  CAF_CHECK_EQUAL(r.status, 503u);
  CAF_CHECK(r.body.find(R"("errorType":"timeout")") != std::string::npos);
  CAF_MESSAGE("answered after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CAF_CHECK(took < 5s);  // fetch + 300 ms deadline, generous for a loaded CI box
  // The deadline hit the evaluation, not the fetch: the worker was started
  // (on a thread of its own), and a worker is only started for a query
  // still in flight.
  CAF_CHECK_EQUAL(stats.query_workers_detached.load(), 1u);
  // Give the worker 100 ms to notice the cancel flag, then measure: the
  // process must be (nearly) idle over the next half second.
  std::this_thread::sleep_for(100ms);
  auto cpu0 = process_cpu_seconds();
  std::this_thread::sleep_for(500ms);
  auto busy = process_cpu_seconds() - cpu0;
  CAF_MESSAGE("cpu used in 500 ms after the timeout: " << busy << " s");
  CAF_CHECK(busy < 0.15);
}

CAF_TEST(the request timeout parameter lowers the deadline) {
  query_planner_options opts;
  opts.timeout = 60s;
  start(200000, opts);
  auto t0 = std::chrono::steady_clock::now();
  auto r = ask({"quantile_over_time(0.5, big[30d])", end_ms - 11000 * 1000, end_ms, 1000, 200});
  CAF_CHECK_EQUAL(r.status, 503u);
  CAF_CHECK(r.body.find(R"("errorType":"timeout")") != std::string::npos);
  CAF_CHECK(std::chrono::steady_clock::now() - t0 < 5s);
}

// The same huge query, withdrawn by its client: the planner answers it
// "canceled" and the worker must stop burning CPU within 100 ms.
CAF_TEST(a cancelled query answers canceled and frees the cpu) {
  query_planner_options opts;
  opts.timeout = 60s;
  start(200000, opts);
  std::atomic<bool> answered{false};
  http_answer r;
  std::thread asker{[&] {
    r = ask({"quantile_over_time(0.5, big[30d])", end_ms - 11000 * 1000, end_ms, 1000, 0, 42});
    answered = true;
  }};
  // Wait for the fetch to finish and the worker to start, then for it to
  // burn CPU.
  CAF_CHECK(wait_for([&] { return stats.query_workers_detached.load() == 1; }, 10s));
  CAF_CHECK(burns_cpu(0.05));
  CAF_CHECK(!answered.load());
  auto t0 = std::chrono::steady_clock::now();
  caf::anon_send(planner, query_cancel{42});
  asker.join();
  auto took = std::chrono::steady_clock::now() - t0;
  CAF_MESSAGE("answered " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms after the cancel");
  CAF_CHECK(took < 1s);
  CAF_CHECK_EQUAL(r.status, 503u);
  CAF_CHECK(r.body.find(R"("errorType":"canceled")") != std::string::npos);
  CAF_CHECK_EQUAL(stats.queries_cancelled.load(), 1u);
  std::this_thread::sleep_for(100ms);
  auto cpu0 = process_cpu_seconds();
  std::this_thread::sleep_for(500ms);
  auto busy = process_cpu_seconds() - cpu0;
  CAF_MESSAGE("cpu used in 500 ms after the cancel: " << busy << " s");
  CAF_CHECK(busy < 0.15);
}

CAF_TEST(cancels for unknown or finished queries change nothing) {
  start(100, {});
  caf::anon_send(planner, query_cancel{0});
  caf::anon_send(planner, query_cancel{7});
  auto r = ask({"sum(big)", end_ms, end_ms, 0, 0, 7});
  CAF_CHECK_EQUAL(r.status, 200u);
  caf::anon_send(planner, query_cancel{7});
  r = ask({"sum(big)", end_ms, end_ms, 0, 0, 0});
  CAF_CHECK_EQUAL(r.status, 200u);
  CAF_CHECK_EQUAL(stats.queries_cancelled.load(), 0u);
  CAF_CHECK_EQUAL(stats.query_workers_inline.load(), 2u);  // both were evaluated
}

CAF_TEST(a cancel for id 0 matches no running query) {
  // id 0 means "cannot be cancelled": a cancel for 0 sent while such a
  // query runs leaves it to its deadline.
  query_planner_options opts;
  opts.timeout = 1s;
  start(200000, opts);
  http_answer r;
  auto t0 = std::chrono::steady_clock::now();
  std::thread asker{[&] {
    r = ask({"quantile_over_time(0.5, big[30d])", end_ms - 11000 * 1000, end_ms, 1000, 0, 0});
  }};
  // The cancel must meet the query while it runs: after its worker started
  // and before its deadline (which runs from arrival, after t0; the planner
  // reads its mailbox in order, so a cancel sent earlier comes first).
  CAF_CHECK(wait_for([&] { return stats.query_workers_detached.load() == 1; }, 10s));
  caf::anon_send(planner, query_cancel{0});
  auto sent_after = std::chrono::steady_clock::now() - t0;
  CAF_MESSAGE("cancel sent " << std::chrono::duration_cast<std::chrono::milliseconds>(sent_after).count()
                             << " ms after the query");
  CAF_CHECK(sent_after < opts.timeout);
  asker.join();
  CAF_CHECK_EQUAL(r.status, 503u);
  CAF_CHECK(r.body.find(R"("errorType":"timeout")") != std::string::npos);
  CAF_CHECK_EQUAL(stats.queries_cancelled.load(), 0u);
}

// --- admission: server.max_concurrent_queries and its queue ---------------

// The long query of the tests above, cancellable by `id`.
query_request heavy_query(int64_t end_ms, uint64_t id, int64_t timeout_ms = 0) {
  return {"quantile_over_time(0.5, big[30d])", end_ms - 11000 * 1000, end_ms, 1000, timeout_ms, id};
}

CAF_TEST(a query beyond the cap waits for a slot and then runs) {
  query_planner_options opts;
  opts.timeout = 60s;
  opts.max_concurrent = 1;
  start(200000, opts);
  http_answer heavy, small;
  std::atomic<bool> small_answered{false};
  std::thread heavy_asker{[&] { heavy = ask(heavy_query(end_ms, 9)); }};
  CAF_CHECK(wait_for([&] { return stats.query_workers_detached.load() == 1; }, 10s));
  std::thread small_asker{[&] {
    small = ask({"sum(big)", end_ms, end_ms, 0, 0, 0});
    small_answered = true;
  }};
  // Admitted, the small query would be answered within milliseconds; it
  // must wait for the one slot instead (and nothing was started for it).
  CAF_CHECK(!wait_for([&] { return small_answered.load(); }, 500ms));
  CAF_CHECK_EQUAL(stats.query_workers_inline.load(), 0u);
  caf::anon_send(planner, query_cancel{9});
  heavy_asker.join();
  small_asker.join();
  CAF_CHECK_EQUAL(heavy.status, 503u);
  CAF_CHECK_EQUAL(small.status, 200u);
  CAF_CHECK_EQUAL(stats.query_workers_inline.load(), 1u);
  CAF_CHECK_EQUAL(stats.queries_rejected_queue_full.load(), 0u);
  CAF_CHECK_EQUAL(stats.queries_rejected_queue_timeout.load(), 0u);
}

CAF_TEST(a query that finds the queue full is answered 503 at once) {
  query_planner_options opts;
  opts.timeout = 60s;
  opts.max_concurrent = 1;
  opts.max_queued = 1;
  start(200000, opts);
  http_answer heavy;
  std::thread heavy_asker{[&] { heavy = ask(heavy_query(end_ms, 9)); }};
  CAF_CHECK(wait_for([&] { return stats.query_workers_detached.load() == 1; }, 10s));
  // From one sender, so the planner reads them in order: the second takes
  // the queue's one place, the third finds one running and one waiting.
  caf::scoped_actor self{*sys};
  auto second = self->request(planner, 60s, query_atom_v, query_request{"sum(big)", end_ms, end_ms, 0, 0, 10});
  auto third = self->request(planner, 60s, query_atom_v, query_request{"sum(big)", end_ms, end_ms, 0, 0, 0});
  auto t0 = std::chrono::steady_clock::now();
  auto r3 = receive_http(third);
  auto took = std::chrono::steady_clock::now() - t0;
  CAF_MESSAGE("refused after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CAF_CHECK_EQUAL(r3.status, 503u);
  CAF_CHECK(took < 2s);
  CAF_CHECK(r3.body.find(R"("errorType":"unavailable")") != std::string::npos);
  CAF_CHECK(r3.body.find("too many queries: 1 running and 1 waiting") != std::string::npos);
  CAF_CHECK_EQUAL(stats.queries_rejected_queue_full.load(), 1u);
  CAF_CHECK_EQUAL(stats.query_workers_inline.load(), 0u);  // neither small one ran yet
  caf::anon_send(planner, query_cancel{9});
  auto r2 = receive_http(second);
  heavy_asker.join();
  CAF_CHECK_EQUAL(r2.status, 200u);  // the waiting one ran once the slot was free
  CAF_CHECK_EQUAL(heavy.status, 503u);
}

CAF_TEST(a query whose deadline passes in the queue is answered 503) {
  query_planner_options opts;
  opts.timeout = 60s;
  opts.max_concurrent = 1;
  start(200000, opts);
  http_answer heavy;
  std::thread heavy_asker{[&] { heavy = ask(heavy_query(end_ms, 9)); }};
  CAF_CHECK(wait_for([&] { return stats.query_workers_detached.load() == 1; }, 10s));
  auto t0 = std::chrono::steady_clock::now();
  auto waited = ask({"sum(big)", end_ms, end_ms, 0, 300, 0});  // timeout=300ms
  auto took = std::chrono::steady_clock::now() - t0;
  CAF_MESSAGE("answered after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CAF_CHECK_EQUAL(waited.status, 503u);
  CAF_CHECK(waited.body.find(R"("errorType":"unavailable")") != std::string::npos);
  CAF_CHECK(waited.body.find("for one of 1 query slots") != std::string::npos);
  CAF_CHECK(took >= 300ms);
  CAF_CHECK(took < 5s);
  CAF_CHECK_EQUAL(stats.queries_rejected_queue_timeout.load(), 1u);
  CAF_CHECK_EQUAL(stats.query_workers_inline.load(), 0u);
  // The heavy query still runs: its slot is untouched by the expiry.
  CAF_CHECK(burns_cpu(0.05));
  caf::anon_send(planner, query_cancel{9});
  heavy_asker.join();
  CAF_CHECK_EQUAL(heavy.status, 503u);
  CAF_CHECK(heavy.body.find(R"("errorType":"canceled")") != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()

// --- max_samples_per_query while fetching ---------------------------------

namespace {

// Serves one series to every select and remembers the budget it was given.
// With `refuse` it answers like a shard over budget.
index_actor::behavior_type budget_index(index_actor::pointer, std::shared_ptr<const series_data> data,
                                        std::shared_ptr<std::atomic<uint64_t>> seen_budget,
                                        std::shared_ptr<std::atomic<int>> selects, bool refuse) {
  return {
    [](series_atom, meta_query&) { return series_list{}; },
    [](label_names_atom, meta_query&) { return string_list{}; },
    [](label_values_atom, meta_query&) { return string_list{}; },
    [=](select_atom, select_request& req) -> caf::result<select_result> {
      seen_budget->store(req.max_samples);
      selects->fetch_add(1);
      if (refuse)
        return too_many_samples_error();
      select_result r;
      r.series.push_back(*data);
      return r;
    },
    [](tsdb_status_atom, uint64_t) { return nl::storage::tsdb_status{}; },
    [](fetch_cancel_atom, uint64_t) {},
  };
}

struct budget_fixture : fixture {
  std::shared_ptr<std::atomic<uint64_t>> seen_budget = std::make_shared<std::atomic<uint64_t>>(0);
  std::shared_ptr<std::atomic<int>> selects = std::make_shared<std::atomic<int>>(0);

  void start_budget(int samples, uint64_t max_fetched, bool refuse) {
    query_planner_options opts;
    opts.max_fetched_samples = max_fetched;
    opts.stats = &stats;
    auto data = std::make_shared<const series_data>(make_series(samples, end_ms));
    planner = sys->spawn(query_planner, sys->spawn(budget_index, data, seen_budget, selects, refuse), opts);
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(query_planner_budget_tests, budget_fixture)

// Each selector's answer fits the budget, their sum does not: the planner
// stops when the second answer arrives, and no worker ever evaluates.
CAF_TEST(the sample budget trips while fetching) {
  start_budget(1000, 1500, false);
  auto r = ask({"count_over_time(big[1d]) + count_over_time(big[1d] offset 1s)", end_ms, end_ms, 0, 0});
  CAF_CHECK_EQUAL(r.status, 422u);
  CAF_CHECK(r.body.find(R"("errorType":"execution")") != std::string::npos);
  CAF_CHECK(r.body.find("query processing would load too many samples into memory in query execution")
            != std::string::npos);
  CAF_CHECK_EQUAL(seen_budget->load(), 1500u);  // every select carries it
  CAF_CHECK_EQUAL(selects->load(), 2);
  CAF_CHECK_EQUAL(stats.query_workers_inline.load() + stats.query_workers_detached.load(), 0u);
  // Within budget the same query runs.
  auto ok = ask({"count_over_time(big[1d])", end_ms, end_ms, 0, 0});
  CAF_CHECK_EQUAL(ok.status, 200u);
}

// Only the samples inside the window count: 1000 stored, about 20 of
// them in the last 5 minutes.
CAF_TEST(the sample budget counts only the fetched window) {
  // Counting whole chunks would take the last one's 40 samples.
  start_budget(1000, 30, false);
  auto r = ask({"count_over_time(big[5m])", end_ms, end_ms, 0, 0});
  CAF_CHECK_EQUAL(r.status, 200u);
}

CAF_TEST(a source over the budget answers 422) {
  start_budget(10, 5, true);
  auto r = ask({"sum(big)", end_ms, end_ms, 0, 0});
  CAF_CHECK_EQUAL(r.status, 422u);
  CAF_CHECK(r.body.find("query processing would load too many samples into memory in query execution")
            != std::string::npos);
  CAF_CHECK_EQUAL(stats.query_workers_inline.load() + stats.query_workers_detached.load(), 0u);
}

// By default a query may fetch ten times what it may hold: the engine
// holds one series' window at a time for a range function.
CAF_TEST(by default the fetch budget is ten times max_samples) {
  query_planner_options opts;
  opts.max_samples = 200;
  opts.stats = &stats;
  auto data = std::make_shared<const series_data>(make_series(1000, end_ms));
  planner = sys->spawn(query_planner, sys->spawn(budget_index, data, seen_budget, selects, false), opts);
  auto r = ask({"count_over_time(big[1d])", end_ms, end_ms, 0, 0});
  CAF_CHECK_EQUAL(seen_budget->load(), 2000u);
  CAF_CHECK_EQUAL(r.status, 422u);  // the engine holds all 1000 of the one series
  CAF_CHECK_EQUAL(stats.query_workers_inline.load(), 1u);  // fetched, then refused by the engine
}

CAF_TEST_FIXTURE_SCOPE_END()

// A heavy query gets a thread of its own: with a single scheduler thread,
// a small query is still answered while the heavy one runs. (Evaluated on
// the scheduler instead, it would hold that thread until cancelled.)
CAF_TEST(a heavy query leaves the scheduler to other queries) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 1);
  metrics stats;
  caf::actor_system sys{cfg};
  int64_t end_ms = 1700000000000;
  auto data = std::make_shared<const series_data>(make_series(200000, end_ms));
  query_planner_options opts;
  opts.timeout = 60s;
  opts.stats = &stats;
  auto planner = sys.spawn(query_planner, sys.spawn(fake_index, data), opts);
  auto ask = [&](query_request req) {
    caf::scoped_actor self{sys};
    return receive_http(self->request(planner, 60s, query_atom_v, std::move(req)));
  };
  http_answer heavy;
  std::atomic<bool> heavy_answered{false};
  std::thread asker{[&] {
    heavy = ask({"quantile_over_time(0.5, big[30d])", end_ms - 11000 * 1000, end_ms, 1000, 0, 9});
    heavy_answered = true;
  }};
  // Fetched, and the worker is evaluating on a thread of its own.
  CAF_CHECK(wait_for([&] { return stats.query_workers_detached.load() == 1; }, 10s));
  CAF_CHECK(burns_cpu(0.05));
  auto t0 = std::chrono::steady_clock::now();
  auto small = ask({"sum(big)", end_ms, end_ms, 0, 0, 0});
  auto took = std::chrono::steady_clock::now() - t0;
  CAF_MESSAGE("small query answered in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CAF_CHECK_EQUAL(small.status, 200u);
  CAF_CHECK(took < 2s);
  // The two really overlapped: the small one ran on the scheduler while the
  // heavy one was still unanswered.
  CAF_CHECK_EQUAL(stats.query_workers_inline.load(), 1u);
  CAF_CHECK(!heavy_answered.load());
  caf::anon_send(planner, query_cancel{9});
  asker.join();
  CAF_CHECK_EQUAL(heavy.status, 503u);
  caf::anon_send_exit(planner, caf::exit_reason::user_shutdown);
}

// --- fetches withdrawn, fetch warnings ------------------------------------

namespace {

// Holds every select unanswered (a slow remote node) and records the
// fetch ids of the selects and of the fetch_cancels it gets.
struct holding_index_state {
  std::vector<caf::typed_response_promise<select_result>> held;
};

index_actor::behavior_type holding_index(index_actor::stateful_pointer<holding_index_state> self,
                                         std::shared_ptr<std::vector<uint64_t>> selected,
                                         std::shared_ptr<std::vector<uint64_t>> withdrawn,
                                         std::shared_ptr<std::mutex> mtx) {
  return {
    [](series_atom, meta_query&) { return series_list{}; },
    [](label_names_atom, meta_query&) { return string_list{}; },
    [](label_values_atom, meta_query&) { return string_list{}; },
    [=](select_atom, select_request& req) -> caf::result<select_result> {
      std::lock_guard<std::mutex> g{*mtx};
      selected->push_back(req.fetch_id);
      auto rp = self->make_response_promise<select_result>();
      self->state.held.push_back(rp);
      return rp;
    },
    [](tsdb_status_atom, uint64_t) { return nl::storage::tsdb_status{}; },
    [=](fetch_cancel_atom, uint64_t id) {
      std::lock_guard<std::mutex> g{*mtx};
      withdrawn->push_back(id);
    },
  };
}

// Answers every select with one series and a warning (what the cluster
// index adds when nodes are missing).
index_actor::behavior_type warning_index(index_actor::pointer, std::shared_ptr<const series_data> data) {
  return {
    [](series_atom, meta_query&) { return series_list{}; },
    [](label_names_atom, meta_query&) { return string_list{}; },
    [](label_values_atom, meta_query&) { return string_list{}; },
    [data](select_atom, select_request&) {
      select_result r;
      r.series.push_back(*data);
      r.warnings.push_back("cluster: 2 of 3 nodes did not answer (b: down; c: down)");
      return r;
    },
    [](tsdb_status_atom, uint64_t) { return nl::storage::tsdb_status{}; },
    [](fetch_cancel_atom, uint64_t) {},
  };
}

}  // namespace

CAF_TEST_FIXTURE_SCOPE(query_planner_fetch_tests, fixture)

// A query that times out while its data is still being fetched withdraws
// the fetch at the index (in cluster mode: its remote selects).
CAF_TEST(a query timing out while fetching withdraws its fetches) {
  auto selected = std::make_shared<std::vector<uint64_t>>();
  auto withdrawn = std::make_shared<std::vector<uint64_t>>();
  auto mtx = std::make_shared<std::mutex>();
  query_planner_options opts;
  opts.timeout = 100ms;
  opts.stats = &stats;
  auto idx = sys->spawn(holding_index, selected, withdrawn, mtx);
  // Its held promises keep it alive: stopped by hand at the end.
  auto stop_idx = caf::detail::make_scope_guard([&] { caf::anon_send_exit(idx, caf::exit_reason::user_shutdown); });
  planner = sys->spawn(query_planner, idx, opts);
  auto r = ask({"big + big offset 1m", end_ms, end_ms, 0, 0});
  CAF_CHECK_EQUAL(r.status, 503u);
  CAF_CHECK(r.body.find(R"("errorType":"timeout")") != std::string::npos);
  CAF_CHECK(wait_for([&] { std::lock_guard<std::mutex> g{*mtx}; return !withdrawn->empty(); }, 10s));
  std::lock_guard<std::mutex> g{*mtx};
  CAF_REQUIRE_EQUAL(selected->size(), 2u);
  CAF_CHECK_NOT_EQUAL(selected->at(0), 0u);
  CAF_CHECK_EQUAL(selected->at(0), selected->at(1));  // one id per query
  CAF_REQUIRE_EQUAL(withdrawn->size(), 1u);
  CAF_CHECK_EQUAL(withdrawn->at(0), selected->at(0));
}

CAF_TEST(a cancelled query withdraws its fetches) {
  auto selected = std::make_shared<std::vector<uint64_t>>();
  auto withdrawn = std::make_shared<std::vector<uint64_t>>();
  auto mtx = std::make_shared<std::mutex>();
  query_planner_options opts;
  opts.stats = &stats;
  auto idx = sys->spawn(holding_index, selected, withdrawn, mtx);
  // Its held promises keep it alive: stopped by hand at the end.
  auto stop_idx = caf::detail::make_scope_guard([&] { caf::anon_send_exit(idx, caf::exit_reason::user_shutdown); });
  planner = sys->spawn(query_planner, idx, opts);
  http_answer r;
  std::thread asker{[&] { r = ask({"sum(big)", end_ms, end_ms, 0, 0, 77}); }};
  CAF_CHECK(wait_for([&] { std::lock_guard<std::mutex> g{*mtx}; return !selected->empty(); }, 10s));
  caf::anon_send(planner, query_cancel{77});
  asker.join();
  CAF_CHECK_EQUAL(r.status, 503u);
  CAF_CHECK(r.body.find(R"("errorType":"canceled")") != std::string::npos);
  CAF_CHECK(wait_for([&] { std::lock_guard<std::mutex> g{*mtx}; return !withdrawn->empty(); }, 10s));
  std::lock_guard<std::mutex> g{*mtx};
  CAF_CHECK_EQUAL(withdrawn->at(0), selected->at(0));
}

CAF_TEST(the warnings of the fetches reach the answer once) {
  query_planner_options opts;
  opts.stats = &stats;
  auto data = std::make_shared<const series_data>(make_series(100, end_ms));
  planner = sys->spawn(query_planner, sys->spawn(warning_index, data), opts);
  // Two selectors, two selects, the same warning: listed once.
  auto r = ask({"sum(big) + sum(big offset 1m)", end_ms, end_ms, 0, 0});
  CAF_CHECK_EQUAL(r.status, 200u);
  CAF_CHECK(r.body.find(R"x(,"warnings":["cluster: 2 of 3 nodes did not answer (b: down; c: down)"]})x")
            != std::string::npos);
  CAF_MESSAGE(r.body);
}

CAF_TEST_FIXTURE_SCOPE_END()

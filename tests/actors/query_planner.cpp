#define CAF_SUITE actors.query_planner
#include "test_support.hpp"

#include <sys/resource.h>

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "actors/query_planner.hpp"
#include "storage/chunk/xor_chunk.hpp"

using namespace nl::actors;
using namespace std::chrono_literals;

namespace {

constexpr int64_t step_ms = 15000;

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

  query_reply ask(query_request req) {
    caf::scoped_actor self{*sys};
    query_reply out{0, "no answer"};
    self->request(planner, 60s, query_atom_v, std::move(req))
      .receive([&](query_reply& r) { out = std::move(r); },
               [&](caf::error& err) { out.body = caf::to_string(err); });
    return out;
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
  query_reply r;
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
  query_reply r;
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
    query_reply out{0, "no answer"};
    self->request(planner, 60s, query_atom_v, std::move(req))
      .receive([&](query_reply& r) { out = std::move(r); },
               [&](caf::error& err) { out.body = caf::to_string(err); });
    return out;
  };
  query_reply heavy;
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

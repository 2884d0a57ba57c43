#define CAF_SUITE actors.supervisor
#include "test_support.hpp"

#include <caf/test/dsl.hpp>

#include "actors/supervisor.hpp"
#include "fake_wal_file.hpp"
#include "remote_write_body.hpp"

using namespace nl::actors;
using nl::protocol::http_request;
using nl::protocol::http_response;

namespace {

http_request write_request(const std::string& job) {
  http_request r;
  r.method = "POST";
  r.path = r.target = "/api/v1/write";
  r.body = nl::test::write_body(job, 1, nl::test::now_ms() - 1000);
  return r;
}

using state_type = supervisor_actor::stateful_base<supervisor_state>;

struct fixture : test_coordinator_fixture<caf::actor_system_config> {
  settings cfg;
  metrics stats;
  frontend front{cfg, stats};
  std::shared_ptr<nl::test::fake_wal_disk> disk = std::make_shared<nl::test::fake_wal_disk>();
  std::shared_ptr<int> fatal = std::make_shared<int>(-1);
  std::shared_ptr<std::vector<http_response>> got = std::make_shared<std::vector<http_response>>();
  supervisor_actor sup;

  fixture() {
    cfg.storage.fsync = fsync_policy::always;
    supervisor_options so;
    so.cfg = &cfg;
    so.stats = &stats;
    so.front = &front;
    so.detach_wal = false;
    so.on_fatal = [f = fatal](int code) { *f = code; };
    std::vector<std::shared_ptr<nl::storage::head>> heads{std::make_shared<nl::storage::head>()};
    sup = sys.spawn(supervisor, heads, nl::test::fake_wal_writer(disk), nullptr, so);
    sched.run();
  }

  ~fixture() {
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// The status answered to a write of up{job=<job>}. A write must be
  /// answered exactly once: no answer (status 0 here) fails the test, so a
  /// hung request can never pass for a refusal.
  unsigned write(const std::string& job) {
    auto before = got->size();
    auto g = got;
    front.handle(write_request(job), [g](http_response r) { g->push_back(std::move(r)); });
    sched.run();
    if (got->size() == before) {
      CAF_ERROR("the write of job=" << job << " got no answer");
      return 0;
    }
    CAF_CHECK_EQUAL(got->size(), before + 1);
    return got->back().status;
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(supervisor_tests, fixture)

CAF_TEST(the tree starts and the frontend becomes ready) {
  CAF_CHECK(front.ready());
  CAF_CHECK_EQUAL(write("a"), 204u);
}

CAF_TEST(a crashed network actor is restarted and writes keep working) {
  auto old_net = deref<state_type>(sup).state.net;
  caf::anon_send_exit(old_net, caf::exit_reason::kill);
  sched.run();
  auto new_net = deref<state_type>(sup).state.net;
  CAF_CHECK(new_net != old_net);
  CAF_CHECK_EQUAL(*fatal, -1);
  CAF_CHECK_EQUAL(write("b"), 204u);
}

CAF_TEST(a crashed index is restarted together with the network actor) {
  auto old_idx = deref<state_type>(sup).state.idx;
  caf::anon_send_exit(old_idx, caf::exit_reason::kill);
  sched.run();
  CAF_CHECK(deref<state_type>(sup).state.idx != old_idx);
  CAF_CHECK_EQUAL(*fatal, -1);
  CAF_CHECK_EQUAL(write("c"), 204u);
}

CAF_TEST(a dead WAL writer stops the process instead of running half alive) {
  auto wal = deref<state_type>(sup).state.wal;
  caf::anon_send_exit(wal, caf::exit_reason::kill);
  sched.run();
  CAF_CHECK_EQUAL(*fatal, 1);
  // Nothing can be acknowledged any more, and the sender is told to retry.
  CAF_CHECK_EQUAL(write("d"), 503u);
}

CAF_TEST(wal sync is delegated to the writer) {
  CAF_CHECK_EQUAL(write("e"), 204u);
  self->send(sup, wal_sync_atom_v);
  sched.run();
  bool answered = false;
  self->receive([&](uint64_t records) { answered = true; CAF_CHECK_EQUAL(records, 2u); },
                [&](caf::error& e) { CAF_ERROR("wal sync failed: " << sys.render(e)); },
                caf::after(std::chrono::seconds(0)) >> [] {});
  CAF_CHECK(answered);
  CAF_CHECK(disk->syncs >= 2);
}

CAF_TEST_FIXTURE_SCOPE_END()

#define CAF_SUITE actors.cluster.link
#include "test_support.hpp"

#include <caf/test/dsl.hpp>

#include "actors/cluster/link.hpp"
#include "three_nodes.hpp"

using namespace nl::actors;
using namespace std::chrono_literals;

namespace {

// A peer's gateway: answers `hello` (remembering the gateway it carries),
// and appends and selects at once or never (held); records the fetch ids
// it is told to withdraw. fetch_cancel(0), which a link never sends,
// answers the held appends.
struct fake_gateway_state {
  bool hold = false;
  std::vector<caf::typed_response_promise<append_result>> held;
  std::vector<caf::typed_response_promise<select_result>> held_selects;
  caf::strong_actor_ptr their_gateway;
  /// The link batches it got: session, first_new, new_count and refs.
  std::vector<link_batch> batches;
  /// Answers the next link batch with stale_series_refs.
  bool stale_next = false;
  /// Answers the next merged batch without its parts.
  bool no_parts_next = false;
};

using id_log = std::shared_ptr<std::vector<uint64_t>>;

std::vector<uint32_t> refs_of(const link_batch& b) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < b.num_series; ++i)
    out.push_back(b.ref(i));
  return out;
}

gateway_actor::behavior_type fake_gateway(gateway_actor::stateful_pointer<fake_gateway_state> self,
                                          cluster_hello theirs, bool hold, id_log withdrawn) {
  self->state.hold = hold;
  return {
    [self, theirs](hello_atom, cluster_hello&, caf::strong_actor_ptr& gw) {
      self->state.their_gateway = gw;
      return theirs;
    },
    [](append_atom, append_batch&) -> caf::result<append_result> {
      return caf::make_error(error_code::internal, "a link sends link batches");
    },
    [self](append_atom, link_batch& b) -> caf::result<append_result> {
      auto& st = self->state;
      st.batches.push_back(b);
      if (std::exchange(st.stale_next, false))
        return caf::make_error(error_code::stale_series_refs, "unknown session");
      if (!st.hold) {
        // A merged batch: each write accepted whole, in a part of its own.
        append_result r{b.num_samples, 0, {}, {}};
        uint32_t from = 0;
        for (auto e : b.part_ends) {
          uint32_t to = e == 0 ? 0 : b.end(e - 1);
          r.parts.push_back({to - from, 0, {}});
          from = to;
        }
        if (std::exchange(st.no_parts_next, false))
          r.parts.clear();
        return r;
      }
      auto rp = self->make_response_promise<append_result>();
      st.held.push_back(rp);
      return rp;
    },
    [self](select_atom, select_request&) -> caf::result<select_result> {
      if (!self->state.hold)
        return select_result{};
      auto rp = self->make_response_promise<select_result>();
      self->state.held_selects.push_back(rp);
      return rp;
    },
    [](series_atom, meta_query&) { return series_list{}; },
    [](label_names_atom, meta_query&) { return string_list{}; },
    [](label_values_atom, meta_query&) { return string_list{}; },
    [](metadata_fetch_atom, metadata_query& q) {
      // One entry per request, named after the family asked for.
      metadata_records r;
      nl::storage::append_metadata_entry(r.entries, {7, {"md_" + q.metric, nl::storage::metric_type::gauge, "", ""}});
      r.count = 1;
      return r;
    },
    [self, withdrawn](fetch_cancel_atom, uint64_t id) {
      if (id == 0) {  // the tests' hook: answer the held appends (a link never sends id 0)
        for (auto& rp : self->state.held)
          rp.deliver(append_result{1, 0, {}, {}});
        self->state.held.clear();
        return;
      }
      withdrawn->push_back(id);
    },
  };
}

// CAF's middleman actor as the link sees it: connect answers the current
// target (or cannot_connect_to_node when there is none).
using target_ptr = std::shared_ptr<gateway_actor>;

// Lets a test hold the connector's answers, as CAF's middleman does while
// its blocking connect() waits for a host that does not answer.
struct dial_control {
  using promise = caf::typed_response_promise<caf::node_id, caf::strong_actor_ptr, std::set<std::string>>;
  bool hold = false;
  size_t asked = 0;
  std::vector<promise> held;
};
using dial_control_ptr = std::shared_ptr<dial_control>;

caf::io::middleman_actor::behavior_type fake_connector(caf::io::middleman_actor::pointer self, target_ptr target,
                                                       dial_control_ptr ctl) {
  return {
    [](caf::publish_atom, uint16_t, caf::strong_actor_ptr&, std::set<std::string>&, std::string&,
       bool) -> caf::result<uint16_t> { return caf::sec::invalid_argument; },
    [](caf::open_atom, uint16_t, std::string&, bool) -> caf::result<uint16_t> {
      return caf::sec::invalid_argument;
    },
    [self, target, ctl](caf::connect_atom, std::string&,
                        uint16_t) -> caf::result<caf::node_id, caf::strong_actor_ptr, std::set<std::string>> {
      ctl->asked += 1;
      if (ctl->hold) {
        ctl->held.push_back(self->make_response_promise<caf::node_id, caf::strong_actor_ptr, std::set<std::string>>());
        return ctl->held.back();
      }
      if (!*target)
        return caf::make_error(caf::sec::cannot_connect_to_node, "ip_connect failed");
      return {caf::node_id{}, caf::actor_cast<caf::strong_actor_ptr>(*target),
              self->system().message_types<gateway_actor>()};
    },
    [](caf::unpublish_atom, caf::actor_addr, uint16_t) {},
    // Stands for the end of a blocked dial (inside this actor: a promise
    // is delivered from its own actor).
    [ctl](caf::close_atom, uint16_t) {
      for (auto& rp : ctl->held)
        rp.deliver(caf::make_error(caf::sec::cannot_connect_to_node, "timed out"));
      ctl->held.clear();
    },
    [](caf::spawn_atom, caf::node_id&, std::string&, caf::message&,
       std::set<std::string>&) -> caf::result<caf::strong_actor_ptr> { return caf::sec::invalid_argument; },
    [](caf::get_atom, caf::node_id&) -> caf::result<caf::node_id, std::string, uint16_t> {
      return caf::sec::invalid_argument;
    },
  };
}

// What the requests sent through the link came back with, in order:
// "ok <accepted>" or the error's code name.
using outcomes = std::shared_ptr<std::vector<std::string>>;

void send_select(caf::actor_system& sys, link_actor l, outcomes out, uint64_t fetch_id) {
  sys.spawn([l, out, fetch_id](caf::event_based_actor* self) {
    select_request r;
    r.fetch_id = fetch_id;
    self->request(l, caf::infinite, select_atom_v, std::move(r))
      .then([out](select_result& r) { out->push_back("ok " + std::to_string(r.series.size())); },
            [out](caf::error& e) { out->push_back(to_string(code_of(e))); });
  });
}

void send_append(caf::actor_system& sys, link_actor l, outcomes out, size_t samples,
                 std::vector<std::string> jobs = {"a"}) {
  sys.spawn([l, out, samples, jobs](caf::event_based_actor* self) {
    append_batch b;
    for (auto& job : jobs)
      b.add_series(nl::storage::label_set::from_unsorted({{"__name__", "up"}, {"job", job}}));
    for (size_t i = 0; i < samples; ++i)
      b.add_sample(static_cast<int64_t>(i), 0);
    self->request(l, caf::infinite, append_atom_v, std::move(b))
      .then([out](append_result& r) { out->push_back("ok " + std::to_string(r.accepted)); },
            [out](caf::error& e) { out->push_back(to_string(code_of(e))); });
  });
}

void send_metadata_fetch(caf::actor_system& sys, link_actor l, outcomes out, std::string metric) {
  sys.spawn([l, out, metric](caf::event_based_actor* self) {
    self->request(l, caf::infinite, metadata_fetch_atom_v, metadata_query{metric, -1, -1})
      .then(
        [out](metadata_records& r) {
          std::vector<nl::storage::metadata_record> xs;
          CAF_CHECK(nl::storage::decode_metadata_entries(r.entries, xs).is_ok());
          out->push_back("ok " + std::to_string(r.count) + (xs.empty() ? "" : " " + xs[0].metadata.metric_family_name));
        },
        [out](caf::error& e) { out->push_back(to_string(code_of(e))); });
  });
}

struct fixture : test_coordinator_fixture<nl::test::cluster_test_config> {
  std::shared_ptr<cluster_view> view = std::make_shared<cluster_view>(nl::test::three_nodes("a"));
  target_ptr target = std::make_shared<gateway_actor>();
  dial_control_ptr dials = std::make_shared<dial_control>();
  caf::io::middleman_actor connector = sys.spawn(fake_connector, target, dials);
  outcomes got = std::make_shared<std::vector<std::string>>();
  link_options opts;
  link_actor l;
  id_log withdrawn = std::make_shared<std::vector<uint64_t>>();

  fixture() {
    opts.node = 1;  // b
    opts.host = "127.0.0.1";
    opts.port = 2;
    opts.connect_timeout = 1s;
    opts.request_timeout = 5s;
    opts.backoff_min = 100ms;
    opts.backoff_max = 400ms;
    opts.max_pending = 2;
  }

  cluster_hello hello_of(const std::string& node, const std::string& cluster = "test") {
    auto h = view->hello();
    h.node = node;
    h.cluster = cluster;
    return h;
  }

  gateway_actor start_peer(cluster_hello h, bool hold = false) {
    *target = sys.spawn(fake_gateway, std::move(h), hold, withdrawn);
    return *target;
  }

  // Stands for this node's gateway in link_start (the hello carries it).
  caf::actor own_gateway = sys.spawn([] { return caf::behavior{[](int) {}}; });

  void start_link() {
    l = sys.spawn(link, view, connector, opts);
    caf::anon_send(l, link_start_atom_v, caf::actor_cast<caf::strong_actor_ptr>(own_gateway));
    sched.run();
  }

  bool b_up() const { return (view->healthy() >> 1 & 1) != 0; }

  // A link up with peer b, a fake gateway (holding every append if
  // `hold`): b's state, to look at what it got.
  fake_gateway_state& link_up_to_b(bool hold = false) {
    auto gw = start_peer(hello_of("b"), hold);
    start_link();
    CAF_REQUIRE(b_up());
    return deref<gateway_actor::stateful_base<fake_gateway_state>>(gw).state;
  }

  ~fixture() {
    if (l)
      caf::anon_send_exit(l, caf::exit_reason::user_shutdown);
    if (*target)
      caf::anon_send_exit(*target, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(connector, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(own_gateway, caf::exit_reason::user_shutdown);
    sched.run();
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(link_tests, fixture)

CAF_TEST(a link comes up after connect and hello and forwards requests) {
  auto gw = start_peer(hello_of("b"));
  start_link();
  CAF_CHECK(b_up());
  // The hello carried this node's gateway.
  CAF_CHECK(deref<gateway_actor::stateful_base<fake_gateway_state>>(gw).state.their_gateway
            == caf::actor_cast<caf::strong_actor_ptr>(own_gateway));
  send_append(sys, l, got, 3);
  sched.run();
  CAF_CHECK_EQUAL(*got, std::vector<std::string>{"ok 3"});
  CAF_CHECK_EQUAL(view->counters(1).requests.load(), 1u);
  CAF_CHECK_EQUAL(view->counters(1).inflight.load(), 0);
  // A metadata fetch is tracked the same way.
  send_metadata_fetch(sys, l, got, "up");
  sched.run();
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"ok 3", "ok 1 md_up"}));
  CAF_CHECK_EQUAL(view->counters(1).requests.load(), 2u);
  CAF_CHECK_EQUAL(view->counters(1).inflight.load(), 0);
}

CAF_TEST(a peer of another cluster is refused and requests fail at once) {
  start_peer(hello_of("b", "other"));
  start_link();
  CAF_CHECK(!b_up());
  send_append(sys, l, got, 1);
  sched.run();
  CAF_CHECK_EQUAL(*got, std::vector<std::string>{"unavailable"});
}

CAF_TEST(a peer claiming another name is refused) {
  start_peer(hello_of("c"));
  start_link();
  CAF_CHECK(!b_up());
}

CAF_TEST(pending requests fail when the peer goes down and the link reconnects) {
  auto gw = start_peer(hello_of("b"), true);
  start_link();
  CAF_REQUIRE(b_up());
  send_append(sys, l, got, 1);
  send_append(sys, l, got, 1);
  sched.run();
  CAF_CHECK_EQUAL(got->size(), 0u);
  CAF_CHECK_EQUAL(view->counters(1).inflight.load(), 2);
  // The peer dies: CAF would never answer; the link fails both at once.
  *target = gateway_actor{};
  caf::anon_send_exit(gw, caf::exit_reason::kill);
  gw = nullptr;
  sched.run();
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"unavailable", "unavailable"}));
  CAF_CHECK(!b_up());
  CAF_CHECK_EQUAL(view->counters(1).inflight.load(), 0);
  // The reconnect fails (nothing listens), then the peer is back.
  advance_time(100ms);
  sched.run();
  CAF_CHECK(!b_up());
  start_peer(hello_of("b"));
  advance_time(200ms);  // the backoff doubled
  sched.run();
  CAF_CHECK(b_up());
  send_append(sys, l, got, 4);
  sched.run();
  CAF_CHECK_EQUAL(got->back(), "ok 4");
}

CAF_TEST(a dial the middleman does not answer is not asked again until it does) {
  start_peer(hello_of("b"));
  dials->hold = true;
  start_link();
  CAF_CHECK_EQUAL(dials->asked, 1u);
  advance_time(1s);  // the connect deadline
  sched.run();
  CAF_CHECK(!b_up());
  for (int i = 0; i < 5; ++i) {  // several backoffs pass: no second dial queues behind the first
    advance_time(400ms);
    sched.run();
  }
  CAF_CHECK_EQUAL(dials->asked, 1u);
  // The blocked dial ends (late); the next backoff dials again and links.
  dials->hold = false;
  caf::anon_send(connector, caf::close_atom_v, uint16_t{0});
  sched.run();
  advance_time(400ms);
  sched.run();
  CAF_CHECK_EQUAL(dials->asked, 2u);
  CAF_CHECK(b_up());
}

CAF_TEST(a request the peer never answers fails at its deadline) {
  start_peer(hello_of("b"), true);
  start_link();
  CAF_REQUIRE(b_up());
  send_append(sys, l, got, 1);
  sched.run();
  advance_time(4s);
  sched.run();
  CAF_CHECK_EQUAL(got->size(), 0u);
  advance_time(1500ms);
  sched.run();
  CAF_CHECK_EQUAL(*got, std::vector<std::string>{"timeout"});
  CAF_CHECK_EQUAL(view->counters(1).failures.load(), 1u);
  CAF_CHECK(b_up());  // a slow answer is not a dead link
}

CAF_TEST(a full pending table refuses at once) {
  start_peer(hello_of("b"), true);
  start_link();
  CAF_REQUIRE(b_up());
  for (int i = 0; i < 3; ++i)
    send_append(sys, l, got, 1);
  sched.run();
  CAF_CHECK_EQUAL(*got, std::vector<std::string>{"overloaded"});
}

CAF_TEST(a withdrawn fetch fails at once and the peer is told) {
  start_peer(hello_of("b"), true);
  start_link();
  CAF_REQUIRE(b_up());
  send_select(sys, l, got, 42);
  send_select(sys, l, got, 43);
  sched.run();
  CAF_CHECK_EQUAL(got->size(), 0u);
  caf::anon_send(l, fetch_cancel_atom_v, uint64_t{42});
  sched.run();
  CAF_CHECK_EQUAL(*got, std::vector<std::string>{"canceled"});
  CAF_CHECK_EQUAL(*withdrawn, std::vector<uint64_t>{42});
  CAF_CHECK_EQUAL(view->counters(1).inflight.load(), 1);  // 43 still out
  CAF_CHECK_EQUAL(view->counters(1).failures.load(), 0u);  // withdrawn, not failed
  // An unknown id is not passed on.
  caf::anon_send(l, fetch_cancel_atom_v, uint64_t{99});
  sched.run();
  CAF_CHECK_EQUAL(*withdrawn, std::vector<uint64_t>{42});
}

CAF_TEST(an accepting link waits for its peer to dial and never connects) {
  auto c = nl::test::three_nodes("a");
  c.self = "c";  // b sorts first: b dials c
  view = std::make_shared<cluster_view>(c);
  opts.dial = view->dials(1);
  CAF_REQUIRE(!opts.dial);
  auto gw = start_peer(hello_of("b"));  // a connect would succeed now
  start_link();
  advance_time(5s);
  sched.run();
  CAF_CHECK(!b_up());  // it never connected
  send_append(sys, l, got, 1);
  sched.run();
  CAF_CHECK_EQUAL(*got, std::vector<std::string>{"unavailable"});
  // b dialled and said hello to our gateway, which hands its gateway over.
  caf::anon_send(l, link_accept_atom_v, caf::actor_cast<caf::strong_actor_ptr>(gw));
  sched.run();
  CAF_CHECK(b_up());
  send_append(sys, l, got, 2);
  sched.run();
  CAF_CHECK_EQUAL(got->back(), "ok 2");
  // b dies: down, and the link waits instead of dialling.
  *target = gateway_actor{};
  caf::anon_send_exit(gw, caf::exit_reason::kill);
  gw = nullptr;
  sched.run();
  CAF_CHECK(!b_up());
  auto gw2 = start_peer(hello_of("b"));
  advance_time(10s);
  sched.run();
  CAF_CHECK(!b_up());
  // b is back and dials again.
  caf::anon_send(l, link_accept_atom_v, caf::actor_cast<caf::strong_actor_ptr>(gw2));
  sched.run();
  CAF_CHECK(b_up());
  send_append(sys, l, got, 3);
  sched.run();
  CAF_CHECK_EQUAL(got->back(), "ok 3");
}

CAF_TEST(a link sends the key of each series once per session) {
  auto gw = start_peer(hello_of("b"));
  start_link();
  CAF_REQUIRE(b_up());
  auto& peer = deref<gateway_actor::stateful_base<fake_gateway_state>>(gw).state;
  send_append(sys, l, got, 1, {"a", "b"});
  sched.run();
  send_append(sys, l, got, 1, {"b", "c", "a"});
  sched.run();
  CAF_REQUIRE_EQUAL(peer.batches.size(), 2u);
  auto b0 = peer.batches[0];  // copies: the vector grows below
  auto b1 = peer.batches[1];
  CAF_CHECK_NOT_EQUAL(b0.session, 0u);
  CAF_CHECK_EQUAL(b0.first_new, 0u);
  CAF_CHECK_EQUAL(b0.new_count, 2u);
  CAF_CHECK_EQUAL(refs_of(b0), (std::vector<uint32_t>{0, 1}));
  // Only c is new; a and b go by their numbers.
  CAF_CHECK_EQUAL(b1.session, b0.session);
  CAF_CHECK_EQUAL(b1.first_new, 2u);
  CAF_CHECK_EQUAL(b1.new_count, 1u);
  CAF_CHECK_EQUAL(refs_of(b1), (std::vector<uint32_t>{1, 2, 0}));
  nl::storage::series_ref_receiver keys;
  CAF_REQUIRE(keys.define(b0.new_keys, b0.new_count).is_ok());
  CAF_REQUIRE(keys.define(b1.new_keys, b1.new_count).is_ok());
  auto third = nl::storage::label_set_from_key(keys.key(2));  // get() views into it: kept for the check
  CAF_REQUIRE(third.is_ok());
  CAF_CHECK_EQUAL(third->get("job"), "c");
  // The peer lost the numbering: that write fails, the next starts a new
  // session with every key again.
  peer.stale_next = true;
  send_append(sys, l, got, 1, {"a"});
  sched.run();
  send_append(sys, l, got, 1, {"c", "a"});
  sched.run();
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"ok 1", "ok 1", "stale_series_refs", "ok 1"}));
  CAF_REQUIRE_EQUAL(peer.batches.size(), 4u);
  CAF_CHECK_EQUAL(peer.batches[2].session, b0.session);
  auto& b3 = peer.batches[3];
  CAF_CHECK_NOT_EQUAL(b3.session, b0.session);
  CAF_CHECK_EQUAL(b3.first_new, 0u);
  CAF_CHECK_EQUAL(b3.new_count, 2u);
  CAF_CHECK_EQUAL(refs_of(b3), (std::vector<uint32_t>{0, 1}));
  // After a reconnect the session is new: every key is sent again.
  auto first_session = b3.session;
  *target = gateway_actor{};
  caf::anon_send_exit(gw, caf::exit_reason::kill);
  gw = nullptr;
  sched.run();
  CAF_REQUIRE(!b_up());
  send_append(sys, l, got, 1, {"d"});
  sched.run();
  CAF_CHECK_EQUAL(got->back(), "unavailable");
  auto gw2 = start_peer(hello_of("b"));
  advance_time(100ms);
  sched.run();
  CAF_REQUIRE(b_up());
  send_append(sys, l, got, 1, {"a", "d"});
  sched.run();
  auto& peer2 = deref<gateway_actor::stateful_base<fake_gateway_state>>(gw2).state;
  CAF_REQUIRE_EQUAL(peer2.batches.size(), 1u);
  CAF_CHECK_NOT_EQUAL(peer2.batches[0].session, first_session);
  CAF_CHECK_EQUAL(peer2.batches[0].first_new, 0u);
  CAF_CHECK_EQUAL(peer2.batches[0].new_count, 2u);
}

CAF_TEST(a session whose keys passed max_session_key_bytes is replaced before the next batch) {
  // Each key here is ~20 bytes: the cap is passed by the second batch.
  opts.max_session_key_bytes = 30;
  auto& peer = link_up_to_b();
  send_append(sys, l, got, 1, {"a"});
  sched.run();
  send_append(sys, l, got, 1, {"b", "a"});  // 2 keys, over the cap once sent
  sched.run();
  send_append(sys, l, got, 1, {"a", "b"});  // a new session: both keys again
  sched.run();
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"ok 1", "ok 1", "ok 1"}));
  CAF_REQUIRE_EQUAL(peer.batches.size(), 3u);
  CAF_CHECK_EQUAL(peer.batches[1].session, peer.batches[0].session);
  CAF_CHECK_EQUAL(peer.batches[1].first_new, 1u);
  CAF_CHECK_EQUAL(peer.batches[1].new_count, 1u);
  CAF_CHECK_NOT_EQUAL(peer.batches[2].session, peer.batches[0].session);
  CAF_CHECK_EQUAL(peer.batches[2].first_new, 0u);
  CAF_CHECK_EQUAL(peer.batches[2].new_count, 2u);
  CAF_CHECK_EQUAL(refs_of(peer.batches[2]), (std::vector<uint32_t>{0, 1}));
}

CAF_TEST(a batch the link refuses before sending numbers nothing) {
  auto& peer = link_up_to_b(true);  // b holds every append
  send_append(sys, l, got, 1, {"a"});
  send_append(sys, l, got, 1, {"b"});
  send_append(sys, l, got, 1, {"c"});  // the pending table (2) is full
  sched.run();
  CAF_CHECK_EQUAL(*got, std::vector<std::string>{"overloaded"});
  caf::anon_send(*target, fetch_cancel_atom_v, uint64_t{0});  // answers the two held
  sched.run();
  send_append(sys, l, got, 1, {"c"});
  sched.run();
  // c was never numbered: this batch numbers it, after a and b.
  CAF_REQUIRE_EQUAL(peer.batches.size(), 3u);
  CAF_CHECK_EQUAL(peer.batches[2].first_new, 2u);
  CAF_CHECK_EQUAL(peer.batches[2].new_count, 1u);
  CAF_CHECK_EQUAL(refs_of(peer.batches[2]), std::vector<uint32_t>{2});
}

CAF_TEST(writes within write_linger share one batch and each gets its own answer) {
  opts.write_linger = 5ms;
  auto& peer = link_up_to_b();
  send_append(sys, l, got, 3, {"a"});
  send_append(sys, l, got, 5, {"b", "c"});
  sched.run();
  CAF_CHECK_EQUAL(got->size(), 0u);
  CAF_CHECK_EQUAL(peer.batches.size(), 0u);
  advance_time(5ms);
  sched.run();
  CAF_REQUIRE_EQUAL(peer.batches.size(), 1u);
  CAF_CHECK_EQUAL(peer.batches[0].part_ends, (std::vector<uint32_t>{1, 3}));
  CAF_CHECK_EQUAL(peer.batches[0].num_samples, 8u);
  CAF_CHECK_EQUAL(refs_of(peer.batches[0]), (std::vector<uint32_t>{0, 1, 2}));
  // Answered in the order they came, each with its own part.
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"ok 3", "ok 5"}));
  CAF_CHECK_EQUAL(view->counters(1).requests.load(), 2u);
  CAF_CHECK_EQUAL(view->counters(1).write_batches.load(), 1u);
  CAF_CHECK_EQUAL(view->counters(1).inflight.load(), 0);
  // A write alone in its window goes as it came: no parts.
  got->clear();
  send_append(sys, l, got, 2, {"a"});
  sched.run();
  advance_time(5ms);
  sched.run();
  CAF_REQUIRE_EQUAL(peer.batches.size(), 2u);
  CAF_CHECK(peer.batches[1].part_ends.empty());
  CAF_CHECK_EQUAL(*got, std::vector<std::string>{"ok 2"});
  // A peer that answers a merged batch without its parts fails every write
  // in it (503 to their clients): none can be told what of it was stored.
  got->clear();
  const auto failures = view->counters(1).failures.load();
  peer.no_parts_next = true;
  send_append(sys, l, got, 1, {"a"});
  send_append(sys, l, got, 1, {"b"});
  sched.run();
  advance_time(5ms);
  sched.run();
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"unavailable", "unavailable"}));
  CAF_CHECK_EQUAL(view->counters(1).failures.load(), failures + 2);
}

CAF_TEST(lingering writes go at once when they reach linger_flush_samples) {
  opts.write_linger = 5ms;
  opts.linger_flush_samples = 6;
  auto& peer = link_up_to_b();
  send_append(sys, l, got, 3, {"a"});
  send_append(sys, l, got, 3, {"b"});
  sched.run();
  CAF_REQUIRE_EQUAL(peer.batches.size(), 1u);
  CAF_CHECK_EQUAL(peer.batches[0].part_ends, (std::vector<uint32_t>{1, 2}));
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"ok 3", "ok 3"}));
  // The timer the first write set finds nothing to send.
  advance_time(5ms);
  sched.run();
  CAF_CHECK_EQUAL(peer.batches.size(), 1u);
}

CAF_TEST(lingering writes fail when the link goes down) {
  opts.write_linger = 5ms;
  auto gw = start_peer(hello_of("b"));
  start_link();
  CAF_REQUIRE(b_up());
  send_append(sys, l, got, 1, {"a"});
  send_append(sys, l, got, 1, {"b"});
  sched.run();
  *target = gateway_actor{};
  caf::anon_send_exit(gw, caf::exit_reason::kill);
  gw = nullptr;
  sched.run();
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"unavailable", "unavailable"}));
  CAF_CHECK(!b_up());
  advance_time(5ms);
  sched.run();
  CAF_CHECK_EQUAL(got->size(), 2u);
}

CAF_TEST(a dialling link ignores link_accept) {
  auto gw = start_peer(hello_of("b"), true);
  *target = gateway_actor{};  // its connects fail: it stays down
  start_link();
  CAF_REQUIRE(!b_up());
  caf::anon_send(l, link_accept_atom_v, caf::actor_cast<caf::strong_actor_ptr>(gw));
  sched.run();
  CAF_CHECK(!b_up());
  caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
}

CAF_TEST_FIXTURE_SCOPE_END()

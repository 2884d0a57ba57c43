#define CAF_SUITE actors.cluster.gateway
#include "test_support.hpp"

#include <caf/test/dsl.hpp>

#include "actors/cluster/gateway.hpp"
#include "storage/head/shard.hpp"
#include "three_nodes.hpp"

using namespace nl::actors;

namespace {

// A local index that holds every select until a tsdb_status message (any
// message of its interface would do) releases them, each with one series.
struct held_index_state {
  std::vector<caf::typed_response_promise<select_result>> held;
};

index_actor::behavior_type held_index(index_actor::stateful_pointer<held_index_state> self) {
  return {
    [](series_atom, meta_query&) { return series_list{}; },
    [](label_names_atom, meta_query&) { return string_list{}; },
    [](label_values_atom, meta_query&) { return string_list{}; },
    [self](select_atom, select_request&) -> caf::result<select_result> {
      auto rp = self->make_response_promise<select_result>();
      self->state.held.push_back(rp);
      return rp;
    },
    [self](tsdb_status_atom, uint64_t) {
      select_result one;
      one.series.push_back({nl::storage::label_set::from_unsorted({{"__name__", "up"}}), {}});
      for (auto& rp : self->state.held)
        rp.deliver(one);
      self->state.held.clear();
      return nl::storage::tsdb_status{};
    },
    [](fetch_cancel_atom, uint64_t) {},
  };
}

// A head shard that holds every append until a stats message releases
// them (each answered with all its samples accepted); counts what it got.
struct held_shard_state {
  std::vector<std::pair<caf::typed_response_promise<append_result>, append_result>> held;
  std::shared_ptr<uint64_t> samples;
  std::shared_ptr<std::vector<std::string>> jobs;  ///< the job label of each series it got
  /// "numbering:slot" of each series it got ("-" without a numbering)
  std::shared_ptr<std::vector<std::string>> slots = std::make_shared<std::vector<std::string>>();
};

head_block_actor::behavior_type held_shard(head_block_actor::stateful_pointer<held_shard_state> self,
                                           std::shared_ptr<uint64_t> samples,
                                           std::shared_ptr<std::vector<std::string>> jobs,
                                           std::shared_ptr<std::vector<std::string>> slots) {
  self->state.samples = std::move(samples);
  self->state.jobs = std::move(jobs);
  self->state.slots = std::move(slots);
  return {
    [self](append_atom, append_batch& b) -> caf::result<append_result> {
      *self->state.samples += b.num_samples();
      for (size_t i = 0; i < b.num_series(); ++i) {
        auto ls = nl::storage::label_set_from_key(b.key(i));
        CAF_REQUIRE(ls.is_ok());
        CAF_CHECK_EQUAL(b.hashes[i], ls->hash());
        self->state.jobs->emplace_back(ls->get("job"));
        self->state.slots->push_back(b.numbered_slots.empty() ? "-"
                                                              : std::to_string(b.numbering) + ":"
                                                                  + std::to_string(b.numbered_slots.at(i)));
      }
      // All accepted, each merged write's samples in its part.
      append_result r{b.num_samples(), 0, {}, {}};
      uint32_t from = 0;
      for (auto e : b.part_ends) {
        uint32_t to = e == 0 ? 0 : b.ends[e - 1];
        r.parts.push_back({to - from, 0, {}});
        from = to;
      }
      auto rp = self->make_response_promise<append_result>();
      self->state.held.emplace_back(rp, std::move(r));
      return rp;
    },
    [](select_atom, select_request&) { return select_result{}; },
    [](series_atom, meta_query&) { return series_list{}; },
    [](label_names_atom, meta_query&) { return string_list{}; },
    [](label_values_atom, meta_query&) { return string_list{}; },
    [self](stats_atom) {
      for (auto& [rp, r] : self->state.held)
        rp.deliver(std::move(r));
      self->state.held.clear();
      return shard_stats{};
    },
    [](cut_atom, int64_t, int64_t) { return head_cursor{}; },
    [](read_head_atom) { return head_cursor{}; },
    [](head_page_atom, uint64_t, uint64_t, uint64_t) { return select_result{}; },
    [](truncate_atom, int64_t) { return shard_stats{}; },
    [](series_records_atom) { return series_records{}; },
    [](cardinality_atom) { return nl::storage::head_cardinality{}; },
    [](delete_series_atom, series_deletion&) { return uint64_t{0}; },
  };
}

// This node's link to a peer, as the gateway sees it: records the peer
// gateways handed to it.
using accepted_log = std::shared_ptr<std::vector<caf::strong_actor_ptr>>;

link_actor::behavior_type fake_link(link_actor::pointer, accepted_log accepted) {
  return {
    [](link_start_atom, caf::strong_actor_ptr&) {},
    [accepted](link_accept_atom, caf::strong_actor_ptr& peer) { accepted->push_back(peer); },
    [](link_connect_atom, uint64_t) {},
    [](link_tick_atom) {},
    [](link_flush_atom) {},
    [](append_atom, append_batch&) { return append_result{}; },
    [](select_atom, select_request&) { return select_result{}; },
    [](series_atom, meta_query&) { return series_list{}; },
    [](label_names_atom, meta_query&) { return string_list{}; },
    [](label_values_atom, meta_query&) { return string_list{}; },
    [](metadata_fetch_atom, metadata_query&) { return metadata_records{}; },
    [](fetch_cancel_atom, uint64_t) {},
  };
}

// This node's metadata actor: one description with its receipt time per
// fetch, for the family asked for.
metadata_actor::behavior_type fake_metadata(metadata_actor::pointer) {
  return {
    [](metadata_atom, metadata_query&) { return metadata_list{}; },
    [](metadata_put_atom, metadata_update&) { return uint64_t{0}; },
    [](metadata_fetch_atom, metadata_query& q) {
      metadata_records r;
      nl::storage::append_metadata_entry(r.entries, {42, {q.metric, nl::storage::metric_type::counter, "H.", ""}});
      r.count = 1;
      return r;
    },
    [](metadata_records_atom, int64_t) { return metadata_records{}; },
  };
}

struct fixture : test_coordinator_fixture<nl::test::cluster_test_config> {
  // This node is "b": "a" dials it, it dials "c".
  std::shared_ptr<cluster_view> view = std::make_shared<cluster_view>(nl::test::three_nodes("b"));
  accepted_log from_a = std::make_shared<std::vector<caf::strong_actor_ptr>>();
  accepted_log from_c = std::make_shared<std::vector<caf::strong_actor_ptr>>();
  std::vector<link_actor> links{sys.spawn(fake_link, from_a), link_actor{}, sys.spawn(fake_link, from_c)};
  index_actor local = sys.spawn(held_index);
  metadata_actor meta = sys.spawn(fake_metadata);
  gateway_actor gw =
    sys.spawn(gateway, view, std::vector<head_block_actor>{}, local, meta, links, caf::io::middleman_actor{});
  caf::actor dialer = sys.spawn([]() -> caf::behavior { return {[](int) {}}; });

  cluster_hello hello_of(const std::string& node) {
    auto h = view->hello();
    h.node = node;
    return h;
  }

  // "ok <node>" or the error's message.
  std::string say_hello(cluster_hello h, caf::strong_actor_ptr theirs) {
    auto out = std::make_shared<std::string>("no answer");
    sys.spawn([=](caf::event_based_actor* self) {
      self->request(gw, caf::infinite, hello_atom_v, h, theirs)
        .then([out](cluster_hello& mine) { *out = "ok " + mine.node; },
              [out](caf::error& e) { *out = message_of(e); });
    });
    sched.run();
    return *out;
  }

  ~fixture() {
    for (auto a : {caf::actor_cast<caf::actor>(gw), caf::actor_cast<caf::actor>(local),
                   caf::actor_cast<caf::actor>(meta), dialer,
                   caf::actor_cast<caf::actor>(links[0]), caf::actor_cast<caf::actor>(links[2])})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }
};

// A gateway over one held shard, with a budget of 10 samples in flight.
struct append_fixture : test_coordinator_fixture<nl::test::cluster_test_config> {
  std::shared_ptr<uint64_t> stored = std::make_shared<uint64_t>(0);
  std::shared_ptr<std::vector<std::string>> jobs = std::make_shared<std::vector<std::string>>();
  std::shared_ptr<std::vector<std::string>> slots = std::make_shared<std::vector<std::string>>();
  head_block_actor shard = sys.spawn(held_shard, stored, jobs, slots);
  std::shared_ptr<cluster_view> view = [] {
    auto c = nl::test::three_nodes("b");
    c.max_inflight_samples = 10;
    c.max_session_key_bytes = 60;  // the receiver keeps at most 75 bytes of a session's keys
    return std::make_shared<cluster_view>(c);
  }();
  gateway_actor gw = sys.spawn(gateway, view, std::vector<head_block_actor>{shard}, index_actor{}, metadata_actor{},
                               std::vector<link_actor>(3), caf::io::middleman_actor{});
  std::shared_ptr<std::vector<std::string>> got = std::make_shared<std::vector<std::string>>();

  static int64_t unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
  }

  static append_batch batch(size_t samples, int64_t deadline) {
    append_batch b;
    b.add_series(nl::storage::label_set::from_unsorted({{"__name__", "up"}}));
    for (size_t i = 0; i < samples; ++i)
      b.add_sample(1000 * static_cast<int64_t>(i), 0);
    b.deadline_unix_ms = deadline;
    return b;
  }

  // Sends `b` as a peer's link would; its outcome goes to `got`, tagged.
  void send(std::string tag, append_batch b) {
    auto target = gw;
    auto out = got;
    sys.spawn([=](caf::event_based_actor* self) {
      self->request(target, caf::infinite, append_atom_v, b)
        .then([out, tag](append_result& r) { out->push_back(tag + " ok " + std::to_string(r.accepted)); },
              [out, tag](caf::error& e) { out->push_back(tag + " " + to_string(code_of(e))); });
    });
    sched.run();
  }

  // A peer's link: one actor, so one sender the gateway keeps a session
  // for. Sends each (tag, link_batch) it is given to the gateway.
  caf::actor peer_link = sys.spawn([gw = gw, out = got](caf::event_based_actor* self) -> caf::behavior {
    return {
      [=](std::string& tag, link_batch& b) {
        self->request(gw, caf::infinite, append_atom_v, std::move(b))
          .then(
            [out, tag](append_result& r) {
              auto line = tag + " ok " + std::to_string(r.accepted);
              for (auto& part : r.parts)
                line += " [" + std::to_string(part.accepted) + "]";
              out->push_back(line);
            },
                [out, tag](caf::error& e) { out->push_back(tag + " " + to_string(code_of(e))); });
      },
    };
  });

  // A link batch of `session` numbering the series of `new_jobs` from
  // `first_new` on, with one sample for each series of `refs`.
  static link_batch numbered(uint64_t session, uint32_t first_new, std::vector<std::string> new_jobs,
                             std::vector<uint32_t> refs, int64_t deadline = unix_ms() + 600'000) {
    link_batch b;
    b.session = session;
    b.first_new = first_new;
    for (auto& job : new_jobs) {
      b.new_keys += nl::storage::label_key(nl::storage::label_set::from_unsorted({{"__name__", "up"}, {"job", job}}));
      b.new_count += 1;
    }
    append_batch samples;  // one sample a series; set_columns takes only the samples
    for (size_t i = 0; i < refs.size(); ++i) {
      samples.add_series(nl::storage::label_set::from_unsorted({{"__name__", "up"}}));
      samples.add_sample(1000, 0);
    }
    b.set_columns(refs, samples);
    b.deadline_unix_ms = deadline;
    return b;
  }

  void send_linked(std::string tag, link_batch b) {
    caf::anon_send(peer_link, std::move(tag), std::move(b));
    sched.run();
    caf::anon_send(shard, stats_atom_v);  // the shard answers at once
    sched.run();
  }

  ~append_fixture() {
    for (auto a : {caf::actor_cast<caf::actor>(gw), caf::actor_cast<caf::actor>(shard), peer_link})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(gateway_tests, fixture)

CAF_TEST(a hello from a node that dials us hands its gateway to our link) {
  auto theirs = caf::actor_cast<caf::strong_actor_ptr>(dialer);
  CAF_CHECK_EQUAL(say_hello(hello_of("a"), theirs), "ok b");
  CAF_REQUIRE_EQUAL(from_a->size(), 1u);
  CAF_CHECK(from_a->at(0) == theirs);
  CAF_CHECK(from_c->empty());
}

CAF_TEST(a hello from a node we dial or of another cluster is refused) {
  auto theirs = caf::actor_cast<caf::strong_actor_ptr>(dialer);
  auto r = say_hello(hello_of("c"), theirs);
  CAF_CHECK(r.find("node b dials node c, not the other way round") != std::string::npos);
  auto other = hello_of("a");
  other.cluster = "other";
  r = say_hello(other, theirs);
  CAF_CHECK(r.find("cluster name \"other\" is not ours") != std::string::npos);
  r = say_hello(hello_of("a"), nullptr);
  CAF_CHECK(r.find("no gateway to answer to") != std::string::npos);
  CAF_CHECK(from_a->empty());
  CAF_CHECK(from_c->empty());
}

CAF_TEST(a metadata fetch is answered by the metadata actor of this node) {
  auto out = std::make_shared<std::string>("no answer");
  auto target = gw;
  sys.spawn([target, out](caf::event_based_actor* self) {
    self->request(target, caf::infinite, metadata_fetch_atom_v, metadata_query{"up", 3, 1})
      .then(
        [out](metadata_records& r) {
          std::vector<nl::storage::metadata_record> xs;
          if (!nl::storage::decode_metadata_entries(r.entries, xs).is_ok() || xs.size() != r.count)
            *out = "bad records";
          else
            *out = std::to_string(r.count) + " " + xs[0].metadata.metric_family_name + "@"
                   + std::to_string(xs[0].seen_ms);
        },
        [out](caf::error& e) { *out = message_of(e); });
  });
  sched.run();
  CAF_CHECK_EQUAL(*out, "1 up@42");
}

CAF_TEST(a withdrawn select is answered canceled and its data dropped) {
  auto got = std::make_shared<std::vector<std::string>>();
  auto target = gw;
  sys.spawn([target, got](caf::event_based_actor* self) {
    for (uint64_t id : {5u, 6u}) {
      select_request r;
      r.fetch_id = id;
      self->request(target, caf::infinite, select_atom_v, std::move(r))
        .then([got, id](select_result& x) { got->push_back(std::to_string(id) + " ok " + std::to_string(x.series.size())); },
              [got, id](caf::error& e) { got->push_back(std::to_string(id) + " " + to_string(code_of(e))); });
    }
    self->send(target, fetch_cancel_atom_v, uint64_t{5});
  });
  sched.run();
  CAF_CHECK_EQUAL(*got, std::vector<std::string>{"5 canceled"});
  // The index answers both now: 5's data is dropped, 6's delivered.
  caf::anon_send(local, tsdb_status_atom_v, uint64_t{0});
  sched.run();
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"5 canceled", "6 ok 1"}));
}

CAF_TEST_FIXTURE_SCOPE_END()

// Each shard's part keeps the writes' boundaries: part k of shard s holds
// exactly the series of write k that belong to s.
CAF_TEST(split_by_shard keeps the writes of a merged link batch apart) {
  const std::vector<std::string> jobs{"a", "b", "c", "d", "e", "f", "g", "h"};
  const size_t shards = 2;
  nl::storage::series_ref_receiver refs{shards};
  std::string keys;
  for (auto& job : jobs)
    keys += nl::storage::label_key(nl::storage::label_set::from_unsorted({{"__name__", "up"}, {"job", job}}));
  CAF_REQUIRE(refs.define(keys, static_cast<uint32_t>(jobs.size())).is_ok());
  link_batch b;
  b.session = 1;
  append_batch samples;
  std::vector<uint32_t> order{3, 0, 7, 1, 5, 2, 6, 4};
  for (size_t i = 0; i < order.size(); ++i) {
    samples.add_series(nl::storage::label_set::from_unsorted({{"__name__", "up"}}));
    samples.add_sample(1000, static_cast<uint64_t>(i));
  }
  b.set_columns(order, samples);
  b.part_ends = {2, 3, 6, 8};  // the second write's one series is missing from one shard
  auto parts = split_by_shard(b, refs, 7, shards);
  CAF_REQUIRE_EQUAL(parts.size(), shards);
  for (size_t s = 0; s < shards; ++s) {
    // Each series by its slot among its shard's numbers too.
    CAF_CHECK_EQUAL(parts[s].numbering, 7u);
    CAF_REQUIRE_EQUAL(parts[s].numbered_slots.size(), parts[s].num_series());
    for (size_t i = 0; i < parts[s].num_series(); ++i) {
      auto job = nl::storage::label_set_from_key(parts[s].key(i))->get("job");
      auto number = static_cast<uint32_t>(std::find(jobs.begin(), jobs.end(), job) - jobs.begin());
      CAF_CHECK_EQUAL(parts[s].numbered_slots[i], refs.shard_slot(number));
    }
    CAF_REQUIRE_EQUAL(parts[s].part_ends.size(), b.part_ends.size());
    CAF_CHECK_EQUAL(parts[s].part_ends.back(), parts[s].num_series());
    uint32_t begin = 0, in_begin = 0;
    for (size_t k = 0; k < b.part_ends.size(); ++k) {
      std::vector<std::string> want, have;
      for (uint32_t i = in_begin; i < b.part_ends[k]; ++i)
        if (nl::storage::shard_of(refs.hash(b.ref(i)), shards) == s)
          want.push_back(jobs[b.ref(i)]);
      for (uint32_t i = begin; i < parts[s].part_ends[k]; ++i)
        have.emplace_back(nl::storage::label_set_from_key(parts[s].key(i))->get("job"));
      CAF_CHECK_EQUAL(have, want);
      begin = parts[s].part_ends[k];
      in_begin = b.part_ends[k];
    }
  }
}

CAF_TEST_FIXTURE_SCOPE(gateway_append_tests, append_fixture)

CAF_TEST(a batch past its deadline is answered at once and not stored) {
  send("late", batch(3, unix_ms() - 1));
  CAF_CHECK_EQUAL(*got, std::vector<std::string>{"late timeout"});
  CAF_CHECK_EQUAL(*stored, 0u);
  // A batch within its deadline goes to the shard and is answered by it.
  send("fresh", batch(3, unix_ms() + 600'000));
  CAF_CHECK_EQUAL(*stored, 3u);
  CAF_CHECK_EQUAL(*got, std::vector<std::string>{"late timeout"});
  caf::anon_send(shard, stats_atom_v);
  sched.run();
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"late timeout", "fresh ok 3"}));
}

CAF_TEST(over the budget a batch is refused at once and not stored) {
  send("a", batch(8, unix_ms() + 600'000));
  send("b", batch(3, unix_ms() + 600'000));  // 8 + 3 > 10
  CAF_CHECK_EQUAL(*got, std::vector<std::string>{"b overloaded"});
  CAF_CHECK_EQUAL(*stored, 8u);
  caf::anon_send(shard, stats_atom_v);
  sched.run();
  send("c", batch(3, unix_ms() + 600'000));  // a answered: room again
  CAF_CHECK_EQUAL(*stored, 11u);
  caf::anon_send(shard, stats_atom_v);
  sched.run();
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"b overloaded", "a ok 8", "c ok 3"}));
}

CAF_TEST(the series of a link batch are numbers of its session) {
  send_linked("1", numbered(7, 0, {"a", "b"}, {0, 1}));
  send_linked("2", numbered(7, 2, {"c"}, {2, 0}));
  CAF_CHECK_EQUAL(*jobs, (std::vector<std::string>{"a", "b", "c", "a"}));
  // Numbering from other than the next number, or in a session the
  // gateway does not know: refused, nothing stored.
  send_linked("gap", numbered(7, 5, {"d"}, {5}));
  send_linked("unknown", numbered(9, 1, {"d"}, {1}));
  CAF_CHECK_EQUAL(*stored, 4u);
  // A new session replaces the old one.
  send_linked("3", numbered(9, 0, {"x"}, {0}));
  send_linked("old", numbered(7, 3, {}, {0}));
  CAF_CHECK_EQUAL(jobs->back(), "x");
  CAF_CHECK_EQUAL(*stored, 5u);
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"1 ok 2", "2 ok 2", "gap stale_series_refs",
                                                  "unknown stale_series_refs", "3 ok 1", "old stale_series_refs"}));
  // The shard gets each series' slot (one shard: the slot is the number),
  // and the new session's under a numbering of its own, from slot 0.
  CAF_CHECK_EQUAL(*slots, (std::vector<std::string>{"1:0", "1:1", "1:2", "1:0", "2:0"}));
}

CAF_TEST(a merged link batch is answered for each write in it) {
  auto b = numbered(21, 0, {"a", "b", "c"}, {0, 1, 2, 0});
  b.part_ends = {1, 4};
  send_linked("m", b);
  CAF_CHECK_EQUAL(*got, std::vector<std::string>{"m ok 4 [1] [3]"});
  // A peer's parts must each hold series and end with the last one;
  // anything else is refused before it is numbered.
  for (auto ends : std::vector<std::vector<uint32_t>>{{0, 1}, {1, 1, 2}, {2, 1, 2}, {1}}) {
    auto bad = numbered(21, 3, {"d"}, {3, 0});
    bad.part_ends = ends;
    send_linked("bad", bad);
    CAF_CHECK_EQUAL(got->back(), "bad bad_input");
  }
  // Nothing was numbered: the session still expects number 3.
  send_linked("next", numbered(21, 3, {}, {2}));
  CAF_CHECK_EQUAL(got->back(), "next ok 1");
  CAF_CHECK_EQUAL(*stored, 5u);
}

CAF_TEST(the new series of a link batch are numbered even when its samples are refused) {
  send_linked("late", numbered(11, 0, {"p"}, {0}, unix_ms() - 1));
  send_linked("next", numbered(11, 1, {}, {0}));
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"late timeout", "next ok 1"}));
  CAF_CHECK_EQUAL(*jobs, std::vector<std::string>{"p"});
}

CAF_TEST(a link batch whose columns disagree is refused before anything is numbered) {
  auto bad = numbered(13, 0, {"a"}, {0});
  bad.num_samples = 2;  // the columns hold one
  send_linked("bad", bad);
  send_linked("next", numbered(13, 0, {"a"}, {0}));
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"bad bad_input", "next ok 1"}));
}

CAF_TEST(a malformed key is refused and its session forgotten) {
  auto bad = numbered(12, 0, {"a"}, {0});
  bad.new_keys.resize(bad.new_keys.size() - 1);  // the key is one byte short
  send_linked("bad", bad);
  send_linked("after", numbered(12, 1, {}, {0}));
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"bad bad_input", "after stale_series_refs"}));
  CAF_CHECK_EQUAL(*stored, 0u);
  // Numbered anew, under a new numbering (the bad batch's session had
  // the first, its forgetting the second).
  send_linked("anew", numbered(14, 0, {"b"}, {0}));
  CAF_CHECK_EQUAL(*slots, std::vector<std::string>{"3:0"});
}

CAF_TEST(a session whose keys would pass the receiving limit is refused and forgotten) {
  // The receiver keeps up to 75 bytes of a session's keys
  // (max_session_key_bytes 60 and a quarter). A key of "up" and a
  // one-letter job is 19 bytes, one with a six-letter job 24.
  auto key_bytes = [](const std::string& job) {
    return nl::storage::label_key(nl::storage::label_set::from_unsorted({{"__name__", "up"}, {"job", job}})).size();
  };
  CAF_REQUIRE_EQUAL(key_bytes("a"), 19u);
  CAF_REQUIRE_EQUAL(key_bytes("cccccc"), 24u);
  send_linked("1", numbered(21, 0, {"a", "b"}, {0, 1}));        // 38 bytes
  send_linked("slack", numbered(21, 2, {"cccccc"}, {2}));     // 62: past the sender's cap, within the quarter
  send_linked("over", numbered(21, 3, {"d"}, {3}));            // 81: refused
  // Forgotten: the number a kept session would expect next is refused.
  send_linked("after", numbered(21, 3, {"d"}, {3}));
  send_linked("anew", numbered(22, 0, {"d"}, {0}));
  CAF_CHECK_EQUAL(*got, (std::vector<std::string>{"1 ok 2", "slack ok 1", "over stale_series_refs",
                                                  "after stale_series_refs", "anew ok 1"}));
  CAF_CHECK_EQUAL(*jobs, (std::vector<std::string>{"a", "b", "cccccc", "d"}));
  CAF_CHECK_EQUAL(*slots, (std::vector<std::string>{"1:0", "1:1", "1:2", "3:0"}));
}

CAF_TEST(each shard gets its series slots densely under the session numbering) {
  // A gateway over two shards: the slots in each count that shard's
  // series of the session from 0, in the order they were numbered.
  std::vector<std::shared_ptr<std::vector<std::string>>> shard_jobs, shard_slots;
  std::vector<head_block_actor> two;
  for (int k = 0; k < 2; ++k) {
    shard_jobs.push_back(std::make_shared<std::vector<std::string>>());
    shard_slots.push_back(std::make_shared<std::vector<std::string>>());
    two.push_back(sys.spawn(held_shard, std::make_shared<uint64_t>(0), shard_jobs.back(), shard_slots.back()));
  }
  auto gw2 = sys.spawn(gateway, std::make_shared<cluster_view>(nl::test::three_nodes("b")), two, index_actor{},
                       metadata_actor{}, std::vector<link_actor>(3), caf::io::middleman_actor{});
  const std::vector<std::string> jobs8{"a", "b", "c", "d", "e", "f", "g", "h"};
  auto b = numbered(31, 0, jobs8, {0, 1, 2, 3, 4, 5, 6, 7});
  auto answer = std::make_shared<std::string>("none");
  sys.spawn([gw2, b, answer](caf::event_based_actor* self) {
    self->request(gw2, caf::infinite, append_atom_v, b)
      .then([answer](append_result& r) { *answer = "ok " + std::to_string(r.accepted); },
            [answer](caf::error& e) { *answer = std::string{to_string(code_of(e))} + " " + message_of(e); });
  });
  sched.run();
  for (auto& shard : two)
    caf::anon_send(shard, stats_atom_v);  // the shards answer
  sched.run();
  CAF_CHECK_EQUAL(*answer, "ok 8");
  for (int k = 0; k < 2; ++k) {
    std::vector<std::string> want, want_jobs;
    for (auto& job : jobs8) {
      auto l = nl::storage::label_set::from_unsorted({{"__name__", "up"}, {"job", job}});
      if (nl::storage::shard_of(l.hash(), 2) == static_cast<size_t>(k)) {
        want.push_back("1:" + std::to_string(want.size()));
        want_jobs.push_back(job);
      }
    }
    CAF_CHECK(!want.empty());
    CAF_CHECK_EQUAL(*shard_jobs[k], want_jobs);
    CAF_CHECK_EQUAL(*shard_slots[k], want);
  }
  for (auto a : {caf::actor_cast<caf::actor>(gw2), caf::actor_cast<caf::actor>(two[0]),
                 caf::actor_cast<caf::actor>(two[1])})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

CAF_TEST_FIXTURE_SCOPE_END()

#define CAF_SUITE actors.cluster.cluster_index
#include "test_support.hpp"

#include <caf/test/dsl.hpp>

#include "actors/cluster/cluster_index.hpp"
#include "three_nodes.hpp"

using namespace nl::actors;
using namespace std::chrono_literals;
using nl::storage::label_set;
using nl::storage::sample;

namespace {

cluster_settings three_nodes(bool partial_response = true) {
  auto c = nl::test::three_nodes("a");
  c.replication_factor = 2;
  c.partial_response = partial_response;
  return c;
}

label_set series_named(const std::string& i) {
  return label_set::from_unsorted({{"__name__", "up"}, {"i", i}});
}

// Samples t = from, from + 1 s, ..., to (value t / 1000), as one node's
// head would hand them out (chunks of 120).
series_data series_of(const std::string& i, int64_t from, int64_t to) {
  series_data s;
  s.labels = series_named(i);
  nl::storage::xor_appender app;
  for (int64_t t = from; t <= to; t += 1000) {
    app.append(t, static_cast<double>(t / 1000));
    if (app.num_samples() == 120)
      s.chunks.push_back({app.cut()});
  }
  if (!app.empty())
    s.chunks.push_back({app.cut()});
  return s;
}

std::vector<sample> samples_of(const series_data& s) {
  std::vector<std::shared_ptr<const nl::storage::chunk>> chunks;
  for (const auto& c : s.chunks)
    chunks.push_back(c.chunk);
  std::vector<sample> out;
  CAF_CHECK(nl::storage::decode_chunks(chunks, INT64_MIN, INT64_MAX, out));
  return out;
}

// What a fake node answers, and what it was asked.
struct peer_script {
  select_result select;
  series_list series;
  string_list names;
  metadata_records metadata;
  std::vector<metadata_query> metadata_asked;  ///< the metadata fetches it got
  caf::error fail;    ///< set: every request fails with it
  bool hold = false;  ///< selects are never answered
  std::vector<uint64_t> fetch_ids;  ///< of the selects it got
  std::vector<uint64_t> withdrawn;  ///< fetch_cancel ids it got
};
using script_ptr = std::shared_ptr<peer_script>;

struct fake_peer_state {
  std::vector<caf::typed_response_promise<select_result>> held;
};

peer_actor::behavior_type fake_peer(peer_actor::stateful_pointer<fake_peer_state> self, script_ptr sc) {
  return {
    [](append_atom, append_batch&) -> caf::result<append_result> { return append_result{}; },
    [self, sc](select_atom, select_request& r) -> caf::result<select_result> {
      sc->fetch_ids.push_back(r.fetch_id);
      if (sc->fail)
        return sc->fail;
      if (sc->hold) {
        auto rp = self->make_response_promise<select_result>();
        self->state.held.push_back(rp);
        return rp;
      }
      return sc->select;
    },
    [sc](series_atom, meta_query&) -> caf::result<series_list> {
      if (sc->fail)
        return sc->fail;
      return sc->series;
    },
    [sc](label_names_atom, meta_query&) -> caf::result<string_list> {
      if (sc->fail)
        return sc->fail;
      return sc->names;
    },
    [sc](label_values_atom, meta_query&) -> caf::result<string_list> {
      if (sc->fail)
        return sc->fail;
      return sc->names;
    },
    [sc](metadata_fetch_atom, metadata_query& q) -> caf::result<metadata_records> {
      sc->metadata_asked.push_back(q);
      if (sc->fail)
        return sc->fail;
      return sc->metadata;
    },
    [sc](fetch_cancel_atom, uint64_t id) { sc->withdrawn.push_back(id); },
  };
}

index_actor::behavior_type no_local_index(index_actor::pointer) {
  return {
    [](series_atom, meta_query&) { return series_list{}; },
    [](label_names_atom, meta_query&) { return string_list{}; },
    [](label_values_atom, meta_query&) { return string_list{}; },
    [](select_atom, select_request&) { return select_result{}; },
    [](tsdb_status_atom, uint64_t) { return nl::storage::tsdb_status{}; },
    [](fetch_cancel_atom, uint64_t) {},
  };
}

// An answer as the requester saw it: the value, or the error's code and
// message.
template <class T>
struct outcome {
  bool done = false;
  caf::optional<T> value;
  error_code code = error_code::internal;
  std::string message;
};
template <class T>
using outcome_ptr = std::shared_ptr<outcome<T>>;

struct fixture : test_coordinator_fixture<nl::test::cluster_test_config> {
  std::vector<script_ptr> scripts;
  std::vector<peer_actor> peers;
  cluster_index_actor idx;

  void start(bool partial_response = true) {
    auto view = std::make_shared<cluster_view>(three_nodes(partial_response));
    for (int i = 0; i < 3; ++i) {
      auto sc = std::make_shared<peer_script>();
      scripts.push_back(sc);
      peers.push_back(sys.spawn(fake_peer, sc));
    }
    idx = sys.spawn(cluster_index, view, peers, sys.spawn(no_local_index));
    sched.run();
  }

  template <class T, class Atom, class Arg>
  outcome_ptr<T> ask(Atom atom, Arg arg) {
    auto out = std::make_shared<outcome<T>>();
    auto target = idx;
    sys.spawn([=](caf::event_based_actor* self) {
      self->request(target, caf::infinite, atom, arg)
        .then(
          [out](T& x) {
            out->done = true;
            out->value = std::move(x);
          },
          [out](caf::error& e) {
            out->done = true;
            out->code = code_of(e);
            out->message = message_of(e);
          });
    });
    sched.run();
    return out;
  }

  outcome_ptr<select_result> select(uint64_t fetch_id = 1, uint64_t budget = 0) {
    select_request r;
    r.fetch_id = fetch_id;
    r.max_samples = budget;
    return ask<select_result>(select_atom_v, r);
  }

  void fail_node(size_t node, caf::error err) { scripts[node]->fail = std::move(err); }

  ~fixture() {
    if (idx)
      caf::anon_send_exit(idx, caf::exit_reason::user_shutdown);
    for (auto& p : peers)
      caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    sched.run();
  }
};

caf::error down(const std::string& why) {
  return caf::make_error(error_code::unavailable, why);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A node's metadata as its metadata actor answers a fetch: (receipt time,
// family, type, help) entries.
struct md_entry {
  int64_t seen_ms;
  std::string family;
  nl::storage::metric_type type;
  std::string help;
};
metadata_records records_of(const std::vector<md_entry>& xs) {
  metadata_records r;
  for (const auto& x : xs)
    nl::storage::append_metadata_entry(r.entries, {x.seen_ms, {x.family, x.type, x.help, ""}});
  r.count = xs.size();
  return r;
}

std::string listing(const metadata_list& l) {
  std::string out;
  for (const auto& m : l.items)
    out += m.metric_family_name + ":" + std::string(to_string(m.type)) + ":" + m.help + ";";
  return out;
}

}  // namespace

CAF_TEST_FIXTURE_SCOPE(cluster_index_tests, fixture)

CAF_TEST(a select asks every node and merges replicas into one series each) {
  start();
  // rf 2 over three nodes: "1" on a and b, "2" on b and c, "3" on c and a.
  // b missed the first minute of "1"; c is a batch behind on "2".
  scripts[0]->select.series = {series_of("1", 0, 299'000), series_of("3", 0, 99'000)};
  scripts[1]->select.series = {series_of("1", 60'000, 299'000), series_of("2", 0, 199'000)};
  scripts[2]->select.series = {series_of("2", 0, 189'000), series_of("3", 0, 99'000)};
  auto r = select();
  CAF_REQUIRE(r->done && r->value);
  const auto& got = r->value->series;
  CAF_REQUIRE_EQUAL(got.size(), 3u);
  CAF_CHECK(got[0].labels == series_named("1"));
  CAF_CHECK(got[1].labels == series_named("2"));
  CAF_CHECK(got[2].labels == series_named("3"));
  CAF_CHECK_EQUAL(samples_of(got[0]).size(), 300u);
  CAF_CHECK_EQUAL(samples_of(got[1]).size(), 200u);
  CAF_CHECK_EQUAL(samples_of(got[2]).size(), 100u);
  CAF_CHECK(r->value->warnings.empty());
  // Every node got the select under one fetch id of the index's own.
  for (auto& sc : scripts) {
    CAF_REQUIRE_EQUAL(sc->fetch_ids.size(), 1u);
    CAF_CHECK_EQUAL(sc->fetch_ids[0], scripts[0]->fetch_ids[0]);
  }
}

CAF_TEST(with one node missing the answer is complete and says nothing) {
  start();
  scripts[0]->select.series = {series_of("1", 0, 9'000)};
  scripts[2]->select.series = {series_of("1", 0, 9'000)};
  fail_node(1, down("node b (127.0.0.1:2) is unreachable"));
  auto r = select();
  CAF_REQUIRE(r->done && r->value);
  CAF_CHECK_EQUAL(r->value->series.size(), 1u);
  CAF_CHECK(r->value->warnings.empty());
  // A deadline or an overloaded peer counts the same.
  fail_node(1, caf::make_error(error_code::timeout, "deadline"));
  r = select();
  CAF_REQUIRE(r->value);
  CAF_CHECK(r->value->warnings.empty());
  fail_node(1, caf::make_error(error_code::overloaded, "busy"));
  r = select();
  CAF_REQUIRE(r->value);
  CAF_CHECK(r->value->warnings.empty());
}

CAF_TEST(with more nodes missing than the quorum tolerates a warning names them) {
  start();
  scripts[0]->select.series = {series_of("1", 0, 9'000)};
  fail_node(1, down("node b is unreachable"));
  fail_node(2, caf::make_error(error_code::timeout, "node c did not answer within 3000 ms"));
  auto r = select();
  CAF_REQUIRE(r->done && r->value);
  CAF_CHECK_EQUAL(r->value->series.size(), 1u);
  CAF_REQUIRE_EQUAL(r->value->warnings.size(), 1u);
  const auto& w = r->value->warnings[0];
  CAF_MESSAGE(w);
  CAF_CHECK(contains(w, "2 of 3 nodes did not answer"));
  CAF_CHECK(contains(w, "b: node b is unreachable"));
  CAF_CHECK(contains(w, "c: node c did not answer within 3000 ms"));
  CAF_CHECK(contains(w, "may be incomplete"));
}

CAF_TEST(without partial responses too many missing nodes are unavailable) {
  start(false);
  scripts[0]->select.series = {series_of("1", 0, 9'000)};
  fail_node(1, down("node b is unreachable"));
  fail_node(2, down("node c is unreachable"));
  auto r = select();
  CAF_REQUIRE(r->done);
  CAF_CHECK(!r->value);
  CAF_CHECK_EQUAL(r->code, error_code::unavailable);
  CAF_CHECK(contains(r->message, "b: node b is unreachable"));
  CAF_CHECK(contains(r->message, "c: node c is unreachable"));
  CAF_CHECK(contains(r->message, "cluster.partial_response: false"));
  // One missing node stays within the tolerance: answered.
  scripts[2]->fail = caf::error{};
  r = select();
  CAF_CHECK(r->value);
}

CAF_TEST(a failure of the request itself fails it as a whole) {
  start();
  scripts[1]->hold = true;
  fail_node(2, caf::make_error(error_code::internal, "block read: checksum mismatch"));
  auto r = select();
  CAF_REQUIRE(r->done);
  CAF_CHECK(!r->value);
  CAF_CHECK_EQUAL(r->code, error_code::internal);
  CAF_CHECK(contains(r->message, "node c: block read: checksum mismatch"));
  // The select still out at b is withdrawn.
  CAF_REQUIRE_EQUAL(scripts[1]->withdrawn.size(), 1u);
  CAF_CHECK_EQUAL(scripts[1]->withdrawn[0], scripts[1]->fetch_ids[0]);
}

CAF_TEST(the fetch budget counts every replica) {
  start();
  // 100 samples on each of two replicas: 200 fetched, 100 after the merge.
  scripts[0]->select.series = {series_of("1", 0, 99'000)};
  scripts[1]->select.series = {series_of("1", 0, 99'000)};
  scripts[2]->hold = true;
  auto r = select(1, 150);
  CAF_REQUIRE(r->done);
  CAF_CHECK(!r->value);
  CAF_CHECK_EQUAL(r->code, error_code::too_many_samples);
  CAF_CHECK_EQUAL(scripts[2]->withdrawn.size(), 1u);
  scripts[2]->hold = false;
  r = select(1, 200);
  CAF_CHECK(r->value);
}

CAF_TEST(withdrawing the fetches of a query cancels them at the nodes) {
  start();
  scripts[1]->hold = true;
  scripts[2]->hold = true;
  auto first = select(7);
  auto other = select(8);
  CAF_CHECK(!first->done);
  CAF_CHECK(!other->done);
  caf::anon_send(idx, fetch_cancel_atom_v, uint64_t{7});
  sched.run();
  CAF_CHECK(first->done);
  CAF_CHECK_EQUAL(first->code, error_code::canceled);
  CAF_CHECK(!other->done);  // another query's fetch stays
  for (size_t node : {1u, 2u}) {
    // Withdrawn under the id it went out with (not the requester's).
    CAF_REQUIRE_EQUAL(scripts[node]->withdrawn.size(), 1u);
    CAF_CHECK_EQUAL(scripts[node]->withdrawn[0], scripts[node]->fetch_ids[0]);
    CAF_CHECK_NOT_EQUAL(scripts[node]->withdrawn[0], 7u);
  }
  CAF_CHECK(scripts[0]->withdrawn.empty());  // a answered already
  // Ids the index does not know, or 0, do nothing.
  caf::anon_send(idx, fetch_cancel_atom_v, uint64_t{0});
  caf::anon_send(idx, fetch_cancel_atom_v, uint64_t{99});
  sched.run();
  CAF_CHECK(!other->done);
}

CAF_TEST(a paged select ends where the pages of all nodes are complete) {
  start();
  // Remote read pages: a and b each stopped early (more), c has no more.
  // Series after the smallest last series of a page with more ("2", from
  // a) may still come from a later page of a: they wait for it.
  scripts[0]->select.series = {series_of("1", 0, 9'000), series_of("2", 0, 9'000)};
  scripts[0]->select.more = true;
  scripts[1]->select.series = {series_of("1", 0, 9'000), series_of("3", 0, 9'000)};
  scripts[1]->select.more = true;
  scripts[2]->select.series = {series_of("2", 0, 9'000), series_of("4", 0, 9'000)};
  select_request r;
  r.page_series = 2;
  auto out = ask<select_result>(select_atom_v, r);
  CAF_REQUIRE(out->value);
  const auto& got = out->value->series;
  CAF_REQUIRE_EQUAL(got.size(), 2u);
  CAF_CHECK(got[0].labels == series_named("1"));
  CAF_CHECK(got[1].labels == series_named("2"));
  CAF_CHECK_EQUAL(samples_of(got[0]).size(), 10u);  // replicas merged
  CAF_CHECK(out->value->more);
  // The last page: nobody has more.
  for (auto& sc : scripts)
    sc->select.more = false;
  out = ask<select_result>(select_atom_v, r);
  CAF_REQUIRE(out->value);
  CAF_CHECK_EQUAL(out->value->series.size(), 4u);
  CAF_CHECK(!out->value->more);
}

CAF_TEST(series and label lists are joined cut and warned about) {
  start();
  scripts[0]->series.items = {series_named("1"), series_named("3")};
  scripts[1]->series.items = {series_named("1"), series_named("2")};
  scripts[2]->series.items = {series_named("2"), series_named("3")};
  meta_query q;
  auto s = ask<series_list>(series_atom_v, q);
  CAF_REQUIRE(s->value);
  CAF_CHECK_EQUAL(s->value->items.size(), 3u);
  CAF_CHECK(!s->value->truncated);
  q.limit = 2;
  s = ask<series_list>(series_atom_v, q);
  CAF_REQUIRE(s->value);
  CAF_REQUIRE_EQUAL(s->value->items.size(), 2u);
  CAF_CHECK(s->value->items[1] == series_named("2"));
  CAF_CHECK(s->value->truncated);
  // A node that cut its own list: the union is cut too.
  scripts[0]->names = {{"a", "b"}, true, {}};
  scripts[1]->names = {{"a", "b"}, false, {}};
  q.limit = 2;
  auto n = ask<string_list>(label_names_atom_v, q);
  CAF_REQUIRE(n->value);
  CAF_CHECK_EQUAL(n->value->items, (std::vector<std::string>{"a", "b"}));
  CAF_CHECK(n->value->truncated);
  q.limit = 0;
  fail_node(1, down("b down"));
  fail_node(2, down("c down"));
  auto v = ask<string_list>(label_values_atom_v, q);
  CAF_REQUIRE(v->value);
  CAF_CHECK_EQUAL(v->value->items, (std::vector<std::string>{"a", "b"}));
  CAF_REQUIRE_EQUAL(v->value->warnings.size(), 1u);
  CAF_CHECK(contains(v->value->warnings[0], "b: b down; c: c down"));
}

CAF_TEST(metadata asks every node and merges their descriptions) {
  using nl::storage::metric_type;
  start();
  scripts[0]->metadata = records_of({{10, "rpc_seconds", metric_type::histogram, "RPC time."},
                                     {10, "up", metric_type::gauge, "Up."}});
  scripts[1]->metadata = records_of({{20, "rpc_seconds", metric_type::histogram, "RPC latency."},
                                     {20, "up", metric_type::gauge, "Up."}});
  scripts[2]->metadata = records_of({{30, "build_info", metric_type::info, "Build."}});
  metadata_query q;
  q.limit = 2;
  q.limit_per_metric = 1;
  auto r = ask<metadata_list>(metadata_atom_v, q);
  CAF_REQUIRE(r->value);
  // Both descriptions of rpc_seconds (by help), up once; then the limits:
  // two families, one description each.
  CAF_CHECK_EQUAL(listing(*r->value), "build_info:info:Build.;rpc_seconds:histogram:RPC latency.;");
  CAF_CHECK(r->value->warnings.empty());
  // Each node got the family limit and the metric, not the per-family
  // limit (the merge may drop what a node would list first).
  for (auto& sc : scripts) {
    CAF_REQUIRE_EQUAL(sc->metadata_asked.size(), 1u);
    CAF_CHECK_EQUAL(sc->metadata_asked[0].limit, 2);
    CAF_CHECK_EQUAL(sc->metadata_asked[0].limit_per_metric, -1);
  }
  r = ask<metadata_list>(metadata_atom_v, metadata_query{});
  CAF_REQUIRE(r->value);
  CAF_CHECK_EQUAL(listing(*r->value),
                  "build_info:info:Build.;rpc_seconds:histogram:RPC latency.;rpc_seconds:histogram:RPC time.;"
                  "up:gauge:Up.;");
  r = ask<metadata_list>(metadata_atom_v, metadata_query{"up", -1, -1});
  CAF_REQUIRE(r->value);
  CAF_CHECK_EQUAL(listing(*r->value), "up:gauge:Up.;");
  CAF_CHECK_EQUAL(scripts[2]->metadata_asked.back().metric, "up");
}

CAF_TEST(metadata with any node missing warns or is unavailable) {
  using nl::storage::metric_type;
  // Metadata lives on the node that received it only: one missing node,
  // which leaves series reads complete, may leave a gap here.
  start();
  scripts[0]->metadata = records_of({{10, "up", metric_type::gauge, "Up."}});
  scripts[1]->metadata = records_of({{10, "down", metric_type::gauge, "Down."}});
  fail_node(2, down("node c is unreachable"));
  auto r = ask<metadata_list>(metadata_atom_v, metadata_query{});
  CAF_REQUIRE(r->value);
  CAF_CHECK_EQUAL(listing(*r->value), "down:gauge:Down.;up:gauge:Up.;");
  CAF_REQUIRE_EQUAL(r->value->warnings.size(), 1u);
  CAF_MESSAGE(r->value->warnings[0]);
  CAF_CHECK(contains(r->value->warnings[0], "1 of 3 nodes did not answer (c: node c is unreachable)"));
  // The same node missing leaves a series read complete.
  auto s = ask<series_list>(series_atom_v, meta_query{});
  CAF_REQUIRE(s->value);
  CAF_CHECK(s->value->warnings.empty());
}

CAF_TEST(metadata without partial responses is unavailable with one node missing) {
  using nl::storage::metric_type;
  start(false);
  scripts[0]->metadata = records_of({{10, "up", metric_type::gauge, "Up."}});
  fail_node(1, caf::make_error(error_code::timeout, "node b did not answer within 3000 ms"));
  auto r = ask<metadata_list>(metadata_atom_v, metadata_query{});
  CAF_REQUIRE(r->done);
  CAF_CHECK(!r->value);
  CAF_CHECK_EQUAL(r->code, error_code::unavailable);
  CAF_CHECK(contains(r->message, "b: node b did not answer within 3000 ms"));
  CAF_CHECK(contains(r->message, "cluster.partial_response: false"));
  fail_node(1, caf::error{});
  r = ask<metadata_list>(metadata_atom_v, metadata_query{});
  CAF_REQUIRE(r->value);
  CAF_CHECK_EQUAL(listing(*r->value), "up:gauge:Up.;");
}

CAF_TEST(metadata fails as a whole on a failure of the request itself) {
  using nl::storage::metric_type;
  start();
  fail_node(1, caf::make_error(error_code::bad_input, "no"));
  auto r = ask<metadata_list>(metadata_atom_v, metadata_query{});
  CAF_REQUIRE(r->done);
  CAF_CHECK(!r->value);
  CAF_CHECK_EQUAL(r->code, error_code::bad_input);
  CAF_CHECK(contains(r->message, "node b: no"));
  // Entries that do not decode (a remote answer is checked when it is
  // loaded; a local one cannot be wrong): internal, never a partial list.
  fail_node(1, caf::error{});
  scripts[2]->metadata = records_of({{10, "up", metric_type::gauge, "Up."}});
  scripts[2]->metadata.entries.pop_back();
  r = ask<metadata_list>(metadata_atom_v, metadata_query{});
  CAF_REQUIRE(r->done);
  CAF_CHECK(!r->value);
  CAF_CHECK_EQUAL(r->code, error_code::internal);
}

CAF_TEST_FIXTURE_SCOPE_END()


#define CAF_SUITE storage.metadata.metadata_merge
#include "test_support.hpp"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "storage/metadata/metadata_merge.hpp"
#include "storage/metadata/metadata_store.hpp"
#include "storage/wal/records.hpp"

using namespace nl::storage;

namespace {

constexpr int64_t minute = 60 * 1000;

metric_metadata md(std::string family, metric_type t, std::string help, std::string unit = "") {
  return {std::move(family), t, std::move(help), std::move(unit)};
}

void receive_and_apply(metadata_store& s, const std::vector<metric_metadata>& xs, int64_t t) {
  for (const auto& r : s.receive(xs, t))
    s.apply(r);
}

std::string listing(const std::vector<metric_metadata>& xs) {
  std::string out;
  for (const auto& m : xs)
    out += m.metric_family_name + ":" + std::string(to_string(m.type)) + ":" + m.help + ":" + m.unit + ";";
  return out;
}

struct query {
  std::string metric;
  int64_t limit = -1;
  int64_t limit_per_metric = -1;
};

// What a node answers the cluster index: its entries for (metric, limit),
// decoded as the cluster index decodes them.
std::vector<metadata_record> node_part(const metadata_store& s, const query& q) {
  std::string entries;
  auto n = s.entries(entries, q.metric, q.limit);
  std::vector<metadata_record> out;
  CAF_REQUIRE(decode_metadata_entries(entries, out).is_ok());
  CAF_REQUIRE_EQUAL(out.size(), n);
  return out;
}

std::vector<metric_metadata> merged(const std::vector<metadata_store>& nodes, const query& q,
                                    metadata_store_options opts = {}) {
  std::vector<std::vector<metadata_record>> parts;
  for (const auto& s : nodes)
    parts.push_back(node_part(s, q));
  return merge_metadata(parts, q.metric, q.limit, q.limit_per_metric, opts);
}

const std::vector<query> queries = {
  {},           {"", 0},      {"", 1},      {"", 2},       {"", 3, 1},  {"", -1, 1},
  {"", -1, 2},  {"", 100, 0}, {"b_total"},  {"b_total", 1}, {"b_total", -1, 1},
  {"shared"},   {"shared", -1, 2},          {"nothing"},
};

}  // namespace

CAF_TEST(the merge of the nodes equals one node that received every write) {
  // A scripted hour of writes, each through one of three nodes picked at
  // random; one more store receives them all, as a single node would.
  metadata_store_options opts;
  opts.max_per_family = 4;
  std::vector<metadata_store> nodes(3, metadata_store{opts});
  metadata_store single{opts};
  std::mt19937 rng{12};
  auto write = [&](const std::vector<metric_metadata>& xs, int64_t t) {
    receive_and_apply(nodes[rng() % nodes.size()], xs, t);
    receive_and_apply(single, xs, t);
  };
  for (int64_t t = 0; t <= 70 * minute; t += minute) {
    write({md("a_seconds", metric_type::histogram, "A.", "seconds"), md("b_total", metric_type::counter, "B.")}, t);
    // Two exporter versions describe `shared` differently, through
    // different nodes; a third one stopped after ten minutes (superseded
    // an hour later), a fourth only sent once, late.
    write({md("shared", metric_type::gauge, "Old words.")}, t);
    write({md("shared", metric_type::gauge, "New words.")}, t + 1);
    if (t < 10 * minute)
      write({md("shared", metric_type::counter, "Gone."), md("c_info", metric_type::info, "C.")}, t);
    if (t == 65 * minute)
      write({md("b_total", metric_type::counter, "B, reworded."), md("shared", metric_type::unknown, "Late.")}, t);
  }
  // More descriptions of one family than max_per_family, spread over the
  // nodes: the least recent go.
  for (int i = 0; i < 6; ++i)
    write({md("many", metric_type::gauge, "version " + std::to_string(i))}, 71 * minute + i);
  // The data must really be spread: no node holds everything.
  for (const auto& n : nodes)
    CAF_CHECK_LESS(n.num_descriptions(), single.num_descriptions());
  CAF_CHECK_EQUAL(listing(single.list("shared", -1, -1)), "shared:unknown:Late.:;shared:gauge:New words.:;"
                                                            "shared:gauge:Old words.:;");
  CAF_CHECK_EQUAL(listing(single.list("many", -1, -1)),
                  "many:gauge:version 2:;many:gauge:version 3:;many:gauge:version 4:;many:gauge:version 5:;");
  for (const auto& q : queries) {
    CAF_MESSAGE("metric=" << q.metric << " limit=" << q.limit << " limit_per_metric=" << q.limit_per_metric);
    CAF_CHECK_EQUAL(listing(merged(nodes, q, opts)), listing(single.list(q.metric, q.limit, q.limit_per_metric)));
  }
}

CAF_TEST(one description held by several nodes is listed once) {
  std::vector<metadata_store> nodes(3);
  for (size_t i = 0; i < nodes.size(); ++i)
    receive_and_apply(nodes[i], {md("up", metric_type::gauge, "Up.")}, static_cast<int64_t>(i));
  receive_and_apply(nodes[2], {md("up", metric_type::gauge, "Up.", "ratio")}, 5);
  CAF_CHECK_EQUAL(listing(merged(nodes, {})), "up:gauge:Up.:;up:gauge:Up.:ratio;");
}

CAF_TEST(limits apply to the merged answer) {
  // Families interleave across the nodes: a node's first family is not
  // the union's.
  std::vector<metadata_store> nodes(2);
  receive_and_apply(nodes[0], {md("a", metric_type::gauge, "A."), md("c", metric_type::gauge, "C.")}, 1);
  receive_and_apply(nodes[1], {md("b", metric_type::gauge, "B."), md("d", metric_type::gauge, "D.")}, 1);
  receive_and_apply(nodes[1], {md("a", metric_type::counter, "A2.")}, 2);
  CAF_CHECK_EQUAL(listing(merged(nodes, {"", 2})), "a:counter:A2.:;a:gauge:A.:;b:gauge:B.:;");
  CAF_CHECK_EQUAL(listing(merged(nodes, {"", 2, 1})), "a:counter:A2.:;b:gauge:B.:;");
  CAF_CHECK_EQUAL(listing(merged(nodes, {"a", -1, 1})), "a:counter:A2.:;");
  CAF_CHECK_EQUAL(listing(merged(nodes, {"", 0})), "");
}

CAF_TEST(the merge does not depend on the order of the parts) {
  std::vector<metadata_store> nodes(3);
  for (int i = 0; i < 30; ++i)
    receive_and_apply(nodes[static_cast<size_t>(i) % 3],
                      {md("f" + std::to_string(i % 4), metric_type::gauge, "h" + std::to_string(i % 7))}, i % 5);
  std::vector<std::vector<metadata_record>> parts;
  for (const auto& s : nodes)
    parts.push_back(node_part(s, {}));
  metadata_store_options opts;
  opts.max_per_family = 2;  // ties in receipt time decide which go
  auto want = listing(merge_metadata(parts, "", -1, -1, opts));
  CAF_CHECK_NOT_EQUAL(want, "");
  std::mt19937 rng{7};
  for (int round = 0; round < 10; ++round) {
    std::shuffle(parts.begin(), parts.end(), rng);
    for (auto& p : parts)
      std::shuffle(p.begin(), p.end(), rng);
    CAF_CHECK_EQUAL(listing(merge_metadata(parts, "", -1, -1, opts)), want);
  }
}

CAF_TEST(no parts merge to nothing) {
  CAF_CHECK_EQUAL(merge_metadata({}, "", -1, -1).size(), 0u);
  CAF_CHECK_EQUAL(merge_metadata({{}, {}}, "x", 5, 1).size(), 0u);
}

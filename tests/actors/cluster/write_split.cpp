#define CAF_SUITE actors.cluster.write_split
#include "test_support.hpp"

#include "actors/cluster/cluster_view.hpp"
#include "actors/cluster/write_split.hpp"
#include "protocol/remote_write.hpp"
#include "storage/head/shard.hpp"

using namespace nl::actors;
using nl::storage::node_mask;

namespace {

cluster_settings three_nodes() {
  cluster_settings c;
  c.self = "a";
  c.nodes = {{"a", "h:1"}, {"b", "h:2"}, {"c", "h:3"}};
  return c;
}

nl::protocol::write_batch decoded(size_t n_series, size_t samples_each) {
  std::vector<nl::protocol::write_series> ws;
  for (size_t i = 0; i < n_series; ++i) {
    nl::protocol::write_series s;
    s.labels = {{"__name__", "m"}, {"i", std::to_string(i)}};
    for (size_t k = 0; k < samples_each; ++k)
      s.samples.push_back({static_cast<int64_t>(k), 1.0});
    ws.push_back(std::move(s));
  }
  auto body = nl::protocol::encode_write_request(ws);
  auto wb = nl::protocol::decode_write_request(std::make_shared<const std::string>(body), 0, {});
  CAF_REQUIRE(static_cast<bool>(wb));
  return std::move(*wb);
}

}  // namespace

CAF_TEST(every series goes to rf nodes and only to healthy ones) {
  cluster_view view{three_nodes()};  // this node is a
  auto wb = decoded(200, 3);
  std::vector<append_batch> out;
  std::vector<append_batch> local;
  std::vector<node_mask> sets;
  split_by_node(wb, view, 0b111, 2, out, local, sets);
  CAF_REQUIRE_EQUAL(out.size(), 3u);
  CAF_REQUIRE_EQUAL(local.size(), 2u);
  // a's own part goes per shard, by the shard its hash picks.
  CAF_CHECK_EQUAL(out[0].num_series(), 0u);
  size_t local_series = 0;
  size_t local_samples = 0;
  for (size_t s = 0; s < local.size(); ++s) {
    local_series += local[s].num_series();
    local_samples += local[s].num_samples();
    for (auto h : local[s].hashes)
      CAF_CHECK_EQUAL(nl::storage::shard_of(h, 2), s);
  }
  CAF_CHECK_GREATER(local_series, 0u);
  CAF_CHECK_EQUAL(local_series + out[1].num_series() + out[2].num_series(), 400u);
  CAF_CHECK_EQUAL(local_samples + out[1].num_samples() + out[2].num_samples(), 1200u);
  CAF_CHECK_EQUAL(sets.size(), 3u);  // {a,b}, {a,c}, {b,c}
  for (auto m : sets)
    CAF_CHECK_EQUAL(nl::storage::count_nodes(m), 2u);
  // c down: everything on a and b.
  split_by_node(wb, view, 0b011, 2, out, local, sets);
  CAF_CHECK_EQUAL(out[2].num_series(), 0u);
  CAF_CHECK_EQUAL(local[0].num_series() + local[1].num_series(), 200u);
  CAF_CHECK_EQUAL(out[1].num_series(), 200u);
  CAF_CHECK_EQUAL(sets, std::vector<node_mask>{0b011});
}

#include "actors/cluster/write_split.hpp"

#include <algorithm>

#include "actors/cluster/cluster_view.hpp"
#include "storage/sample.hpp"

namespace nl::actors {

void split_by_node(const protocol::write_batch& wb, const cluster_view& view, storage::node_mask healthy,
                   std::vector<append_batch>& out, std::vector<storage::node_mask>& owner_sets) {
  const auto& ring = view.ring();
  const size_t rf = view.replication_factor();
  out.assign(ring.num_nodes(), {});
  owner_sets.clear();
  storage::node_mask last = 0;
  for (const auto& e : wb.series) {
    const auto* labels = wb.labels_of(e);
    uint64_t hash = protocol::hash_labels(labels, e.labels_count);
    auto owners = ring.owners(hash, rf, healthy);
    if (owners != last && std::find(owner_sets.begin(), owner_sets.end(), owners) == owner_sets.end())
      owner_sets.push_back(owners);
    last = owners;
    const auto* s = wb.samples_of(e);
    for (size_t node = 0; node < out.size(); ++node) {
      if (!(owners >> node & 1))
        continue;
      auto& b = out[node];
      b.add_series(labels, e.labels_count, hash);
      for (uint32_t k = 0; k < e.samples_count; ++k)
        b.add_sample(s[k].t, storage::float_bits(s[k].v));
    }
  }
}

}  // namespace nl::actors

#include "actors/cluster/write_split.hpp"

#include <algorithm>

#include "actors/cluster/cluster_view.hpp"
#include "storage/label_key.hpp"
#include "storage/sample.hpp"

namespace nl::actors {

void split_by_node(const protocol::write_batch& wb, const cluster_view& view, storage::node_mask healthy,
                   std::vector<append_batch>& out, std::vector<storage::node_mask>& owner_sets) {
  const auto& ring = view.ring();
  const size_t rf = view.replication_factor();
  const size_t nodes = ring.num_nodes();
  out.assign(nodes, {});
  owner_sets.clear();
  // Sized for an even spread (each node owns about rf / nodes of the
  // series), as the frontend sizes its shards' batches.
  size_t entries = wb.series.size() * rf / nodes + 8;
  size_t samples = wb.samples.size() * rf / nodes + 8;
  size_t bytes = (wb.body ? wb.body->size() : 0) * rf / nodes + 64;
  for (auto& b : out) {
    b.keys.reserve(bytes);
    b.key_ends.reserve(entries);
    b.hashes.reserve(entries);
    b.ends.reserve(entries);
    b.timestamps.reserve(samples);
    b.value_bits.reserve(samples);
  }
  std::string key;  // each series' key is built once, then copied to its owners
  storage::node_mask last = 0;
  for (const auto& e : wb.series) {
    const auto* labels = wb.labels_of(e);
    uint64_t hash = protocol::hash_labels(labels, e.labels_count);
    auto owners = ring.owners(hash, rf, healthy);
    if (owners != last && std::find(owner_sets.begin(), owner_sets.end(), owners) == owner_sets.end())
      owner_sets.push_back(owners);
    last = owners;
    key.clear();
    storage::append_label_key(key, labels, e.labels_count);
    const auto* s = wb.samples_of(e);
    for (auto m = owners; m != 0; m &= m - 1) {
      auto& b = out[static_cast<size_t>(__builtin_ctzll(m))];
      b.add_series_key(key, hash);
      for (uint32_t k = 0; k < e.samples_count; ++k) {
        b.timestamps.push_back(s[k].t);
        b.value_bits.push_back(storage::float_bits(s[k].v));
      }
      b.ends.back() = static_cast<uint32_t>(b.timestamps.size());
    }
  }
}

}  // namespace nl::actors

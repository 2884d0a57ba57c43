#include "actors/cluster/write_split.hpp"

#include <algorithm>

#include "actors/cluster/cluster_view.hpp"
#include "storage/head/shard.hpp"
#include "storage/label_key.hpp"
#include "storage/sample.hpp"

namespace nl::actors {

void split_by_node(const protocol::write_batch& wb, const cluster_view& view, storage::node_mask healthy,
                   size_t num_shards, std::vector<append_batch>& out, std::vector<append_batch>& local,
                   std::vector<storage::node_mask>& owner_sets) {
  const auto& ring = view.ring();
  const size_t rf = view.replication_factor();
  const size_t nodes = ring.num_nodes();
  const auto self = storage::node_mask{1} << view.self();
  out.assign(nodes, {});
  local.assign(num_shards, {});
  owner_sets.clear();
  // Sized for an even spread (each node owns about rf / nodes of the
  // series), as the frontend sizes its shards' batches.
  size_t entries = wb.series.size() * rf / nodes + 8;
  size_t samples = wb.samples.size() * rf / nodes + 8;
  size_t bytes = (wb.body ? wb.body->size() : 0) * rf / nodes + 64;
  for (size_t node = 0; node < nodes; ++node)
    if (node != view.self())
      out[node].reserve(entries, samples, bytes);
  for (auto& b : local)
    b.reserve(entries / num_shards + 8, samples / num_shards + 8, bytes / num_shards + 64);
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
      auto bit = m & (~m + 1);
      auto& b = bit == self ? local[storage::shard_of(hash, num_shards)]
                            : out[static_cast<size_t>(__builtin_ctzll(m))];
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

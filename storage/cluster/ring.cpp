#include "storage/cluster/ring.hpp"

#include <algorithm>

namespace nl::storage {

namespace {

// splitmix64's finaliser: every input bit affects every output bit.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// FNV-1a over the bytes, then mixed: names are short and hashed once.
uint64_t hash_bytes(const std::string& s, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return mix(h);
}

}  // namespace

uint64_t placement_ring::point_of(uint64_t label_hash) {
  // A different constant than anything the head uses, then a full mix.
  return mix(label_hash ^ 0x6a09e667f3bcc908ULL);
}

placement_ring::placement_ring(std::vector<std::string> names, size_t vnodes) : names_(std::move(names)) {
  points_.reserve(names_.size() * vnodes);
  for (uint32_t n = 0; n < names_.size(); ++n) {
    uint64_t base = hash_bytes(names_[n], 0);
    for (size_t v = 0; v < vnodes; ++v)
      points_.push_back({mix(base + 0x9e3779b97f4a7c15ULL * (v + 1)), n});
  }
  // Ties (astronomically rare) break by name, so every node sorts alike.
  std::sort(points_.begin(), points_.end(), [this](const point& a, const point& b) {
    return a.pos != b.pos ? a.pos < b.pos : names_[a.node] < names_[b.node];
  });
  uint64_t d = mix(vnodes);
  std::vector<std::string> sorted = names_;
  std::sort(sorted.begin(), sorted.end());
  for (auto& n : sorted)
    d = mix(d ^ hash_bytes(n, d));
  digest_ = d;
}

node_mask placement_ring::owners(uint64_t label_hash, size_t rf, node_mask healthy) const {
  healthy &= all();
  size_t want = std::min(rf, count_nodes(healthy));
  node_mask got = 0;
  if (want == 0)
    return got;
  uint64_t p = point_of(label_hash);
  auto it = std::lower_bound(points_.begin(), points_.end(), p,
                             [](const point& a, uint64_t pos) { return a.pos < pos; });
  size_t i = static_cast<size_t>(it - points_.begin());
  // At most one lap: `want` healthy nodes exist, so the walk ends before.
  for (size_t k = 0; k < points_.size(); ++k, ++i) {
    if (i == points_.size())
      i = 0;
    node_mask bit = node_mask{1} << points_[i].node;
    if ((healthy & bit) && !(got & bit)) {
      got |= bit;
      if (count_nodes(got) == want)
        break;
    }
  }
  return got;
}

}  // namespace nl::storage

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
  struct point {
    uint64_t pos;
    uint32_t node;
  };
  std::vector<point> points;
  points.reserve(names_.size() * vnodes);
  for (uint32_t n = 0; n < names_.size(); ++n) {
    uint64_t base = hash_bytes(names_[n], 0);
    for (size_t v = 0; v < vnodes; ++v)
      points.push_back({mix(base + 0x9e3779b97f4a7c15ULL * (v + 1)), n});
  }
  // Ties (astronomically rare) break by name, so every node sorts alike.
  std::sort(points.begin(), points.end(), [this](const point& a, const point& b) {
    return a.pos != b.pos ? a.pos < b.pos : names_[a.node] < names_[b.node];
  });
  const size_t n = names_.size();
  positions_.reserve(points.size());
  successors_.reserve(points.size() * n);
  for (size_t i = 0; i < points.size(); ++i) {
    positions_.push_back(points[i].pos);
    node_mask seen = 0;
    for (size_t k = 0, j = i; k < points.size() && count_nodes(seen) < n; ++k, j = j + 1 == points.size() ? 0 : j + 1) {
      node_mask bit = node_mask{1} << points[j].node;
      if (!(seen & bit)) {
        seen |= bit;
        successors_.push_back(static_cast<uint8_t>(points[j].node));
      }
    }
  }
  // About four slices a point: a slice holds one point or two at most,
  // but for the rare unlucky one.
  while ((size_t{1} << bucket_bits_) < 4 * positions_.size() && bucket_bits_ < 24)
    ++bucket_bits_;
  bucket_start_.resize(size_t{1} << bucket_bits_);
  size_t at = 0;
  for (size_t b = 0; b < bucket_start_.size(); ++b) {
    uint64_t start = bucket_bits_ == 0 ? 0 : uint64_t{b} << (64 - bucket_bits_);
    while (at < positions_.size() && positions_[at] < start)
      ++at;
    bucket_start_[b] = static_cast<uint32_t>(at);
  }
  uint64_t d = mix(vnodes);
  std::vector<std::string> sorted = names_;
  std::sort(sorted.begin(), sorted.end());
  for (auto& name : sorted)
    d = mix(d ^ hash_bytes(name, d));
  digest_ = d;
}

node_mask placement_ring::owners(uint64_t label_hash, size_t rf, node_mask healthy) const {
  node_mask got = 0;
  if (rf == 0)
    return got;
  uint64_t p = point_of(label_hash);
  size_t i = bucket_start_[bucket_bits_ == 0 ? 0 : p >> (64 - bucket_bits_)];
  while (i < positions_.size() && positions_[i] < p)
    ++i;
  if (i == positions_.size())
    i = 0;  // past the last point: the walk starts over at the first
  const size_t n = names_.size();
  const uint8_t* next = successors_.data() + i * n;
  size_t count = 0;
  for (size_t k = 0; k < n; ++k) {
    node_mask bit = node_mask{1} << next[k];
    if (healthy & bit) {
      got |= bit;
      if (++count == rf)
        break;
    }
  }
  return got;
}

}  // namespace nl::storage

#pragma once
// The head's interned label pairs. A fleet of a million series has about
// ten thousand distinct name=value pairs (one per instance, a hundred
// metric names, jobs and regions: bench/head_memory_bench counts them), so a series names its labels by the ids of its
// pairs (a byte or two each) instead of keeping its own copy of the label
// key (~140 bytes on node_exporter-like series). A pair is held as the
// label key's per-label bytes (storage/label_key.hpp:
// name_len<uvarint> name value_len<uvarint> value), so a key is rebuilt,
// or compared with an incoming one, by walking a series' ids and
// memcmp'ing each pair's bytes in turn.
//
// Pairs are counted: release() by the last series that holds a pair frees
// it and its id, which a later pair reuses.
//
// Thread-safety: none; the owning head serialises access.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace nl::storage {

class pair_table {
 public:
  /// The id of the pair whose bytes are `pair`, adding it when new; one
  /// more holder either way.
  uint32_t acquire(std::string_view pair);
  /// One holder more of a live id (what acquire() does for a known pair,
  /// without hashing it).
  void hold(uint32_t id) { ++entries_[id].holders; }
  /// One holder less; the last one frees the pair (true then). REQUIRES:
  /// a live id.
  bool release(uint32_t id);
  /// The bytes of a live pair.
  std::string_view bytes(uint32_t id) const { return {entries_[id].bytes.get(), entries_[id].size}; }
  /// Live pairs.
  size_t size() const { return ids_.size(); }
  /// Every id handed out is below this.
  size_t id_bound() const { return entries_.size(); }
  /// By id: each live pair's place in compare_pairs order, from 1 (equal
  /// ranks, equal pairs); 0 for freed ids. Sorting a head's series by their
  /// pairs' ranks orders them as by their labels, with integer compares.
  std::vector<uint32_t> ranks() const;

 private:
  struct entry {
    std::unique_ptr<char[]> bytes;
    uint32_t size = 0;
    uint32_t holders = 0;
  };
  std::vector<entry> entries_;  // by id; freed ones have no bytes
  std::vector<uint32_t> free_;  // ids to reuse
  std::unordered_map<std::string_view, uint32_t> ids_;  // views of entries_' bytes
  // Recently acquired ids by a cheap hash of their bytes: series created
  // one after another share most pairs (a target's, a metric's), and a
  // hit costs a memcmp, not a string hash and a bucket walk. An id here
  // may have been freed or reused since: its bytes are compared first.
  std::array<uint32_t, 1024> memo_{};
};

/// Compares two pairs as label_set::compare orders labels: by name, then
/// by value.
int compare_pairs(std::string_view a, std::string_view b);

}  // namespace nl::storage

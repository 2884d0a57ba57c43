#pragma once
// The load generator's fleet (fleet_model.hpp) as the head receives it:
// each series' labels as a canonical label key and its hash, for the
// benchmarks that drive a head directly.
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "storage/label_key.hpp"
#include "storage/labels.hpp"
#include "fleet_model.hpp"

namespace nl::bench {

struct keyed_labels {
  std::string key;
  uint64_t hash;
};

/// make_fleet(n, 0, 1, rng) with each series' labels keyed.
inline fleet<keyed_labels> make_keyed_fleet(size_t n, std::mt19937_64& rng) {
  return make_fleet<keyed_labels>(n, 0, 1, rng, [](label_pairs ps) {
    std::vector<storage::label> ls;
    for (auto& [name, value] : ps)
      ls.push_back(storage::label{name, value});
    auto key = storage::label_key(storage::label_set::from_unsorted(std::move(ls)));
    return keyed_labels{key, storage::hash_label_key(key)};
  });
}

}  // namespace nl::bench

#pragma once
// Which head shard owns a series. The head is split into shards (one
// storage::head each) by the hash of a series' labels; every path that
// routes a series to a shard uses this one rule, so that WAL replay puts a
// series where the writes after start-up look for it. Changing the rule
// needs no migration (the WAL stores labels, not shards) but every caller
// must change together.
#include <cstddef>
#include <cstdint>

namespace nl::storage {

/// The shard, in [0, num_shards), of a series whose labels hash to
/// `label_hash` (labels::hash()). REQUIRES: num_shards > 0.
inline size_t shard_of(uint64_t label_hash, size_t num_shards) {
  return static_cast<size_t>(label_hash % num_shards);
}

}  // namespace nl::storage

// block's tombstone members that are not reads (storage/block/reader.hpp).
// The reads themselves honour the tombstones in reader.cpp.
#include "storage/block/reader.hpp"

#include <algorithm>

namespace nl::storage {

result<std::vector<std::pair<uint64_t, time_interval>>> block::deletion_ranges(const matcher_list& ms, int64_t mint,
                                                                                int64_t maxt) const {
  std::vector<std::pair<uint64_t, time_interval>> out;
  if (mint > maxt || !meta_.overlaps(mint, maxt))
    return out;
  auto ids = select_ids(ms);
  if (!ids)
    return ids.error();
  std::vector<chunk_ref> chunks;
  for (auto id : *ids) {
    chunks.clear();
    if (auto st = parse_series(id, nullptr, &chunks); !st)
      return st;
    bool hit = false;
    for (const auto& c : chunks)
      hit = hit || (c.min_time <= maxt && c.max_time >= mint);
    if (!hit)
      continue;
    // Only up to the samples there are (Prometheus' clampInterval).
    out.push_back({id, {std::max(mint, chunks.front().min_time), std::min(maxt, chunks.back().max_time)}});
  }
  return out;
}

}  // namespace nl::storage

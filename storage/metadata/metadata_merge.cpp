#include "storage/metadata/metadata_merge.hpp"

#include <algorithm>
#include <limits>
#include <tuple>

namespace nl::storage {

std::vector<metric_metadata> merge_metadata(const std::vector<std::vector<metadata_record>>& parts,
                                            std::string_view metric, int64_t limit, int64_t limit_per_metric,
                                            metadata_store_options opts) {
  std::vector<const metadata_record*> all;
  for (const auto& p : parts)
    for (const auto& r : p)
      all.push_back(&r);
  // Oldest first, ties in a fixed order: the store then evicts as it does
  // when the records arrive over time, whatever order the nodes answered
  // in (its max_per_family rule drops the least recent; among equal times
  // the first found).
  auto key = [](const metadata_record* r) {
    const auto& m = r->metadata;
    return std::tie(r->seen_ms, m.metric_family_name, m.type, m.help, m.unit);
  };
  std::sort(all.begin(), all.end(), [&](const auto* a, const auto* b) { return key(a) < key(b); });
  opts.max_bytes = std::numeric_limits<uint64_t>::max();
  metadata_store merged{opts};
  for (const auto* r : all)
    merged.apply(*r);
  return merged.list(metric, limit, limit_per_metric);
}

}  // namespace nl::storage

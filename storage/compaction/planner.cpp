#include "storage/compaction/planner.hpp"

#include <algorithm>
#include <map>
#include <numeric>

namespace nl::storage {

namespace {

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

std::vector<size_t> by_min_time(const std::vector<block_meta>& metas) {
  std::vector<size_t> order(metas.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return metas[a].min_time != metas[b].min_time ? metas[a].min_time < metas[b].min_time
                                                   : metas[a].ulid < metas[b].ulid;
  });
  return order;
}

}  // namespace

std::vector<int64_t> compaction_ranges(int64_t block_duration, int64_t max_range) {
  std::vector<int64_t> out;
  if (block_duration <= 0)
    return out;
  for (int64_t r = block_duration; r <= max_range / 3;) {
    r *= 3;
    out.push_back(r);
  }
  return out;
}

int64_t max_compaction_range(int64_t retention_ms) {
  return std::min<int64_t>(retention_ms / 10, int64_t{31} * 86400 * 1000);
}

std::vector<std::string> plan_merge(const std::vector<block_meta>& metas, const std::vector<int64_t>& ranges) {
  auto order = by_min_time(metas);
  // Overlaps first: they make queries merge samples on every read.
  for (size_t i = 0; i + 1 < order.size(); ++i) {
    int64_t end = metas[order[i]].max_time;
    size_t j = i + 1;
    while (j < order.size() && metas[order[j]].min_time < end) {
      end = std::max(end, metas[order[j]].max_time);
      ++j;
    }
    if (j > i + 1) {
      std::vector<std::string> out;
      for (size_t k = i; k < j; ++k)
        out.push_back(metas[order[k]].ulid);
      return out;
    }
  }
  // The newest block (largest min_time) waits, as in Prometheus: it was
  // just cut, and leaving it alone keeps levels from swallowing the only
  // recent block (so size retention always has an older block to delete).
  if (order.size() < 2)
    return {};
  order.pop_back();
  const int64_t high = metas[order.back()].min_time;
  for (int64_t r : ranges) {
    std::map<int64_t, std::vector<size_t>> groups;
    for (size_t i : order) {
      int64_t k = floor_div(metas[i].min_time, r);
      if (metas[i].max_time <= (k + 1) * r)  // lies inside one interval
        groups[k].push_back(i);
    }
    for (const auto& [k, members] : groups) {
      if (members.size() < 2)
        continue;
      // A group fills its interval, or ends before the newest block left
      // in play begins: no other block of this size can still join it.
      int64_t mint = metas[members.front()].min_time;
      int64_t maxt = INT64_MIN;
      for (size_t i : members)
        maxt = std::max(maxt, metas[i].max_time);
      if (maxt - mint != r && maxt > high)
        continue;
      std::vector<std::string> out;
      for (size_t i : members)
        out.push_back(metas[i].ulid);
      return out;
    }
  }
  return {};
}

std::vector<std::string> plan_retention(const std::vector<block_meta>& metas, const std::vector<uint64_t>& sizes,
                                        int64_t retention_ms, uint64_t retention_bytes, uint64_t other_bytes) {
  auto order = by_min_time(metas);
  int64_t newest = INT64_MIN;
  for (const auto& m : metas)
    newest = std::max(newest, m.max_time);
  std::vector<std::string> out;
  std::vector<bool> gone(metas.size(), false);
  if (retention_ms > 0) {
    for (size_t i : order)
      if (newest - metas[i].max_time >= retention_ms) {
        out.push_back(metas[i].ulid);
        gone[i] = true;
      }
  }
  if (retention_bytes > 0) {
    uint64_t total = other_bytes;
    for (size_t i = 0; i < metas.size(); ++i)
      if (!gone[i])
        total += sizes[i];
    // The block holding the newest data stays, whatever the size.
    size_t newest_block = 0;
    for (size_t i = 1; i < metas.size(); ++i)
      if (metas[i].max_time > metas[newest_block].max_time)
        newest_block = i;
    for (size_t n = 0; n < order.size() && total > retention_bytes; ++n) {
      size_t i = order[n];
      if (gone[i] || i == newest_block)
        continue;
      out.push_back(metas[i].ulid);
      gone[i] = true;
      total -= sizes[i];
    }
  }
  return out;
}

}  // namespace nl::storage

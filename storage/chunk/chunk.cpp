#include "storage/chunk/chunk.hpp"

#include <algorithm>

namespace nl::storage {

uint64_t estimate_samples_in(const chunk& c, int64_t mint, int64_t maxt) {
  int64_t lo = std::max(c.min_time(), mint);
  int64_t hi = std::min(c.max_time(), maxt);
  if (lo > hi)
    return 0;
  uint64_t n = c.num_samples();
  if (lo == c.min_time() && hi == c.max_time())
    return n;
  // Here the window cuts the chunk, so its span is positive; 128 bits keep
  // spans near the int64 limits exact.
  __int128 span = static_cast<__int128>(c.max_time()) - c.min_time();
  __int128 part = static_cast<__int128>(hi) - lo;
  return static_cast<uint64_t>(static_cast<__int128>(n - 1) * part / span) + 1;
}

status decode_chunks(const std::vector<std::shared_ptr<const chunk>>& chunks, int64_t mint,
                     int64_t maxt, std::vector<sample>& out) {
  size_t total = out.size();
  for (const auto& c : chunks)
    if (c->overlaps(mint, maxt))
      total += c->num_samples();
  out.reserve(total);
  const size_t start = out.size();
  auto by_time = [](const sample& a, const sample& b) { return a.t < b.t; };
  for (const auto& c : chunks) {
    size_t before = out.size();
    if (auto st = c->decode(mint, maxt, out); !st)
      return st;
    if (before == start || before == out.size() || out[before].t > out[before - 1].t)
      continue;  // the usual case: after everything so far
    // Overlap (out-of-order data, overlapping blocks): merge the new run
    // into the samples it overlaps; of equal timestamps the earlier wins.
    auto first_new = out.begin() + static_cast<std::ptrdiff_t>(before);
    auto from = std::lower_bound(out.begin() + static_cast<std::ptrdiff_t>(start), first_new,
                                 sample{first_new->t, 0}, by_time);
    std::inplace_merge(from, first_new, out.end(), by_time);
    out.erase(std::unique(from, out.end(), [](const sample& a, const sample& b) { return a.t == b.t; }),
              out.end());
  }
  return status::ok();
}

}  // namespace nl::storage

#include "storage/cluster/replica_merge.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "storage/chunk/xor_chunk.hpp"
#include "storage/sample.hpp"

namespace nl::storage {

namespace {

using chunk_ptr = std::shared_ptr<const chunk>;

bool same_chunk(const chunk_ptr& a, const chunk_ptr& b) {
  return a == b
         || (a->encoding() == b->encoding() && a->min_time() == b->min_time() && a->max_time() == b->max_time()
             && a->num_samples() == b->num_samples() && a->bytes() == b->bytes());
}

// How many leading chunks every replica has in common.
size_t shared_prefix(const std::vector<series_snapshot*>& replicas) {
  const auto& first = replicas[0]->chunks;
  size_t n = 0;
  for (; n < first.size(); ++n) {
    for (size_t r = 1; r < replicas.size(); ++r) {
      const auto& cs = replicas[r]->chunks;
      if (n >= cs.size() || !same_chunk(cs[n], first[n]))
        return n;
    }
  }
  return n;
}

// Merges two strictly increasing runs; equal timestamps become one sample.
std::vector<sample> merge_runs(const std::vector<sample>& a, const std::vector<sample>& b) {
  std::vector<sample> out;
  out.reserve(a.size() + b.size());
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].t < b[j].t)) {
      out.push_back(a[i++]);
    } else if (i == a.size() || b[j].t < a[i].t) {
      out.push_back(b[j++]);
    } else {
      out.push_back({a[i].t, pick_replica_value(a[i].v, b[j].v)});
      ++i;
      ++j;
    }
  }
  return out;
}

// One series held by several replicas: the chunks all of them share at
// the front are kept; the rest is decoded, merged and encoded again.
status merge_one(const std::vector<series_snapshot*>& replicas, series_snapshot& out) {
  size_t keep = shared_prefix(replicas);
  std::vector<chunk_ptr> head{replicas[0]->chunks.begin(),
                              replicas[0]->chunks.begin() + static_cast<std::ptrdiff_t>(keep)};
  // A differing chunk that reaches back into the shared ones (out-of-order
  // data) would overlap them: then everything is merged.
  if (!head.empty()) {
    int64_t shared_end = INT64_MIN;
    for (const auto& c : head)
      shared_end = std::max(shared_end, c->max_time());
    for (auto* r : replicas)
      for (size_t i = keep; i < r->chunks.size(); ++i)
        if (r->chunks[i]->min_time() <= shared_end)
          keep = 0;
    if (keep == 0)
      head.clear();
  }
  std::vector<sample> merged;
  for (auto* r : replicas) {
    std::vector<chunk_ptr> rest{r->chunks.begin() + static_cast<std::ptrdiff_t>(keep), r->chunks.end()};
    std::vector<sample> samples;
    // Each replica first as its own node reads it (decode_chunks resolves
    // overlaps within one node), then across replicas by the rule.
    if (auto st = decode_chunks(rest, INT64_MIN, INT64_MAX, samples); !st)
      return status::corruption("series " + r->labels.to_string() + ": " + st.message());
    merged = merged.empty() ? std::move(samples) : merge_runs(merged, samples);
  }
  out.labels = std::move(replicas[0]->labels);
  out.chunks = std::move(head);
  xor_appender app;
  for (const auto& s : merged) {
    app.append(s.t, s.v);
    if (app.num_samples() == replica_merge_chunk_samples)
      out.chunks.push_back(app.cut());
  }
  if (!app.empty())
    out.chunks.push_back(app.cut());
  return status::ok();
}

}  // namespace

double pick_replica_value(double a, double b) {
  bool a_nan = std::isnan(a);
  bool b_nan = std::isnan(b);
  if (a_nan != b_nan)
    return a_nan ? b : a;
  if (!a_nan && a != b)
    return a > b ? a : b;
  // Equal numbers (0.0 and -0.0) or two NaNs: by bit pattern, so that the
  // pick never depends on the order.
  return float_bits(a) >= float_bits(b) ? a : b;
}

result<std::vector<series_snapshot>> merge_replicas(std::vector<std::vector<series_snapshot>> parts) {
  size_t total = 0;
  for (const auto& p : parts)
    total += p.size();
  std::vector<series_snapshot> out;
  out.reserve(total);
  std::vector<size_t> next(parts.size(), 0);
  std::vector<size_t> members;  // the parts holding the lowest label set
  std::vector<series_snapshot*> group;
  // k-way by labels; k is the number of nodes, a handful.
  for (;;) {
    members.clear();
    for (size_t p = 0; p < parts.size(); ++p) {
      if (next[p] == parts[p].size())
        continue;
      const auto& labels = parts[p][next[p]].labels;
      if (!members.empty() && parts[members[0]][next[members[0]]].labels < labels)
        continue;
      if (!members.empty() && labels < parts[members[0]][next[members[0]]].labels)
        members.clear();
      members.push_back(p);
    }
    if (members.empty())
      break;
    series_snapshot merged;
    if (members.size() == 1) {
      auto& only = parts[members[0]][next[members[0]]];
      merged.labels = std::move(only.labels);
      merged.chunks = std::move(only.chunks);
    } else {
      group.clear();
      for (auto p : members)
        group.push_back(&parts[p][next[p]]);
      if (auto st = merge_one(group, merged); !st)
        return st;
    }
    for (auto p : members)
      ++next[p];
    out.push_back(std::move(merged));
  }
  return out;
}

}  // namespace nl::storage

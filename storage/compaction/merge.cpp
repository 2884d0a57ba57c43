#include "storage/compaction/merge.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include "storage/block/writer.hpp"

namespace nl::storage {

namespace {

using chunk_ptr = std::shared_ptr<const chunk>;

}  // namespace

result<std::vector<chunk_ptr>> merge_chunks(std::vector<std::vector<chunk_ptr>>&& sources,
                                            int samples_per_chunk) {
  // The usual case, one list of chunks that do not overlap: nothing to do.
  if (sources.size() == 1) {
    auto& xs = sources[0];
    bool apart = true;
    for (size_t i = 1; i < xs.size() && apart; ++i)
      apart = xs[i - 1]->max_time() < xs[i]->min_time();
    if (apart)
      return std::move(xs);
  }
  // Every chunk tagged with its source, in time order.
  struct tagged {
    chunk_ptr chunk;
    size_t source;
  };
  std::vector<tagged> all;
  for (size_t i = 0; i < sources.size(); ++i)
    for (auto& c : sources[i])
      all.push_back({std::move(c), i});
  std::stable_sort(all.begin(), all.end(), [](const tagged& a, const tagged& b) {
    return a.chunk->min_time() < b.chunk->min_time();
  });
  std::vector<chunk_ptr> out;
  std::vector<sample> decoded;
  std::vector<std::pair<sample, size_t>> merged;
  size_t i = 0;
  while (i < all.size()) {
    // A run of chunks that overlap one another transitively.
    size_t j = i + 1;
    int64_t end = all[i].chunk->max_time();
    while (j < all.size() && all[j].chunk->min_time() <= end) {
      end = std::max(end, all[j].chunk->max_time());
      ++j;
    }
    if (j == i + 1) {
      out.push_back(std::move(all[i].chunk));
      i = j;
      continue;
    }
    merged.clear();
    for (size_t k = i; k < j; ++k) {
      decoded.clear();
      if (auto st = all[k].chunk->decode(INT64_MIN, INT64_MAX, decoded); !st)
        return st;
      for (const auto& s : decoded)
        merged.push_back({s, all[k].source});
    }
    // By time, then by source: of equal timestamps the earliest source wins.
    std::stable_sort(merged.begin(), merged.end(), [](const auto& a, const auto& b) {
      return a.first.t != b.first.t ? a.first.t < b.first.t : a.second < b.second;
    });
    xor_appender app;
    int64_t last_t = INT64_MIN;
    bool any = false;
    for (const auto& [s, src] : merged) {
      if (any && s.t == last_t)
        continue;
      if (app.num_samples() >= samples_per_chunk)
        out.push_back(app.cut());
      app.append(s.t, s.v);
      last_t = s.t;
      any = true;
    }
    if (!app.empty())
      out.push_back(app.cut());
    i = j;
  }
  return out;
}

result<block_meta> merge_blocks(const std::vector<std::shared_ptr<const block>>& parents,
                                const std::string& blocks_dir, const std::string& ulid, file_creator create) {
  if (parents.empty())
    return status::invalid_argument("merge_blocks: no parents");
  int64_t mint = INT64_MAX;
  int64_t maxt = INT64_MIN;
  uint32_t level = 0;
  std::set<std::string> sources;
  std::vector<std::string> parent_ids;
  for (const auto& p : parents) {
    mint = std::min(mint, p->meta().min_time);
    maxt = std::max(maxt, p->meta().max_time);
    level = std::max(level, p->meta().level);
    sources.insert(p->meta().sources.begin(), p->meta().sources.end());
    parent_ids.push_back(p->meta().ulid);
  }
  auto w = block_writer::create(blocks_dir, ulid, mint, maxt, std::move(create));
  if (!w)
    return w.error();
  (*w)->set_compaction(level + 1, {sources.begin(), sources.end()}, parent_ids);
  // A k-way merge by labels over the parents' series, one series of each
  // parent in memory at a time.
  const size_t k = parents.size();
  std::vector<uint64_t> next(k, 0);
  std::vector<std::optional<series_snapshot>> current(k);
  auto load = [&](size_t i) -> status {
    current[i].reset();
    if (next[i] >= parents[i]->num_series())
      return status::ok();
    auto s = parents[i]->read_series(next[i]++, INT64_MIN, INT64_MAX);
    if (!s)
      return s.error();
    current[i] = std::move(*s);
    return status::ok();
  };
  for (size_t i = 0; i < k; ++i)
    if (auto st = load(i); !st)
      return st;
  std::vector<std::vector<chunk_ptr>> sources_of_series;
  for (;;) {
    const label_set* least = nullptr;
    for (size_t i = 0; i < k; ++i)
      if (current[i] && (least == nullptr || current[i]->labels < *least))
        least = &current[i]->labels;
    if (least == nullptr)
      break;
    label_set labels = *least;
    sources_of_series.clear();
    for (size_t i = 0; i < k; ++i) {
      if (current[i] && current[i]->labels == labels) {
        sources_of_series.push_back(std::move(current[i]->chunks));
        if (auto st = load(i); !st)
          return st;
      }
    }
    auto chunks = merge_chunks(std::move(sources_of_series));
    if (!chunks)
      return chunks.error();
    if (auto st = (*w)->add_series(std::move(labels), *chunks); !st)
      return st;
  }
  return (*w)->finish();
}

}  // namespace nl::storage

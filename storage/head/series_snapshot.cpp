#include "storage/head/series_snapshot.hpp"

#include <algorithm>
#include <iterator>
#include <optional>

namespace nl::storage {

namespace {

// One comparison a step (most series are in both parts: every block of a
// range holds the same series). Parts come in time order (older blocks
// first), so the chunks of a series found in both usually just follow on.
std::vector<series_snapshot> merge_two(std::vector<series_snapshot>& a, std::vector<series_snapshot>& b) {
  std::vector<series_snapshot> out;
  out.reserve(a.size() + b.size());
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() && j != b.end()) {
    const int c = label_set::compare(i->labels, j->labels);
    if (c < 0) {
      out.push_back(std::move(*i++));
    } else if (c > 0) {
      out.push_back(std::move(*j++));
    } else {
      auto& x = *i++;
      auto& y = *j++;
      auto by_start = [](const auto& c1, const auto& c2) { return c1->min_time() < c2->min_time(); };
      if (x.chunks.empty() || y.chunks.empty() || !by_start(y.chunks.front(), x.chunks.back())) {
        x.chunks.insert(x.chunks.end(), std::make_move_iterator(y.chunks.begin()),
                        std::make_move_iterator(y.chunks.end()));
      } else {
        std::vector<std::shared_ptr<const chunk>> chunks;
        chunks.reserve(x.chunks.size() + y.chunks.size());
        std::merge(std::make_move_iterator(x.chunks.begin()), std::make_move_iterator(x.chunks.end()),
                   std::make_move_iterator(y.chunks.begin()), std::make_move_iterator(y.chunks.end()),
                   std::back_inserter(chunks), by_start);
        x.chunks = std::move(chunks);
      }
      out.push_back(std::move(x));
    }
  }
  std::move(i, a.end(), std::back_inserter(out));
  std::move(j, b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

std::vector<series_snapshot> merge_series(std::vector<std::vector<series_snapshot>> parts) {
  if (parts.empty())
    return {};
  // Pairwise rounds: each series is moved O(log parts) times.
  while (parts.size() > 1) {
    std::vector<std::vector<series_snapshot>> next;
    for (size_t i = 0; i + 1 < parts.size(); i += 2)
      next.push_back(merge_two(parts[i], parts[i + 1]));
    if (parts.size() % 2 == 1)
      next.push_back(std::move(parts.back()));
    parts = std::move(next);
  }
  return std::move(parts[0]);
}

bool trim_pages(std::vector<series_page>& parts) {
  bool more = false;
  std::optional<label_set> bound;
  for (const auto& p : parts) {
    if (!p.more || p.series.empty())
      continue;
    more = true;
    if (!bound || p.series.back().labels < *bound)
      bound = p.series.back().labels;
  }
  if (bound) {
    for (auto& p : parts) {
      auto past = std::upper_bound(p.series.begin(), p.series.end(), *bound,
                                   [](const label_set& b, const series_snapshot& s) { return b < s.labels; });
      p.series.erase(past, p.series.end());
    }
  }
  return more;
}

series_page merge_pages(std::vector<series_page> parts) {
  series_page out;
  out.more = trim_pages(parts);
  std::vector<std::vector<series_snapshot>> lists;
  lists.reserve(parts.size());
  for (auto& p : parts)
    lists.push_back(std::move(p.series));
  out.series = merge_series(std::move(lists));
  return out;
}

}  // namespace nl::storage

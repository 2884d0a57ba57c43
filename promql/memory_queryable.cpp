#include "promql/memory_queryable.hpp"

#include <algorithm>

namespace nl::promql {

queryable::~queryable() = default;

namespace {

bool label_less(const series& a, const storage::label_set& b) {
  return storage::label_set::compare(a.labels, b) < 0;
}

}  // namespace

memory_queryable::memory_queryable(std::vector<series> data) {
  std::sort(data.begin(), data.end(), [](const series& a, const series& b) {
    return storage::label_set::compare(a.labels, b.labels) < 0;
  });
  for (auto& s : data) {
    if (!data_.empty() && data_.back().labels == s.labels) {
      add(s.labels, s.samples);
      continue;
    }
    std::sort(s.samples.begin(), s.samples.end(),
              [](const storage::sample& a, const storage::sample& b) { return a.t < b.t; });
    data_.push_back(std::move(s));
  }
}

void memory_queryable::add(const storage::label_set& labels,
                           const std::vector<storage::sample>& samples) {
  auto it = std::lower_bound(data_.begin(), data_.end(), labels, label_less);
  if (it == data_.end() || it->labels != labels) it = data_.insert(it, series{labels, {}, {}});
  auto& dst = it->samples;
  for (auto& s : samples) {
    auto pos = std::lower_bound(dst.begin(), dst.end(), s.t,
                                [](const storage::sample& a, int64_t t) { return a.t < t; });
    if (pos != dst.end() && pos->t == s.t)
      *pos = s;
    else
      dst.insert(pos, s);
  }
}

std::vector<series> memory_queryable::select(size_t, const selector_window& w) {
  return select(w.selector->matchers, w.mint, w.maxt);
}

std::vector<series> memory_queryable::select(const storage::matcher_list& ms, int64_t mint,
                                              int64_t maxt) const {
  std::vector<series> out;
  for (auto& s : data_) {
    if (!storage::matches_all(ms, s.labels)) continue;
    auto lo = std::lower_bound(s.samples.begin(), s.samples.end(), mint,
                               [](const storage::sample& a, int64_t t) { return a.t < t; });
    auto hi = std::upper_bound(lo, s.samples.end(), maxt,
                               [](int64_t t, const storage::sample& a) { return t < a.t; });
    if (lo == hi) continue;
    out.push_back(series{s.labels, std::vector<storage::sample>(lo, hi), {}});
  }
  return out;
}

}  // namespace nl::promql

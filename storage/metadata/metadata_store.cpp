#include "storage/metadata/metadata_store.hpp"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

namespace nl::storage {

metadata_store::metadata_store(metadata_store_options opts) : opts_(opts) {
}

metadata_store::description* metadata_store::find(family& f, const metric_metadata& m) {
  for (auto& d : f.descriptions)
    if (d.type == m.type && d.help == m.help && d.unit == m.unit)
      return &d;
  return nullptr;
}

std::vector<metadata_record> metadata_store::receive(const std::vector<metric_metadata>& entries,
                                                     int64_t seen_ms) {
  std::vector<metadata_record> out;
  // A sender may repeat an entry within a request: log it once.
  std::set<std::tuple<std::string_view, metric_type, std::string_view, std::string_view>> logged;
  for (const auto& m : entries) {
    auto it = families_.find(m.metric_family_name);
    if (it != families_.end()) {
      if (auto* d = find(it->second, m)) {
        d->seen_ms = std::max(d->seen_ms, seen_ms);
        it->second.newest_ms = std::max(it->second.newest_ms, seen_ms);
        // Wrap-free: both are receipt times of this process's clock.
        bool due = seen_ms - d->logged_ms >= opts_.relog_after_ms;
        settle(it->second);
        if (!due)
          continue;
      }
    }
    if (logged.emplace(m.metric_family_name, m.type, m.help, m.unit).second)
      out.push_back({seen_ms, m});
  }
  return out;
}

void metadata_store::apply(const metadata_record& r) {
  const auto& m = r.metadata;
  auto it = families_.find(m.metric_family_name);
  const bool created = it == families_.end();
  if (created) {
    it = families_.emplace(m.metric_family_name, family{}).first;
    bytes_ += family_overhead + m.metric_family_name.size();
  }
  auto& f = it->second;
  if (auto* d = find(f, m)) {
    d->seen_ms = std::max(d->seen_ms, r.seen_ms);
    d->logged_ms = std::max(d->logged_ms, r.seen_ms);
  } else {
    description nd{m.type, m.help, m.unit, r.seen_ms, r.seen_ms};
    // The order list() answers in: (type, help, unit).
    auto pos = std::lower_bound(f.descriptions.begin(), f.descriptions.end(), nd, [](const auto& a, const auto& b) {
      return std::tie(a.type, a.help, a.unit) < std::tie(b.type, b.help, b.unit);
    });
    bytes_ += cost(nd);
    descriptions_ += 1;
    f.descriptions.insert(pos, std::move(nd));
  }
  f.newest_ms = created ? r.seen_ms : std::max(f.newest_ms, r.seen_ms);
  settle(f);
  enforce_max_bytes();
}

void metadata_store::settle(family& f) {
  auto drop = [&](std::vector<description>::iterator d) {
    bytes_ -= cost(*d);
    descriptions_ -= 1;
    evicted_ += 1;
    return f.descriptions.erase(d);
  };
  // The newest description is never superseded, so a family never empties.
  // The difference is taken unsigned: times come from WAL records and
  // peers, and newest - seen overflows int64 for extreme ones (a fuzz
  // finding); with newest >= seen it is exact in uint64.
  auto superseded = [&](int64_t seen) {
    return f.newest_ms > seen
           && static_cast<uint64_t>(f.newest_ms) - static_cast<uint64_t>(seen)
                > static_cast<uint64_t>(std::max<int64_t>(opts_.superseded_after_ms, 0));
  };
  for (auto d = f.descriptions.begin(); d != f.descriptions.end();)
    d = superseded(d->seen_ms) ? drop(d) : d + 1;
  while (f.descriptions.size() > std::max<size_t>(opts_.max_per_family, 1)) {
    auto oldest = std::min_element(f.descriptions.begin(), f.descriptions.end(),
                                   [](const auto& a, const auto& b) { return a.seen_ms < b.seen_ms; });
    drop(oldest);
  }
}

void metadata_store::erase_family(family_map::iterator it) {
  for (const auto& d : it->second.descriptions)
    bytes_ -= cost(d);
  descriptions_ -= it->second.descriptions.size();
  bytes_ -= family_overhead + it->first.size();
  families_.erase(it);
}

void metadata_store::enforce_max_bytes() {
  if (bytes_ <= opts_.max_bytes)
    return;
  // Evicting in bulk down to 90% keeps a store at its limit from sorting
  // all families again for every new one.
  std::vector<std::pair<int64_t, family_map::iterator>> by_age;
  by_age.reserve(families_.size());
  for (auto it = families_.begin(); it != families_.end(); ++it)
    by_age.emplace_back(it->second.newest_ms, it);
  std::sort(by_age.begin(), by_age.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second->first < b.second->first;
  });
  const uint64_t target = opts_.max_bytes / 10 * 9;
  for (auto& [newest, it] : by_age) {
    if (bytes_ <= target)
      break;
    evicted_ += it->second.descriptions.size();
    erase_family(it);
  }
}

template <class Fn>
void metadata_store::for_families(std::string_view metric, int64_t limit, Fn fn) const {
  if (limit == 0)
    return;
  if (!metric.empty()) {
    if (auto it = families_.find(metric); it != families_.end())
      fn(it->first, it->second);
    return;
  }
  int64_t families = 0;
  for (const auto& [name, f] : families_) {
    if (limit > 0 && families == limit)
      break;
    fn(name, f);
    ++families;
  }
}

std::vector<metric_metadata> metadata_store::list(std::string_view metric, int64_t limit,
                                                  int64_t limit_per_metric) const {
  std::vector<metric_metadata> out;
  for_families(metric, limit, [&](const std::string& name, const family& f) {
    size_t n = f.descriptions.size();
    if (limit_per_metric > 0)
      n = std::min(n, static_cast<size_t>(limit_per_metric));
    for (size_t i = 0; i < n; ++i) {
      const auto& d = f.descriptions[i];
      out.push_back({name, d.type, d.help, d.unit});
    }
  });
  return out;
}

size_t metadata_store::expire_before(int64_t t) {
  size_t n = 0;
  for (auto it = families_.begin(); it != families_.end();) {
    auto next = std::next(it);
    if (it->second.newest_ms < t) {
      erase_family(it);
      ++n;
    }
    it = next;
  }
  return n;
}

uint64_t metadata_store::entries(std::string& out, std::string_view metric, int64_t limit) const {
  uint64_t n = 0;
  metadata_record r;
  for_families(metric, limit, [&](const std::string& name, const family& f) {
    r.metadata.metric_family_name = name;
    for (const auto& d : f.descriptions) {
      r.seen_ms = d.seen_ms;
      r.metadata.type = d.type;
      r.metadata.help = d.help;
      r.metadata.unit = d.unit;
      append_metadata_entry(out, r);
      ++n;
    }
  });
  return n;
}

}  // namespace nl::storage

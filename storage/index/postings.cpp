#include "storage/index/postings.hpp"

#include <algorithm>
#include <iterator>
#include <queue>
#include <set>

namespace nl::storage {

postings_list intersect(const postings_list& a, const postings_list& b) {
  postings_list out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

postings_list merge(const postings_list& a, const postings_list& b) {
  postings_list out;
  out.reserve(std::max(a.size(), b.size()));
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

postings_list merge(const std::vector<const postings_list*>& lists) {
  using cursor = std::pair<postings_list::const_iterator, postings_list::const_iterator>;
  auto later = [](const cursor& x, const cursor& y) { return *x.first > *y.first; };
  std::priority_queue<cursor, std::vector<cursor>, decltype(later)> heap{later};
  size_t total = 0;
  for (const auto* l : lists) {
    if (l != nullptr && !l->empty()) {
      heap.emplace(l->begin(), l->end());
      total += l->size();
    }
  }
  postings_list out;
  out.reserve(total);
  while (!heap.empty()) {
    auto c = heap.top();
    heap.pop();
    if (out.empty() || out.back() != *c.first)
      out.push_back(*c.first);
    if (++c.first != c.second)
      heap.push(c);
  }
  return out;
}

postings_list subtract(const postings_list& a, const postings_list& b) {
  postings_list out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

bool intersects(const postings_list& a, const postings_list& b) {
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i == *j)
      return true;
    if (*i < *j)
      i = std::lower_bound(i, a.end(), *j);
    else
      j = std::lower_bound(j, b.end(), *i);
  }
  return false;
}

void postings_index::add(uint64_t ref, const label_set& ls) {
  for (const auto& lbl : ls)
    add_pair(ref, lbl.name, lbl.value);
  all_.add(ref);
}

void postings_index::add_pair(uint64_t ref, std::string_view name, std::string_view value) {
  list_for(name, value).add(ref);
}

compact_postings& postings_index::list_for(std::string_view name, std::string_view value) {
  auto name_it = index_.find(name);
  if (name_it == index_.end())
    name_it = index_.emplace(std::string{name}, value_map{}).first;
  auto& values = name_it->second;
  auto value_it = values.find(value);
  if (value_it == values.end())
    value_it = values.emplace(std::string{value}, compact_postings{}).first;
  return value_it->second;
}

void postings_index::remove(const std::vector<removal>& series) {
  if (series.empty())
    return;
  // Group the refs by list; a value string's address identifies its list.
  std::map<const std::string*, std::pair<const std::string*, postings_list>> by_value;
  postings_list gone;
  gone.reserve(series.size());
  for (const auto& s : series) {
    gone.push_back(s.ref);
    for (const auto& l : *s.labels) {
      auto& entry = by_value[l.value];
      entry.first = l.name;
      entry.second.push_back(s.ref);
    }
  }
  std::sort(gone.begin(), gone.end());
  all_.subtract(gone);
  // Look everything up before erasing anything: the interned strings are
  // the keys about to be erased.
  struct target {
    std::map<std::string, value_map, std::less<>>::iterator name_it;
    value_map::iterator value_it;
  };
  std::vector<target> emptied;
  for (auto& [value, entry] : by_value) {
    auto name_it = index_.find(*entry.first);
    if (name_it == index_.end())
      continue;
    auto value_it = name_it->second.find(*value);
    if (value_it == name_it->second.end())
      continue;
    auto& refs = entry.second;
    std::sort(refs.begin(), refs.end());
    value_it->second.subtract(refs);
    if (value_it->second.empty())
      emptied.push_back({name_it, value_it});
  }
  std::set<const std::string*> names_touched;
  for (auto& t : emptied) {
    names_touched.insert(&t.name_it->first);
    t.name_it->second.erase(t.value_it);
  }
  for (auto it = index_.begin(); it != index_.end();) {
    if (it->second.empty() && names_touched.count(&it->first) > 0)
      it = index_.erase(it);
    else
      ++it;
  }
}

const postings_index::value_map::value_type* postings_index::find(std::string_view name, std::string_view value,
                                                                  const std::string** interned_name) const {
  auto name_it = index_.find(name);
  if (name_it == index_.end())
    return nullptr;
  auto value_it = name_it->second.find(value);
  if (value_it == name_it->second.end())
    return nullptr;
  if (interned_name != nullptr)
    *interned_name = &name_it->first;
  return &*value_it;
}

std::optional<interned_label> postings_index::interned(std::string_view name, std::string_view value) const {
  const std::string* n = nullptr;
  const auto* e = find(name, value, &n);
  if (e == nullptr)
    return std::nullopt;
  return interned_label{n, &e->first};
}

std::optional<postings_list> postings_index::get(std::string_view name, std::string_view value) const {
  const auto* e = find(name, value);
  if (e == nullptr)
    return std::nullopt;
  return e->second.decode();
}

size_t postings_index::count(std::string_view name, std::string_view value) const {
  const auto* e = find(name, value);
  return e == nullptr ? 0 : e->second.size();
}

postings_list postings_index::matching(const matcher& m, bool want) const {
  // Literal sets: the matching values are known without scanning.
  const std::vector<std::string>* literals = nullptr;
  std::vector<std::string> one;
  bool positive = m.type() == match_type::equal || m.type() == match_type::regex;
  if (positive == want) {
    if (m.type() == match_type::equal || m.type() == match_type::not_equal) {
      one.push_back(m.value());
      literals = &one;
    } else if (!m.set_matches().empty()) {
      literals = &m.set_matches();
    }
  }
  auto name_it = index_.find(m.name());
  if (name_it == index_.end())
    return {};
  std::vector<const compact_postings*> found;
  if (literals != nullptr) {
    for (const auto& v : *literals)
      if (auto value_it = name_it->second.find(v); value_it != name_it->second.end())
        found.push_back(&value_it->second);
  } else {
    for (const auto& [value, refs] : name_it->second)
      if (m.matches(value) == want)
        found.push_back(&refs);
  }
  if (found.size() == 1)
    return found[0]->decode();
  std::vector<postings_list> decoded;
  decoded.reserve(found.size());
  for (const auto* c : found)
    decoded.push_back(c->decode());
  std::vector<const postings_list*> lists;
  lists.reserve(decoded.size());
  for (const auto& l : decoded)
    lists.push_back(&l);
  return merge(lists);
}

postings_list postings_index::select(const matcher_list& ms) const {
  return select_postings(
    ms, [this](const matcher& m, bool want) { return matching(m, want); }, [this] { return all_.decode(); });
}

std::vector<std::string> postings_index::label_names() const {
  std::vector<std::string> out;
  out.reserve(index_.size());
  for (const auto& [name, values] : index_)
    out.push_back(name);
  return out;
}

std::vector<std::string> postings_index::label_values(std::string_view name) const {
  std::vector<std::string> out;
  auto it = index_.find(name);
  if (it == index_.end())
    return out;
  out.reserve(it->second.size());
  for (const auto& [value, refs] : it->second)
    out.push_back(value);
  return out;
}

std::vector<std::string> postings_index::label_names(const postings_list& refs) const {
  std::vector<std::string> out;
  if (refs.empty())
    return out;
  for (const auto& [name, values] : index_) {
    for (const auto& [value, list] : values) {
      if (list.intersects(refs)) {
        out.push_back(name);
        break;
      }
    }
  }
  return out;
}

std::vector<std::string> postings_index::label_values(std::string_view name,
                                                      const postings_list& refs) const {
  std::vector<std::string> out;
  auto it = index_.find(name);
  if (it == index_.end() || refs.empty())
    return out;
  for (const auto& [value, list] : it->second)
    if (list.intersects(refs))
      out.push_back(value);
  return out;
}

}  // namespace nl::storage

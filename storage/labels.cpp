#include "storage/labels.hpp"

#include <algorithm>

#include "storage/quote.hpp"

namespace nl::storage {

label_set label_set::from_unsorted(std::vector<label> labels) {
  std::stable_sort(labels.begin(), labels.end(),
                   [](const label& a, const label& b) { return a.name < b.name; });
  std::vector<label> out;
  out.reserve(labels.size());
  for (auto& l : labels) {
    if (!out.empty() && out.back().name == l.name)
      out.pop_back();
    if (!l.value.empty())
      out.push_back(std::move(l));
  }
  return label_set{std::move(out)};
}

std::string_view label_set::get(std::string_view name) const {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const label& l, std::string_view n) { return l.name < n; });
  if (it != labels_.end() && it->name == name)
    return it->value;
  return {};
}

bool label_set::has(std::string_view name) const { return !get(name).empty(); }

uint64_t label_set::hash() const {
  label_hasher h;
  for (const auto& l : labels_)
    h.add(l.name, l.value);
  return h.value();
}

uint64_t label_set::hash_for(const std::vector<std::string>& names, bool on) const {
  label_hasher h;
  for (const auto& l : labels_) {
    bool listed = std::binary_search(names.begin(), names.end(), l.name);
    if (listed == on)
      h.add(l.name, l.value);
  }
  return h.value();
}

int label_set::compare(const label_set& a, const label_set& b) {
  size_t n = std::min(a.labels_.size(), b.labels_.size());
  for (size_t i = 0; i < n; ++i) {
    const auto& x = a.labels_[i];
    const auto& y = b.labels_[i];
    if (int c = x.name.compare(y.name))
      return c < 0 ? -1 : 1;
    if (int c = x.value.compare(y.value))
      return c < 0 ? -1 : 1;
  }
  if (a.labels_.size() == b.labels_.size())
    return 0;
  return a.labels_.size() < b.labels_.size() ? -1 : 1;
}

std::string label_set::to_string() const {
  std::string out;
  std::string_view name = metric_name();
  out += name;
  out += '{';
  bool first = true;
  for (const auto& l : labels_) {
    if (l.name == metric_name_label)
      continue;
    if (!first)
      out += ", ";
    first = false;
    out += l.name;
    out += '=';
    out += go_quote(l.value);  // Prometheus' labels.String()
  }
  out += '}';
  return out;
}

label_set_builder& label_set_builder::set(std::string_view name, std::string_view value) {
  if (value.empty())
    return del(name);
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const label& l, std::string_view n) { return l.name < n; });
  if (it != labels_.end() && it->name == name)
    it->value = std::string(value);
  else
    labels_.insert(it, label{std::string(name), std::string(value)});
  return *this;
}

label_set_builder& label_set_builder::del(std::string_view name) {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const label& l, std::string_view n) { return l.name < n; });
  if (it != labels_.end() && it->name == name)
    labels_.erase(it);
  return *this;
}

label_set_builder& label_set_builder::keep(const std::vector<std::string>& names) {
  labels_.erase(std::remove_if(labels_.begin(), labels_.end(),
                               [&](const label& l) {
                                 return std::find(names.begin(), names.end(), l.name) == names.end();
                               }),
                labels_.end());
  return *this;
}

label_set label_set_builder::build() const { return label_set{labels_}; }

}  // namespace nl::storage

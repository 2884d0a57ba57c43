#include "storage/block/label_views.hpp"

#include <algorithm>

namespace nl::storage {

void label_views::append(const label_views& from, size_t i) {
  parts.insert(parts.end(), from.parts.begin() + static_cast<std::ptrdiff_t>(from.begin_of(i)),
               from.parts.begin() + static_cast<std::ptrdiff_t>(from.ends[i]));
  ends.push_back(static_cast<uint32_t>(parts.size()));
}

int compare(const label_views& a, size_t i, const label_views& b, size_t j) {
  size_t x = a.begin_of(i), x_end = a.ends[i];
  size_t y = b.begin_of(j), y_end = b.ends[j];
  // Names and values alternate, so comparing part by part compares name,
  // then value, label by label.
  for (; x < x_end && y < y_end; ++x, ++y)
    if (int c = a.parts[x].compare(b.parts[y]))
      return c < 0 ? -1 : 1;
  if (x == x_end && y == y_end)
    return 0;
  return x == x_end ? -1 : 1;
}

void sort_distinct(label_views& v) {
  bool sorted = true;
  for (size_t i = 1; i < v.size() && sorted; ++i)
    sorted = compare(v, i - 1, v, i) < 0;
  if (sorted)
    return;
  std::vector<size_t> order(v.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&v](size_t a, size_t b) { return compare(v, a, v, b) < 0; });
  label_views out;
  for (size_t k = 0; k < order.size(); ++k)
    if (k == 0 || compare(v, order[k - 1], v, order[k]) != 0)
      out.append(v, order[k]);
  v = std::move(out);
}

label_views union_of(const label_views& a, const label_views& b) {
  label_views out;
  out.parts.reserve(std::max(a.parts.size(), b.parts.size()));
  out.ends.reserve(std::max(a.size(), b.size()));
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    int c = compare(a, i, b, j);
    if (c <= 0) {
      out.append(a, i++);
      j += c == 0;
    } else {
      out.append(b, j++);
    }
  }
  for (; i < a.size(); ++i)
    out.append(a, i);
  for (; j < b.size(); ++j)
    out.append(b, j);
  return out;
}

std::vector<label_set> to_label_sets(const label_views& v) {
  std::vector<label_set> out;
  out.reserve(v.size());
  std::vector<label> labels;
  for (size_t i = 0; i < v.size(); ++i) {
    labels.clear();
    labels.reserve((v.ends[i] - v.begin_of(i)) / 2);
    for (size_t k = v.begin_of(i); k + 1 < v.ends[i]; k += 2)
      labels.push_back({std::string{v.parts[k]}, std::string{v.parts[k + 1]}});
    out.emplace_back(std::move(labels));
    labels = {};
  }
  return out;
}

}  // namespace nl::storage

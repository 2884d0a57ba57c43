#include "storage/index/label_stats.hpp"

#include <algorithm>

namespace nl::storage {

namespace {

// a ranks before b in a top list: larger value first, ties by name.
bool ranks_before(const cardinality_stat& a, const cardinality_stat& b) {
  return a.value != b.value ? a.value > b.value : a.name < b.name;
}

// The k best entries seen so far. A heap whose front is the weakest entry,
// so most candidates are turned away by one comparison of counts, before
// their name is built (pair names are concatenated for the few that enter).
class top_list {
 public:
  explicit top_list(size_t k) : k_(std::max<size_t>(k, 1)) {}

  /// Whether an entry with this value may enter (ties are decided by name).
  bool may_enter(uint64_t value) const { return heap_.size() < k_ || value >= heap_.front().value; }

  void offer(uint64_t value, std::string name) {
    cardinality_stat c{std::move(name), value};
    if (heap_.size() < k_) {
      heap_.push_back(std::move(c));
      std::push_heap(heap_.begin(), heap_.end(), ranks_before);
      return;
    }
    if (!ranks_before(c, heap_.front()))
      return;
    std::pop_heap(heap_.begin(), heap_.end(), ranks_before);
    heap_.back() = std::move(c);
    std::push_heap(heap_.begin(), heap_.end(), ranks_before);
  }

  /// The entries, best first.
  std::vector<cardinality_stat> take() {
    std::sort(heap_.begin(), heap_.end(), ranks_before);
    return std::move(heap_);
  }

 private:
  size_t k_;
  std::vector<cardinality_stat> heap_;
};

// Usable entries of a list that came over the wire with unequal columns.
size_t size_of(const label_value_counts& l) { return std::min(l.values.size(), l.series.size()); }

// Position in one shard's sorted values of one name.
struct value_cursor {
  const label_value_counts* list;
  size_t i;
  std::string_view value() const { return list->values[i]; }
};

// Position in one shard's sorted names.
struct name_cursor {
  const std::vector<label_value_counts>* names;
  size_t i;
  const label_value_counts& at() const { return (*names)[i]; }
};

// Min-heaps over the cursors (std heaps keep the largest at the front).
bool value_after(const value_cursor& a, const value_cursor& b) { return a.value() > b.value(); }
bool name_after(const name_cursor& a, const name_cursor& b) { return a.at().name > b.at().name; }

}  // namespace

tsdb_status merge_head_cardinality(const std::vector<head_cardinality>& parts, size_t limit,
                                   std::string_view metric_label) {
  tsdb_status out;
  top_list metrics{limit}, value_counts{limit}, bytes{limit}, pairs{limit};
  std::vector<name_cursor> names;
  for (const auto& p : parts) {
    out.num_series += p.num_series;
    out.chunk_count += p.num_chunks;
    out.min_time = std::min(out.min_time, p.min_time);
    out.max_time = std::max(out.max_time, p.max_time);
    if (!p.labels.empty())
      names.push_back({&p.labels, 0});
  }
  std::make_heap(names.begin(), names.end(), name_after);
  std::vector<value_cursor> values;
  std::string pair_name;
  while (!names.empty()) {
    // Every shard's list of the smallest name left.
    const std::string& name = names.front().at().name;
    values.clear();
    while (!names.empty() && names.front().at().name == name) {
      std::pop_heap(names.begin(), names.end(), name_after);
      auto& c = names.back();
      if (size_of(c.at()) > 0)
        values.push_back({&c.at(), 0});
      if (++c.i < c.names->size())
        std::push_heap(names.begin(), names.end(), name_after);
      else
        names.pop_back();
    }
    // `name` lives in a part, not in a cursor: still valid.
    if (values.empty() || name.empty())
      continue;  // Prometheus skips "" (its all-postings key)
    const std::string& n = name;
    const bool is_metric = n == metric_label;
    uint64_t distinct = 0;
    uint64_t value_bytes = 0;
    std::make_heap(values.begin(), values.end(), value_after);
    while (!values.empty()) {
      std::string_view v = values.front().value();
      uint64_t series = 0;
      while (!values.empty() && values.front().value() == v) {
        std::pop_heap(values.begin(), values.end(), value_after);
        auto& c = values.back();
        series += c.list->series[c.i];
        if (++c.i < size_of(*c.list))
          std::push_heap(values.begin(), values.end(), value_after);
        else
          values.pop_back();
      }
      if (series == 0)
        continue;  // not a pair of any series
      distinct += 1;
      value_bytes += v.size();
      if (is_metric && metrics.may_enter(series))
        metrics.offer(series, std::string{v});
      if (pairs.may_enter(series)) {
        pair_name.assign(n).append(1, '=').append(v);
        pairs.offer(series, pair_name);
      }
    }
    if (distinct == 0)
      continue;
    out.num_label_pairs += distinct;
    value_counts.offer(distinct, n);
    bytes.offer(value_bytes, n);
  }
  out.series_count_by_metric_name = metrics.take();
  out.label_value_count_by_label_name = value_counts.take();
  out.memory_in_bytes_by_label_name = bytes.take();
  out.series_count_by_label_value_pair = pairs.take();
  return out;
}

}  // namespace nl::storage

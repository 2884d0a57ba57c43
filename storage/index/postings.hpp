#pragma once
// Inverted index of the head: label name -> value -> sorted series refs
// (kept compact, compact_postings.hpp), and the set operations that PromQL
// selectors need. It also interns the label strings: removals name a
// series' labels by the index's own keys.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/index/compact_postings.hpp"
#include "storage/labels.hpp"
#include "storage/matcher.hpp"

namespace nl::storage {

/// Refs in both lists.
postings_list intersect(const postings_list& a, const postings_list& b);
/// Refs in either list.
postings_list merge(const postings_list& a, const postings_list& b);
/// Refs in any of the lists (k-way merge; null entries are skipped).
postings_list merge(const std::vector<const postings_list*>& lists);
/// Refs in `a` but not in `b`.
postings_list subtract(const postings_list& a, const postings_list& b);
/// Whether the lists share a ref (stops at the first).
bool intersects(const postings_list& a, const postings_list& b);

/// The refs of the series that match every matcher, with Prometheus'
/// PostingsForMatchers semantics, over any index: `matching(m, want)` is
/// the union of the lists of the values v of m.name() with m.matches(v) ==
/// want, and `all()` every ref. A matcher that rejects "" needs the label:
/// intersect with the series whose value it accepts. One that accepts ""
/// also takes series without the label: subtract the series whose value it
/// rejects. An empty matcher list selects every series.
template <class Matching, class All>
postings_list select_postings(const matcher_list& ms, Matching&& matching, All&& all) {
  std::vector<postings_list> its;
  std::vector<postings_list> nots;
  for (const auto& m : ms) {
    if (m.matches_empty()) {
      nots.push_back(matching(m, false));
    } else {
      its.push_back(matching(m, true));
      if (its.back().empty())
        return {};
    }
  }
  postings_list out;
  if (its.empty()) {
    out = all();
  } else {
    std::sort(its.begin(), its.end(),
              [](const postings_list& a, const postings_list& b) { return a.size() < b.size(); });
    out = std::move(its[0]);
    for (size_t i = 1; i < its.size() && !out.empty(); ++i)
      out = intersect(out, its[i]);
  }
  for (const auto& n : nots) {
    if (out.empty())
      break;
    out = subtract(out, n);
  }
  return out;
}

/// A label whose strings live in a postings_index; valid until the last
/// series carrying it is removed from that index.
struct interned_label {
  const std::string* name;
  const std::string* value;
};

/// Single-threaded; the owner (one head) serialises access.
class postings_index {
 public:
  /// Indexes `ref` under each label of `ls` (interned() then names its
  /// labels for a removal). REQUIRES: ref is not yet indexed. A ref
  /// below a list's largest costs a rewrite of that list (the head adds
  /// refs in increasing order: new series, replay, snapshot load).
  void add(uint64_t ref, const label_set& ls);

  /// For owners that index many series under few pairs and keep each
  /// pair's list at hand (the head: its pair table, its snapshot load):
  /// the list of name=value, created empty when absent, to add() refs to
  /// directly, and add_series() once per series. Each list must end up
  /// with a ref: an empty one would list its value as present. The
  /// reference stays valid until that pair's entry is removed.
  compact_postings& list_for(std::string_view name, std::string_view value);
  void add_series(uint64_t ref) { all_.add(ref); }

  /// A series to drop: its ref and its labels as interned() names them.
  struct removal {
    uint64_t ref;
    const std::vector<interned_label>* labels;
  };
  /// Drops the series in one pass per touched list, so removing many
  /// series of a large list costs one rewrite of it, not one per series.
  /// The removed series' interned pointers may dangle afterwards.
  void remove(const std::vector<removal>& series);

  /// The index's own strings of name=value, or nullopt when no series has
  /// that pair.
  std::optional<interned_label> interned(std::string_view name, std::string_view value) const;

  /// The list of name=value (decoded), or nullopt.
  std::optional<postings_list> get(std::string_view name, std::string_view value) const;
  /// How many series have name=value (0 when none).
  size_t count(std::string_view name, std::string_view value) const;
  /// Every indexed ref.
  postings_list all() const { return all_.decode(); }
  size_t size() const { return all_.size(); }

  /// Refs of the series that match every matcher, with Prometheus'
  /// PostingsForMatchers semantics: a matcher that accepts "" also accepts
  /// series without that label (its complement is subtracted). An empty
  /// list selects every series.
  postings_list select(const matcher_list& ms) const;

  /// Sorted label names of indexed series.
  std::vector<std::string> label_names() const;
  /// Sorted label names of the series in `refs`.
  std::vector<std::string> label_names(const postings_list& refs) const;
  /// Sorted values of `name` over indexed series.
  std::vector<std::string> label_values(std::string_view name) const;
  /// Sorted values of `name` over the series in `refs`.
  std::vector<std::string> label_values(std::string_view name, const postings_list& refs) const;

 private:
  using value_map = std::map<std::string, compact_postings, std::less<>>;
  void add_pair(uint64_t ref, std::string_view name, std::string_view value);
  /// The entry of name=value (its value string and list), or nullptr;
  /// `interned_name`, when given, gets the index's own name string.
  const value_map::value_type* find(std::string_view name, std::string_view value,
                                    const std::string** interned_name = nullptr) const;
  /// Union of the lists of values of `name` for which m.matches(v) ==
  /// `want`; uses direct lookups when the matching values are literals.
  postings_list matching(const matcher& m, bool want) const;

  std::map<std::string, value_map, std::less<>> index_;
  compact_postings all_;  // a byte or two per series, not eight
};

}  // namespace nl::storage

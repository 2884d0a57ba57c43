#pragma once
// label_views: the label sets of many series, in label order, as string
// views into blocks' symbol tables. /api/v1/series over a day of blocks
// finds the same series in every block: building a label set of strings
// per series and block, then merging the lists by comparing those, was
// most of the request. A block lists its matching series as views
// (block::series_views), the lists of all blocks are merged comparing the
// views in place (union_of), and each distinct series is built once
// (to_label_sets).
//
// The views are valid while the blocks they point into are held.
#include <cstdint>
#include <string_view>
#include <vector>

#include "storage/labels.hpp"

namespace nl::storage {

struct label_views {
  /// name, value, name, value, ... of every series, one after the other.
  std::vector<std::string_view> parts;
  /// Series i is parts[i == 0 ? 0 : ends[i - 1], ends[i]).
  std::vector<uint32_t> ends;

  size_t size() const { return ends.size(); }
  size_t begin_of(size_t i) const { return i == 0 ? 0 : ends[i - 1]; }
  /// Appends series `i` of `from`.
  void append(const label_views& from, size_t i);
};

/// label_set::compare for series `i` of `a` and `j` of `b`: by label
/// name, then value, label by label; a prefix first. -1, 0 or 1.
int compare(const label_views& a, size_t i, const label_views& b, size_t j);

/// Makes `v` sorted and distinct by compare(). A block's list already is
/// (its series are numbered in label order): one pass checks it.
void sort_distinct(label_views& v);

/// The union of `a` and `b`, each sorted and distinct by compare(): sorted
/// and distinct, one comparison a step.
label_views union_of(const label_views& a, const label_views& b);

/// A label set per series of `v`, in order.
std::vector<label_set> to_label_sets(const label_views& v);

}  // namespace nl::storage

#pragma once
// The data of one series as a read hands it out, from the head or a block.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "storage/labels.hpp"
#include "storage/chunk/chunk.hpp"

namespace nl::storage {

/// Copied labels and shared immutable chunks in time order. Safe to read on
/// any thread while the head keeps appending or a block is removed.
struct series_snapshot {
  uint64_t ref = 0;  ///< head: the series ref; block: the series' number
  label_set labels;
  std::vector<std::shared_ptr<const chunk>> chunks;
};

/// Merges answers of one select from several sources (head shards,
/// blocks): each part sorted by labels; series with equal labels become one
/// with their chunks in time order (a chunk that starts at or before the
/// previous one's end still decodes right: decode_chunks drops samples not
/// after the previous chunk's last).
std::vector<series_snapshot> merge_series(std::vector<std::vector<series_snapshot>> parts);

/// Where one page of a paged select starts and ends. Remote read pages
/// through answers too large to hold at once: each page is the next prefix
/// of the answer in label order, resuming after the last series of the
/// page before.
struct page_limits {
  /// Only series whose labels sort after these; empty: from the first.
  label_set after;
  /// A page ends after this many series (at least one)...
  size_t max_series = std::numeric_limits<size_t>::max();
  /// ...or as soon as its chunks hold this many bytes. A page always
  /// takes at least one series, however large.
  size_t max_bytes = std::numeric_limits<size_t>::max();
};

/// One page: series sorted by labels, and whether series sorting after the
/// last of them may follow (then the next page starts after it).
struct series_page {
  std::vector<series_snapshot> series;
  bool more = false;
};

/// Merges pages of one paged select from several sources (head shards,
/// blocks), each the prefix of its source's answer: the union is complete
/// only up to the smallest last series among the sources that have more,
/// so series after it are dropped (a later page brings them again), and
/// series with equal labels are joined as merge_series() does. `more` is
/// whether any source had more.
series_page merge_pages(std::vector<series_page> parts);

/// merge_pages' first step, for mergers of their own (cluster replicas):
/// drops from every part the series after the smallest last series among
/// the parts that have more; returns whether any part has more.
bool trim_pages(std::vector<series_page>& parts);

}  // namespace nl::storage

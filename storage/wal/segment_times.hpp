#pragma once
// Which WAL segments a checkpoint after a cut should replace. A checkpoint
// of segments <= N keeps their samples at or after the cut (and the series
// the head still has); everything else in them goes. Replacing every
// segment up to the newest (what a checkpoint did first) rewrote the head's
// whole newer half into the checkpoint at every cut: at 1 M series, tens of
// millions of samples and seconds of a core each time.
//
// So the WAL writer notes the newest sample time of each segment it writes
// (and closes its segment at every cut, so a segment spans about one cut
// interval), and a checkpoint replaces the longest run of oldest segments
// that hold only samples older than the cut: usually nothing but series
// records is kept. The WAL stays bounded by the head whatever the timestamps (one far
// future sample must not pin every later segment): a segment that was
// already closed at the previous checkpoint is replaced at this one in any
// case, as every segment was before. Segments older than the writer
// (written before a restart) count as old: their times are unknown.
//
// Thread-safety: none; the WAL writer owns it.
#include <algorithm>
#include <cstdint>
#include <map>

namespace nl::storage {

class segment_times {
 public:
  /// `first`: the first segment this process writes; `checkpointed`: the
  /// newest checkpoint's segment number when it started (0: none).
  segment_times(uint64_t first, uint64_t checkpointed) : first_(first), last_bound_(checkpointed) {}

  /// Records in `segment` hold samples up to `max_t` (ms).
  void note(uint64_t segment, int64_t max_t) {
    auto [it, added] = max_t_.emplace(segment, max_t);
    if (!added && it->second < max_t)
      it->second = max_t;
  }

  /// Whether every sample noted in `segment` is older than `before`.
  bool only_older(uint64_t segment, int64_t before) const {
    auto it = max_t_.find(segment);
    return it == max_t_.end() || it->second < before;
  }

  /// The segment a checkpoint for a cut at `before` goes up to, with
  /// segments < `current` closed: the newest k such that all segments <= k
  /// hold only samples older than `before`, or, if newer, the newest
  /// segment already closed at the previous call. 0 when that is not newer
  /// than the previous bound (nothing to replace). Forgets the segments up
  /// to the bound returned.
  uint64_t bound(uint64_t current, int64_t before) {
    uint64_t upto = first_ > 0 ? first_ - 1 : 0;  // unknown times: old
    for (uint64_t k = std::max(first_, last_bound_ + 1); k < current && only_older(k, before); ++k)
      upto = k;
    upto = std::max(upto, closed_at_last_call_);
    closed_at_last_call_ = current > 0 ? current - 1 : 0;
    if (upto <= last_bound_)
      return 0;
    last_bound_ = upto;
    max_t_.erase(max_t_.begin(), max_t_.upper_bound(upto));
    return upto;
  }

 private:
  std::map<uint64_t, int64_t> max_t_;  // segments with samples, newest sample time
  uint64_t first_;
  uint64_t last_bound_;
  uint64_t closed_at_last_call_ = 0;
};

}  // namespace nl::storage

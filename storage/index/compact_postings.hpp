#pragma once
// One postings list of the head's index, kept small: the gaps between its
// sorted refs as uvarints (the first ref is its gap from 0). The head
// allocates refs in increasing order, so a new series' ref is appended in
// a byte or two where a vector of refs took eight bytes plus growth slack:
// with a dozen labels per series, the postings were a tenth of the head.
// Anything but an append (a replayed ref below the newest, a removal)
// rewrites the list, once per call. Every skip_every-th ref is also noted
// with its byte offset, so that intersects() can jump over the parts of a
// long list below the refs it looks for (half a byte per entry).
//
// Thread-safety: none; the owning index serialises access.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/coding.hpp"

namespace nl::storage {

/// Series refs, sorted ascending, without duplicates.
using postings_list = std::vector<uint64_t>;

class compact_postings {
 public:
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  /// Encoded bytes of the refs.
  size_t bytes() const { return gaps_.size(); }

  /// Adds `ref`. REQUIRES: not in the list yet.
  void add(uint64_t ref);
  /// Removes the refs of `sorted` (ascending) that are in the list.
  void subtract(const postings_list& sorted);

  /// The refs, ascending.
  postings_list decode() const;
  /// Calls fn(ref) for each ref in ascending order while it returns true.
  template <class Fn>
  void for_each(Fn&& fn) const {
    std::string_view in = gaps_;
    uint64_t ref = 0;
    uint64_t gap = 0;
    while (!in.empty() && get_uvarint(in, gap)) {
      ref += gap;
      if (!fn(ref))
        return;
    }
  }
  /// Whether the list shares a ref with `sorted` (ascending); stops at the
  /// first. Jumps through the list: about |sorted| * (log + skip_every)
  /// steps at most, not the list's length.
  bool intersects(const postings_list& sorted) const;

  static constexpr uint64_t skip_every = 64;

 private:
  struct skip {
    uint64_t ref;     // the (skip_every * k)-th ref
    uint64_t offset;  // where the gap after it starts in gaps_
  };

  void append(uint64_t ref);
  void assign(const postings_list& refs);

  std::string gaps_;
  std::vector<skip> skips_;
  uint64_t last_ = 0;   // the largest ref, valid when count_ > 0
  uint64_t count_ = 0;
};

}  // namespace nl::storage

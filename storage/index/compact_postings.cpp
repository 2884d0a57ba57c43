#include "storage/index/compact_postings.hpp"

#include <algorithm>
#include <iterator>

namespace nl::storage {

void compact_postings::append(uint64_t ref) {
  // Byte by byte: push_back stays inline, where put_uvarint's
  // std::string::append is a library call per gap (a load of a million
  // series' postings spent ~4% in it).
  uint64_t gap = ref - (count_ == 0 ? 0 : last_);
  for (; gap >= 0x80; gap >>= 7)
    gaps_.push_back(static_cast<char>(gap | 0x80));
  gaps_.push_back(static_cast<char>(gap));
  last_ = ref;
  if (++count_ % skip_every == 0)
    skips_.push_back({ref, gaps_.size()});
}

void compact_postings::add(uint64_t ref) {
  if (count_ == 0 || ref > last_) {
    append(ref);
    return;
  }
  auto refs = decode();
  refs.insert(std::lower_bound(refs.begin(), refs.end(), ref), ref);
  assign(refs);
}

void compact_postings::subtract(const postings_list& sorted) {
  if (count_ == 0 || sorted.empty())
    return;
  auto refs = decode();
  postings_list kept;
  kept.reserve(refs.size());
  std::set_difference(refs.begin(), refs.end(), sorted.begin(), sorted.end(), std::back_inserter(kept));
  if (kept.size() != refs.size())
    assign(kept);
}

postings_list compact_postings::decode() const {
  postings_list out;
  out.reserve(count_);
  for_each([&out](uint64_t ref) {
    out.push_back(ref);
    return true;
  });
  return out;
}

bool compact_postings::intersects(const postings_list& sorted) const {
  if (count_ == 0 || sorted.empty() || sorted.front() > last_)
    return false;
  const std::string_view all = gaps_;
  std::string_view in = all;
  uint64_t ref = 0;      // the last ref decoded
  bool any = false;      // whether one was
  auto j = sorted.begin();
  while (j != sorted.end() && *j <= last_) {
    // Jump to the last noted ref below *j when it lies ahead.
    auto k = std::lower_bound(skips_.begin(), skips_.end(), *j,
                              [](const skip& s, uint64_t t) { return s.ref < t; });
    if (k != skips_.begin()) {
      --k;
      if (k->offset > all.size() - in.size()) {
        in = all.substr(static_cast<size_t>(k->offset));
        ref = k->ref;
        any = true;
      }
    }
    uint64_t gap = 0;
    while ((!any || ref < *j) && !in.empty() && get_uvarint(in, gap)) {
      ref += gap;
      any = true;
    }
    if (!any || ref < *j)
      return false;  // the list ends below *j
    if (ref == *j)
      return true;
    j = std::lower_bound(j, sorted.end(), ref);
  }
  return false;
}

void compact_postings::assign(const postings_list& refs) {
  gaps_.clear();
  skips_.clear();
  count_ = 0;
  for (uint64_t ref : refs)
    append(ref);
  gaps_.shrink_to_fit();
  skips_.shrink_to_fit();
}

}  // namespace nl::storage

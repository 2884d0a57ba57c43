#include "storage/index/compact_postings.hpp"

#include <algorithm>
#include <iterator>

namespace nl::storage {

void compact_postings::add(uint64_t ref) {
  if (count_ == 0 || ref > last_) {
    put_uvarint(gaps_, ref - (count_ == 0 ? 0 : last_));
    last_ = ref;
    ++count_;
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
  bool found = false;
  auto j = sorted.begin();
  for_each([&](uint64_t ref) {
    j = std::lower_bound(j, sorted.end(), ref);
    if (j == sorted.end())
      return false;
    found = *j == ref;
    return !found;
  });
  return found;
}

void compact_postings::assign(const postings_list& refs) {
  std::string gaps;
  uint64_t prev = 0;
  for (uint64_t ref : refs) {
    put_uvarint(gaps, ref - prev);
    prev = ref;
  }
  gaps_ = std::move(gaps);
  last_ = prev;
  count_ = refs.size();
}

}  // namespace nl::storage

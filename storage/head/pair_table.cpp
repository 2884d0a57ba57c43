#include "storage/head/pair_table.hpp"

#include <algorithm>
#include <cstring>

#include "storage/coding.hpp"

namespace nl::storage {

namespace {

// A cheap hash of a pair for the memo: its length and its first and last
// eight bytes (name and value ends), which tell apart the pairs a run of
// series shares.
size_t memo_slot(std::string_view pair, size_t slots) {
  uint64_t head = 0;
  uint64_t tail = 0;
  std::memcpy(&head, pair.data(), std::min<size_t>(8, pair.size()));
  std::memcpy(&tail, pair.data() + pair.size() - std::min<size_t>(8, pair.size()), std::min<size_t>(8, pair.size()));
  uint64_t h = (head * 0x9e3779b97f4a7c15ULL) ^ (tail + pair.size()) * 0xc2b2ae3d27d4eb4fULL;
  return static_cast<size_t>(h >> 40) & (slots - 1);
}

}  // namespace

uint32_t pair_table::acquire(std::string_view pair) {
  auto& memo = memo_[memo_slot(pair, memo_.size())];
  if (memo < entries_.size() && bytes(memo) == pair) {
    ++entries_[memo].holders;
    return memo;
  }
  if (auto it = ids_.find(pair); it != ids_.end()) {
    memo = it->second;
    ++entries_[it->second].holders;
    return it->second;
  }
  uint32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  auto& e = entries_[id];
  e.bytes = std::make_unique<char[]>(pair.size());
  std::memcpy(e.bytes.get(), pair.data(), pair.size());
  e.size = static_cast<uint32_t>(pair.size());
  e.holders = 1;
  ids_.emplace(std::string_view{e.bytes.get(), e.size}, id);
  memo = id;
  return id;
}

bool pair_table::release(uint32_t id) {
  auto& e = entries_[id];
  if (--e.holders > 0)
    return false;
  ids_.erase(std::string_view{e.bytes.get(), e.size});
  e.bytes.reset();
  e.size = 0;
  free_.push_back(id);
  return true;
}

std::vector<uint32_t> pair_table::ranks() const {
  std::vector<uint32_t> live;
  live.reserve(ids_.size());
  for (uint32_t id = 0; id < entries_.size(); ++id)
    if (entries_[id].bytes)
      live.push_back(id);
  std::sort(live.begin(), live.end(), [this](uint32_t a, uint32_t b) { return compare_pairs(bytes(a), bytes(b)) < 0; });
  std::vector<uint32_t> out(entries_.size(), 0);
  for (size_t i = 0; i < live.size(); ++i)
    out[live[i]] = static_cast<uint32_t>(i + 1);
  return out;
}

int compare_pairs(std::string_view a, std::string_view b) {
  for (int part = 0; part < 2; ++part) {  // name, then value
    std::string_view x;
    std::string_view y;
    (void)get_length_prefixed(a, x);
    (void)get_length_prefixed(b, y);
    if (int c = x.compare(y); c != 0)
      return c;
  }
  return 0;
}

}  // namespace nl::storage

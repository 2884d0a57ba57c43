#include "storage/head/pair_table.hpp"

#include <cstring>

#include "storage/coding.hpp"

namespace nl::storage {

uint32_t pair_table::acquire(std::string_view pair) {
  if (auto it = ids_.find(pair); it != ids_.end()) {
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
  return id;
}

void pair_table::release(uint32_t id) {
  auto& e = entries_[id];
  if (--e.holders > 0)
    return;
  ids_.erase(std::string_view{e.bytes.get(), e.size});
  e.bytes.reset();
  e.size = 0;
  free_.push_back(id);
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

#include "storage/cluster/series_refs.hpp"

#include <algorithm>
#include <limits>

#include "storage/coding.hpp"
#include "storage/head/shard.hpp"
#include "storage/label_key.hpp"

namespace nl::storage {

void numbered_keys::add(uint64_t hash, std::string_view key) {
  keys_.append(key.data(), key.size());
  ends_.push_back(static_cast<uint32_t>(keys_.size()));
  hashes_.push_back(hash);
}

void numbered_keys::clear() {
  // Swapped out, not cleared: a session's keys can be hundreds of MiB.
  std::string{}.swap(keys_);
  std::vector<uint32_t>{}.swap(ends_);
  std::vector<uint64_t>{}.swap(hashes_);
}

series_ref_sender::ref series_ref_sender::assign(uint64_t hash, std::string_view key) {
  if (2 * (size_t{keys_.size()} + 1) > slots_.size())
    grow();
  const size_t mask = slots_.size() - 1;
  const uint64_t tag = tag_of(hash);
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    uint64_t s = slots_[i];
    if (s == 0) {
      uint32_t id = keys_.size();
      keys_.add(hash, key);
      slots_[i] = tag | (uint64_t{id} + 1);
      return {id, true};
    }
    auto id = static_cast<uint32_t>(s - 1);  // the low 32 bits
    if (tag_of(s) == tag && keys_.key(id) == key)
      return {id, false};
  }
}

void series_ref_sender::prefetch_key(uint64_t hash) const {
  if (slots_.empty())
    return;
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask; slots_[i] != 0; i = (i + 1) & mask)
    if (tag_of(slots_[i]) == tag_of(hash)) {
      keys_.prefetch_key(static_cast<uint32_t>(slots_[i] - 1));
      return;
    }
}

void series_ref_sender::grow() {
  std::vector<uint64_t> slots(slots_.empty() ? 1024 : 2 * slots_.size(), 0);
  size_t mask = slots.size() - 1;
  for (uint32_t id = 0; id < keys_.size(); ++id) {
    uint64_t hash = keys_.hash(id);
    size_t i = hash & mask;
    while (slots[i] != 0)
      i = (i + 1) & mask;
    slots[i] = tag_of(hash) | (uint64_t{id} + 1);
  }
  slots_.swap(slots);
}

void series_ref_sender::reset() {
  keys_.clear();
  std::vector<uint64_t>{}.swap(slots_);
}

status series_ref_receiver::define(std::string_view keys, uint32_t count) {
  if (keys_.key_bytes() + keys.size() > std::numeric_limits<uint32_t>::max()
      || size_t{keys_.size()} + count > std::numeric_limits<uint32_t>::max())
    return status::corruption("series references: the session's keys would pass 4 GiB or 2^32 series");
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view key;
    uint64_t hash = 0;
    if (auto st = next_label_key(keys, key, hash); !st)
      return status::corruption("series reference " + std::to_string(keys_.size()) + ": " + st.message());
    std::string_view count_bytes = key;
    uint64_t labels = 0;
    if (!get_uvarint(count_bytes, labels) || labels == 0)  // (an overlong zero is two bytes long)
      return status::corruption("series reference " + std::to_string(keys_.size()) + " has no labels");
    keys_.add(hash, key);
    shard_slots_.push_back(next_slot_[shard_of(hash, next_slot_.size())]++);
  }
  if (!keys.empty())
    return status::corruption("series references: bytes after the " + std::to_string(count) + " announced keys");
  return status::ok();
}

void series_ref_receiver::clear() {
  keys_.clear();
  std::vector<uint32_t>{}.swap(shard_slots_);
  std::fill(next_slot_.begin(), next_slot_.end(), 0);
}

}  // namespace nl::storage

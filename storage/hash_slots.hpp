#pragma once
// hash_slots<T>: pointers to T keyed by a 64-bit hash, several per hash
// allowed (the caller tells equal keys apart). Open addressing with linear
// probing in a power-of-two array kept at most half full.
//
// Why not std::unordered_multimap: a lookup there is a 64-bit division
// (prime bucket count) and two dependent cache misses (bucket, node) before
// the element; here it is usually one slot, in one cache line that the
// caller can prefetch ahead of time (the head looks up ~500 series per
// remote-write batch, nearly all cache misses).
//
// Not thread-safe; pointers are not owned.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace nl::storage {

template <class T>
class hash_slots {
 public:
  /// The first pointer stored under `hash` for which match(const T&) holds,
  /// or nullptr.
  template <class Match>
  T* find(uint64_t hash, Match&& match) const {
    if (slots_.empty())
      return nullptr;
    for (size_t i = home(hash);; i = (i + 1) & mask_) {
      const slot& e = slots_[i];
      if (e.ptr == nullptr)
        return nullptr;
      if (e.hash == hash && match(*e.ptr))
        return e.ptr;
    }
  }

  /// REQUIRES: `ptr` is not stored yet.
  void insert(uint64_t hash, T* ptr) {
    if ((size_ + 1) * 2 > slots_.size())
      grow();
    place(hash, ptr);
    ++size_;
  }

  /// Removes `ptr` stored under `hash`; false if it is not there.
  bool erase(uint64_t hash, const T* ptr) {
    if (slots_.empty())
      return false;
    size_t i = home(hash);
    for (;; i = (i + 1) & mask_) {
      if (slots_[i].ptr == nullptr)
        return false;
      if (slots_[i].ptr == ptr)
        break;
    }
    // Backward-shift deletion: pull later entries of the probe run into the
    // hole unless that would put them before their home slot. No
    // tombstones, so lookups never slow down with churn.
    for (size_t j = (i + 1) & mask_; slots_[j].ptr != nullptr; j = (j + 1) & mask_) {
      size_t h = home(slots_[j].hash);
      bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
      if (!stays) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = slot{};
    --size_;
    return true;
  }

  /// Speed hint: fetch the slot a lookup of `hash` starts at.
  void prefetch(uint64_t hash) const {
    if (!slots_.empty())
      __builtin_prefetch(&slots_[home(hash)]);
  }
  /// Speed hint: fetch the element in the home slot of `hash` (call after
  /// prefetch(hash) had time to arrive).
  void prefetch_first(uint64_t hash) const {
    if (!slots_.empty())
      if (const T* p = slots_[home(hash)].ptr)
        __builtin_prefetch(p);
  }

  size_t size() const { return size_; }
  /// Room for `n` pointers without growing (a bulk load).
  void reserve(size_t n) {
    while (n * 2 > slots_.size())
      grow();
  }

 private:
  struct slot {
    uint64_t hash = 0;
    T* ptr = nullptr;
  };

  // Fibonacci hashing: the top bits of a multiply. The low bits of a label
  // hash are not enough on their own: they chose the shard, so within one
  // shard they are all alike.
  size_t home(uint64_t hash) const {
    return static_cast<size_t>((hash * 0x9e3779b97f4a7c15ULL) >> shift_) & mask_;
  }

  void place(uint64_t hash, T* ptr) {
    size_t i = home(hash);
    while (slots_[i].ptr != nullptr)
      i = (i + 1) & mask_;
    slots_[i] = slot{hash, ptr};
  }

  void grow() {
    std::vector<slot> old;
    old.swap(slots_);
    size_t n = old.empty() ? 16 : old.size() * 2;
    slots_.assign(n, slot{});
    mask_ = n - 1;
    shift_ = 64;
    for (size_t m = n; m > 1; m >>= 1)
      --shift_;
    for (const auto& e : old)
      if (e.ptr != nullptr)
        place(e.hash, e.ptr);
  }

  std::vector<slot> slots_;
  size_t size_ = 0;
  size_t mask_ = 0;
  unsigned shift_ = 64;
};

}  // namespace nl::storage

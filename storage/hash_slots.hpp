#pragma once
// hash_slots<T, HashOf>: pointers to T keyed by a 64-bit hash, several per
// hash allowed (the caller tells equal keys apart). Open addressing with
// linear probing in a power-of-two array kept at most half full.
//
// Why not std::unordered_multimap: a lookup there is a 64-bit division
// (prime bucket count) and two dependent cache misses (bucket, node) before
// the element; here it is usually one slot, in one cache line that the
// caller can prefetch ahead of time (the head looks up ~500 series per
// remote-write batch, nearly all cache misses).
//
// A slot is one word: the pointer, with the top 16 bits of its hash in the
// pointer's unused top 16 bits (x86-64 and AArch64 user addresses fit in
// 48). The tag spares the lookup a visit to every element of the probe
// run; the full hash, needed only to move an entry (growth, erase), comes
// from HashOf(const T&). A slot with the hash beside the pointer cost the
// head 16-32 bytes more per series. HashOf also has prefetch(const T&), a
// speed hint for what operator() will read.
//
// Not thread-safe; pointers are not owned.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#include "storage/prefetch.hpp"

namespace nl::storage {

template <class T, class HashOf>
class hash_slots {
 public:
  /// The first pointer stored under `hash` for which match(const T&) holds,
  /// or nullptr.
  explicit hash_slots(HashOf hash_of = {}) : hash_of_(std::move(hash_of)) {}

  /// The first pointer stored under `hash` for which match(const T&) holds,
  /// or nullptr.
  template <class Match>
  T* find(uint64_t hash, Match&& match) const {
    if (slots_.empty())
      return nullptr;
    const uint64_t tag = tag_of(hash);
    for (size_t i = home(hash);; i = (i + 1) & mask_) {
      const uint64_t w = slots_[i];
      if (w == 0)
        return nullptr;
      if ((w & tag_mask) == tag && match(*ptr_of(w)))
        return ptr_of(w);
    }
  }

  /// REQUIRES: `ptr` is not stored yet.
  void insert(uint64_t hash, T* ptr) {
    if (reinterpret_cast<uintptr_t>(ptr) & tag_mask) {
      std::fprintf(stderr, "hash_slots: pointer %p above 48 bits\n", static_cast<void*>(ptr));
      std::abort();
    }
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
      if (slots_[i] == 0)
        return false;
      if (ptr_of(slots_[i]) == ptr)
        break;
    }
    // Backward-shift deletion: pull later entries of the probe run into the
    // hole unless that would put them before their home slot. No
    // tombstones, so lookups never slow down with churn.
    for (size_t j = (i + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
      size_t h = home(hash_of_(*ptr_of(slots_[j])));
      bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
      if (!stays) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = 0;
    --size_;
    return true;
  }

  /// Speed hint: fetch the slot a lookup of `hash` starts at.
  void prefetch(uint64_t hash) const {
    if (!slots_.empty())
      nl::storage::prefetch(&slots_[home(hash)]);
  }

  size_t size() const { return size_; }
  /// Room for `n` pointers without growing (a bulk load).
  void reserve(size_t n) {
    while (n * 2 > slots_.size())
      grow();
  }

  /// insert() of every (hash, ptr) in `entries` (which it reorders), in
  /// the order of their home slots: a bulk load of a million entries then
  /// writes the slots in one sweep instead of taking a cache miss for each.
  /// Stops at the first entry for which same(const T&, const T&) holds
  /// with one stored before it and returns it (the entries after it are
  /// not inserted: a bulk load with a repeated key is refused whole, and
  /// many equal keys would make each insert probe all the others);
  /// nullptr when every entry went in.
  template <class Same>
  T* insert_all(std::vector<std::pair<uint64_t, T*>>& entries, Same&& same) {
    reserve(size_ + entries.size());
    // A radix sort by home slot, 11 bits a pass (the counts stay in L1).
    constexpr unsigned radix = 11;
    std::vector<std::pair<uint64_t, T*>> sorted(entries.size());
    for (unsigned low = 0; low < 64 - shift_; low += radix) {
      std::vector<size_t> start((size_t{1} << radix) + 1, 0);
      for (const auto& e : entries)
        ++start[((home(e.first) >> low) & ((size_t{1} << radix) - 1)) + 1];
      for (size_t b = 1; b < start.size(); ++b)
        start[b] += start[b - 1];
      for (const auto& e : entries)
        sorted[start[(home(e.first) >> low) & ((size_t{1} << radix) - 1)]++] = e;
      entries.swap(sorted);
    }
    for (const auto& e : entries) {
      T* ptr = e.second;  // not a structured binding: clang cannot capture those
      // The same probe run as the insert's, already in the cache.
      if (find(e.first, [&](const T& other) { return same(other, *ptr); }) != nullptr)
        return ptr;
      insert(e.first, ptr);
    }
    return nullptr;
  }

 private:
  static constexpr uint64_t tag_mask = 0xffffULL << 48;
  static constexpr uint64_t golden = 0x9e3779b97f4a7c15ULL;
  static uint64_t tag_of(uint64_t hash) { return hash & tag_mask; }
  static T* ptr_of(uint64_t w) { return reinterpret_cast<T*>(w & ~tag_mask); }

  // Fibonacci hashing: the top bits of a multiply. The low bits of a label
  // hash are not enough on their own: they chose the shard, so within one
  // shard they are all alike.
  size_t home(uint64_t hash) const {
    return static_cast<size_t>((hash * golden) >> shift_) & mask_;
  }

  void place(uint64_t hash, T* ptr) {
    size_t i = home(hash);
    while (slots_[i] != 0)
      i = (i + 1) & mask_;
    slots_[i] = tag_of(hash) | reinterpret_cast<uintptr_t>(ptr);
  }

  void grow() {
    std::vector<uint64_t> old;
    old.swap(slots_);
    size_t n = old.empty() ? 16 : old.size() * 2;
    slots_.assign(n, 0);
    mask_ = n - 1;
    shift_ = 64;
    for (size_t m = n; m > 1; m >>= 1)
      --shift_;
    // Moving an entry takes its full hash, which only the element has: a
    // cache miss each in a large table. Each element is fetched some
    // entries ahead of its hashing, in runs of a few thousand (32 KiB, not
    // a copy of the table). The new slots need no such care:
    // the old ones are in home order, and doubling keeps that order.
    constexpr size_t run = 4096;
    constexpr size_t ahead = 8;
    std::vector<T*> moved;
    moved.reserve(std::min(run, size_));
    for (size_t i = 0; i < old.size();) {
      moved.clear();
      for (; i < old.size() && moved.size() < run; ++i)
        if (old[i] != 0)
          moved.push_back(ptr_of(old[i]));
      for (size_t k = 0; k < moved.size(); ++k) {
        if (k + ahead < moved.size())
          hash_of_.prefetch(*moved[k + ahead]);
        place(hash_of_(*moved[k]), moved[k]);
      }
    }
  }

  HashOf hash_of_;
  std::vector<uint64_t> slots_;
  size_t size_ = 0;
  size_t mask_ = 0;
  unsigned shift_ = 64;
};

}  // namespace nl::storage

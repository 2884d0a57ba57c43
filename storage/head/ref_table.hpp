#pragma once
// ref_table<T>: a head's series by ref. A head allocates the refs
// start, start + stride, start + 2 * stride, ... (one class per shard), so
// the k-th ref of its class has slot k in pages of page_size pointers: a
// lookup is two loads and no hashing, and a series costs one pointer
// (an unordered_map node cost three words plus a bucket). A page whose
// series are all gone is freed, so memory follows the live series as old
// series leave and new refs come at the top. Refs outside the class (a
// WAL written under another shard count, replayed by label hash) go to a
// hash map.
//
// Pointers are not owned. Not thread-safe.
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace nl::storage {

template <class T>
class ref_table {
 public:
  static constexpr uint64_t page_size = 1024;

  /// REQUIRES: start >= 1, stride >= 1.
  ref_table(uint64_t start, uint64_t stride) : start_(start), stride_(stride) {}

  T* find(uint64_t ref) const {
    uint64_t k;
    if (!slot_of(ref, k))
      return find_stray(ref);
    uint64_t p = k / page_size;
    if (p >= pages_.size() || !pages_[p])
      return nullptr;
    return pages_[p]->slots[k % page_size];
  }

  /// REQUIRES: `ref` is absent, `ptr` not null.
  void insert(uint64_t ref, T* ptr) {
    ++size_;
    uint64_t k;
    if (!slot_of(ref, k)) {
      strays_.emplace(ref, ptr);
      return;
    }
    uint64_t p = k / page_size;
    if (p >= pages_.size())
      pages_.resize(p + 1);
    if (!pages_[p])
      pages_[p] = std::make_unique<page>();
    pages_[p]->slots[k % page_size] = ptr;
    ++pages_[p]->live;
  }

  /// Removes `ref`; false when absent.
  bool erase(uint64_t ref) {
    uint64_t k;
    if (!slot_of(ref, k)) {
      if (strays_.erase(ref) == 0)
        return false;
      --size_;
      return true;
    }
    uint64_t p = k / page_size;
    if (p >= pages_.size() || !pages_[p] || !pages_[p]->slots[k % page_size])
      return false;
    pages_[p]->slots[k % page_size] = nullptr;
    if (--pages_[p]->live == 0)
      pages_[p].reset();
    --size_;
    return true;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  /// fn(ref, T*) for every entry: the class's refs ascending, then the
  /// strays in no order.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (size_t p = 0; p < pages_.size(); ++p) {
      if (!pages_[p])
        continue;
      for (uint64_t i = 0; i < page_size; ++i)
        if (T* ptr = pages_[p]->slots[i])
          fn(start_ + (p * page_size + i) * stride_, ptr);
    }
    for (const auto& [ref, ptr] : strays_)
      fn(ref, ptr);
  }

 private:
  struct page {
    T* slots[page_size] = {};
    uint32_t live = 0;
  };

  // Whether `ref` has a slot, k. A ref far above the top (only a damaged
  // record can hold one: refs are handed out one after another) is a
  // stray too, so that it cannot make the page list huge.
  bool slot_of(uint64_t ref, uint64_t& k) const {
    if (ref < start_)
      return false;
    uint64_t d = ref - start_;
    if (stride_ == 1) {
      k = d;
    } else {
      k = d / stride_;
      if (k * stride_ != d)
        return false;
    }
    return k / page_size < 2 * pages_.size() + max_gap_pages;
  }

  static constexpr uint64_t max_gap_pages = 1024;

  T* find_stray(uint64_t ref) const {
    if (strays_.empty())
      return nullptr;
    auto it = strays_.find(ref);
    return it == strays_.end() ? nullptr : it->second;
  }

  uint64_t start_;
  uint64_t stride_;
  size_t size_ = 0;
  std::vector<std::unique_ptr<page>> pages_;
  std::unordered_map<uint64_t, T*> strays_;
};

}  // namespace nl::storage

#pragma once
// ref_table<T>: a head's series by ref. A head allocates the refs
// start, start + stride, start + 2 * stride, ... (one class per shard), so
// the k-th ref of its class has slot k in pages of page_size pointers: a
// lookup is two loads and no hashing, and a series costs one pointer
// (an unordered_map node cost three words plus a bucket).
//
// The pages kept are a window from the oldest page with a live series to
// the newest: as series come and go (new refs at the top, old ones
// leaving), pages that empty at the bottom are dropped, so memory follows
// the live series however many refs were handed out before. Refs outside
// the class (a WAL written under another shard count, replayed by label
// hash) and refs far from the window (only damage makes one: refs are
// handed out one after another) go to a hash map, so that no ref can make
// the window huge. An empty window starts again wherever the next ref is.
//
// Pointers are not owned. Not thread-safe.
#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>

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
    // A ref stored as a stray may have had its page join the window since.
    const page* p = page_of(k / page_size);
    if (p != nullptr && p->slots[k % page_size] != nullptr)
      return p->slots[k % page_size];
    return find_stray(ref);
  }

  /// REQUIRES: `ref` is absent, `ptr` not null.
  void insert(uint64_t ref, T* ptr) {
    ++size_;
    uint64_t k;
    if (!slot_of(ref, k) || !make_room(k / page_size)) {
      strays_.emplace(ref, ptr);
      return;
    }
    auto& p = pages_[k / page_size - base_];
    if (!p)
      p = std::make_unique<page>();
    p->slots[k % page_size] = ptr;
    ++p->live;
  }

  /// Removes `ref`; false when absent.
  bool erase(uint64_t ref) {
    uint64_t k;
    page* p = slot_of(ref, k) ? page_of(k / page_size) : nullptr;
    if (p == nullptr || p->slots[k % page_size] == nullptr) {
      if (strays_.erase(ref) == 0)
        return false;
      --size_;
      return true;
    }
    p->slots[k % page_size] = nullptr;
    --size_;
    if (--p->live == 0) {
      pages_[k / page_size - base_].reset();
      // Drop emptied pages at both ends of the window.
      while (!pages_.empty() && !pages_.front()) {
        pages_.pop_front();
        ++base_;
      }
      while (!pages_.empty() && !pages_.back())
        pages_.pop_back();
    }
    return true;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  /// Pages in the window (for tests).
  size_t window_pages() const { return pages_.size(); }

  /// fn(ref, T*) for every entry: the class's refs ascending, then the
  /// strays in no order.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (size_t i = 0; i < pages_.size(); ++i) {
      if (!pages_[i])
        continue;
      for (uint64_t j = 0; j < page_size; ++j)
        if (T* ptr = pages_[i]->slots[j])
          fn(start_ + ((base_ + i) * page_size + j) * stride_, ptr);
    }
    for (const auto& [ref, ptr] : strays_)
      fn(ref, ptr);
  }

 private:
  struct page {
    T* slots[page_size] = {};
    uint32_t live = 0;
  };

  // How far past either end of the window a page may be added: a gap of
  // empty page pointers costs 8 bytes a page.
  static constexpr uint64_t max_gap_pages = 1024;

  bool slot_of(uint64_t ref, uint64_t& k) const {
    if (ref < start_)
      return false;
    uint64_t d = ref - start_;
    k = d / stride_;
    return k * stride_ == d;
  }

  page* page_of(uint64_t p) const {
    if (p < base_ || p - base_ >= pages_.size())
      return nullptr;
    return pages_[p - base_].get();
  }

  // Extends the window to page p if it is near enough; false otherwise.
  bool make_room(uint64_t p) {
    if (pages_.empty()) {
      base_ = p;
      pages_.resize(1);
      return true;
    }
    if (p < base_) {
      if (base_ - p > max_gap_pages + pages_.size())
        return false;
      for (; base_ > p; --base_)
        pages_.emplace_front();
      return true;
    }
    if (p - base_ >= pages_.size()) {
      if (p - base_ - pages_.size() > max_gap_pages + pages_.size())
        return false;
      pages_.resize(p - base_ + 1);
    }
    return true;
  }

  T* find_stray(uint64_t ref) const {
    if (strays_.empty())
      return nullptr;
    auto it = strays_.find(ref);
    return it == strays_.end() ? nullptr : it->second;
  }

  uint64_t start_;
  uint64_t stride_;
  size_t size_ = 0;
  uint64_t base_ = 0;                         // page number of pages_[0]
  std::deque<std::unique_ptr<page>> pages_;  // the window; null: no live series
  std::unordered_map<uint64_t, T*> strays_;
};

}  // namespace nl::storage

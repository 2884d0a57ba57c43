#pragma once
// Memory for the head's closed chunks: 64 KiB pages filled front to back,
// each freed when the last chunk placed in it is.
//
// Why not the general allocator: a million series close their chunks
// together at a block boundary and drop them together when the head is
// truncated below it. Left to malloc, those chunks (32-128 bytes each)
// share size-class slabs with the open chunks growing past them and with
// long-lived objects; after the truncation a few survivors pin every slab,
// and at 1 M series that was 150-200 bytes per series of resident memory
// holding nothing (docs/BENCHMARKS.md). Chunks closed together are
// truncated together, so pages empty whole and go back to the allocator as
// large blocks.
//
// Thread safety: allocate() and store() only from the owning thread (the
// head's); release() from any thread, since a query may hold a chunk after
// the head dropped it. A page outlives the chunk_pages that filled it until
// its last chunk is released.
#include <cstddef>
#include <cstdint>
#include <new>

#include "storage/chunk/chunk_block.hpp"

namespace nl::storage {

class chunk_pages {
 public:
  static constexpr size_t page_size = size_t{64} << 10;
  /// Larger requests are not placed in pages (allocate() returns nullptr):
  /// a few of them would leave most of a page unused.
  static constexpr size_t max_allocation = page_size / 8;

  chunk_pages() = default;
  chunk_pages(const chunk_pages&) = delete;
  chunk_pages& operator=(const chunk_pages&) = delete;
  ~chunk_pages();

  /// `n` bytes, 8-aligned, in the current page or a new one; nullptr when
  /// n is 0 or more than max_allocation. Each allocation is given back with release().
  void* allocate(size_t n);
  /// Gives back an allocation from any chunk_pages; frees its page when it
  /// was the page's last one and the page is no longer being filled.
  static void release(const void* p);

  /// A copy of `bytes` held by one reference to `owner` (its page);
  /// nullptr when allocate(n) would be.
  const uint8_t* store(const void* bytes, size_t n, chunk_block*& owner);

  /// Pages allocated and not yet freed, over all instances (tests, stats).
  static size_t live_pages() { return live_pages_.load(std::memory_order_relaxed); }

 private:
  static void free_page(chunk_block* p);

  chunk_block* current_ = nullptr;
  size_t used_ = page_size;  // bytes of current_ handed out (header included)
  static std::atomic<size_t> live_pages_;
};

/// An allocator placing objects in chunk pages (std::allocate_shared's
/// control block and object together).
template <class T>
struct chunk_page_allocator {
  using value_type = T;
  chunk_pages* pages;

  explicit chunk_page_allocator(chunk_pages& p) : pages(&p) {}
  template <class U>
  chunk_page_allocator(const chunk_page_allocator<U>& o) : pages(o.pages) {}

  T* allocate(size_t n) {
    void* p = pages->allocate(n * sizeof(T));
    if (p == nullptr)
      throw std::bad_alloc{};  // never for a chunk object; see max_allocation
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { chunk_pages::release(p); }

  template <class U>
  bool operator==(const chunk_page_allocator<U>& o) const { return pages == o.pages; }
  template <class U>
  bool operator!=(const chunk_page_allocator<U>& o) const { return pages != o.pages; }
};

}  // namespace nl::storage

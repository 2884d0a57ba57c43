#include "storage/chunk/chunk_pages.hpp"

#include <new>

namespace nl::storage {

std::atomic<size_t> chunk_pages::live_pages_{0};

namespace {
constexpr size_t header_bytes = 8;  // page_header, rounded to the alignment
}  // namespace

chunk_pages::~chunk_pages() {
  if (current_ != nullptr)
    unref(current_);
}

void* chunk_pages::allocate(size_t n) {
  static_assert(sizeof(page_header) <= header_bytes);
  if (n > max_allocation)
    return nullptr;
  n = (n + 7) & ~size_t{7};
  if (used_ + n > page_size) {
    // Aligned to its size, so release() finds a page from any address in it.
    void* mem = ::operator new(page_size, std::align_val_t{page_size});
    auto* fresh = new (mem) page_header{};
    fresh->live.store(1, std::memory_order_relaxed);
    live_pages_.fetch_add(1, std::memory_order_relaxed);
    if (current_ != nullptr)
      unref(current_);
    current_ = fresh;
    used_ = header_bytes;
  }
  current_->live.fetch_add(1, std::memory_order_relaxed);
  void* out = reinterpret_cast<char*>(current_) + used_;
  used_ += n;
  return out;
}

void chunk_pages::release(const void* p) {
  auto addr = reinterpret_cast<uintptr_t>(p) & ~(uintptr_t{page_size} - 1);
  unref(reinterpret_cast<page_header*>(addr));
}

void chunk_pages::unref(page_header* p) {
  if (p->live.fetch_sub(1, std::memory_order_acq_rel) != 1)
    return;
  p->~page_header();
  ::operator delete(p, page_size, std::align_val_t{page_size});
  live_pages_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace nl::storage

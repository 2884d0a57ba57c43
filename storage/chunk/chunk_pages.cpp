#include "storage/chunk/chunk_pages.hpp"

#include <cstring>
#include <new>

namespace nl::storage {

std::atomic<size_t> chunk_pages::live_pages_{0};

namespace {
constexpr size_t header_bytes = 16;  // the page's chunk_block, rounded up
}  // namespace

chunk_pages::~chunk_pages() {
  if (current_ != nullptr)
    current_->unref();
}

void* chunk_pages::allocate(size_t n) {
  static_assert(sizeof(chunk_block) <= header_bytes);
  if (n == 0 || n > max_allocation)
    return nullptr;
  n = (n + 7) & ~size_t{7};
  if (used_ + n > page_size) {
    // Aligned to its size, so release() finds a page from any address in it.
    void* mem = ::operator new(page_size, std::align_val_t{page_size});
    auto* fresh = new (mem) chunk_block{};
    fresh->on_empty = &free_page;
    live_pages_.fetch_add(1, std::memory_order_relaxed);
    if (current_ != nullptr)
      current_->unref();
    current_ = fresh;
    used_ = header_bytes;
  }
  current_->ref();
  void* out = reinterpret_cast<char*>(current_) + used_;
  used_ += n;
  return out;
}

void chunk_pages::release(const void* p) {
  auto addr = reinterpret_cast<uintptr_t>(p) & ~(uintptr_t{page_size} - 1);
  reinterpret_cast<chunk_block*>(addr)->unref();
}

const uint8_t* chunk_pages::store(const void* bytes, size_t n, chunk_block*& owner) {
  void* to = allocate(n);
  if (to == nullptr)
    return nullptr;
  std::memcpy(to, bytes, n);
  auto addr = reinterpret_cast<uintptr_t>(to) & ~(uintptr_t{page_size} - 1);
  owner = reinterpret_cast<chunk_block*>(addr);
  return static_cast<const uint8_t*>(to);
}

void chunk_pages::free_page(chunk_block* p) {
  p->~chunk_block();
  ::operator delete(p, std::align_val_t{page_size});  // unsized: clang has no sized deallocation by default
  live_pages_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace nl::storage

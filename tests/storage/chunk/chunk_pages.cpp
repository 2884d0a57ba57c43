#define CAF_SUITE storage.chunk.chunk_pages
#include "test_support.hpp"

#include <cstring>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "storage/chunk/chunk_pages.hpp"
#include "storage/chunk/xor_chunk.hpp"

using namespace nl::storage;

namespace {

uintptr_t page_of(const void* p) {
  return reinterpret_cast<uintptr_t>(p) & ~(uintptr_t{chunk_pages::page_size} - 1);
}

// As the head closes a chunk: bytes and object in pages.
std::shared_ptr<const xor_chunk> chunk_of(chunk_pages& pages, int first, int n) {
  xor_appender a;
  for (int i = 0; i < n; ++i)
    a.append(1000 * (first + i), first + i * 0.5);
  chunk_block* owner = nullptr;
  auto bytes = a.bytes();
  const uint8_t* data = pages.store(bytes.data(), bytes.size(), owner);
  CAF_REQUIRE(data != nullptr);
  return xor_chunk::share_in(pages, xor_chunk{data, bytes.size(), owner, {a.min_time(), a.max_time(), a.last_value(), a.num_samples()}});
}

}  // namespace

CAF_TEST(allocations are aligned and fill a page before the next) {
  size_t base = chunk_pages::live_pages();
  std::vector<void*> got;
  {
    chunk_pages pages;
    CAF_CHECK_EQUAL(chunk_pages::live_pages(), base);  // nothing until asked
    std::set<uintptr_t> seen_pages;
    char* last_end = nullptr;
    for (int i = 0; i < 2000; ++i) {
      size_t n = 1 + static_cast<size_t>(i % 61);
      auto* p = static_cast<char*>(pages.allocate(n));
      CAF_REQUIRE(p != nullptr);
      CAF_CHECK_EQUAL(reinterpret_cast<uintptr_t>(p) % 8, 0u);
      std::memset(p, 0xab, n);  // the memory is usable (ASan checks the bounds)
      if (last_end != nullptr && page_of(p) == page_of(last_end - 1))
        CAF_CHECK(p >= last_end);  // front to back, never overlapping
      last_end = p + n;
      seen_pages.insert(page_of(p));
      got.push_back(p);
    }
    // 2000 allocations of 8-64 bytes (8-aligned): about 72 KiB, two pages.
    CAF_CHECK_EQUAL(seen_pages.size(), 2u);
    CAF_CHECK_EQUAL(chunk_pages::live_pages(), base + 2);
    CAF_CHECK(pages.allocate(chunk_pages::max_allocation + 1) == nullptr);
    void* big = pages.allocate(chunk_pages::max_allocation);
    CAF_CHECK(big != nullptr);
    got.push_back(big);
  }
  // The arena is gone; its pages stay while anything in them is held.
  CAF_CHECK(chunk_pages::live_pages() >= base + 2);
  for (size_t i = 0; i + 1 < got.size(); ++i)
    chunk_pages::release(got[i]);
  CAF_CHECK_EQUAL(chunk_pages::live_pages(), base + 1);  // the big one's page
  chunk_pages::release(got.back());
  CAF_CHECK_EQUAL(chunk_pages::live_pages(), base);
}

CAF_TEST(a page is freed when its last allocation is and it is full) {
  size_t base = chunk_pages::live_pages();
  chunk_pages pages;
  void* a = pages.allocate(100);
  void* b = pages.allocate(100);
  CAF_CHECK_EQUAL(chunk_pages::live_pages(), base + 1);
  chunk_pages::release(a);
  chunk_pages::release(b);
  // Still the page being filled: kept, and filled further.
  CAF_CHECK_EQUAL(chunk_pages::live_pages(), base + 1);
  void* c = pages.allocate(100);
  CAF_CHECK_EQUAL(page_of(c), page_of(a));
  // Fill it, moving on to a second page; releasing c then frees the first.
  void* d = nullptr;
  while (page_of(d = pages.allocate(chunk_pages::max_allocation)) == page_of(a))
    chunk_pages::release(d);
  CAF_CHECK_EQUAL(chunk_pages::live_pages(), base + 2);
  chunk_pages::release(c);
  CAF_CHECK_EQUAL(chunk_pages::live_pages(), base + 1);
  chunk_pages::release(d);
  CAF_CHECK_EQUAL(chunk_pages::live_pages(), base + 1);  // d's page is still being filled
}

CAF_TEST(chunks in pages outlive the arena and free their pages from any thread) {
  size_t base = chunk_pages::live_pages();
  std::vector<std::shared_ptr<const xor_chunk>> held;
  std::vector<sample> want;
  {
    chunk_pages pages;
    for (int i = 0; i < 3000; ++i)
      held.push_back(chunk_of(pages, i, 1 + i % 40));
    CAF_CHECK(chunk_pages::live_pages() > base + 1);
    // The object, its control block and its bytes are all in the pages.
    CAF_CHECK_EQUAL(page_of(held[0].get()), page_of(held[0]->bytes().data()));
    (void)held[2999]->decode(INT64_MIN, INT64_MAX, want);
  }
  std::vector<sample> got;
  CAF_CHECK(held[2999]->decode(INT64_MIN, INT64_MAX, got).is_ok());
  CAF_REQUIRE_EQUAL(got.size(), want.size());
  CAF_CHECK_EQUAL(got.size(), 1u + 2999 % 40);
  for (size_t i = 0; i < got.size(); ++i)
    CAF_CHECK(got[i].t == want[i].t && got[i].v == want[i].v);
  std::thread other([&] { held.clear(); });
  other.join();
  CAF_CHECK_EQUAL(chunk_pages::live_pages(), base);
}

CAF_TEST(a reset keeps the appender buffer) {
  xor_appender a;
  for (int i = 0; i < 200; ++i)
    a.append(1000 * i, i * 1.25);
  size_t grown = a.capacity();
  CAF_CHECK(grown > xor_appender::initial_reserve);
  std::string encoded{a.bytes()};
  auto c = a.cut();  // a heap copy
  CAF_CHECK_EQUAL(c->bytes(), encoded);
  CAF_CHECK_EQUAL(c->num_samples(), 200u);
  CAF_CHECK_EQUAL(c->min_time(), 0);
  CAF_CHECK_EQUAL(c->max_time(), 199'000);
  CAF_CHECK(a.empty());
  CAF_CHECK_EQUAL(a.capacity(), grown);
  // The next chunk starts from scratch in that buffer.
  a.append(500'000, 7);
  auto d = a.cut();
  std::vector<sample> out;
  CAF_CHECK(d->decode(INT64_MIN, INT64_MAX, out).is_ok());
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK_EQUAL(out[0].t, 500'000);
  CAF_CHECK_EQUAL(out[0].v, 7.0);
}

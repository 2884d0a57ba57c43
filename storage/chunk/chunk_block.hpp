#pragma once
// What holds the bytes of many chunks (a page of chunk_pages, a segment of
// chunk_files) and frees itself when the last of them is released. Chunks
// name theirs (xor_chunk), so releasing needs no lookup; a release may come
// from any thread, since queries hold chunks the head has dropped.
#include <atomic>
#include <cstdint>

namespace nl::storage {

struct chunk_block {
  /// Chunks placed in the block and not yet released, plus one while the
  /// block is being filled.
  std::atomic<uint32_t> live{1};
  /// Frees the block (called once, when `live` drops to zero).
  void (*on_empty)(chunk_block*) = nullptr;

  void ref() { live.fetch_add(1, std::memory_order_relaxed); }
  void unref() {
    if (live.fetch_sub(1, std::memory_order_acq_rel) == 1)
      on_empty(this);
  }
};

}  // namespace nl::storage

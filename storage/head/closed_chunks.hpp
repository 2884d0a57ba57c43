#pragma once
// A series' closed chunks, oldest first: a vector of shared chunk pointers
// in one word. std::vector took three (begin, end, capacity) in every
// series, with or without chunks; here the count and capacity live in the
// heap block in front of the elements, and a series without closed chunks
// holds no block at all.
//
// Not thread-safe; the owning head serialises access.
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

#include "storage/chunk/xor_chunk.hpp"

namespace nl::storage {

class closed_chunks {
 public:
  using value_type = std::shared_ptr<const xor_chunk>;
  using iterator = value_type*;
  using const_iterator = const value_type*;

  closed_chunks() = default;
  closed_chunks(const closed_chunks&) = delete;
  closed_chunks& operator=(const closed_chunks&) = delete;
  closed_chunks(closed_chunks&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  closed_chunks& operator=(closed_chunks&& other) noexcept {
    if (this != &other) {
      release();
      block_ = std::exchange(other.block_, nullptr);
    }
    return *this;
  }
  ~closed_chunks() { release(); }

  size_t size() const { return block_ ? block_->size : 0; }
  bool empty() const { return size() == 0; }
  iterator begin() { return data(); }
  iterator end() { return data() + size(); }
  const_iterator begin() const { return data(); }
  const_iterator end() const { return data() + size(); }
  const value_type& front() const { return data()[0]; }
  const value_type& back() const { return data()[size() - 1]; }
  value_type& back() { return data()[size() - 1]; }

  void push_back(value_type c) {
    if (size() == capacity())
      grow();
    new (data() + block_->size) value_type(std::move(c));
    ++block_->size;
  }
  void pop_back() {
    data()[--block_->size].~value_type();
    if (block_->size == 0)
      release();
  }
  /// Drops the first `n` chunks. REQUIRES: n <= size().
  void erase_front(size_t n) {
    if (n == 0)
      return;
    if (n == size()) {
      release();
      return;
    }
    value_type* d = data();
    std::move(d + n, d + block_->size, d);
    for (size_t i = block_->size - n; i < block_->size; ++i)
      d[i].~value_type();
    block_->size -= static_cast<uint32_t>(n);
  }

 private:
  struct header {
    uint32_t size;
    uint32_t capacity;
    // the elements follow, 8-aligned
  };
  static_assert(sizeof(header) % alignof(value_type) == 0);

  size_t capacity() const { return block_ ? block_->capacity : 0; }
  value_type* data() const {
    return block_ ? reinterpret_cast<value_type*>(block_ + 1) : nullptr;
  }

  void grow() {
    uint32_t cap = block_ ? block_->capacity * 2 : 1;
    auto* next = static_cast<header*>(::operator new(sizeof(header) + cap * sizeof(value_type)));
    next->size = 0;
    next->capacity = cap;
    auto* to = reinterpret_cast<value_type*>(next + 1);
    for (size_t i = 0; i < size(); ++i) {
      new (to + i) value_type(std::move(data()[i]));
      ++next->size;
    }
    release();
    block_ = next;
  }

  void release() {
    if (!block_)
      return;
    for (size_t i = 0; i < block_->size; ++i)
      data()[i].~value_type();
    ::operator delete(block_);
    block_ = nullptr;
  }

  header* block_ = nullptr;
};

}  // namespace nl::storage

#include "storage/block/block_set.hpp"

#include <algorithm>

namespace nl::storage {

namespace {

void sort_blocks(std::vector<block_set::block_ptr>& bs) {
  std::sort(bs.begin(), bs.end(), [](const auto& a, const auto& b) {
    if (a->meta().min_time != b->meta().min_time)
      return a->meta().min_time < b->meta().min_time;
    return a->meta().ulid < b->meta().ulid;
  });
}

}  // namespace

block_set::block_set(std::vector<block_ptr> blocks) : blocks_(std::move(blocks)) { sort_blocks(blocks_); }

std::vector<block_set::block_ptr> block_set::snapshot() const {
  std::lock_guard<std::mutex> g{mtx_};
  return blocks_;
}

std::vector<block_set::block_ptr> block_set::overlapping(int64_t mint, int64_t maxt) const {
  std::lock_guard<std::mutex> g{mtx_};
  std::vector<block_ptr> out;
  for (const auto& b : blocks_)
    if (b->meta().overlaps(mint, maxt))
      out.push_back(b);
  return out;
}

void block_set::replace(const std::vector<std::string>& removed, std::vector<block_ptr> added) {
  std::lock_guard<std::mutex> g{mtx_};
  blocks_.erase(std::remove_if(blocks_.begin(), blocks_.end(),
                               [&](const block_ptr& b) {
                                 return std::find(removed.begin(), removed.end(), b->meta().ulid) != removed.end();
                               }),
                blocks_.end());
  for (auto& b : added)
    blocks_.push_back(std::move(b));
  sort_blocks(blocks_);
}

int64_t block_set::max_time() const {
  std::lock_guard<std::mutex> g{mtx_};
  int64_t t = INT64_MIN;
  for (const auto& b : blocks_)
    t = std::max(t, b->meta().max_time);
  return t;
}

size_t block_set::size() const {
  std::lock_guard<std::mutex> g{mtx_};
  return blocks_.size();
}

uint64_t block_set::size_bytes() const {
  std::lock_guard<std::mutex> g{mtx_};
  uint64_t n = 0;
  for (const auto& b : blocks_)
    n += b->size_bytes();
  return n;
}

}  // namespace nl::storage

#pragma once
// The open blocks of a data directory, shared by their one writer (the
// compactor, which adds and replaces blocks) and their readers (queries).
// A reader takes a snapshot: the blocks in it stay open and mapped for as
// long as it holds them, even if compaction or retention removes them from
// the set (and their directories) meanwhile.
//
// Thread-safety: every member may be called from any thread.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/block/reader.hpp"

namespace nl::storage {

class block_set {
 public:
  using block_ptr = std::shared_ptr<const block>;

  explicit block_set(std::vector<block_ptr> blocks = {});

  /// The blocks now, ordered by min_time (then ULID).
  std::vector<block_ptr> snapshot() const;
  /// Those overlapping [mint, maxt] (inclusive).
  std::vector<block_ptr> overlapping(int64_t mint, int64_t maxt) const;
  /// Drops the blocks with these ULIDs and adds `added`, in one step: a
  /// reader sees either the old blocks or the new ones.
  void replace(const std::vector<std::string>& removed, std::vector<block_ptr> added);
  void add(block_ptr b) { replace({}, {std::move(b)}); }
  /// End (exclusive) of the newest block; INT64_MIN when there is none.
  int64_t max_time() const;
  size_t size() const;
  /// Bytes of all blocks' files.
  uint64_t size_bytes() const;

 private:
  mutable std::mutex mtx_;
  std::vector<block_ptr> blocks_;
};

}  // namespace nl::storage

#pragma once
// The bytes of the head's closed chunks in files, read through a shared
// mapping: Prometheus' memory-mapped head chunks, as scratch space. A
// closed chunk is never written again, and queries and the compactor read
// it seldom, so its bytes need not take the process' memory: once a
// segment is full, this process drops its pages (MADV_DONTNEED) and they
// live on in the page cache, which the kernel writes back and reclaims
// under pressure, and fault back when read.
//
// Files: `<dir>/<seq>`, at least 8 decimal digits, each `segment_size` bytes
// allocated up front (fallocate), holding chunk bytes back to back with
// no header (storage/FORMAT.md, "Head chunk files"). They are not a
// record of anything: the WAL and the head snapshot are, and a start
// deletes whatever an earlier run left. A segment is deleted when its last
// chunk is released.
//
// No space, or a file system without fallocate: store() answers nullptr
// (the head keeps those bytes in memory) and tries files again 10 s later.
// On a copy-on-write file system open() refuses: there preallocated space
// does not make a later write through the mapping safe.
//
// Costs the head thread pays: creating a file (open, fallocate, mmap)
// every 4 MiB of closed chunks, page faults when it writes into a new page
// (which the kernel may throttle while much dirty data waits for the
// disk), and a disk read when it reads a chunk whose page was reclaimed
// (the cut and queries of the last block duration, on other threads, pay
// that too). An I/O error on such a read is SIGBUS, as with any mapped
// file (Prometheus' mapped head chunks share it).
// Thread safety: store() only from the owning thread; chunks release their
// segment from any thread.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "storage/chunk/chunk_block.hpp"
#include "storage/status.hpp"

namespace nl::storage {

/// Under the data directory: one directory per head shard ("0", "1", ...).
inline constexpr const char* head_chunks_dir = "head_chunks";

class chunk_files {
 public:
  static constexpr size_t segment_size = size_t{4} << 20;
  /// Larger chunks stay in memory.
  static constexpr size_t max_chunk = segment_size / 64;

  /// Creates `dir` (its parent must exist) and removes files an earlier
  /// run left in it. invalid_argument on a copy-on-write file system.
  static result<std::unique_ptr<chunk_files>> open(const std::string& dir);
  /// Whether posix_fallocate on a file system of this statfs f_type
  /// guarantees that later writes into the space succeed. Not on
  /// copy-on-write file systems (btrfs, ZFS, bcachefs), where a rewrite
  /// needs new blocks: a full disk would be SIGBUS in the head.
  static bool preallocation_holds(long fs_type);
  chunk_files(const chunk_files&) = delete;
  chunk_files& operator=(const chunk_files&) = delete;
  ~chunk_files();

  /// A copy of `bytes` in the current file, held by one reference to
  /// `owner` (the file's segment); nullptr when no file can take it (the
  /// caller keeps the bytes elsewhere).
  const uint8_t* store(const void* bytes, size_t n, chunk_block*& owner);

  /// Segments whose file could not be made ready (each one counted once).
  uint64_t failures() const { return failures_; }
  /// The same over all instances, and the bytes of segment files that
  /// exist now (/metrics).
  static uint64_t failures_total() { return failures_total_.load(std::memory_order_relaxed); }
  static uint64_t file_bytes() { return file_bytes_.load(std::memory_order_relaxed); }

 private:
  struct segment;
  explicit chunk_files(std::string dir) : dir_(std::move(dir)) {}
  status next_segment();
  static void free_segment(chunk_block* b);

  std::string dir_;
  segment* current_ = nullptr;
  size_t used_ = 0;
  uint64_t failures_ = 0;
  std::chrono::steady_clock::time_point retry_at_{};
  // File numbers are unique in the process, so a segment freed late (by a
  // query) never deletes a newer instance's file of the same name.
  static std::atomic<uint64_t> next_seq_;
  static std::atomic<uint64_t> failures_total_;
  static std::atomic<uint64_t> file_bytes_;
};

}  // namespace nl::storage

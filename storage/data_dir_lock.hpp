#pragma once
// The lock that keeps two processes out of one data directory: an
// exclusive, non-blocking flock(2) on `<dir>/LOCK`, held for as long as the
// data_dir_lock object lives. The LOCK file is created if missing and never
// removed (its presence means nothing; only the flock counts). The kernel
// drops the lock when the process dies, so a crash never leaves a stale
// lock behind.
//
// Thread-safety: a data_dir_lock has a single owner. It is movable, not
// copyable; the moved-from object holds nothing.
#include <string>

#include "storage/status.hpp"

namespace nl::storage {

class data_dir_lock {
 public:
  /// Locks `dir`, which must exist. io_error when LOCK cannot be opened,
  /// or when another process (or another open file description in this
  /// one) holds the lock: the message names the directory.
  static result<data_dir_lock> acquire(const std::string& dir);

  data_dir_lock() = default;  ///< holds nothing
  data_dir_lock(data_dir_lock&& other) noexcept;
  data_dir_lock& operator=(data_dir_lock&& other) noexcept;
  data_dir_lock(const data_dir_lock&) = delete;
  data_dir_lock& operator=(const data_dir_lock&) = delete;
  ~data_dir_lock() { release(); }

  /// Gives the lock up now (closes the descriptor); idempotent.
  void release();
  bool held() const { return fd_ >= 0; }

 private:
  explicit data_dir_lock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace nl::storage

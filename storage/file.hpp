#pragma once
// A thin layer over the POSIX calls the storage code needs. Every call
// returns status / result<T>; errno becomes an io_error whose message names
// the operation and the path. Nothing here retries or hides a failure except
// EINTR and short writes, which POSIX allows and which are not failures.
//
// Thread-safety: a file object has a single owner; the free functions may be
// called from any thread.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/status.hpp"

namespace nl::storage {

/// A file opened for appending. Implemented by POSIX files and, in tests, by
/// fakes that inject failures.
class writable_file {
 public:
  virtual ~writable_file() = default;
  /// Writes all of `data` at the end of the file (one write(2) unless the
  /// kernel returns short). After a failure the file content past the
  /// previous end is unspecified.
  virtual status append(std::string_view data) = 0;
  /// fdatasync(2): the data written so far survives a power loss.
  virtual status sync() = 0;
  /// ftruncate(2) to `size` bytes; later appends go to the new end.
  virtual status truncate(uint64_t size) = 0;
  /// Closes the descriptor (no implicit sync). Further calls fail.
  virtual status close() = 0;
  /// A second handle on the same file (opened again) whose sync() makes
  /// durable what was written through this one, so that another thread
  /// can fdatasync while this one goes on appending; it stays valid after
  /// close(), and a writeback error is reported to both handles' syncs. A
  /// file that has no such handle (a test fake) answers invalid_argument,
  /// and its owner syncs it itself.
  virtual result<std::unique_ptr<writable_file>> duplicate() {
    return status::invalid_argument("this file has no second handle");
  }
};

/// Creates `path`, which must not exist (O_EXCL), for appending.
result<std::unique_ptr<writable_file>> create_new_file(const std::string& path);

/// How the WAL writer creates segment files; tests substitute fakes.
using file_creator = std::function<result<std::unique_ptr<writable_file>>(const std::string&)>;

/// A file read at explicit offsets (pread). Movable, closes on destruction.
class readable_file {
 public:
  static result<readable_file> open(const std::string& path);
  readable_file(readable_file&& other) noexcept;
  readable_file& operator=(readable_file&& other) noexcept;
  readable_file(const readable_file&) = delete;
  readable_file& operator=(const readable_file&) = delete;
  ~readable_file();

  /// Reads up to `n` bytes at `offset` into `buf`; fewer only at end of file.
  result<size_t> read(uint64_t offset, char* buf, size_t n) const;
  result<uint64_t> size() const;
  const std::string& path() const { return path_; }

 private:
  readable_file(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

/// A whole file mapped read-only with mmap(2): immutable, so any thread may
/// read it. Blocks are read this way: their pages belong to the page cache
/// and count against the process only while touched.
class mapped_file {
 public:
  /// An empty file maps to empty bytes.
  static result<std::unique_ptr<mapped_file>> open(const std::string& path);
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  ~mapped_file();

  std::string_view bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }
  /// Maps the pages of bytes().substr(offset, size) in one call
  /// (MADV_POPULATE_READ) instead of a fault per page; a hint that does
  /// nothing where the kernel lacks it (before Linux 5.14).
  void populate(size_t offset, size_t size) const;
  /// Drops the pages this process has touched from its resident set
  /// (MADV_DONTNEED); they stay in the page cache and fault back on use.
  void release_resident() const;

 private:
  mapped_file(const char* data, size_t size, std::string path) : data_(data), size_(size), path_(std::move(path)) {}
  const char* data_;
  size_t size_;
  std::string path_;
};

/// rename(2).
status rename_path(const std::string& from, const std::string& to);
/// link(2): `to` becomes a second name of the file `from` (same file
/// system; `to` must not exist). Snapshots share block files this way.
status hard_link(const std::string& from, const std::string& to);
/// Removes `path` and, if it is a directory, everything below it. A
/// missing path is ok.
status remove_tree(const std::string& path);

/// Bytes of the regular files below `path` (0 when it does not exist).
uint64_t directory_bytes(const std::string& path);

/// fsync(2) on a directory, making created, renamed and removed entries
/// durable.
status sync_dir(const std::string& dir);
/// Creates `dir` (one level) if it does not exist; syncs its parent when it
/// did not.
status create_dir_if_missing(const std::string& dir);
/// Names of the entries in `dir` (no "." and ".."), in no particular order.
result<std::vector<std::string>> list_dir(const std::string& dir);
result<uint64_t> file_size(const std::string& path);
/// False when `path` does not exist; io_error when that cannot be told.
result<bool> path_exists(const std::string& path);
/// Cuts `path` to `size` bytes and fdatasyncs it.
status truncate_file(const std::string& path, uint64_t size);
status remove_file(const std::string& path);
/// Removes the file `path` if it exists and syncs its directory, so the
/// removal survives a crash. A missing file is ok.
status remove_file_durably(const std::string& path);
/// Writes `data` to a new or existing file, replacing its content (tests and
/// tools; not crash-safe).
status write_whole_file(const std::string& path, std::string_view data);
/// The whole content of `path`.
result<std::string> read_whole_file(const std::string& path);

}  // namespace nl::storage

#include "storage/chunk/chunk_files.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "storage/file.hpp"

namespace nl::storage {

std::atomic<uint64_t> chunk_files::next_seq_{0};
std::atomic<uint64_t> chunk_files::failures_total_{0};
std::atomic<uint64_t> chunk_files::file_bytes_{0};

struct chunk_files::segment : chunk_block {
  char* map = nullptr;
  std::string path;
};

namespace {

status sys_error(const char* what, const std::string& path) {
  return status::io_error(std::string(what) + " " + path + ": " + std::strerror(errno));
}

}  // namespace

bool chunk_files::preallocation_holds(long fs_type) {
  constexpr long btrfs = 0x9123683e;
  constexpr long zfs = 0x2fc12fc1;
  constexpr long bcachefs = 0xca451a4e;
  return fs_type != btrfs && fs_type != zfs && fs_type != bcachefs;
}

result<std::unique_ptr<chunk_files>> chunk_files::open(const std::string& dir) {
  // Whatever an earlier run left goes with the directory.
  if (auto st = remove_tree(dir); !st)
    return st;
  if (auto st = create_dir_if_missing(dir); !st)
    return st;
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0)
    return sys_error("statfs", dir);
  if (!preallocation_holds(static_cast<long>(fs.f_type)))
    return status::invalid_argument(dir + ": a copy-on-write file system, where space allocated in advance does "
                                          "not guarantee a write through a mapping (a full disk would be SIGBUS)");
  return std::unique_ptr<chunk_files>(new chunk_files(dir));
}

chunk_files::~chunk_files() {
  if (current_ != nullptr)
    current_->unref();
}

status chunk_files::next_segment() {
  char name[24];
  std::snprintf(name, sizeof name, "%08llu",
                static_cast<unsigned long long>(next_seq_.fetch_add(1, std::memory_order_relaxed)));
  std::string path = dir_ + "/" + name;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return sys_error("create", path);
  // Blocks allocated now: writing through the mapping can then never meet
  // a full disk (which would be SIGBUS, not an error).
  int err = ::posix_fallocate(fd, 0, static_cast<off_t>(segment_size));
  void* map = MAP_FAILED;
  if (err == 0)
    map = ::mmap(nullptr, segment_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  else
    errno = err;
  status st = err != 0 ? sys_error("fallocate", path) : map == MAP_FAILED ? sys_error("mmap", path) : status::ok();
  ::close(fd);
  if (!st) {
    ::unlink(path.c_str());
    if (current_ != nullptr && used_ > 0)
      ::madvise(current_->map, segment_size, MADV_DONTNEED);  // full all the same
    return st;
  }
  auto* s = new segment;
  s->on_empty = &free_segment;
  s->map = static_cast<char*>(map);
  s->path = std::move(path);
  file_bytes_.fetch_add(segment_size, std::memory_order_relaxed);
  if (current_ != nullptr) {
    // Full: its pages leave this process (they stay in the page cache).
    ::madvise(current_->map, segment_size, MADV_DONTNEED);
    current_->unref();
  }
  current_ = s;
  used_ = 0;
  return status::ok();
}

const uint8_t* chunk_files::store(const void* bytes, size_t n, chunk_block*& owner) {
  if (n == 0 || n > max_chunk)
    return nullptr;
  if (current_ == nullptr || used_ + n > segment_size) {
    auto now = std::chrono::steady_clock::now();
    if (now < retry_at_)
      return nullptr;
    if (!next_segment()) {
      ++failures_;
      failures_total_.fetch_add(1, std::memory_order_relaxed);
      retry_at_ = now + std::chrono::seconds(10);
      return nullptr;
    }
  }
  char* to = current_->map + used_;
  std::memcpy(to, bytes, n);
  used_ += n;
  current_->ref();
  owner = current_;
  return reinterpret_cast<const uint8_t*>(to);
}

void chunk_files::free_segment(chunk_block* b) {
  auto* s = static_cast<segment*>(b);
  ::munmap(s->map, segment_size);
  ::unlink(s->path.c_str());
  file_bytes_.fetch_sub(segment_size, std::memory_order_relaxed);
  delete s;
}

}  // namespace nl::storage

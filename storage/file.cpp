#include "storage/file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nl::storage {

namespace {

status errno_status(const char* op, const std::string& path, int err) {
  std::string m = std::string{op} + " " + path + ": " + std::strerror(err);
  // A full disk (or quota) is the one failure that passes by itself once
  // space is freed; callers may retry it instead of giving up.
  if (err == ENOSPC || err == EDQUOT)
    return status::no_space(std::move(m));
  return status::io_error(std::move(m));
}

status write_all(int fd, const std::string& path, std::string_view data) {
  while (!data.empty()) {
    auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return errno_status("write", path, errno);
    }
    // write(2) may legally return short (signals, quotas); the remainder
    // either goes through or produces a real error on the next call.
    data.remove_prefix(static_cast<size_t>(n));
  }
  return status::ok();
}

class posix_writable_file final : public writable_file {
 public:
  posix_writable_file(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~posix_writable_file() override {
    if (fd_ >= 0)
      ::close(fd_);
  }

  status append(std::string_view data) override {
    if (fd_ < 0)
      return status::io_error("append to closed file " + path_);
    return write_all(fd_, path_, data);
  }

  status sync() override {
    if (fd_ < 0)
      return status::io_error("sync of closed file " + path_);
    if (::fdatasync(fd_) != 0)
      return errno_status("fdatasync", path_, errno);
    return status::ok();
  }

  status truncate(uint64_t size) override {
    if (fd_ < 0)
      return status::io_error("truncate of closed file " + path_);
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
      return errno_status("truncate", path_, errno);
    return status::ok();
  }

  result<std::unique_ptr<writable_file>> duplicate() override {
    if (fd_ < 0)
      return status::io_error("second handle of closed file " + path_);
    // Opened again, not dup(2)ed: the kernel reports a writeback error once
    // per open file description, so a dup's fdatasync could take the error
    // that this descriptor's own fdatasync (at a segment's end) must see.
    int fd;
    do {
      fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
      return errno_status("open a second handle of", path_, errno);
    return std::unique_ptr<writable_file>{new posix_writable_file(fd, path_)};
  }

  status close() override {
    if (fd_ < 0)
      return status::io_error("close of closed file " + path_);
    int fd = fd_;
    fd_ = -1;
    // Linux releases the descriptor even when close fails, so never retry.
    if (::close(fd) != 0)
      return errno_status("close", path_, errno);
    return status::ok();
  }

 private:
  int fd_;
  std::string path_;
};

}  // namespace

result<std::unique_ptr<writable_file>> create_new_file(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return errno_status("create", path, errno);
  return std::unique_ptr<writable_file>{new posix_writable_file(fd, path)};
}

// -- readable_file ----------------------------------------------------------------

result<readable_file> readable_file::open(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return errno_status("open", path, errno);
  return readable_file{fd, path};
}

readable_file::readable_file(readable_file&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

readable_file& readable_file::operator=(readable_file&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

readable_file::~readable_file() {
  if (fd_ >= 0)
    ::close(fd_);
}

result<size_t> readable_file::read(uint64_t offset, char* buf, size_t n) const {
  size_t done = 0;
  while (done < n) {
    auto r = ::pread(fd_, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return errno_status("read", path_, errno);
    }
    if (r == 0)
      break;  // end of file
    done += static_cast<size_t>(r);
  }
  return done;
}

result<uint64_t> readable_file::size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0)
    return errno_status("stat", path_, errno);
  return static_cast<uint64_t>(st.st_size);
}

// -- directory and path operations ------------------------------------------------

status sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno_status("open directory", dir, errno);
  status st;
  if (::fsync(fd) != 0)
    st = errno_status("fsync directory", dir, errno);
  ::close(fd);
  return st;
}

status create_dir_if_missing(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) {
    auto slash = dir.find_last_of('/');
    std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : dir.substr(0, slash);
    return sync_dir(parent);
  }
  if (errno != EEXIST)
    return errno_status("mkdir", dir, errno);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0)
    return errno_status("stat", dir, errno);
  if (!S_ISDIR(st.st_mode))
    return status::io_error("mkdir " + dir + ": exists and is not a directory");
  return status::ok();
}

result<std::vector<std::string>> list_dir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr)
    return errno_status("opendir", dir, errno);
  std::vector<std::string> names;
  errno = 0;
  while (auto* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..")
      names.emplace_back(name);
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err != 0)
    return errno_status("readdir", dir, err);
  return names;
}

result<uint64_t> file_size(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return errno_status("stat", path, errno);
  return static_cast<uint64_t>(st.st_size);
}

result<bool> path_exists(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0)
    return true;
  if (errno == ENOENT)
    return false;
  return errno_status("stat", path, errno);
}

status truncate_file(const std::string& path, uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return errno_status("open", path, errno);
  status st;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0)
    st = errno_status("truncate", path, errno);
  else if (::fdatasync(fd) != 0)
    st = errno_status("fdatasync", path, errno);
  ::close(fd);
  return st;
}

status remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0)
    return errno_status("unlink", path, errno);
  return status::ok();
}

status remove_file_durably(const std::string& path) {
  if (::unlink(path.c_str()) != 0)
    return errno == ENOENT ? status::ok() : errno_status("unlink", path, errno);
  auto slash = path.rfind('/');
  return sync_dir(slash == std::string::npos ? std::string{"."} : path.substr(0, slash));
}

status write_whole_file(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno_status("open", path, errno);
  auto st = write_all(fd, path, data);
  if (::close(fd) != 0 && st.is_ok())
    st = errno_status("close", path, errno);
  return st;
}

result<std::string> read_whole_file(const std::string& path) {
  auto f = readable_file::open(path);
  if (!f)
    return f.error();
  auto size = f->size();
  if (!size)
    return size.error();
  std::string data(*size, '\0');
  auto n = f->read(0, data.data(), data.size());
  if (!n)
    return n.error();
  data.resize(*n);
  return data;
}

result<std::unique_ptr<mapped_file>> mapped_file::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno_status("open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return errno_status("stat", path, err);
  }
  size_t size = static_cast<size_t>(st.st_size);
  const char* data = "";
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return errno_status("mmap", path, err);
    }
    data = static_cast<const char*>(p);
  }
  ::close(fd);  // the mapping keeps the file
  return std::unique_ptr<mapped_file>(new mapped_file(data, size, path));
}

mapped_file::~mapped_file() {
  if (size_ > 0)
    ::munmap(const_cast<char*>(data_), size_);
}

void mapped_file::populate(size_t offset, size_t size) const {
#ifdef MADV_POPULATE_READ
  if (offset >= size_ || size == 0)
    return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(data_ + offset) & ~(page - 1);
  const auto end = reinterpret_cast<uintptr_t>(data_ + offset + std::min(size, size_ - offset));
  (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_READ);
#else
  (void)offset;
  (void)size;
#endif
}

void mapped_file::release_resident() const {
  if (size_ > 0)
    ::madvise(const_cast<char*>(data_), size_, MADV_DONTNEED);
}

status rename_path(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    return errno_status("rename", from + " to " + to, errno);
  return status::ok();
}

status hard_link(const std::string& from, const std::string& to) {
  if (::link(from.c_str(), to.c_str()) != 0)
    return errno_status("link", from + " to " + to, errno);
  return status::ok();
}

status remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0)
    return errno == ENOENT ? status::ok() : errno_status("stat", path, errno);
  if (S_ISDIR(st.st_mode)) {
    auto names = list_dir(path);
    if (!names)
      return names.error();
    for (const auto& n : *names)
      if (auto r = remove_tree(path + "/" + n); !r)
        return r;
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT)
      return errno_status("rmdir", path, errno);
    return status::ok();
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return errno_status("unlink", path, errno);
  return status::ok();
}

uint64_t directory_bytes(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0)
    return 0;
  if (!S_ISDIR(st.st_mode))
    return S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
  auto names = list_dir(path);
  if (!names)
    return 0;
  uint64_t n = 0;
  for (const auto& name : *names)
    n += directory_bytes(path + "/" + name);
  return n;
}

}  // namespace nl::storage

#include "protocol/tls_material_files.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nl::protocol {

namespace {

using storage::status;

// A new memfd holding `text`; -1 with errno on failure.
int memfd_with(const char* name, const std::string& text) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0)
    return -1;
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      errno = err;
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  return fd;
}

// Puts `text` behind descriptor `target` (dup2 replaces it atomically).
status swap_in(int target, const char* name, const std::string& text) {
  int fd = memfd_with(name, text);
  if (fd < 0)
    return status::io_error(std::string("tls: cannot make an in-memory copy of ") + name + ": "
                            + std::strerror(errno));
  int r = ::dup3(fd, target, O_CLOEXEC);
  int err = errno;
  ::close(fd);
  if (r < 0)
    return status::io_error(std::string("tls: cannot replace the in-memory ") + name + ": " + std::strerror(err));
  return status::ok();
}

}  // namespace

storage::result<std::unique_ptr<tls_material_files>> tls_material_files::create(const tls_material& m) {
  std::unique_ptr<tls_material_files> f{new tls_material_files};
  int* fds[] = {&f->key_fd_, &f->cert_fd_, &f->ca_fd_};
  const char* names[] = {"tls-key", "tls-cert", "tls-ca"};
  const std::string* texts[] = {&m.key_pem, &m.cert_pem, &m.ca_pem};
  for (int i = 0; i < 3; ++i) {
    *fds[i] = memfd_with(names[i], *texts[i]);
    if (*fds[i] < 0)
      return status::io_error(std::string("tls: cannot make an in-memory copy of ") + names[i] + ": "
                              + std::strerror(errno));
  }
  return f;
}

tls_material_files::~tls_material_files() {
  for (int fd : {cert_fd_, key_fd_, ca_fd_})
    if (fd >= 0)
      ::close(fd);
}

storage::status tls_material_files::replace(const tls_material& m) {
  if (auto st = swap_in(key_fd_, "tls-key", m.key_pem); !st)
    return st;
  if (auto st = swap_in(cert_fd_, "tls-cert", m.cert_pem); !st)
    return st;
  return swap_in(ca_fd_, "tls-ca", m.ca_pem);
}

}  // namespace nl::protocol

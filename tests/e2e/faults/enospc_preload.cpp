/* A fault-injecting file layer for end-to-end tests, loaded with LD_PRELOAD
 * into the real server: while the file named by NL_ENOSPC_FLAG exists,
 * write(2) to any file whose path starts with the flag file's content (a
 * path prefix, e.g. the data directory) fails with ENOSPC, as on a full
 * disk. Sockets, pipes and other files are untouched. Nothing else changes:
 * file creation, ftruncate and fsync go through.
 */
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using write_fn = ssize_t (*)(int, const void*, size_t);

bool disk_full_for(int fd) {
  const char* flag = getenv("NL_ENOSPC_FLAG");
  if (flag == nullptr)
    return false;
  FILE* f = std::fopen(flag, "re");
  if (f == nullptr)
    return false;
  char prefix[4096];
  size_t len = std::fread(prefix, 1, sizeof prefix - 1, f);
  std::fclose(f);
  prefix[len] = '\0';
  if (len == 0)
    return false;
  char link[64];
  char path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0)
    return false;
  path[n] = '\0';
  return std::strncmp(path, prefix, len) == 0;
}

}  // namespace

extern "C" ssize_t write(int fd, const void* buf, size_t count) {
  static write_fn real = reinterpret_cast<write_fn>(dlsym(RTLD_NEXT, "write"));
  int saved = errno;
  if (disk_full_for(fd)) {
    errno = ENOSPC;
    return -1;
  }
  errno = saved;
  return real(fd, buf, count);
}

/* A fault-injecting file layer for end-to-end tests, loaded with LD_PRELOAD
 * into the real server. While the file named by NL_FAULT_FLAG exists and
 * holds "<fault> <path prefix>", write(2) to any file whose path starts
 * with the prefix (e.g. the data directory) misbehaves:
 *   enospc  fails with ENOSPC, as on a full disk;
 *   stall   blocks until the flag file is removed or changed, as on a hung
 *           disk, then writes.
 * Sockets, pipes and other files are untouched. Nothing else changes: file
 * creation, ftruncate and fsync go through.
 */
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using write_fn = ssize_t (*)(int, const void*, size_t);

enum class fault { none, enospc, stall };

// The fault the flag file names for `fd`'s path.
fault fault_for(int fd) {
  const char* flag = getenv("NL_FAULT_FLAG");
  if (flag == nullptr)
    return fault::none;
  FILE* f = std::fopen(flag, "re");
  if (f == nullptr)
    return fault::none;
  char spec[4096];
  size_t len = std::fread(spec, 1, sizeof spec - 1, f);
  std::fclose(f);
  spec[len] = '\0';
  const char* space = std::strchr(spec, ' ');
  if (space == nullptr || space[1] == '\0')
    return fault::none;
  fault kind = std::strncmp(spec, "enospc ", 7) == 0 ? fault::enospc
               : std::strncmp(spec, "stall ", 6) == 0 ? fault::stall
                                                       : fault::none;
  const char* prefix = space + 1;
  char link[64];
  char path[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0)
    return fault::none;
  path[n] = '\0';
  return std::strncmp(path, prefix, std::strlen(prefix)) == 0 ? kind : fault::none;
}

}  // namespace

extern "C" ssize_t write(int fd, const void* buf, size_t count) {
  static write_fn real = reinterpret_cast<write_fn>(dlsym(RTLD_NEXT, "write"));
  int saved = errno;
  for (;;) {
    auto f = fault_for(fd);
    if (f == fault::enospc) {
      errno = ENOSPC;
      return -1;
    }
    if (f != fault::stall)
      break;
    usleep(10000);
  }
  errno = saved;
  return real(fd, buf, count);
}

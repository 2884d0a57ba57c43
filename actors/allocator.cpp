#include "actors/allocator.hpp"

#include <cstddef>
#include <string>

// jemalloc's control call, weak: only the server links jemalloc, and a
// program without it sees a null pointer here.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
  __attribute__((weak));

namespace nl::actors {

namespace {

// MALLCTL_ARENAS_ALL in jemalloc's header: "all arenas" in a name.
constexpr unsigned arenas_all = 4096;

uint64_t read_size(const char* name) {
  size_t v = 0;
  size_t len = sizeof v;
  return mallctl(name, &v, &len, nullptr, 0) == 0 ? v : 0;
}

}  // namespace

bool allocator_is_jemalloc() { return mallctl != nullptr; }

bool release_free_memory() {
  if (mallctl == nullptr)
    return false;
  static const std::string purge = "arena." + std::to_string(arenas_all) + ".purge";
  return mallctl(purge.c_str(), nullptr, nullptr, nullptr, 0) == 0;
}

allocator_bytes allocator_usage() {
  allocator_bytes out;
  if (mallctl == nullptr)
    return out;
  // The stats are a snapshot taken when the epoch advances.
  uint64_t epoch = 1;
  size_t len = sizeof epoch;
  (void)mallctl("epoch", &epoch, &len, &epoch, len);
  out.allocated = read_size("stats.allocated");
  out.resident = read_size("stats.resident");
  return out;
}

}  // namespace nl::actors

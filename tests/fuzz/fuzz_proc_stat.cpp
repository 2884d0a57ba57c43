// libFuzzer target: /proc/self/stat and /proc/stat texts from arbitrary
// bytes, read as /metrics reads them (actors/process_stats). Malformed
// input must come back as nullopt, never crash or hang.
#include <string_view>

#include "actors/process_stats.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  (void)nl::actors::parse_proc_stat(text);
  (void)nl::actors::parse_boot_time(text);
  return 0;
}

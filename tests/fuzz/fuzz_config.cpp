// libFuzzer target: the configuration file (YAML) from arbitrary bytes,
// parsed as start-up parses it, then shown as /api/v1/status/config shows
// it, which must parse back to the same document. The only exception allowed out is
// config_error (main() catches that one and exits 2); any other exception,
// a crash or a hang is a bug.
#include <cstdlib>
#include <string>

#include "actors/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text{reinterpret_cast<const char*>(data), size};
  try {
    auto s = nl::actors::parse_settings(text, "fuzz.yaml");
    (void)nl::actors::split_host_port(s.server.http_addr, "server.http_addr");
    // What /api/v1/status/config and /flags show of it must read back.
    auto shown = nl::actors::effective_yaml(s);
    (void)nl::actors::shown_flags(s, {});
    auto again = nl::actors::parse_settings(shown, "effective.yaml");
    if (nl::actors::effective_yaml(again) != shown)
      abort();
  } catch (const nl::actors::config_error&) {
  }
  return 0;
}

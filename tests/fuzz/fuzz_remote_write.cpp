// libFuzzer target: a remote-write HTTP body (snappy block of a
// prometheus.WriteRequest) from arbitrary bytes, decoded and validated as
// the write path does. Nothing may crash or hang; bad input is an error.
// Metadata entries that pass must be storable (a family name, valid UTF-8).
#include "protocol/remote_write.hpp"
#include "protocol/utf8.hpp"

namespace {

void check(const nl::storage::result<nl::protocol::write_batch>& b) {
  if (!b)
    return;
  for (const auto& m : b->metadata)
    if (m.metric_family_name.empty() || !nl::protocol::valid_utf8(m.metric_family_name)
        || !nl::protocol::valid_utf8(m.help) || !nl::protocol::valid_utf8(m.unit))
      __builtin_trap();
  (void)b->report.summary();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nl::protocol::write_settings settings;
  std::string_view body{reinterpret_cast<const char*>(data), size};
  check(nl::protocol::decode_remote_write(body, 1'800'000'000'000, settings, 64u << 20));
  // The same bytes as an already decompressed WriteRequest, with either
  // name rule.
  for (bool utf8 : {false, true}) {
    settings.allow_utf8_names = utf8;
    check(nl::protocol::decode_write_request(std::make_shared<const std::string>(body), 1'800'000'000'000,
                                             settings));
  }
  return 0;
}

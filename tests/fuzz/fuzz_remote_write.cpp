// libFuzzer target: a remote-write HTTP body (snappy block of a
// prometheus.WriteRequest) from arbitrary bytes, decoded and validated as
// the write path does. Nothing may crash or hang; bad input is an error.
#include "protocol/remote_write.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nl::protocol::write_settings settings;
  std::string_view body{reinterpret_cast<const char*>(data), size};
  (void)nl::protocol::decode_remote_write(body, 1'800'000'000'000, settings, 64u << 20);
  // The same bytes as an already decompressed WriteRequest.
  (void)nl::protocol::decode_write_request(std::make_shared<const std::string>(body), 1'800'000'000'000,
                                           settings);
  return 0;
}

// libFuzzer target: a remote-read HTTP body (snappy block of a
// prometheus.ReadRequest) from arbitrary bytes, decompressed and decoded as
// the read path does (matchers compiled, response type negotiated). The
// same bytes are also read as an already decompressed ReadRequest, with and
// without streamed responses on offer. Nothing may crash or hang; bad input
// is an error.
#include <string>

#include "protocol/remote_read.hpp"
#include "protocol/snappy_block.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nl::protocol;
  std::string_view body{reinterpret_cast<const char*>(data), size};
  std::string decoded;
  if (snappy_decode(body, decoded, 1u << 20).is_ok())
    (void)decode_read_request(decoded);
  (void)decode_read_request(body, true);
  (void)decode_read_request(body, false);
  return 0;
}

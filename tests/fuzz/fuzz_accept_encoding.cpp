// libFuzzer target: an Accept-Encoding header value from arbitrary bytes,
// read as the HTTP server reads every request's (protocol/http_compression);
// then the input itself through gzip_compress and back through zlib, so
// the compressor's chunking is exercised with every length.
#include <zlib.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/http_compression.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  (void)nl::protocol::accepts_gzip(text);
  auto z = nl::protocol::gzip_compress(text);
  std::string back(size + 1, '\0');
  uLongf n = 0;
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK)
    abort();
  zs.next_in = reinterpret_cast<Bytef*>(z.data());
  zs.avail_in = static_cast<uInt>(z.size());
  zs.next_out = reinterpret_cast<Bytef*>(back.data());
  zs.avail_out = static_cast<uInt>(back.size());
  int rc = inflate(&zs, Z_FINISH);
  n = zs.total_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || n != size || std::string_view{back.data(), n} != text)
    abort();  // the member must decode to the input
  return 0;
}

#include "protocol/snappy_block.hpp"

#include <snappy.h>

namespace nl::protocol {

storage::status snappy_decode(std::string_view in, std::string& out, size_t max_decoded) {
  size_t n = 0;
  // Only parses the preamble varint: the announced size is checked before
  // we allocate, so a 20-byte body cannot make us reserve gigabytes.
  if (!snappy::GetUncompressedLength(in.data(), in.size(), &n))
    return storage::status::corruption("snappy: corrupt input");
  if (n > max_decoded)
    return storage::status::limit_exceeded("snappy: decoded length " + std::to_string(n) +
                                           " exceeds limit " + std::to_string(max_decoded));
  out.resize(n);
  // RawUncompress bound-checks every literal and copy against both buffers
  // and fails unless exactly n bytes come out, so no separate
  // IsValidCompressedBuffer pass (which would decode everything twice).
  if (!snappy::RawUncompress(in.data(), in.size(), out.data())) {
    out.clear();
    return storage::status::corruption("snappy: corrupt input");
  }
  return storage::status::ok();
}

}  // namespace nl::protocol

#pragma once
// How the fuzz targets that build a directory of several files cut their
// one input into those files (the seeds of make_seeds.py are written so).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

namespace nl::fuzz {

/// Takes one part off the front of `in`: a length (4 bytes, little-endian)
/// and that many bytes, fewer where `in` ends first; all of `in` when it is
/// shorter than a length.
inline std::string_view take_length_prefixed(std::string_view& in) {
  if (in.size() < 4)
    return std::exchange(in, {});
  uint32_t n;
  std::memcpy(&n, in.data(), 4);
  in.remove_prefix(4);
  n = std::min<uint32_t>(n, static_cast<uint32_t>(in.size()));
  auto out = in.substr(0, n);
  in.remove_prefix(n);
  return out;
}

}  // namespace nl::fuzz

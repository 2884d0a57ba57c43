#pragma once
// UTF-8 checks shared by the remote write validator and the JSON writer.
// "Valid" means what Go's utf8.ValidString accepts: no overlong forms, no
// surrogates, nothing above U+10FFFF.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace nl::protocol {

/// Length (2..4) of the valid multi-byte sequence starting at p, or 0 if the
/// bytes there (first byte >= 0x80) are not one. Never reads past `end`.
inline size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) {
  unsigned c = p[0];
  size_t n;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 1;
    cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 2;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 3;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (static_cast<size_t>(end - p) <= n)
    return 0;
  for (size_t i = 1; i <= n; ++i) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3f);
  }
  if (n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
    return 0;
  if (n == 3 && (cp < 0x10000 || cp > 0x10ffff))
    return 0;
  return n + 1;
}

inline bool valid_utf8(std::string_view s) {
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  auto end = p + s.size();
  while (p < end) {
    if (end - p >= 8) {  // ASCII fast path, 8 bytes at a time
      uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    if (*p < 0x80) {
      ++p;
      continue;
    }
    size_t n = utf8_sequence_length(p, end);
    if (n == 0)
      return false;
    p += n;
  }
  return true;
}

}  // namespace nl::protocol

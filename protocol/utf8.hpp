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

/// Go %q-style quoting for error messages: "..." with \\ \" \n \t \r
/// escaped, other control bytes and bytes that are not valid UTF-8 as \xNN,
/// valid multi-byte characters kept. The result is always valid UTF-8.
inline std::string go_quote(std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  std::string out = "\"";
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  auto end = p + s.size();
  while (p < end) {
    unsigned c = *p;
    size_t n = c < 0x80 ? 1 : utf8_sequence_length(p, end);
    if (n > 1) {
      out.append(reinterpret_cast<const char*>(p), n);
      p += n;
      continue;
    }
    ++p;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 15];
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace nl::protocol

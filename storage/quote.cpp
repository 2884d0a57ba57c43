#include "storage/quote.hpp"

#include <cstdio>

namespace nl::storage {

namespace {

std::string hex_escape(const char* prefix, uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*x", prefix, digits, v);
  return buf;
}

// Go's strconv quoting of one rune inside a literal delimited by `quote`.
void append_quoted_rune(std::string& out, uint32_t r, char quote) {
  switch (r) {
    case '\a': out += "\\a"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    case '\v': out += "\\v"; break;
    case '\\': out += "\\\\"; break;
    default:
      if (r == static_cast<uint32_t>(quote)) {
        out += '\\';
        out += quote;
      } else if (is_printable(r)) {
        append_utf8(out, r);
      } else if (r < 0x80) {
        out += hex_escape("\\x", r, 2);
      } else if (r < 0x10000) {
        out += hex_escape("\\u", r, 4);
      } else {
        out += hex_escape("\\U", r, 8);
      }
  }
}

}  // namespace

bool is_printable(uint32_t r) {
  if (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0xad)
    return false;
  if (r >= 0xd800 && r < 0xe000)
    return false;
  if (r == 0x2028 || r == 0x2029 || (r >= 0x200b && r <= 0x200f) || r == 0xfeff)
    return false;
  return r <= 0x10ffff;
}

void append_utf8(std::string& out, uint32_t r) {
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xc0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3f));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xe0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (r & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (r & 0x3f));
  }
}

uint32_t decode_rune(std::string_view s, size_t i, int& width) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  width = 1;
  if (c < 0x80)
    return c;
  int n = 0;
  uint32_t r = 0, min = 0;
  if ((c & 0xe0) == 0xc0) {
    n = 1, r = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    n = 2, r = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    n = 3, r = c & 0x07, min = 0x10000;
  } else {
    return 0xfffd;
  }
  for (int k = 1; k <= n; ++k) {
    if (i + k >= s.size() || (b(i + k) & 0xc0) != 0x80)
      return 0xfffd;
    r = (r << 6) | (b(i + k) & 0x3f);
  }
  if (r < min || r > 0x10ffff || (r >= 0xd800 && r < 0xe000))
    return 0xfffd;
  width = n + 1;
  return r;
}

std::string go_quote_rune(uint32_t r) {
  std::string out = "'";
  append_quoted_rune(out, r, '\'');
  out += '\'';
  return out;
}

std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    int w = 1;
    uint32_t r = decode_rune(s, i, w);
    if (r == 0xfffd && w == 1) {
      out += hex_escape("\\x", static_cast<unsigned char>(s[i]), 2);
      i += 1;
      continue;
    }
    i += w;
    append_quoted_rune(out, r, '"');
  }
  out += '"';
  return out;
}

}  // namespace nl::storage

#include "promql/quote.hpp"

#include <cstdio>

namespace nl::promql {

using storage::append_utf8;
using storage::is_printable;

int digit_value(int r) {
  if (r >= '0' && r <= '9')
    return r - '0';
  if (r >= 'a' && r <= 'f')
    return r - 'a' + 10;
  if (r >= 'A' && r <= 'F')
    return r - 'A' + 10;
  return 16;
}

std::string go_unicode_name(int r) {
  uint32_t u = r < 0 ? 0xfffd : static_cast<uint32_t>(r);
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", u);
  std::string out = buf;
  if (is_printable(u)) {
    out += " '";
    append_utf8(out, u);
    out += '\'';
  }
  return out;
}

namespace {

int unhex(char c) {
  int d = digit_value(static_cast<unsigned char>(c));
  return d < 16 ? d : -1;
}

}  // namespace

bool unquote(std::string_view s, std::string& out) {
  out.clear();
  if (s.size() < 2 || s.front() != s.back())
    return false;
  char quote = s.front();
  s = s.substr(1, s.size() - 2);
  if (quote == '`') {
    if (s.find('`') != std::string_view::npos)
      return false;
    out.assign(s);
    return true;
  }
  if ((quote != '"' && quote != '\'') || s.find('\n') != std::string_view::npos)
    return false;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == quote)
      return false;
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 >= s.size())
      return false;
    char e = s[i + 1];
    i += 2;
    switch (e) {
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '\'':
      case '"':
        if (e != quote)
          return false;
        out += e;
        break;
      case 'x':
      case 'u':
      case 'U': {
        size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        if (s.size() - i < n)
          return false;
        uint32_t v = 0;
        for (size_t j = 0; j < n; ++j) {
          int d = unhex(s[i + j]);
          if (d < 0)
            return false;
          v = (v << 4) | static_cast<uint32_t>(d);
        }
        i += n;
        if (e == 'x') {
          out += static_cast<char>(v);  // a single byte, maybe not UTF-8
          break;
        }
        if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000))
          return false;
        append_utf8(out, v);
        break;
      }
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
        if (s.size() - i < 2)
          return false;
        uint32_t v = static_cast<uint32_t>(e - '0');
        for (size_t j = 0; j < 2; ++j) {
          int d = s[i + j] - '0';
          if (d < 0 || d > 7)
            return false;
          v = (v << 3) | static_cast<uint32_t>(d);
        }
        i += 2;
        if (v > 255)
          return false;
        out += static_cast<char>(v);
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

}  // namespace nl::promql

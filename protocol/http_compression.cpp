#include "protocol/http_compression.hpp"

#include <zlib.h>

#include <algorithm>
#include <new>

#include "promql/literals.hpp"

namespace nl::protocol {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// Reads one list item's parameters (";q=0.5"): false when they are
// malformed (the item is then ignored), else `zero` tells a weight of 0.
// RFC 9110 qvalue: 0, 0.###, 1 or 1.000.
bool parse_weight(std::string_view params, bool& zero) {
  zero = false;
  while (!params.empty()) {
    auto semi = params.find(';');
    auto p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    if (p.empty())
      continue;
    auto eq = p.find('=');
    if (eq == std::string_view::npos)
      return false;
    auto name = trim(p.substr(0, eq));
    auto value = trim(p.substr(eq + 1));
    if (!promql::iequals(name, "q"))
      continue;  // other parameters carry no weight
    if (value.empty() || (value[0] != '0' && value[0] != '1') || value.size() > 5)
      return false;
    if (value.size() > 1) {
      if (value[1] != '.')
        return false;
      for (char c : value.substr(2))
        if (c < '0' || c > '9' || (value[0] == '1' && c != '0'))
          return false;
    }
    zero = value.find_first_not_of("0.") == std::string_view::npos;
  }
  return true;
}

}  // namespace

bool accepts_gzip(std::string_view header) {
  // gzip named explicitly decides; otherwise "*" does.
  bool named = false, named_ok = false, star = false, star_ok = false;
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    auto semi = item.find(';');
    auto coding = trim(item.substr(0, semi));
    bool zero = false;
    if (coding.empty()
        || !parse_weight(semi == std::string_view::npos ? std::string_view{} : item.substr(semi + 1), zero))
      continue;
    if (promql::iequals(coding, "gzip") || promql::iequals(coding, "x-gzip")) {
      named = true;
      named_ok = named_ok || !zero;
    } else if (coding == "*") {
      star = true;
      star_ok = star_ok || !zero;
    }
  }
  return named ? named_ok : star && star_ok;
}

std::string gzip_compress(std::string_view data) {
  z_stream zs{};
  // 15 + 16: a 32 KiB window with the gzip header and trailer.
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::bad_alloc{};
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())));  // enough to finish in one go
  // zlib counts in 32 bits: feed and drain at most 1 GiB per call.
  constexpr size_t step = size_t{1} << 30;
  size_t in_pos = 0, out_pos = 0;
  int rc = Z_OK;
  while (rc == Z_OK) {
    size_t in_n = std::min(step, data.size() - in_pos);
    size_t out_n = std::min(step, out.size() - out_pos);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + in_pos));
    zs.avail_in = static_cast<uInt>(in_n);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    zs.avail_out = static_cast<uInt>(out_n);
    rc = deflate(&zs, in_pos + in_n == data.size() ? Z_FINISH : Z_NO_FLUSH);
    in_pos += in_n - zs.avail_in;
    out_pos += out_n - zs.avail_out;
  }
  deflateEnd(&zs);
  if (rc != Z_STREAM_END)
    throw std::bad_alloc{};
  out.resize(out_pos);
  return out;
}

}  // namespace nl::protocol

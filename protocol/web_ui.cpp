#include "protocol/web_ui.hpp"

#include <algorithm>

namespace nl::protocol {

// Defined in the generated web_assets.cpp (build dir), sorted by name.
namespace detail {
extern const web_asset web_assets[];
extern const size_t web_asset_count;
}  // namespace detail

namespace {

// Scripts and styles only from this origin, API calls only to it; no
// framing. uPlot sets element styles through the CSSOM, which style-src
// does not govern, so no 'unsafe-inline' is needed.
constexpr const char* content_security_policy =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
  "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

void add_common_headers(http_response& r, const web_asset& file) {
  r.headers.emplace_back("ETag", std::string{file.etag});
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (file.content_type.substr(0, 9) == "text/html")
    r.headers.emplace_back("Content-Security-Policy", content_security_policy);
}

}  // namespace

const web_asset* web_assets_begin() { return detail::web_assets; }
const web_asset* web_assets_end() { return detail::web_assets + detail::web_asset_count; }

const web_asset* find_web_asset(std::string_view name) {
  auto it = std::lower_bound(web_assets_begin(), web_assets_end(), name,
                             [](const web_asset& a, std::string_view n) { return a.name < n; });
  return it != web_assets_end() && it->name == name ? it : nullptr;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (trim(if_none_match) == "*")
    return true;
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    auto tag = trim(if_none_match.substr(0, comma));
    if (tag.substr(0, 2) == "W/")
      tag.remove_prefix(2);
    if (!tag.empty() && tag == etag)
      return true;
    if (comma == std::string_view::npos)
      break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

http_response web_asset_response(const web_asset* file, std::string_view if_none_match) {
  http_response r;
  if (file == nullptr) {
    r.status = 404;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "404 page not found\n";
    return r;
  }
  add_common_headers(r, *file);
  if (!if_none_match.empty() && etag_matches(if_none_match, file->etag)) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.content_type = std::string{file->content_type};
  r.body = std::string{file->body};
  return r;
}

http_response web_ui_root_response() {
  http_response r;
  r.status = 302;
  r.content_type = "text/html; charset=utf-8";
  r.headers.emplace_back("Location", "graph");
  r.body = "<a href=\"graph\">Found</a>.\n";
  return r;
}

}  // namespace nl::protocol

// libFuzzer target: the web UI's requests from arbitrary bytes. The input
// is a request path and an If-None-Match header value separated by '\n'.
// The path is routed; a /static/<file> or page request is answered from the
// embedded files as the frontend does. Nothing may crash; a 304 must only
// be given for a header that names the file's ETag, a 200 only with the
// file's bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/router.hpp"
#include "protocol/web_ui.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nl::protocol;
  std::string_view in{reinterpret_cast<const char*>(data), size};
  auto nl = in.find('\n');
  auto path = in.substr(0, nl);
  auto if_none_match = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);

  auto r = match_route("GET", path);
  if (r.result != route::outcome::found)
    return 0;
  const web_asset* file = nullptr;
  if (r.ep == endpoint::ui_page)
    file = find_web_asset(web_ui_shell);
  else if (r.ep == endpoint::ui_static)
    file = find_web_asset(r.param);
  else
    return 0;
  auto resp = web_asset_response(file, if_none_match);
  if (resp.status == 304 && (file == nullptr || !etag_matches(if_none_match, file->etag)))
    std::abort();
  if (resp.status == 200 && (file == nullptr || resp.body != file->body))
    std::abort();
  // The router refuses every empty, "." and ".." segment.
  std::string_view rest = r.param;
  while (r.ep == endpoint::ui_static) {
    auto seg = rest.substr(0, rest.find('/'));
    if (seg.empty() || seg == "." || seg == "..")
      std::abort();
    if (seg.size() == rest.size())
      break;
    rest.remove_prefix(seg.size() + 1);
  }
  return 0;
}

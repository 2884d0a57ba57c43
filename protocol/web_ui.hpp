#pragma once
// The web UI's files: everything under web/ (but *.md) is compiled into the
// binary by cmake/embed_web_assets.cmake, so the UI needs no files on disk
// and no network. This header answers requests for them: the right
// Content-Type, a strong ETag (a hash of the bytes) with `Cache-Control:
// no-cache`, so a browser revalidates every time and gets a body-less 304
// while the binary is unchanged (no stale UI after an upgrade), and a
// Content-Security-Policy that allows nothing but this origin.
#include <cstddef>
#include <string_view>

#include "protocol/http_server.hpp"

namespace nl::protocol {

/// One embedded file. All views point into static storage.
struct web_asset {
  std::string_view name;          ///< path below web/, e.g. "vendor/uplot/LICENSE"
  std::string_view content_type;  ///< e.g. "text/javascript; charset=utf-8"
  std::string_view etag;          ///< quoted: "\"<16 hex digits of SHA-256>\""
  std::string_view body;
};

/// The file served for every UI page (router.hpp, ui_pages).
constexpr std::string_view web_ui_shell = "index.html";

/// The embedded file called `name`, or nullptr.
const web_asset* find_web_asset(std::string_view name);

/// Every embedded file, sorted by name.
const web_asset* web_assets_begin();
const web_asset* web_assets_end();

/// True when an If-None-Match header value names `etag`: "*", or a
/// comma-separated list of entity tags of which one equals it by the weak
/// comparison (a W/ prefix is ignored), as RFC 9110 13.1.2 asks for GET.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

/// The answer for an embedded file: 200 with it, or 304 without a body when
/// `if_none_match` names its ETag; 404 (text) when `file` is null.
http_response web_asset_response(const web_asset* file, std::string_view if_none_match);

/// The answer for "/": 302 to the graph page. The Location is relative
/// ("graph"), so the UI also works behind a proxy that serves it under a
/// path prefix; the UI's own links and API calls are relative too.
http_response web_ui_root_response();

}  // namespace nl::protocol

#define CAF_SUITE protocol.web_ui
#include "test_support.hpp"

#include "protocol/web_ui.hpp"

#include <openssl/sha.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

using namespace nl::protocol;

namespace {

const std::string web_dir = std::string{NL_TEST_DATA_DIR} + "/../../web";

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

std::string sha256_prefix(std::string_view bytes) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md);
  std::string hex;
  char buf[3];
  for (int i = 0; i < 8; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    hex += buf;
  }
  return hex;
}

std::string header(const http_response& r, const std::string& name) {
  for (auto& [k, v] : r.headers)
    if (k == name)
      return v;
  return "";
}

}  // namespace

CAF_TEST(every file under web is embedded byte for byte with its hash as ETag) {
  std::set<std::string> on_disk;
  for (auto& e : std::filesystem::recursive_directory_iterator(web_dir)) {
    if (!e.is_regular_file() || e.path().extension() == ".md")
      continue;
    on_disk.insert(std::filesystem::relative(e.path(), web_dir).generic_string());
  }
  std::set<std::string> embedded;
  for (auto* a = web_assets_begin(); a != web_assets_end(); ++a) {
    CAF_MESSAGE("file " << a->name);
    embedded.insert(std::string{a->name});
    auto bytes = read_file(web_dir + "/" + std::string{a->name});
    CAF_CHECK(!bytes.empty());
    CAF_CHECK(a->body == bytes);
    CAF_CHECK_EQUAL(a->etag, "\"" + sha256_prefix(bytes) + "\"");
    CAF_CHECK(find_web_asset(a->name) == a);
    if (a + 1 != web_assets_end())
      CAF_CHECK(a->name < (a + 1)->name);  // sorted, for the binary search
  }
  CAF_CHECK(on_disk == embedded);
  CAF_CHECK(find_web_asset(web_ui_shell) != nullptr);
  CAF_CHECK(find_web_asset("vendor/uplot/LICENSE") != nullptr);
}

CAF_TEST(content types come from the file extension) {
  CAF_CHECK_EQUAL(find_web_asset("index.html")->content_type, "text/html; charset=utf-8");
  CAF_CHECK_EQUAL(find_web_asset("js/app.js")->content_type, "text/javascript; charset=utf-8");
  CAF_CHECK_EQUAL(find_web_asset("style.css")->content_type, "text/css; charset=utf-8");
  CAF_CHECK_EQUAL(find_web_asset("favicon.svg")->content_type, "image/svg+xml");
  CAF_CHECK_EQUAL(find_web_asset("vendor/uplot/LICENSE")->content_type, "text/plain; charset=utf-8");
  CAF_CHECK_EQUAL(find_web_asset("vendor/uplot/uPlot.iife.min.js")->content_type,
                  "text/javascript; charset=utf-8");
}

CAF_TEST(unknown names find nothing) {
  for (auto name : {"", "/", "index.htm", "INDEX.HTML", "js", "js/", "../web/index.html", "vendor/README.md",
                    "zzz", "\xff"}) {
    CAF_MESSAGE("name " << name);
    CAF_CHECK(find_web_asset(name) == nullptr);
  }
}

CAF_TEST(if none match compares entity tags weakly and accepts lists and star) {
  const std::string_view tag = "\"0123456789abcdef\"";
  CAF_CHECK(etag_matches("\"0123456789abcdef\"", tag));
  CAF_CHECK(etag_matches("W/\"0123456789abcdef\"", tag));
  CAF_CHECK(etag_matches("\"x\", \"0123456789abcdef\"", tag));
  CAF_CHECK(etag_matches("\"x\",W/\"0123456789abcdef\" , \"y\"", tag));
  CAF_CHECK(etag_matches(" * ", tag));
  CAF_CHECK(etag_matches("\t\"0123456789abcdef\"\t", tag));
  CAF_CHECK(!etag_matches("", tag));
  CAF_CHECK(!etag_matches("0123456789abcdef", tag));     // unquoted
  CAF_CHECK(!etag_matches("\"0123456789abcde\"", tag));  // shorter
  CAF_CHECK(!etag_matches("\"0123456789ABCDEF\"", tag));
  CAF_CHECK(!etag_matches("w/\"0123456789abcdef\"", tag));
  CAF_CHECK(!etag_matches(",,,", tag));
  CAF_CHECK(!etag_matches("W/", tag));
  CAF_CHECK(!etag_matches("*, \"x\"", tag));  // "*" only on its own
}

CAF_TEST(a file is answered 200 with caching headers or 304 when unchanged) {
  auto* js = find_web_asset("js/app.js");
  auto ok = web_asset_response(js, "");
  CAF_CHECK_EQUAL(ok.status, 200u);
  CAF_CHECK_EQUAL(ok.content_type, "text/javascript; charset=utf-8");
  CAF_CHECK(ok.body == js->body);
  CAF_CHECK_EQUAL(header(ok, "ETag"), js->etag);
  CAF_CHECK_EQUAL(header(ok, "Cache-Control"), "no-cache");
  CAF_CHECK_EQUAL(header(ok, "X-Content-Type-Options"), "nosniff");
  CAF_CHECK_EQUAL(header(ok, "Content-Security-Policy"), "");  // only pages carry it
  auto same = web_asset_response(js, js->etag);
  CAF_CHECK_EQUAL(same.status, 304u);
  CAF_CHECK(same.body.empty());
  CAF_CHECK(same.content_type.empty());
  CAF_CHECK_EQUAL(header(same, "ETag"), js->etag);
  CAF_CHECK_EQUAL(header(same, "Cache-Control"), "no-cache");
  CAF_CHECK_EQUAL(web_asset_response(js, "\"0000000000000000\"").status, 200u);
  auto page = web_asset_response(find_web_asset(web_ui_shell), "");
  CAF_CHECK_EQUAL(page.content_type, "text/html; charset=utf-8");
  auto csp = header(page, "Content-Security-Policy");
  CAF_CHECK(csp.find("default-src 'self'") != std::string::npos);
  CAF_CHECK(csp.find("script-src 'self';") != std::string::npos);
  CAF_CHECK(csp.find("unsafe") == std::string::npos);
  CAF_CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
}

CAF_TEST(a missing file is 404 and the root redirects to the graph page) {
  auto none = web_asset_response(nullptr, "*");
  CAF_CHECK_EQUAL(none.status, 404u);
  CAF_CHECK_EQUAL(none.body, "404 page not found\n");
  auto root = web_ui_root_response();
  CAF_CHECK_EQUAL(root.status, 302u);
  CAF_CHECK_EQUAL(header(root, "Location"), "graph");
}

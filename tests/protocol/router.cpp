#define CAF_SUITE protocol.router
#include "test_support.hpp"

#include "protocol/query_params.hpp"
#include "protocol/router.hpp"

#include <utility>

using namespace nl::protocol;

CAF_TEST(known paths route to their endpoint) {
  auto r = match_route("POST", "/api/v1/write");
  CAF_CHECK(r.result == route::outcome::found);
  CAF_CHECK(r.ep == endpoint::write);
  CAF_CHECK(match_route("GET", "/api/v1/series").ep == endpoint::series);
  CAF_CHECK(match_route("POST", "/api/v1/read").ep == endpoint::remote_read);
  CAF_CHECK_EQUAL(match_route("GET", "/api/v1/read").allow, "OPTIONS, POST");
  CAF_CHECK(match_route("POST", "/api/v1/labels").ep == endpoint::labels);
  CAF_CHECK(match_route("HEAD", "/-/ready").result == route::outcome::found);
  CAF_CHECK(match_route("OPTIONS", "/api/v1/anything").ep == endpoint::cors_preflight);
}

CAF_TEST(label values take the decoded name from the path) {
  auto r = match_route("GET", "/api/v1/label/job/values");
  CAF_CHECK(r.result == route::outcome::found);
  CAF_CHECK(r.ep == endpoint::label_values);
  CAF_CHECK_EQUAL(r.param, "job");
  CAF_CHECK_EQUAL(match_route("GET", "/api/v1/label/a%2Eb/values").param, "a.b");
  CAF_CHECK(match_route("GET", "/api/v1/label//values").result == route::outcome::not_found);
  CAF_CHECK(match_route("GET", "/api/v1/label/a/b/values").result == route::outcome::not_found);
  CAF_CHECK(match_route("GET", "/api/v1/label/%zz/values").result == route::outcome::not_found);
  CAF_CHECK(match_route("GET", "/api/v1/label/%4/values").result == route::outcome::not_found);
}

CAF_TEST(unknown paths are 404 and foreign methods 405 with Allow) {
  CAF_CHECK(match_route("GET", "/nope").result == route::outcome::not_found);
  CAF_CHECK(match_route("GET", "/api/v1/series/").result == route::outcome::not_found);
  CAF_CHECK(match_route("GET", "").result == route::outcome::not_found);
  auto w = match_route("GET", "/api/v1/write");
  CAF_CHECK(w.result == route::outcome::method_not_allowed);
  CAF_CHECK_EQUAL(w.allow, "OPTIONS, POST");
  auto b = match_route("POST", "/api/v1/status/buildinfo");
  CAF_CHECK(b.result == route::outcome::method_not_allowed);
  CAF_CHECK_EQUAL(b.allow, "GET, OPTIONS");
  CAF_CHECK(match_route("DELETE", "/api/v1/series").result == route::outcome::method_not_allowed);
  CAF_CHECK(match_route("get", "/api/v1/series").result == route::outcome::method_not_allowed);
}

// The Allow values Prometheus 2.42 sends for the same paths (observed;
// Nightlight also takes POST on label values, so it lists POST there).
CAF_TEST(allow lists are alphabetical as in Prometheus) {
  CAF_CHECK_EQUAL(match_route("PUT", "/api/v1/query").allow, "GET, OPTIONS, POST");
  CAF_CHECK_EQUAL(match_route("DELETE", "/api/v1/label/job/values").allow, "GET, OPTIONS, POST");
  CAF_CHECK_EQUAL(match_route("PUT", "/api/v1/write").allow, "OPTIONS, POST");
  CAF_CHECK_EQUAL(match_route("DELETE", "/api/v1/admin/tsdb/snapshot").allow, "OPTIONS, POST, PUT");
  CAF_CHECK_EQUAL(match_route("POST", "/-/healthy").allow, "GET, HEAD, OPTIONS");
  CAF_CHECK_EQUAL(match_route("POST", "/metrics").allow, "GET, OPTIONS");
}

CAF_TEST(status tsdb and walreplay are GET only like every status endpoint) {
  auto t = match_route("GET", "/api/v1/status/tsdb");
  CAF_CHECK(t.result == route::outcome::found);
  CAF_CHECK(t.ep == endpoint::tsdb_status);
  auto w = match_route("GET", "/api/v1/status/walreplay");
  CAF_CHECK(w.result == route::outcome::found);
  CAF_CHECK(w.ep == endpoint::walreplay);
  auto c = match_route("GET", "/api/v1/status/cluster");
  CAF_CHECK(c.result == route::outcome::found);
  CAF_CHECK(c.ep == endpoint::cluster_status);
  CAF_CHECK(info(endpoint::cluster_status).access == endpoint_access::read);
  for (auto path : {"/api/v1/status/tsdb", "/api/v1/status/walreplay", "/api/v1/status/cluster"}) {
    auto post = match_route("POST", path);
    CAF_CHECK(post.result == route::outcome::method_not_allowed);
    CAF_CHECK_EQUAL(post.allow, "GET, OPTIONS");
    CAF_CHECK(match_route("HEAD", path).result == route::outcome::method_not_allowed);
    CAF_CHECK(match_route("OPTIONS", path).ep == endpoint::cors_preflight);
  }
  CAF_CHECK(match_route("GET", "/api/v1/status/tsdb/").result == route::outcome::not_found);
  CAF_CHECK(match_route("GET", "/api/v1/status/wal").result == route::outcome::not_found);
}

CAF_TEST(metadata takes GET and POST and federate GET only) {
  CAF_CHECK(match_route("GET", "/api/v1/metadata").ep == endpoint::metadata);
  CAF_CHECK(match_route("POST", "/api/v1/metadata").result == route::outcome::found);
  CAF_CHECK(info(endpoint::metadata).access == endpoint_access::read);
  auto f = match_route("GET", "/federate");
  CAF_CHECK(f.result == route::outcome::found);
  CAF_CHECK(f.ep == endpoint::federate);
  CAF_CHECK(info(endpoint::federate).access == endpoint_access::read);
  auto post = match_route("POST", "/federate");
  CAF_CHECK(post.result == route::outcome::method_not_allowed);
  CAF_CHECK_EQUAL(post.allow, "GET, OPTIONS");
  CAF_CHECK(match_route("HEAD", "/federate").result == route::outcome::method_not_allowed);
  CAF_CHECK(!is_api_path("/federate"));  // no CORS headers, as Prometheus
  CAF_CHECK(match_route("GET", "/federate/").result == route::outcome::not_found);
}

CAF_TEST(path decoding rejects broken escapes and keeps plus) {
  CAF_CHECK_EQUAL(nl::protocol::path_unescape("a%20b").value_or("?"), "a b");
  CAF_CHECK(!nl::protocol::path_unescape("%"));
  CAF_CHECK(!nl::protocol::path_unescape("%2"));
  CAF_CHECK(!nl::protocol::path_unescape("%g0"));
  CAF_CHECK_EQUAL(nl::protocol::path_unescape("a+b").value_or("?"), "a+b");
  CAF_CHECK_EQUAL(nl::protocol::query_unescape("a+b").value_or("?"), "a b");
}

CAF_TEST(admin paths take POST and PUT) {
  for (auto [path, ep] : {std::pair{"/api/v1/admin/tsdb/snapshot", endpoint::admin_snapshot},
                          std::pair{"/api/v1/admin/tsdb/delete_series", endpoint::admin_delete_series},
                          std::pair{"/api/v1/admin/tsdb/clean_tombstones", endpoint::admin_clean_tombstones}}) {
    CAF_MESSAGE(path);
    for (auto method : {"POST", "PUT"}) {
      auto r = match_route(method, path);
      CAF_CHECK(r.result == route::outcome::found);
      CAF_CHECK(r.ep == ep);
      CAF_CHECK(is_admin(r.ep));
    }
    for (auto method : {"GET", "HEAD", "DELETE", "post"}) {
      auto r = match_route(method, path);
      CAF_CHECK(r.result == route::outcome::method_not_allowed);
      CAF_CHECK_EQUAL(r.allow, "OPTIONS, POST, PUT");
    }
    CAF_CHECK(match_route("OPTIONS", path).ep == endpoint::cors_preflight);
  }
  CAF_CHECK(match_route("POST", "/api/v1/admin/tsdb/snapshot/").result == route::outcome::not_found);
  CAF_CHECK(match_route("POST", "/api/v1/admin/tsdb/").result == route::outcome::not_found);
  CAF_CHECK(match_route("POST", "/api/v1/admin/tsdb/compact").result == route::outcome::not_found);
  CAF_CHECK(!is_admin(endpoint::series));
}

CAF_TEST(boolean parameters are read like strconv.ParseBool) {
  for (auto t : {"1", "t", "T", "TRUE", "true", "True"}) {
    auto r = parse_bool_or("skip_head", t, false);
    CAF_REQUIRE(r.is_ok());
    CAF_CHECK(*r);
  }
  for (auto f : {"0", "f", "F", "FALSE", "false", "False"}) {
    auto r = parse_bool_or("skip_head", f, true);
    CAF_REQUIRE(r.is_ok());
    CAF_CHECK(!*r);
  }
  auto d = parse_bool_or("skip_head", "", true);
  CAF_REQUIRE(d.is_ok());
  CAF_CHECK(*d);
  for (auto bad : {"yes", "tRUE", " true", "2", "on"}) {
    auto r = parse_bool_or("skip_head", bad, false);
    CAF_REQUIRE(!r.is_ok());
    auto e = r.error();
    CAF_CHECK_EQUAL(e.message(), std::string{"invalid parameter \"skip_head\": unable to parse boolean: "}
                                   + "strconv.ParseBool: parsing \"" + bad + "\": invalid syntax");
  }
}

CAF_TEST(the web UI has a root and its pages and its static files) {
  auto root = match_route("GET", "/");
  CAF_CHECK(root.result == route::outcome::found);
  CAF_CHECK(root.ep == endpoint::ui_root);
  CAF_CHECK(match_route("HEAD", "/").ep == endpoint::ui_root);
  size_t pages = 0;
  for (auto* p = ui_pages_begin(); p != ui_pages_end(); ++p, ++pages) {
    CAF_MESSAGE("page " << *p);
    auto r = match_route("GET", *p);
    CAF_CHECK(r.result == route::outcome::found);
    CAF_CHECK(r.ep == endpoint::ui_page);
  }
  CAF_CHECK_EQUAL(pages, 7u);
  CAF_CHECK(match_route("GET", "/graph/").result == route::outcome::not_found);
  CAF_CHECK(match_route("GET", "/Graph").result == route::outcome::not_found);
  CAF_CHECK(match_route("GET", "/:page").result == route::outcome::not_found);
  auto post = match_route("POST", "/graph");
  CAF_CHECK(post.result == route::outcome::method_not_allowed);
  CAF_CHECK_EQUAL(post.allow, "GET, HEAD, OPTIONS");
  auto file = match_route("GET", "/static/vendor/uplot/uPlot.min.css");
  CAF_CHECK(file.result == route::outcome::found);
  CAF_CHECK(file.ep == endpoint::ui_static);
  CAF_CHECK_EQUAL(file.param, "vendor/uplot/uPlot.min.css");
  CAF_CHECK_EQUAL(match_route("GET", "/static/a%20b.js").param, "a b.js");
}

CAF_TEST(static file names that could climb out of the folder are not routed) {
  for (auto path : {"/static/", "/static", "/static//app.js", "/static/js//app.js", "/static/app.js/",
                    "/static/../README.md", "/static/js/../app.js", "/static/./app.js", "/static/%2e%2e/x",
                    "/static/%2E%2E", "/static/js/%2e", "/static/%zz", "/static/js%2f..%2fapp.js"}) {
    CAF_MESSAGE("path " << path);
    CAF_CHECK(match_route("GET", path).result == route::outcome::not_found);
  }
  CAF_CHECK(match_route("GET", "/static/..app.js").result == route::outcome::found);
}

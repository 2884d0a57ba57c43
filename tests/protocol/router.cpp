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
  CAF_CHECK_EQUAL(w.allow, "POST, OPTIONS");
  auto b = match_route("POST", "/api/v1/status/buildinfo");
  CAF_CHECK(b.result == route::outcome::method_not_allowed);
  CAF_CHECK_EQUAL(b.allow, "GET, OPTIONS");
  CAF_CHECK(match_route("DELETE", "/api/v1/series").result == route::outcome::method_not_allowed);
  CAF_CHECK(match_route("get", "/api/v1/series").result == route::outcome::method_not_allowed);
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
      CAF_CHECK_EQUAL(r.allow, "POST, PUT, OPTIONS");
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

#define CAF_SUITE protocol.router
#include "test_support.hpp"

#include "protocol/query_params.hpp"
#include "protocol/router.hpp"

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
  for (auto path : {"/api/v1/status/tsdb", "/api/v1/status/walreplay"}) {
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

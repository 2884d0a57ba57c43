#define CAF_SUITE protocol.router
#include "test_support.hpp"

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

CAF_TEST(percent decoding rejects broken escapes) {
  std::string out;
  CAF_CHECK(percent_decode_path("a%20b", out));
  CAF_CHECK_EQUAL(out, "a b");
  CAF_CHECK(!percent_decode_path("%", out));
  CAF_CHECK(!percent_decode_path("%2", out));
  CAF_CHECK(!percent_decode_path("%g0", out));
  CAF_CHECK(percent_decode_path("a+b", out));
  CAF_CHECK_EQUAL(out, "a+b");
}

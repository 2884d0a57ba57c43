#define CAF_SUITE protocol.client.url
#include "test_support.hpp"

#include "protocol/client/url.hpp"

using namespace nightlight::api::detail;
using nightlight::api::errc;

CAF_TEST(urls remote write senders use) {
  auto u = parse_url("http://127.0.0.1:9101/api/v1/write");
  CAF_REQUIRE(u.ok());
  CAF_CHECK(!u->tls);
  CAF_CHECK_EQUAL(u->host, "127.0.0.1");
  CAF_CHECK_EQUAL(u->port, "9101");
  CAF_CHECK_EQUAL(u->target, "/api/v1/write");
  CAF_CHECK_EQUAL(u->host_header, "127.0.0.1:9101");

  u = parse_url("HTTPS://nightlight.example/api/v1/write?tenant=a");
  CAF_REQUIRE(u.ok());
  CAF_CHECK(u->tls);
  CAF_CHECK_EQUAL(u->port, "443");
  CAF_CHECK_EQUAL(u->target, "/api/v1/write?tenant=a");
  CAF_CHECK_EQUAL(u->host_header, "nightlight.example");
  CAF_CHECK_EQUAL(u->authority(), "nightlight.example:443");

  u = parse_url("http://[::1]:9101");
  CAF_REQUIRE(u.ok());
  CAF_CHECK_EQUAL(u->host, "::1");
  CAF_CHECK_EQUAL(u->target, "/");
  CAF_CHECK_EQUAL(u->authority(), "[::1]:9101");
  CAF_CHECK_EQUAL(u->host_header, "[::1]:9101");

  u = parse_url("http://h?x=1");
  CAF_REQUIRE(u.ok());
  CAF_CHECK_EQUAL(u->port, "80");
  CAF_CHECK_EQUAL(u->target, "/?x=1");
  CAF_CHECK_EQUAL(parse_url("http://h:080/")->port, "80");
}

CAF_TEST(malformed urls are refused with a reason) {
  struct bad_case {
    std::string_view url;
    const char* why;
  };
  for (auto c : {bad_case{"", "missing scheme"},
                 bad_case{"127.0.0.1:9101/api/v1/write", "missing scheme"},
                 bad_case{"ftp://h/", "scheme must be http or https"},
                 bad_case{"http://", "missing host"},
                 bad_case{"http:///api", "missing host"},
                 bad_case{"http://:9101/", "missing host"},
                 bad_case{"http://h:/", "empty port"},
                 bad_case{"http://h:x/", "port must be a number"},
                 bad_case{"http://h:0/", "port must be 1..65535"},
                 bad_case{"http://h:65536/", "port must be 1..65535"},
                 bad_case{"http://h:99999999999999999999/", "port must be 1..65535"},
                 bad_case{"http://h:-1/", "port must be a number"},
                 bad_case{"http://[::1/", "without closing"},
                 bad_case{"http://[::1]x/", "unexpected text"},
                 bad_case{"http://[::1]:/", "empty port"},
                 bad_case{"http://user:pw@h/", "user info"},
                 bad_case{"http://h/#frag", "fragments"},
                 bad_case{"http://h/a b", "space or control"},
                 bad_case{"http://h/\r\nX: y", "space or control"},
                 bad_case{std::string_view("http://h/\0", 10), "space or control"}}) {
    auto r = parse_url(c.url);
    CAF_CHECK(!r.ok());
    if (r.ok())
      continue;
    CAF_CHECK(r.err().code == errc::invalid_argument);
    if (r.err().message.find(c.why) == std::string::npos)
      CAF_FAIL("url '" << c.url << "': message '" << r.err().message << "' lacks '" << c.why
                       << "'");
  }
}

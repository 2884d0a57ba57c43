#define CAF_SUITE protocol.authorization
#include "test_support.hpp"

#include "protocol/authorization.hpp"
#include "protocol/tls_test_pki.hpp"

#include <nlohmann/json.hpp>

using namespace nl::protocol;
using namespace nl::test;

namespace {

peer_identity cert_identity(std::string cn, std::vector<std::string> dns = {},
                            std::vector<std::string> uris = {}) {
  peer_identity p;
  p.source = peer_identity::kind::certificate;
  p.common_name = std::move(cn);
  p.dns_names = std::move(dns);
  p.uris = std::move(uris);
  return p;
}

peer_identity loopback() {
  peer_identity p;
  p.source = peer_identity::kind::loopback;
  return p;
}

}  // namespace

CAF_TEST(identity names come from CN and DNS and URI SANs) {
  auto key = make_key();
  auto cert = make_cert({"writer", -60, 60, false, eku::client, {"writer.example", "w2"},
                         {"spiffe://prod/prometheus"}},
                        key.get());
  auto who = identity_of(cert.get());
  CAF_CHECK_EQUAL(who.source, peer_identity::kind::certificate);
  CAF_CHECK_EQUAL(who.common_name, "writer");
  CAF_REQUIRE_EQUAL(who.dns_names.size(), 2u);
  CAF_CHECK_EQUAL(who.dns_names[1], "w2");
  CAF_REQUIRE_EQUAL(who.uris.size(), 1u);
  CAF_CHECK_EQUAL(who.uris[0], "spiffe://prod/prometheus");
  CAF_CHECK(who.has_name("writer.example"));
  CAF_CHECK(who.has_name("spiffe://prod/prometheus"));
  CAF_CHECK(!who.has_name("Writer"));  // exact, case-sensitive
  CAF_CHECK(!who.has_name("writer.exampl"));
  CAF_CHECK(!who.has_name(""));
  CAF_CHECK_EQUAL(who.describe(),
                  "CN=writer DNS=writer.example DNS=w2 URI=spiffe://prod/prometheus");
}

CAF_TEST(names hiding a NUL byte are dropped) {
  auto key = make_key();
  auto cert = make_cert({"x", -60, 60, false, eku::client,
                         {std::string("writer\0.evil", 12), "ok"}, {}},
                        key.get());
  auto who = identity_of(cert.get());
  CAF_REQUIRE_EQUAL(who.dns_names.size(), 1u);
  CAF_CHECK_EQUAL(who.dns_names[0], "ok");
  CAF_CHECK(!who.has_name("writer"));
}

CAF_TEST(a certificate without CN or SANs has no names) {
  auto key = make_key();
  auto cert = make_cert({"", -60, 60, false, eku::client, {}, {}}, key.get());
  auto who = identity_of(cert.get());
  CAF_CHECK_EQUAL(who.source, peer_identity::kind::certificate);
  CAF_CHECK(who.common_name.empty());
  CAF_CHECK(!who.has_name(""));
  CAF_CHECK_EQUAL(identity_of(static_cast<X509*>(nullptr)).source,
                  peer_identity::kind::anonymous);
  CAF_CHECK_EQUAL(identity_of(static_cast<SSL*>(nullptr)).source,
                  peer_identity::kind::anonymous);
}

CAF_TEST(a pem certificate gives the same identity) {
  auto key = make_key();
  auto cert = make_cert({"reader", -60, 60, false, eku::client, {"r.example"}, {"spiffe://prod/grafana"}},
                        key.get());
  auto who = identity_of_pem(pem_of(cert.get()));
  CAF_CHECK_EQUAL(who.source, peer_identity::kind::certificate);
  CAF_CHECK_EQUAL(who.describe(), identity_of(cert.get()).describe());
  CAF_CHECK(who.has_name("spiffe://prod/grafana"));
  CAF_CHECK_EQUAL(identity_of_pem("").source, peer_identity::kind::anonymous);
  CAF_CHECK_EQUAL(identity_of_pem("-----BEGIN CERTIFICATE-----\ngarbage\n").source,
                  peer_identity::kind::anonymous);
}

CAF_TEST(paths are classified as open read or write) {
  CAF_CHECK_EQUAL(access_of("/api/v1/write"), endpoint_access::write);
  CAF_CHECK_EQUAL(access_of("/api/v1/write?x=1"), endpoint_access::write);
  CAF_CHECK_EQUAL(access_of("/api/v1/query?query=up"), endpoint_access::read);
  CAF_CHECK_EQUAL(access_of("/api/v1/read"), endpoint_access::read);
  CAF_CHECK_EQUAL(access_of("/api/v1/label/job/values"), endpoint_access::read);
  CAF_CHECK_EQUAL(access_of("/api/v1/status/tsdb?limit=3"), endpoint_access::read);
  CAF_CHECK_EQUAL(access_of("/api/v1/status/walreplay"), endpoint_access::read);
  CAF_CHECK_EQUAL(access_of("/metrics"), endpoint_access::open);
  CAF_CHECK_EQUAL(access_of("/-/ready"), endpoint_access::open);
  CAF_CHECK_EQUAL(access_of("/-/healthy?x"), endpoint_access::open);
  // Lookalikes get the strict default, not the open or write class.
  CAF_CHECK_EQUAL(access_of("/metrics/../api/v1/query"), endpoint_access::read);
  CAF_CHECK_EQUAL(access_of("/api/v1/writex"), endpoint_access::read);
  CAF_CHECK_EQUAL(access_of(""), endpoint_access::read);
}

CAF_TEST(empty lists admit any authenticated client) {
  authorizer a;
  auto reader = cert_identity("reader");
  CAF_CHECK(a.check(reader, "/api/v1/write").allowed);
  CAF_CHECK(a.check(reader, "/api/v1/query").allowed);
  CAF_CHECK(a.check(peer_identity{}, "/api/v1/query").allowed);
  CAF_CHECK(a.check(loopback(), "/api/v1/write").allowed);
}

CAF_TEST(allow lists separate writers from readers) {
  authorization_options o;
  o.allowed_writers = {"writer"};
  o.allowed_readers = {"reader", "spiffe://grafana"};
  authorizer a{o};
  auto writer = cert_identity("writer", {"writer"});
  auto reader = cert_identity("reader", {"reader"});
  auto grafana = cert_identity("g", {}, {"spiffe://grafana"});
  CAF_CHECK(a.check(writer, "/api/v1/write").allowed);
  CAF_CHECK(!a.check(writer, "/api/v1/query").allowed);
  CAF_CHECK(a.check(reader, "/api/v1/query_range").allowed);
  CAF_CHECK(a.check(grafana, "/api/v1/series?match[]=up").allowed);
  // Remote read is a read: readers only.
  CAF_CHECK(a.check(reader, "/api/v1/read").allowed);
  CAF_CHECK_EQUAL(a.check(writer, "/api/v1/read").reason, "client CN=writer DNS=writer is not in tls.allowed_readers");
  auto no = a.check(reader, "/api/v1/write");
  CAF_CHECK(!no.allowed);
  CAF_CHECK_EQUAL(no.reason, "client CN=reader DNS=reader is not in tls.allowed_writers");
  auto anon = a.check(peer_identity{}, "/api/v1/query");
  CAF_CHECK(!anon.allowed);
  CAF_CHECK_EQUAL(anon.reason, "client presented no verified certificate");
  CAF_CHECK(!a.check(loopback(), "/api/v1/query").allowed);
  // Open endpoints need only the handshake by default.
  CAF_CHECK(a.check(writer, "/metrics").allowed);
  CAF_CHECK(a.check(peer_identity{}, "/-/healthy").allowed);
}

CAF_TEST(the web UI needs what a read needs) {
  for (auto path : {"/", "/graph", "/tsdb-status", "/static/js/app.js", "/static/vendor/uplot/LICENSE"}) {
    CAF_MESSAGE("path " << path);
    CAF_CHECK_EQUAL(access_of(path), endpoint_access::read);
  }
  authorization_options o;
  o.allowed_writers = {"writer"};
  o.allowed_readers = {"reader"};
  authorizer a{o};
  CAF_CHECK(a.check(cert_identity("reader"), "/graph?g0.expr=up").allowed);
  CAF_CHECK(a.check(cert_identity("reader"), "/static/style.css").allowed);
  auto no = a.check(cert_identity("writer"), "/graph");
  CAF_CHECK(!no.allowed);
  CAF_CHECK_EQUAL(no.reason, "client CN=writer is not in tls.allowed_readers");
  // A browser gets the refusal as text, not as an API envelope.
  CAF_CHECK_EQUAL(make_forbidden_response("/graph", no).content_type, "text/plain; charset=utf-8");
  CAF_CHECK_EQUAL(forbidden_path_label("/static/js/app.js"), "/static/:file");
  CAF_CHECK_EQUAL(forbidden_path_label("/browse"), "/:page");
}

CAF_TEST(closed open endpoints need a reader) {
  authorization_options o;
  o.allowed_readers = {"reader", std::string{loopback_identity}};
  o.open_endpoints_for_any_client = false;
  authorizer a{o};
  CAF_CHECK(!a.check(cert_identity("writer"), "/metrics").allowed);
  CAF_CHECK(a.check(cert_identity("reader"), "/metrics").allowed);
  CAF_CHECK(a.check(loopback(), "/-/ready").allowed);
  // The string "@loopback" in a certificate is not the loopback listener.
  CAF_CHECK(!a.check(cert_identity("@loopback", {"@loopback"}), "/-/ready").allowed);
}

CAF_TEST(only loopback hosts count as loopback) {
  for (auto h : {"127.0.0.1", "127.1.2.3", "::1", "localhost", "0:0:0:0:0:0:0:1"}) {
    CAF_MESSAGE("host " << h);
    CAF_CHECK(is_loopback_host(h));
  }
  for (auto h : {"0.0.0.0", "::", "128.0.0.1", "10.0.0.1", "::ffff:127.0.0.1", "localhost.",
                 "example.com", "", "127.0.0.1 ", "[::1]", "126.255.255.255"}) {
    CAF_MESSAGE("host " << h);
    CAF_CHECK(!is_loopback_host(h));
  }
}

CAF_TEST(forbidden answers are JSON for the query API and text elsewhere) {
  authorization_decision d{false, "client CN=x is not in tls.allowed_readers"};
  auto api = make_forbidden_response("/api/v1/query?query=up", d);
  CAF_CHECK_EQUAL(api.content_type, "application/json");
  auto j = nlohmann::json::parse(api.body);
  CAF_CHECK_EQUAL(j["status"], "error");
  CAF_CHECK_EQUAL(j["errorType"], "forbidden");
  CAF_CHECK_EQUAL(j["error"], "forbidden: client CN=x is not in tls.allowed_readers");
  auto write = make_forbidden_response("/api/v1/write", d);
  CAF_CHECK_EQUAL(write.content_type, "text/plain; charset=utf-8");
  CAF_CHECK_EQUAL(write.body, "forbidden: client CN=x is not in tls.allowed_readers\n");
  CAF_CHECK_EQUAL(make_forbidden_response("/metrics", d).content_type,
                  "text/plain; charset=utf-8");
  // Prometheus' remote-read client shows the body of a refusal as it is.
  CAF_CHECK_EQUAL(make_forbidden_response("/api/v1/read", d).body,
                  "forbidden: client CN=x is not in tls.allowed_readers\n");
}

CAF_TEST(forbidden counter labels stay a small fixed set) {
  CAF_CHECK_EQUAL(forbidden_path_label("/api/v1/write"), "/api/v1/write");
  CAF_CHECK_EQUAL(forbidden_path_label("/api/v1/query?query=up"), "/api/v1/query");
  CAF_CHECK_EQUAL(forbidden_path_label("/api/v1/label/job/values"), "/api/v1/label/:name/values");
  CAF_CHECK_EQUAL(forbidden_path_label("/api/v1/label//values"), "other");
  CAF_CHECK_EQUAL(forbidden_path_label("/api/v1/status/buildinfo"), "/api/v1/status/buildinfo");
  CAF_CHECK_EQUAL(forbidden_path_label("/api/v1/status/tsdb"), "/api/v1/status/tsdb");
  CAF_CHECK_EQUAL(forbidden_path_label("/api/v1/status/walreplay"), "/api/v1/status/walreplay");
  CAF_CHECK_EQUAL(forbidden_path_label("/api/v1/status/nothing"), "other");
  CAF_CHECK_EQUAL(forbidden_path_label("/api/v1/admin/tsdb/snapshot"), "/api/v1/admin/tsdb/snapshot");
  CAF_CHECK_EQUAL(forbidden_path_label("/api/v1/label/:name/values"), "/api/v1/label/:name/values");
  CAF_CHECK_EQUAL(forbidden_path_label("/random/" + std::string(5000, 'x')), "other");
  forbidden_counters c;
  c.add("/api/v1/write");
  c.add("/api/v1/label/a/values");
  c.add("/api/v1/label/b/values?match[]=up");
  CAF_CHECK_EQUAL(c.get("/api/v1/label/:name/values"), 2u);
  std::string text;
  c.append_metrics(text);
  CAF_CHECK(text.find("nightlight_http_forbidden_total{path=\"/api/v1/write\"} 1\n")
            != std::string::npos);
  CAF_CHECK(text.find("{path=\"other\"} 0\n") != std::string::npos);
}

CAF_TEST(the admin API needs a listed admin once enabled) {
  authorization_options o;
  o.allowed_readers = {"reader", "admin"};
  o.allowed_admins = {"admin"};
  o.admin_api_enabled = true;
  authorizer a{o};
  auto admin = cert_identity("admin");
  auto reader = cert_identity("reader");
  CAF_CHECK_EQUAL(access_of("/api/v1/admin/tsdb/snapshot?skip_head=1"), endpoint_access::admin);
  CAF_CHECK_EQUAL(access_of("/api/v1/admin/tsdb/delete_series"), endpoint_access::admin);
  CAF_CHECK_EQUAL(access_of("/api/v1/adminx"), endpoint_access::read);
  CAF_CHECK(a.check(admin, "/api/v1/admin/tsdb/snapshot").allowed);
  CAF_CHECK(a.check(admin, "/api/v1/admin/tsdb/clean_tombstones").allowed);
  auto no = a.check(reader, "/api/v1/admin/tsdb/delete_series?match[]=up");
  CAF_CHECK(!no.allowed);
  CAF_CHECK_EQUAL(no.reason, "client CN=reader is not in tls.allowed_admins");
  CAF_CHECK(!a.check(peer_identity{}, "/api/v1/admin/tsdb/snapshot").allowed);
  CAF_CHECK(!a.check(loopback(), "/api/v1/admin/tsdb/snapshot").allowed);
  CAF_CHECK(!a.check(cert_identity("@loopback"), "/api/v1/admin/tsdb/snapshot").allowed);
  // The 403 is the API's JSON envelope, counted under the endpoint's path.
  auto r = make_forbidden_response("/api/v1/admin/tsdb/snapshot", no);
  CAF_CHECK_EQUAL(r.content_type, "application/json");
  CAF_CHECK_EQUAL(forbidden_path_label("/api/v1/admin/tsdb/snapshot"), "/api/v1/admin/tsdb/snapshot");
  CAF_CHECK_EQUAL(forbidden_path_label("/api/v1/admin/tsdb/"), "other");
  // An unknown admin path still needs admin rights.
  CAF_CHECK_EQUAL(access_of("/api/v1/admin/tsdb/other"), endpoint_access::admin);
  forbidden_counters c;
  c.add("/api/v1/admin/tsdb/delete_series?match[]=up");
  CAF_CHECK_EQUAL(c.get("/api/v1/admin/tsdb/delete_series"), 1u);
}

CAF_TEST(an empty admin list admits nobody and the loopback listener only when listed) {
  authorization_options o;
  o.admin_api_enabled = true;
  authorizer none{o};
  CAF_CHECK(!none.check(cert_identity("anyone"), "/api/v1/admin/tsdb/snapshot").allowed);
  CAF_CHECK(!none.check(loopback(), "/api/v1/admin/tsdb/snapshot").allowed);
  CAF_CHECK(none.check(cert_identity("anyone"), "/api/v1/query").allowed);  // other lists: empty = anyone
  o.allowed_admins = {std::string{loopback_identity}};
  authorizer lo{o};
  CAF_CHECK(lo.check(loopback(), "/api/v1/admin/tsdb/snapshot").allowed);
  CAF_CHECK(!lo.check(cert_identity("x"), "/api/v1/admin/tsdb/snapshot").allowed);
}

CAF_TEST(a disabled admin API is checked like a read and answered by the handler) {
  authorization_options o;
  o.allowed_readers = {"reader"};
  o.allowed_admins = {"admin"};
  authorizer a{o};  // admin_api_enabled = false
  // The reader reaches the handler, which answers 500 "admin APIs
  // disabled"; a client that may not read gets the 403 of a read.
  CAF_CHECK(a.check(cert_identity("reader"), "/api/v1/admin/tsdb/snapshot").allowed);
  auto no = a.check(cert_identity("admin"), "/api/v1/admin/tsdb/snapshot");
  CAF_CHECK(!no.allowed);
  CAF_CHECK_EQUAL(no.reason, "client CN=admin is not in tls.allowed_readers");
}

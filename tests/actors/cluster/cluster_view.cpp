#define CAF_SUITE actors.cluster.cluster_view
#include "test_support.hpp"

#include <functional>
#include <utility>
#include <vector>

#include "actors/cluster/cluster_view.hpp"
#include "protocol/tls_forwarder.hpp"
#include "protocol/tls_test_pki.hpp"

using namespace nl::actors;
namespace protocol = nl::protocol;

namespace {

cluster_settings two_nodes() {
  cluster_settings c;
  c.name = "test";
  c.self = "a";
  c.nodes = {{"a", "127.0.0.1:1"}, {"b", "127.0.0.1:2"}};
  return c;
}

caf::node_id node(uint32_t pid) {
  auto n = caf::make_node_id(pid, "0102030405060708090a0b0c0d0e0f1011121314");
  CAF_REQUIRE(n);
  return *n;
}

// A forwarder with a throw-away certificate: enough to put a view in TLS
// mode (it never listens here).
std::shared_ptr<protocol::tls_forwarder> forwarder(const nl::test::pki_dir& dir) {
  using namespace nl::test;
  auto ca_key = make_key();
  auto ca = make_cert({"CA", -3600, 86400, true, eku::none, {}, {}}, ca_key.get());
  auto key = make_key();
  auto cert = make_cert({"a", -3600, 86400, false, eku::none, {"a"}, {}}, key.get(), ca.get(), ca_key.get());
  protocol::tls_options to;
  to.cert_file = dir.write("a.pem", pem_of(cert.get()));
  to.key_file = dir.write("a.key", pem_of(key.get()));
  to.ca_file = dir.write("ca.pem", pem_of(ca.get()));
  auto built = protocol::build_tls_context(to);
  CAF_REQUIRE(built);
  protocol::tls_forwarder_options fo;
  fo.tls = std::make_shared<protocol::tls_context_reloader>(to, std::move(*built));
  fo.poll_interval = std::chrono::milliseconds(0);
  fo.reload_on_sighup = false;
  auto f = protocol::tls_forwarder::create(std::move(fo));
  CAF_REQUIRE(f);
  return std::shared_ptr<protocol::tls_forwarder>(std::move(*f));
}

}  // namespace

CAF_TEST(plain node links serve every sender) {
  cluster_view view{two_nodes()};
  CAF_CHECK(view.tls() == nullptr);
  CAF_CHECK(view.may_serve(node(2), node(1)));
  CAF_CHECK(view.may_serve(caf::node_id{}, node(1)));
}

CAF_TEST(with TLS only this node and admitted peers are served) {
  nl::test::pki_dir dir;
  cluster_view view{two_nodes()};
  view.set_tls(forwarder(dir), {0, 4242});
  CAF_CHECK_EQUAL(view.tls_peer_port(1), 4242u);
  auto self = node(1);
  auto peer = node(2);
  CAF_CHECK(view.may_serve(self, self));
  CAF_CHECK(!view.may_serve(peer, self));
  CAF_CHECK(!view.may_serve(caf::node_id{}, self));
  view.admit(peer);
  CAF_CHECK(view.may_serve(peer, self));
  CAF_CHECK(!view.may_serve(node(3), self));
  view.revoke(peer);
  CAF_CHECK(!view.may_serve(peer, self));
  std::string metrics = view.render_metrics();
  CAF_CHECK(metrics.find("nightlight_cluster_tls_handshake_failures_total{reason=\"unknown_ca\"} 0") != std::string::npos);
}

CAF_TEST(a hello is refused for any setting that changes placement or acknowledgement) {
  cluster_view ours{two_nodes()};
  auto b = two_nodes();
  b.self = "b";
  cluster_view theirs{b};
  CAF_CHECK_EQUAL(ours.check_hello(theirs.hello()), "");
  // Each setting changed alone on the peer, and the reason it is refused.
  const std::vector<std::pair<std::function<void(cluster_settings&)>, std::string>> cases = {
    {[](cluster_settings& c) { c.name = "other"; }, "cluster name"},
    {[](cluster_settings& c) { c.nodes.push_back({"c", "127.0.0.1:3"}); }, "ring digest"},
    {[](cluster_settings& c) { c.replication_factor = 1; },
     "replication factor and write quorum (1, 1) differ from ours (2, 2)"},
    {[](cluster_settings& c) { c.write_quorum = 1; },
     "replication factor and write quorum (2, 1) differ from ours (2, 2)"},
    {[](cluster_settings& c) { c.heartbeat_interval_ms = 1000; },
     "heartbeat interval and connection timeout (1000 ms, 2000 ms) differ from ours (500 ms, 2000 ms)"},
    {[](cluster_settings& c) { c.connection_timeout_ms = 5000; },
     "heartbeat interval and connection timeout (500 ms, 5000 ms) differ from ours (500 ms, 2000 ms)"},
  };
  for (const auto& [change, why] : cases) {
    auto c = two_nodes();
    c.self = "b";
    change(c);
    auto got = ours.check_hello(cluster_view{c}.hello());
    if (got.find(why) == std::string::npos)
      CAF_ERROR("refused for \"" << got << "\", not for \"" << why << "\"");
    CAF_CHECK(got.find(why) != std::string::npos);
  }
  // Another protocol version (a node of another release), and a peer
  // claiming to be this node or one not in cluster.nodes.
  auto h = theirs.hello();
  h.protocol_version += 1;
  CAF_CHECK_NOT_EQUAL(ours.check_hello(h).find("protocol version " + std::to_string(h.protocol_version)
                                               + " is not ours"),
                      std::string::npos);
  h = theirs.hello();
  h.node = "a";
  CAF_CHECK_NOT_EQUAL(ours.check_hello(h).find("claims to be this node"), std::string::npos);
  h = theirs.hello();
  h.node = "z";
  CAF_CHECK_NOT_EQUAL(ours.check_hello(h).find("is not in cluster.nodes"), std::string::npos);
}

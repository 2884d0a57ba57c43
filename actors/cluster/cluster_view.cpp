#include "actors/cluster/cluster_view.hpp"

#include "protocol/api_json.hpp"
#include "protocol/tls_forwarder.hpp"

namespace nl::actors {

namespace {

std::vector<std::string> names_of(const cluster_settings& cfg) {
  std::vector<std::string> out;
  for (auto& n : cfg.nodes)
    out.push_back(n.name);
  return out;
}

}  // namespace

cluster_view::cluster_view(const cluster_settings& cfg)
  : cfg_(cfg), ring_(names_of(cfg)), self_(cfg.self_index()) {
  for (size_t i = 0; i < cfg_.nodes.size(); ++i)
    counters_.push_back(std::make_unique<peer_counters>());
  counters_[self_]->up = true;
}

void cluster_view::set_tls(std::shared_ptr<protocol::tls_forwarder> f, std::vector<uint16_t> peer_ports) {
  tls_ = std::move(f);
  tls_ports_ = std::move(peer_ports);
}

void cluster_view::admit(const caf::node_id& n) {
  std::lock_guard<std::mutex> g{admitted_mtx_};
  admitted_.insert(n);
}

void cluster_view::revoke(const caf::node_id& n) {
  std::lock_guard<std::mutex> g{admitted_mtx_};
  admitted_.erase(n);
}

bool cluster_view::may_serve(const caf::node_id& sender, const caf::node_id& self) const {
  if (!tls_ || sender == self)
    return true;
  std::lock_guard<std::mutex> g{admitted_mtx_};
  return admitted_.count(sender) > 0;
}

storage::node_mask cluster_view::healthy() const {
  storage::node_mask m = 0;
  for (size_t i = 0; i < counters_.size(); ++i)
    if (counters_[i]->up.load(std::memory_order_acquire))
      m |= storage::node_mask{1} << i;
  return m;
}

bool cluster_view::set_up(size_t node, bool up) {
  bool was = counters_[node]->up.exchange(up, std::memory_order_acq_rel);
  if (was != up)
    counters_[node]->link_changes.fetch_add(1, std::memory_order_relaxed);
  return was != up;
}

std::string cluster_view::describe(storage::node_mask nodes) const {
  std::string out;
  for (size_t i = 0; i < cfg_.nodes.size(); ++i) {
    if (!(nodes >> i & 1))
      continue;
    if (!out.empty())
      out += ", ";
    out += cfg_.nodes[i].name;
  }
  return out;
}

cluster_hello cluster_view::hello() const {
  return cluster_hello{cfg_.name,
                       cluster_protocol_version,
                       cfg_.self,
                       ring_.digest(),
                       static_cast<uint32_t>(replication_factor()),
                       static_cast<uint32_t>(write_quorum()),
                       cfg_.heartbeat_interval_ms,
                       cfg_.connection_timeout_ms};
}

std::string cluster_view::check_hello(const cluster_hello& h) const {
  if (h.cluster != cfg_.name)
    return "cluster name \"" + h.cluster + "\" is not ours (\"" + cfg_.name + "\")";
  if (h.protocol_version != cluster_protocol_version)
    return "protocol version " + std::to_string(h.protocol_version) + " is not ours ("
           + std::to_string(cluster_protocol_version) + ")";
  if (h.node == cfg_.self)
    return "it claims to be this node (\"" + h.node + "\")";
  bool member = false;
  for (auto& n : cfg_.nodes)
    member |= n.name == h.node;
  if (!member)
    return "node \"" + h.node + "\" is not in cluster.nodes";
  if (h.ring_digest != ring_.digest())
    return "its cluster.nodes differ from ours (ring digest " + std::to_string(h.ring_digest) + " vs "
           + std::to_string(ring_.digest()) + ")";
  if (h.replication_factor != replication_factor() || h.write_quorum != write_quorum())
    return "its replication factor and write quorum (" + std::to_string(h.replication_factor) + ", "
           + std::to_string(h.write_quorum) + ") differ from ours (" + std::to_string(replication_factor()) + ", "
           + std::to_string(write_quorum()) + ")";
  if (h.heartbeat_interval_ms != cfg_.heartbeat_interval_ms || h.connection_timeout_ms != cfg_.connection_timeout_ms)
    return "its heartbeat interval and connection timeout (" + std::to_string(h.heartbeat_interval_ms) + " ms, "
           + std::to_string(h.connection_timeout_ms) + " ms) differ from ours ("
           + std::to_string(cfg_.heartbeat_interval_ms) + " ms, " + std::to_string(cfg_.connection_timeout_ms)
           + " ms)";
  return {};
}

std::string cluster_view::render_metrics() const {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out += std::string{"# HELP "} + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (size_t i = 0; i < cfg_.nodes.size(); ++i) {
      if (i == self_)
        continue;
      std::string peer;
      protocol::append_json_string(peer, cfg_.nodes[i].name);  // quoted and escaped alike
      out += std::string{name} + "{peer=" + peer + "} " + std::to_string(value(*counters_[i])) + "\n";
    }
  };
  family("nightlight_cluster_link_up", "gauge", "Whether the link to the peer is up (hello exchanged).",
         [](const peer_counters& c) { return c.up.load() ? 1 : 0; });
  family("nightlight_cluster_link_changes_total", "counter", "Up/down transitions of the link to the peer.",
         [](const peer_counters& c) { return c.link_changes.load(); });
  family("nightlight_cluster_requests_in_flight", "gauge", "Requests forwarded to the peer and not answered yet.",
         [](const peer_counters& c) { return c.inflight.load(); });
  family("nightlight_cluster_requests_total", "counter", "Requests forwarded to the peer.",
         [](const peer_counters& c) { return c.requests.load(); });
  family("nightlight_cluster_request_failures_total", "counter",
         "Forwarded requests that failed (peer error, link down, deadline, refused at once).",
         [](const peer_counters& c) { return c.failures.load(); });
  family("nightlight_cluster_write_bytes_total", "counter", "Payload bytes of writes forwarded to the peer.",
         [](const peer_counters& c) { return c.bytes_sent.load(); });
  family("nightlight_cluster_write_batches_total", "counter",
         "Write batches sent to the peer; writes that cluster.write_linger merged share one.",
         [](const peer_counters& c) { return c.write_batches.load(); });
  if (tls_)
    tls_->append_metrics(out);
  return out;
}

std::string cluster_view::status_json() const {
  std::string d = R"({"cluster":)";
  protocol::append_json_string(d, cfg_.name);
  d += R"(,"self":)";
  protocol::append_json_string(d, cfg_.self);
  d += R"(,"replicationFactor":)" + std::to_string(replication_factor());
  d += R"(,"writeQuorum":)" + std::to_string(write_quorum());
  d += R"(,"nodes":[)";
  for (size_t i = 0; i < cfg_.nodes.size(); ++i) {
    if (i > 0)
      d += ',';
    d += R"({"name":)";
    protocol::append_json_string(d, cfg_.nodes[i].name);
    d += R"(,"addr":)";
    protocol::append_json_string(d, cfg_.nodes[i].addr);
    const auto& c = *counters_[i];
    d += R"(,"state":")";
    d += i == self_ ? "self" : c.up.load() ? "up" : "down";
    d += R"(","requestsInFlight":)" + std::to_string(c.inflight.load());
    d += R"(,"requestFailures":)" + std::to_string(c.failures.load()) + "}";
  }
  d += "]}";
  return d;
}

}  // namespace nl::actors

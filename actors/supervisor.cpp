#include "actors/supervisor.hpp"

#include "actors/log.hpp"
#include "protocol/tls_forwarder.hpp"

#include <algorithm>

namespace nl::actors {

namespace {

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

std::chrono::milliseconds request_timeout(const settings& cfg) {
  return std::chrono::seconds(cfg.server.query_timeout_seconds);
}

// The index the planner and the network actor ask: in cluster mode the
// cluster index (every node, through the gateway and the links), which
// also answers metadata reads.
void spawn_index(self_ptr self) {
  auto& s = self->state;
  if (s.opts.cluster) {
    auto ci = self->spawn<caf::monitored>(cluster_index, s.opts.cluster, s.peers, s.gateway_idx);
    s.idx = ci;
    s.meta_reads = ci;
  } else {
    s.idx = self->spawn<caf::monitored>(series_index, s.shards, s.blocks);
    s.meta_reads = s.meta;
  }
}

void spawn_compactor(self_ptr self) {
  auto& s = self->state;
  const auto& cfg = *s.opts.cfg;
  compactor_options co;
  co.data_dir = cfg.storage.data_dir;
  co.block_duration_ms = cfg.storage.effective_block_duration_ms();
  co.max_head_samples = cfg.storage.max_head_samples;
  co.retention_ms = cfg.storage.effective_retention_ms();
  co.retention_bytes = cfg.storage.retention_bytes;
  co.compaction_interval = std::chrono::seconds(cfg.storage.compaction_interval_seconds);
  co.check_interval = cut_check_interval(co.block_duration_ms);
  co.stats = s.opts.stats;
  if (s.opts.detach_wal)
    s.compact = self->spawn<caf::monitored + caf::detached>(compactor, s.shards, s.wal, s.blocks, co, s.meta);
  else
    s.compact = self->spawn<caf::monitored>(compactor, s.shards, s.wal, s.blocks, co, s.meta);
}

void spawn_planner(self_ptr self) {
  auto& s = self->state;
  const auto& cfg = *s.opts.cfg;
  query_planner_options qo;
  qo.timeout = std::chrono::seconds(cfg.server.query_timeout_seconds);
  qo.max_samples = static_cast<int64_t>(std::min<uint64_t>(cfg.server.max_samples_per_query, INT64_MAX));
  qo.max_concurrent = cfg.server.max_concurrent_queries;  // 0: the planner takes the cores
  qo.lookback_delta_ms = cfg.server.lookback_delta_ms;
  qo.stats = s.opts.stats;
  s.planner = self->spawn<caf::monitored>(query_planner, s.idx, qo);
}

void spawn_network(self_ptr self) {
  auto& s = self->state;
  s.net = self->spawn<caf::monitored>(network, s.shards, s.idx, s.planner, request_timeout(*s.opts.cfg), s.compact,
                                      s.meta, s.meta_reads, s.peers);
  if (s.opts.front)
    s.opts.front->attach(s.net, s.shards.size());
}

// Cluster mode: the gateway (published at cluster.listen_addr) and a link
// per peer. A publish that fails (address in use) stops the process.
void spawn_cluster(self_ptr self) {
  auto& s = self->state;
  auto view = s.opts.cluster;
  const auto& cc = view->settings();
  s.gateway_idx = self->spawn<caf::monitored>(series_index, s.shards, s.blocks);
  s.peers.assign(view->num_nodes(), peer_actor{});
  std::vector<link_actor> links(view->num_nodes());
  for (size_t i = 0; i < view->num_nodes(); ++i) {
    if (i == view->self())
      continue;
    link_options lo;
    lo.node = i;
    lo.dial = view->dials(i);
    lo.tls = view->tls() != nullptr;
    lo.addr = cc.nodes[i].addr;
    // With TLS the link dials the forwarder's loopback port for this peer.
    auto [host, port] = split_host_port(cc.nodes[i].addr, "cluster.nodes");
    lo.host = lo.tls ? std::string{"127.0.0.1"} : host;
    lo.port = lo.tls ? view->tls_peer_port(i) : port;
    lo.connect_timeout = std::chrono::milliseconds(cc.connection_timeout_ms);
    lo.request_timeout = std::chrono::milliseconds(cc.request_timeout_ms);
    lo.backoff_min = std::chrono::milliseconds(cc.heartbeat_interval_ms);
    lo.backoff_max = std::chrono::milliseconds(std::max(cc.reconnect_backoff_max_ms, cc.heartbeat_interval_ms));
    lo.max_session_key_bytes = cc.max_session_key_bytes;
    lo.write_linger = std::chrono::milliseconds(cc.write_linger_ms);
    auto l = self->spawn<caf::monitored>(link, view, s.opts.connector, lo);
    s.links.push_back(l);
    s.peers[i] = l;
    links[i] = l;
  }
  // The gateway hands the links the peers that dial this node; the links
  // send this node's gateway with their hellos.
  s.gateway = self->spawn<caf::monitored>(gateway, view, s.shards, s.gateway_idx, s.meta, std::move(links),
                                          s.opts.connector);
  s.peers[view->self()] = s.gateway;
  for (auto& l : s.links)
    self->send(l, link_start_atom_v, caf::actor_cast<caf::strong_actor_ptr>(s.gateway));
  auto listen = cc.listen_addr.empty() ? cc.nodes[view->self()].addr : cc.listen_addr;
  auto [host, port] = split_host_port(listen, "cluster.listen_addr");
  // With TLS the forwarder holds the node port (main.cpp) and CAF listens
  // on a loopback port of its own that only the forwarder connects to.
  auto tls = view->tls() != nullptr;
  self->request(s.opts.connector, std::chrono::seconds(30), caf::publish_atom_v, tls ? uint16_t{0} : port,
                caf::actor_cast<caf::strong_actor_ptr>(s.gateway), self->system().message_types<gateway_actor>(),
                tls ? std::string{"127.0.0.1"} : host, true)
    .then(
      [self, listen, tls](uint16_t basp_port) {
        auto& view = *self->state.opts.cluster;
        if (tls)
          view.tls()->set_inbound_target(basp_port);
        log_info("cluster: gateway of node " + view.settings().self + " listening on " + listen
                 + (tls ? " (mutual TLS, terminated by Nightlight; CAF on 127.0.0.1:" + std::to_string(basp_port) + ")"
                        : " (plain TCP)"));
      },
      [self, listen](caf::error& err) {
        log_error("cluster: cannot listen on " + listen + ": " + self->system().render(err));
        if (self->state.opts.on_fatal)
          self->state.opts.on_fatal(1);
      });
}

void stop_children(self_ptr self, const caf::error& reason) {
  auto& s = self->state;
  s.stopping = true;
  // Front to back: no new work reaches a shard after its producers are gone.
  if (s.net)
    self->send_exit(s.net, reason);
  if (s.planner)
    self->send_exit(s.planner, reason);
  if (s.idx)
    self->send_exit(s.idx, reason);
  if (s.compact)
    self->send_exit(s.compact, reason);
  if (s.meta)
    self->send_exit(s.meta, reason);
  for (auto& l : s.links)
    self->send_exit(l, reason);
  if (s.gateway)
    self->send_exit(s.gateway, reason);
  if (s.gateway_idx)
    self->send_exit(s.gateway_idx, reason);
  for (auto& h : s.shards)
    self->send_exit(h, reason);
  if (s.wal)
    self->send_exit(s.wal, reason);
}

}  // namespace

supervisor_actor::behavior_type supervisor(self_ptr self, std::vector<std::shared_ptr<storage::head>> heads,
                                           std::shared_ptr<storage::wal_segment_writer> wal,
                                           std::shared_ptr<storage::block_set> blocks,
                                           supervisor_options opts) {
  auto& s = self->state;
  s.opts = std::move(opts);
  s.heads = std::move(heads);
  s.blocks = blocks ? std::move(blocks) : std::make_shared<storage::block_set>();
  const auto& cfg = *s.opts.cfg;
  wal_writer_options wo;
  wo.policy = cfg.storage.fsync;
  wo.fsync_interval = std::chrono::milliseconds(cfg.storage.fsync_interval_ms);
  wo.stats = s.opts.stats;
  wo.background_sync = s.opts.detach_wal;
  if (s.opts.detach_wal)
    s.wal = self->spawn<caf::monitored + caf::detached>(wal_writer, wal, wo);
  else
    s.wal = self->spawn<caf::monitored>(wal_writer, wal, wo);
  for (size_t i = 0; i < s.heads.size(); ++i) {
    head_block_options ho;
    ho.shard = i;
    ho.stats = s.opts.stats;
    ho.wal_timeout = std::chrono::milliseconds(s.opts.cfg->storage.wal_write_timeout_ms);
    if (s.opts.cluster)
      ho.max_numberings = 2 * s.opts.cluster->ring().num_nodes();
    s.shards.push_back(self->spawn<caf::monitored>(head_block, s.heads[i], s.wal, ho));
  }
  metadata_options mo;
  mo.stats = s.opts.stats;
  mo.wal_timeout = std::chrono::milliseconds(cfg.storage.wal_write_timeout_ms);
  auto store = s.opts.metadata;
  if (!store) {
    storage::metadata_store_options so;
    so.max_bytes = cfg.storage.max_metadata_bytes;
    store = std::make_shared<storage::metadata_store>(so);
  }
  s.opts.metadata.reset();  // the actor owns it from now on
  s.meta = self->spawn<caf::monitored>(metadata, std::move(store), s.wal, mo);
  spawn_compactor(self);
  if (s.opts.cluster)
    spawn_cluster(self);
  spawn_index(self);
  spawn_planner(self);
  spawn_network(self);
  log_info("supervisor: started WAL writer, " + std::to_string(s.shards.size())
           + " head shards, metadata, compactor, index, query planner, network");

  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    if (s.stopping) {
      // An actor that fails while the server stops (not one that ends as
      // asked) may leave a head half-changed: no head snapshot then.
      if (dm.reason && dm.reason != caf::exit_reason::user_shutdown && dm.reason != caf::exit_reason::normal) {
        log_error("supervisor: an actor failed while stopping (" + self->system().render(dm.reason) + ")");
        if (s.opts.on_fatal)
          s.opts.on_fatal(1);
      }
      return;
    }
    auto why = self->system().render(dm.reason);
    if (dm.source == s.idx.address()) {
      log_warn("supervisor: index stopped (" + why + "); restarting it");
      spawn_index(self);
      // The planner and the network actor hold the old index handle:
      // replace them too (the planner's down message restarts the network).
      self->send_exit(s.planner, caf::exit_reason::user_shutdown);
      return;
    }
    if (dm.source == s.planner.address()) {
      log_warn("supervisor: query planner stopped (" + why + "); restarting it");
      spawn_planner(self);
      // The network actor holds the old planner handle: replace it too.
      self->send_exit(s.net, caf::exit_reason::user_shutdown);
      return;
    }
    if (dm.source == s.compact.address()) {
      log_warn("supervisor: compactor stopped (" + why + "); restarting it");
      spawn_compactor(self);
      // The network actor holds the old compactor handle (admin API).
      self->send_exit(s.net, caf::exit_reason::user_shutdown);
      return;
    }
    if (dm.source == s.net.address()) {
      log_warn("supervisor: network stopped (" + why + "); restarting it");
      spawn_network(self);
      return;
    }
    // WAL writer, metadata, a head shard or a cluster actor (peers hold
    // the gateway and the network actor the links): their state cannot be
    // rebuilt in place.
    bool shard = std::any_of(s.shards.begin(), s.shards.end(), [&](auto& h) { return h.address() == dm.source; });
    std::string who = dm.source == s.wal.address()    ? "WAL writer"
                      : dm.source == s.meta.address() ? "metadata actor"
                      : shard                         ? "a head shard"
                                                      : "a cluster actor";
    log_error("supervisor: " + who + " stopped (" + why + "); stopping the process");
    stop_children(self, caf::exit_reason::user_shutdown);
    if (s.opts.on_fatal)
      s.opts.on_fatal(1);
  });
  self->set_exit_handler([self](caf::exit_msg& em) {
    stop_children(self, em.reason);
    self->quit(em.reason);
  });
  return {
    [=](wal_sync_atom a) -> caf::result<uint64_t> {
      if (self->state.stopping)
        return caf::make_error(error_code::unavailable, "stopping");
      return self->delegate(self->state.wal, a);
    },
  };
}

}  // namespace nl::actors

#pragma once
// The link to one peer node: all traffic to that node passes through it.
//
// One connection per pair of nodes: the node whose name sorts first dials
// (opts.dial), the other accepts; one CAF connection (with TLS: one TLS
// session and one pipe) carries both directions. A link starts on
// link_start, which hands it this node's own gateway.
//
// Dialling: a request to the middleman actor (CAF's connect, to the peer
// or, with cluster TLS, to the forwarder's loopback port for that peer,
// which opens the verified TLS connection; protocol/tls_forwarder.hpp)
// under the connection timeout. That is CAF's own asynchronous path under
// remote_actor(), so no thread ever blocks, and a peer that does not
// answer (stopped, refused TLS) costs a failed request instead of a stuck
// thread. The published
// actor's interface must be our gateway's; then the hello (cluster name,
// protocol version, node name, ring digest) must be accepted both ways
// (the link checks the peer's answer too). Only then is the link up, and
// cluster_view says so. A failed attempt is retried after a backoff that
// doubles from heartbeat_interval to reconnect_backoff_max. The hello
// carries this node's gateway.
//
// Accepting: the link waits until the peer dials and says hello to this
// node's gateway, which checks it and hands the peer's gateway over
// (link_accept); the link monitors it and is up. When the peer goes down
// the link waits for it to dial again.
//
// Forwarding (peer_actor's requests): while the link is down, or its
// pending table is full, a request fails at once (unavailable /
// overloaded): a sender never queues behind a dead node. Each forwarded
// request is tracked with a deadline (cluster.request_timeout), because
// CAF 0.17 never answers a request whose remote receiver died or hangs:
// the link fails it on the peer's DOWN message (all of them at once) or
// at its deadline (a tick runs while anything is pending).
//
// Appends travel as link_batch: each link session (from going up to going
// down) numbers the series it sends (storage/cluster/series_refs.hpp), so
// a series' label key crosses once per session. The numbering is taken
// only for batches actually sent; the peer's gateway numbers a batch's new
// series before anything can refuse it, and BASP delivers one link's
// messages in order, so both sides stay in step. When the peer says
// otherwise (stale_series_refs: it restarted its table, or dropped it
// after a malformed batch) the link starts a new session, and the write
// that got the error is retried by its client (503). A session whose keys
// pass max_session_key_bytes (series churn) is replaced by a new one too;
// the gateway refuses (stale) a session that grows past a quarter more
// (storage::receiver_session_key_limit).
//
// fetch_cancel(id): the selects forwarded with that fetch_id fail at once
// (canceled), and the cancel goes on to the peer's gateway, which then
// drops their answers instead of sending them back.
//
// One log line per link change (up, down, each new reason of failing to
// connect).
#include <caf/all.hpp>
#include <caf/io/middleman_actor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>

#include "actors/cluster/cluster_view.hpp"
#include "actors/cluster/peer.hpp"
#include "storage/cluster/series_refs.hpp"

namespace nl::actors {

/// link_start: this node's gateway; a dialling link starts connecting.
/// link_accept: the peer dialled; its gateway (from the gateway's hello).
/// link_connect: try to connect now (sent by the link to itself).
/// link_tick: fail pending requests past their deadline (idem).
using link_actor = peer_actor::extend<caf::reacts_to<link_start_atom, caf::strong_actor_ptr>,
                                      caf::reacts_to<link_accept_atom, caf::strong_actor_ptr>,
                                      caf::reacts_to<link_connect_atom, uint64_t>, caf::reacts_to<link_tick_atom>,
                                      caf::reacts_to<link_flush_atom>>;

struct link_options {
  size_t node = 0;  ///< the peer's index in cluster.nodes
  bool dial = true;  ///< this node opens the connection (cluster_view::dials)
  bool tls = false;  ///< node links go through protocol/tls_forwarder (for log lines)
  std::string addr;  ///< the peer's configured address (for log lines)
  std::string host;  ///< where to connect: the peer, or with TLS the forwarder's loopback port for it
  uint16_t port = 0;
  std::chrono::milliseconds connect_timeout{2000};  ///< connect + hello
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{5000};
  /// Forwarded requests in flight at most; more fail at once (overloaded).
  size_t max_pending = 256;
  /// A link session's label keys at most (each side keeps them all); then
  /// the next batch starts a new session.
  size_t max_session_key_bytes = storage::max_session_key_bytes;
  /// cluster.write_linger: how long a write waits for others to share its
  /// batch to this peer (0: sent at once).
  std::chrono::milliseconds write_linger{0};
  /// Lingering writes are sent at once when they hold this many samples.
  size_t linger_flush_samples = 16384;
};

struct link_state {
  enum class phase { down, connecting, up };
  struct pending_request {
    caf::actor_clock::time_point deadline;
    std::function<void(caf::error)> fail;
    uint64_t fetch_id = 0;  ///< select_request::fetch_id of a select, else 0
  };
  std::shared_ptr<cluster_view> view;
  caf::io::middleman_actor connector;
  link_options opts;
  caf::strong_actor_ptr own_gateway;  ///< sent with the hello (link_start)
  gateway_actor peer;  ///< valid while connecting (after connect) or up
  phase state = phase::down;
  uint64_t attempt = 0;  ///< numbers connection attempts; late replies of old ones are ignored
  /// The middleman still dials an attempt whose deadline passed: CAF 0.17
  /// dials with a blocking connect() on its one middleman thread, so a
  /// link asks again only once that answer came (at most one dial per link
  /// queued there).
  bool dialling = false;
  std::chrono::milliseconds backoff{0};
  std::string last_failure;  ///< logged once per distinct reason
  std::unordered_map<uint64_t, pending_request> pending;
  uint64_t next_id = 1;
  bool tick_scheduled = false;
  /// The session appends are numbered in (0 while down).
  uint64_t session = 0;
  storage::series_ref_sender refs;
  std::mt19937_64 session_ids{std::random_device{}()};
  /// Writes waiting out write_linger, each answered on its own.
  struct lingering_write {
    append_batch batch;
    caf::typed_response_promise<append_result> rp;
  };
  std::vector<lingering_write> lingering;
  size_t lingering_samples = 0;
  bool flush_scheduled = false;
  static inline const char* name = "cluster_link";
};

link_actor::behavior_type link(link_actor::stateful_pointer<link_state> self, std::shared_ptr<cluster_view> view,
                               caf::io::middleman_actor connector, link_options opts);

}  // namespace nl::actors

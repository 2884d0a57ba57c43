#pragma once
// Node-link TLS terminated by Nightlight (docs/CLUSTER.md, "Why node links
// terminate TLS themselves"): CAF's BASP speaks plain TCP on loopback, and
// this carries its bytes between nodes over mutual TLS.
//
// Inbound: listens on the node port (cluster.listen_addr). A connection
// must finish a TLS handshake with a client certificate that chains to the
// cluster CA; only then is it piped to the local BASP port. The pipe's
// loopback source port maps to the certificate's identity while the pipe
// lives, so whoever receives a message over that BASP connection can ask
// which certificate it came through (inbound_identity).
// Outbound: one loopback port per peer. Each connection made to it is
// piped over a new TLS connection to the peer, whose certificate must
// chain to the cluster CA and name the peer (CN or a DNS SAN).
//
// A failed handshake closes only its own connection; it is counted by
// reason and logged (inbound: once a minute per address and reason;
// outbound: once per change of reason). One Asio thread does everything;
// each pipe holds at most `buffer_bytes` per direction and reads again
// only when the write of the previous read finished (backpressure). EOF or
// an error on either side closes both. Certificates reload on a poll of
// the files and on SIGHUP; established pipes keep their session.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "protocol/authorization.hpp"
#include "protocol/tls_context.hpp"
#include "protocol/tls_failure.hpp"
#include "storage/status.hpp"

namespace nl::protocol {

struct tls_forwarder_options {
  /// The node certificate, its key and the cluster CA (client certificates
  /// required). Outbound connections present the same certificate.
  std::shared_ptr<tls_context_reloader> tls;
  /// Connect (outbound) plus handshake must finish within this.
  std::chrono::milliseconds handshake_timeout{5000};
  /// Poll the certificate files this often (0: never).
  std::chrono::milliseconds poll_interval{5000};
  /// Also reload on SIGHUP.
  bool reload_on_sighup = true;
  /// Bytes buffered per pipe and direction.
  size_t buffer_bytes = 64 * 1024;
  std::function<void(const std::string&)> on_warning;
  std::function<void(const std::string&)> on_info;
};

class tls_forwarder {
 public:
  /// Builds the client context from `opts.tls`'s material; the error names
  /// the problem.
  static storage::result<std::unique_ptr<tls_forwarder>> create(tls_forwarder_options opts);
  ~tls_forwarder();
  tls_forwarder(const tls_forwarder&) = delete;
  tls_forwarder& operator=(const tls_forwarder&) = delete;

  /// Inbound: accepts TLS on host:port (0: any free port); returns the port.
  /// Call before start().
  storage::result<uint16_t> listen(const std::string& host, uint16_t port);
  /// Where verified inbound connections go (127.0.0.1:port). Until set,
  /// they are closed after the handshake. Thread-safe.
  void set_inbound_target(uint16_t port);
  /// Outbound: a new loopback port whose connections are piped to node
  /// `name` at host:port. Call before start().
  storage::result<uint16_t> add_peer(const std::string& name, const std::string& host, uint16_t port);

  /// Starts the Asio thread. stop() (and the destructor) closes every
  /// listener and pipe and joins it.
  void start();
  void stop();

  /// The identity of the verified certificate whose inbound pipe connects
  /// to the local target from 127.0.0.1:`loopback_port`; nullopt when no
  /// such pipe is open. Thread-safe.
  std::optional<peer_identity> inbound_identity(uint16_t loopback_port) const;
  /// Closes that inbound pipe (both sides) after `delay`, e.g. when what
  /// came through it claimed a name its certificate does not carry (the
  /// delay lets the refusal reach the peer); the peer must connect anew,
  /// with whatever certificate it has then. Thread-safe, asynchronous.
  void close_inbound(uint16_t loopback_port, std::chrono::milliseconds delay = std::chrono::milliseconds(0));

  /// Inbound handshakes refused, by reason.
  const tls_failure_counters& inbound_failures() const;
  /// Outbound connections that failed before their pipe opened (connect,
  /// handshake, or a certificate that does not name the peer).
  uint64_t outbound_failures() const;
  /// Pipes open now.
  uint64_t inbound_pipes() const;
  uint64_t outbound_pipes() const;
  /// nightlight_cluster_tls_* series (Prometheus text format).
  void append_metrics(std::string& out) const;

 private:
  struct impl;
  explicit tls_forwarder(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace nl::protocol

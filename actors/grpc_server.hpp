#pragma once
// The gRPC query API (proto/query.proto, nightlight.v1.QueryService) on
// server.grpc_addr, plus the standard health service (grpc.health.v1,
// SERVING once the WAL is replayed) and server reflection.
//
// Bridge to the actors: each call is a reactor of gRPC's callback API. It
// checks the caller (tls.allowed_readers) and the request (with HTTP's
// checks, protocol/query_params) on the gRPC thread that received it, then
// sends the same typed call HTTP sends (actors/network_jobs.hpp) to the
// network actor and returns: no thread waits for an actor. The answer is
// encoded straight into protobuf wire bytes, cut into parts
// (protocol/query_proto.hpp), each handed to gRPC without a copy and
// written one part per write completion, so only one encoded part exists at a time: a small first
// part from the actor's thread that delivered the answer, the rest from
// gRPC's threads.
//
// A call the client cancels, or whose deadline passes, withdraws its query
// (query_cancel, as an HTTP disconnect does): the planner stops it within
// milliseconds, counts it in nightlight_queries_cancelled_total and logs
// it. Every call is finished exactly once, by the path that holds its
// answer, so a reactor is never used after gRPC destroys it.
//
// TLS: the tls.* material HTTP's reloader checked (protocol/tls_context),
// handed to gRPC as in-memory files that follow every reload HTTP accepts
// (poll or SIGHUP; gRPC re-reads them each second), so renewed
// certificates reach new connections as on HTTP and broken files never
// do. The client certificate is requested, verified and required as for
// HTTP, including its clientAuth purpose. server.max_concurrent_streams bounds the
// streams of one connection (HTTP/2 SETTINGS, clients queue) and the calls
// in progress over all connections (more: UNAVAILABLE).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/config.hpp"
#include "actors/messages.hpp"
#include "query.pb.h"
#include "storage/status.hpp"

namespace grpc {
class Status;
}  // namespace grpc

namespace nl::protocol {
class authorizer;
class tls_context_reloader;
}  // namespace nl::protocol

namespace nl::actors {

class frontend;
struct metrics;

class grpc_query_server {
 public:
  /// `cfg`, `front` and `m` must outlive the server. `tls` (null without
  /// TLS) is HTTP's reloader, `authz` (null without TLS) decides who may
  /// read, as for HTTP.
  grpc_query_server(const settings& cfg, frontend& front, metrics& m,
                    std::shared_ptr<protocol::tls_context_reloader> tls,
                    std::shared_ptr<const protocol::authorizer> authz);
  ~grpc_query_server();
  grpc_query_server(const grpc_query_server&) = delete;
  grpc_query_server& operator=(const grpc_query_server&) = delete;

  /// Binds server.grpc_addr and starts serving (health NOT_SERVING until
  /// set_serving). io_error naming the address when it cannot listen.
  storage::status start();
  /// The bound port (after start()).
  uint16_t port() const;
  /// The health service's answer for "" and nightlight.v1.QueryService.
  void set_serving(bool serving);
  /// Stops accepting calls, lets calls in progress finish for up to
  /// `grace`, then cancels the rest (their queries are withdrawn) and
  /// waits for them. Call while the actors still run. Idempotent.
  void shutdown(std::chrono::milliseconds grace);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The gRPC status of an actor error (actors/errors.hpp): bad input
/// INVALID_ARGUMENT, an evaluation failure FAILED_PRECONDITION (it depends
/// on the data), too many samples RESOURCE_EXHAUSTED, timeout
/// DEADLINE_EXCEEDED, canceled CANCELLED, internal INTERNAL, everything
/// that passes by itself (overload, shutdown, full disk) UNAVAILABLE. The
/// message is the error's, as HTTP sends it.
grpc::Status grpc_status_of(const caf::error& err);

/// The requests as the planner and the index take them, checked as HTTP
/// checks its parameters (same messages; INVALID_ARGUMENT). `now_ms` is
/// an instant query's time when the request has none.
storage::result<query_request> query_request_of(const nightlight::v1::QueryRequest& r, int64_t now_ms);
storage::result<query_request> query_request_of(const nightlight::v1::QueryRangeRequest& r);
storage::result<meta_query> meta_query_of(const nightlight::v1::SeriesRequest& r);
storage::result<meta_query> meta_query_of(const nightlight::v1::LabelNamesRequest& r);
storage::result<meta_query> meta_query_of(const nightlight::v1::LabelValuesRequest& r, bool allow_utf8_names);
/// Metadata's parameters as HTTP's /api/v1/metadata reads them: absent or
/// negative limits mean none.
metadata_query metadata_query_of(const nightlight::v1::MetadataRequest& r);

}  // namespace nl::actors

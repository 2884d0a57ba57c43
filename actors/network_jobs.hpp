#pragma once
// What the frontends hand to the network actor (actors/network.hpp): the
// HTTP frontend's jobs (actors/frontend.hpp), which carry the request's
// HTTP reply callback, and the typed calls both the HTTP frontend and the
// gRPC server (actors/grpc_server.hpp) make; plus the API answers they
// build.
//
// Every job and call answers its client exactly once: through answer(),
// or, when it is destroyed unanswered (shutdown, an actor restart, a job
// dropped from a mailbox), with a 503 / unavailable that clients retry. It
// is created on an I/O thread and then touched only by the network actor.
#include <caf/all.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/cluster/cluster_view.hpp"
#include "actors/cluster/write_quorum.hpp"
#include "actors/compactor.hpp"
#include "actors/frontend.hpp"
#include "actors/head_block.hpp"
#include "actors/index.hpp"
#include "actors/metadata.hpp"
#include "actors/query_planner.hpp"
#include "protocol/api_json.hpp"
#include "protocol/http_server.hpp"
#include "protocol/remote_read.hpp"
#include "protocol/remote_write.hpp"
#include "protocol/router.hpp"

namespace nl::actors {

/// The answer a job gives when the actors go away before it was answered
/// (shutdown or an actor restart): 503, which every client retries.
void answer_dropped(const protocol::http_reply& reply, bool json, const char* what);

/// A client's reply, given exactly once: by answer(), or with a 503 by the
/// destructor when the job dies unanswered (shutdown, an actor restart,
/// a job dropped from a mailbox). Every job that carries a reply is one.
struct reply_once {
  reply_once(const char* what, bool json) : what(what), json(json) {}
  reply_once(const reply_once&) = delete;
  reply_once& operator=(const reply_once&) = delete;
  ~reply_once() {
    if (!answered && reply)
      answer_dropped(reply, json, what);
  }
  void answer(protocol::http_response r) {
    answered = true;
    reply(std::move(r));
  }

  protocol::http_reply reply;
  bool answered = false;
  const char* what;  ///< "write", "query", ... for the 503 text
  bool json;         ///< API error envelope, or plain text
};

/// A write on its way through the actors. Created on an Asio thread,
/// then touched only by the network actor. Its destructor guarantees the
/// admission budget is returned and the client answered, even if the
/// network actor dies with the job in its mailbox.
struct write_job : reply_once {
  write_job() : reply_once("write", false) {}
  frontend* fe = nullptr;
  std::vector<append_batch> batches;  ///< index = shard; empty = nothing for it
  std::vector<int64_t> reserved;      ///< samples reserved per shard
  int64_t total = 0;                  ///< samples reserved in all
  protocol::write_report report;      ///< refusals found while decoding
  metadata_update metadata;           ///< the request's metadata; empty = none
  // Filled by the network actor:
  size_t waiting = 0;
  append_result result;
  caf::error failure;  ///< set: some shard could not store its part (the first error)
  bool released = false;
  bool counted = false;  ///< included in frontend::writes_in_flight()
  // Cluster mode (`cluster` set): `batches` are per node, not per shard,
  // and this node's own part is in `local`, per shard.
  const cluster_view* cluster = nullptr;
  std::vector<append_batch> local;
  replica_replies replicas;  ///< placement and the nodes' answers, which decide `failure` and `result`

  // Before reply_once's destructor answers: the budget goes back first.
  ~write_job() {
    if (fe)
      fe->release(*this);
  }
};

/// A request for the actors, from the HTTP frontend or the gRPC server,
/// with a typed answer: each caller encodes it at its own edge. Answered
/// exactly once through `done`, with the result or an actor error
/// (actors/errors.hpp); a call the actors drop unanswered (shutdown, an
/// actor restart, a call dropped from a mailbox) is answered `unavailable`
/// by the destructor. Created on an I/O thread, then touched only by the
/// network actor. `done` runs on an actor's thread: it must not block, and
/// leaves heavy encoding to the caller's own threads.
template <class Result>
struct actor_call {
  using result_type = Result;
  actor_call() = default;
  actor_call(const actor_call&) = delete;
  actor_call& operator=(const actor_call&) = delete;
  ~actor_call() {
    if (!answered && done)
      done(caf::make_error(error_code::unavailable, "request dropped during shutdown or restart"));
  }
  void answer(caf::expected<Result> r) {
    answered = true;
    done(std::move(r));
  }

  std::function<void(caf::expected<Result>)> done;
  bool answered = false;
};

/// A PromQL query, for the planner.
struct query_call : actor_call<query_answer> {
  query_request request;
};

/// /api/v1/series, for the index.
struct series_call : actor_call<series_list> {
  meta_query query;
};

/// /api/v1/labels, or with `values` /api/v1/label/<query.label_name>/values.
struct labels_call : actor_call<string_list> {
  meta_query query;
  bool values = false;
};

/// /api/v1/status/tsdb: the top `limit` of each list (validated, >= 1).
struct tsdb_status_call : actor_call<storage::tsdb_status> {
  uint64_t limit = storage::tsdb_status_default_limit;
};

/// /api/v1/metadata, for the metadata actor.
struct metadata_call : actor_call<metadata_list> {
  metadata_query params;
};

/// /federate: the newest sample of every series `query` selects within
/// [mint, maxt], formatted as Prometheus' text exposition by a federation
/// worker (the answer is the body).
struct federate_call : actor_call<std::string> {
  meta_query query;
};

/// An admin API request on its way to the compactor.
struct admin_job : reply_once {
  admin_job() : reply_once("admin request", true) {}
  protocol::endpoint ep = protocol::endpoint::admin_snapshot;
  bool skip_head = false;     ///< snapshot
  series_deletion deletion;   ///< delete_series
};

/// A remote read (/api/v1/read) holding one of the
/// server.remote_read_concurrent_limit slots (the frontend keeps the
/// others waiting), on its way to its reader (actors/remote_reader.hpp).
/// Errors are plain text, as Prometheus' handler answers them.
struct read_job : reply_once {
  read_job() : reply_once("remote read", false) {}
  /// Set once the job holds a slot: the destructor gives it back (and
  /// starts the next waiting read).
  frontend* fe = nullptr;
  protocol::read_request request;
  uint64_t sample_limit = 0;     ///< SAMPLES, per query; 0: none
  size_t max_frame_bytes = protocol::default_max_frame_bytes;
  /// Raised when the client goes away before its answer is complete.
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);

  ~read_job() {
    if (fe)
      fe->read_finished();
  }
};

/// 200 with the API's success envelope around `data` (JSON) and `warnings`.
protocol::http_response json_success(std::string data, const std::vector<std::string>& warnings = {});
/// The API's error envelope, with the HTTP status of `e`.
protocol::http_response json_error(protocol::api_error e, std::string_view msg);
/// 503 with the API's "unavailable" envelope: the actors could not answer
/// (the API's own mapping of unavailable is 500, for evaluation failures).
protocol::http_response unavailable(std::string_view msg);
/// An actor's error as an API error envelope, by its code (actors/errors.hpp):
/// bad input 400, timeouts 503, too many samples and other evaluation
/// failures 422, canceled 503, bugs 500, and everything that passes by
/// itself (overload, full disk, shutdown) 503.
protocol::http_response api_error_response(const caf::error& err);

/// The answers of /api/v1/query and /api/v1/query_range: the value's JSON
/// envelope (encoded on the connection's thread, see
/// http_response::encode), or the error's with Retry-After on every 503
/// (overload, timeout, canceled).
protocol::http_response query_success(query_answer a);
protocol::http_response query_failure(const caf::error& err, uint32_t retry_after_s);

}  // namespace nl::actors

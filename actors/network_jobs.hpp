#pragma once
// What the frontend (actors/frontend.hpp) hands to the network actor
// (actors/network.hpp): one job per HTTP request that needs the actors,
// carrying the request's reply callback, and the API answers both sides
// build. Internal to those two files.
//
// Every job answers its client exactly once: through answer(), or, when it
// is destroyed unanswered (shutdown, an actor restart, a job dropped from a
// mailbox), with a 503 that clients retry. A job is created on an Asio
// thread and then touched only by the network actor.
#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actors/cluster/cluster_view.hpp"
#include "actors/compactor.hpp"
#include "actors/frontend.hpp"
#include "actors/head_block.hpp"
#include "actors/index.hpp"
#include "actors/query_planner.hpp"
#include "protocol/api_json.hpp"
#include "protocol/http_server.hpp"
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
  // Filled by the network actor:
  size_t waiting = 0;
  append_result result;
  caf::error failure;  ///< set: some shard could not store its part (the first error)
  bool released = false;
  bool counted = false;  ///< included in frontend::writes_in_flight()
  // Cluster mode (`cluster` set): `batches` are per node, not per shard.
  const cluster_view* cluster = nullptr;
  std::vector<storage::node_mask> owner_sets;  ///< the series' distinct owner sets
  storage::node_mask acked = 0;                ///< nodes that stored their part
  std::string node_errors;                     ///< "b: reason; c: reason"

  // Before reply_once's destructor answers: the budget goes back first.
  ~write_job() {
    if (fe)
      fe->release(*this);
  }
};

struct meta_job : reply_once {
  meta_job() : reply_once("request", true) {}
  enum kind_type { series = 0, labels = 1, values = 2, tsdb_status = 3 };
  int kind = series;
  meta_query query;  ///< for tsdb_status only `limit` (validated, >= 1)
};

/// A query on its way to the planner; answered exactly once, by the
/// planner's reply or (if the actors go away first) by the destructor.
struct query_http_job : reply_once {
  query_http_job() : reply_once("query", true) {}
  query_request request;
  /// Sent with every 503 answer (overload, timeout): server.retry_after_seconds.
  uint32_t retry_after_s = 1;
};

/// An admin API request on its way to the compactor.
struct admin_job : reply_once {
  admin_job() : reply_once("admin request", true) {}
  protocol::endpoint ep = protocol::endpoint::admin_snapshot;
  bool skip_head = false;     ///< snapshot
  series_deletion deletion;   ///< delete_series
};

/// 200 with the API's success envelope around `data` (JSON) and `warnings`.
protocol::http_response json_success(std::string data, const std::vector<std::string>& warnings = {});
/// The API's error envelope, with the HTTP status of `e`.
protocol::http_response json_error(protocol::api_error e, std::string_view msg);
/// 503 with the API's "unavailable" envelope: the actors could not answer
/// (the API's own mapping of unavailable is 500, for evaluation failures).
protocol::http_response unavailable(std::string_view msg);
/// An actor's error as an API error envelope, by its code (actors/errors.hpp):
/// bad input 400, timeouts 503, too many samples 422, bugs 500, and
/// everything that passes by itself (overload, full disk, shutdown) 503.
protocol::http_response api_error_response(const caf::error& err);

}  // namespace nl::actors

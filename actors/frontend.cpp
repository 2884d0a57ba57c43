#include "actors/frontend.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <random>
#include <filesystem>

#include "actors/cluster/cluster_view.hpp"
#include "actors/cluster/write_split.hpp"
#include "actors/log.hpp"
#include "actors/network_jobs.hpp"
#include "actors/process_stats.hpp"
#include "promql/literals.hpp"
#include "promql/parser.hpp"
#include "promql/printer.hpp"
#include "protocol/api_json.hpp"
#include "protocol/federation.hpp"
#include "protocol/query_params.hpp"
#include "protocol/remote_read.hpp"
#include "protocol/snappy_block.hpp"
#include "protocol/remote_write.hpp"
#include "protocol/router.hpp"
#include "protocol/web_ui.hpp"
#include "storage/cores.hpp"
#include "storage/head/shard.hpp"
#include "storage/label_key.hpp"
#include "storage/wal/replay.hpp"

namespace nl::actors {

using protocol::http_reply;
using protocol::http_request;
using protocol::http_response;

namespace {

constexpr const char* text_plain = "text/plain; charset=utf-8";

http_response text(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.content_type = text_plain;
  r.body = std::move(body);
  return r;
}

constexpr const char* exposition_type = "text/plain; version=0.0.4; charset=utf-8";

bool is_exposition(const std::string& content_type) {
  return content_type == exposition_type;
}

void add_cors(http_response& r) {
  r.headers.emplace_back("Access-Control-Allow-Origin", "*");
  r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  r.headers.emplace_back("Access-Control-Allow-Headers", "Accept, Authorization, Content-Type, Origin");
  r.headers.emplace_back("Access-Control-Expose-Headers", "Date");
  r.headers.emplace_back("Vary", "Origin");
}

std::string buildinfo_json() {
  // `version` is the Prometheus API level implemented (a valid semver that
  // Grafana compares); Nightlight's own version goes into revision/branch.
  // No `features` key: a non-empty one makes Grafana assume Mimir.
  std::string d = R"({"version":"2.42.0","revision":"nightlight-)" NL_VERSION R"(",)"
                  R"("branch":"nightlight","buildUser":"nightlight","buildDate":")" __DATE__ R"(",)"
                  R"("goVersion":"none"})";
  return d;
}


// The decoder's refusals under the reasons /metrics knows: every label rule
// is one reason there (the 400 body names the exact rule).
void count_decoder_rejections(metrics& m, const protocol::write_report& rep) {
  using protocol_reason = protocol::reject_reason;
  for (size_t i = 0; i < rep.samples_rejected_by.size(); ++i) {
    if (rep.samples_rejected_by[i] == 0)
      continue;
    auto why = static_cast<protocol_reason>(i);
    auto as = why == protocol_reason::native_histogram    ? reject_reason::native_histogram
              : why == protocol_reason::too_far_in_future ? reject_reason::too_far_in_future
                                                          : reject_reason::invalid_labels;
    m.count_rejected(as, rep.samples_rejected_by[i]);
  }
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// Splits a decoded request into one columnar batch per shard, entries in
// request order. A series repeated within the request (Prometheus sends one
// sample per entry) simply appears again: the head stages its samples in
// order, so merging entries first would only cost a sort.
void split_by_shard(const protocol::write_batch& wb, size_t nshards, std::vector<append_batch>& out) {
  out.assign(nshards, {});
  // Sized for an even spread; label keys are shorter than the protobuf
  // labels they come from. A skewed request just grows a vector.
  size_t entries = wb.series.size() / nshards + 8;
  size_t samples = wb.samples.size() / nshards + 8;
  size_t bytes = (wb.body ? wb.body->size() : 0) / nshards + 64;
  for (auto& b : out)
    b.reserve(entries, samples, bytes);
  for (const auto& e : wb.series) {
    const auto* labels = wb.labels_of(e);
    uint64_t hash = protocol::hash_labels(labels, e.labels_count);
    auto& b = out[storage::shard_of(hash, nshards)];
    b.add_series(labels, e.labels_count, hash);
    const auto* s = wb.samples_of(e);
    for (uint32_t k = 0; k < e.samples_count; ++k)
      b.add_sample(s[k].t, storage::float_bits(s[k].v));
  }
}

}  // namespace

namespace {

std::string current_dir() {
  std::error_code ec;
  auto p = std::filesystem::current_path(ec);
  return ec ? std::string{} : p.string();
}

}  // namespace

uint64_t frontend::random_write_id_start() {
  std::random_device rd;
  return ((uint64_t{rd()} << 32) | rd()) & ((uint64_t{1} << 48) - 1);
}

frontend::frontend(const settings& cfg, metrics& m, const storage::wal_replay_progress* replay, cli_options cli)
  : cfg_(cfg),
    m_(m),
    replay_(replay),
    cli_(std::move(cli)),
    start_time_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count()),
    cwd_(current_dir()) {
}

std::string frontend::runtime_info_json() const {
  protocol::runtime_info r;
  r.start_time_ns = start_time_ns_;
  r.cwd = cwd_;
  // The file is read once, at start-up, just before this frontend exists.
  r.reload_config_success = true;
  r.last_config_time_s = start_time_ns_ / 1000000000;
  r.corruption_count = static_cast<int64_t>(m_.corrupted_blocks.load());
  r.goroutine_count = read_process_stats().threads.value_or(0);  // OS threads: the nearest thing
  r.gomaxprocs = storage::available_cores();
  r.storage_retention = format_duration(cfg_.storage.effective_retention_ms());
  if (cfg_.storage.retention_bytes != 0)
    r.storage_retention += " or " + protocol::format_base2_bytes(cfg_.storage.retention_bytes);
  std::string d;
  protocol::append_runtime_info(d, r);
  return d;
}

void frontend::attach(network_actor net, size_t num_shards) {
  {
    std::lock_guard<std::mutex> g{net_mtx_};
    if (!shard_pending_) {
      shard_pending_ = std::make_unique<std::atomic<int64_t>[]>(num_shards);
      for (size_t i = 0; i < num_shards; ++i)
        shard_pending_[i] = 0;
      num_shards_ = num_shards;
    }
    net_ = std::move(net);
  }
  if (!ready_.exchange(true, std::memory_order_acq_rel) && on_ready_)
    on_ready_();
}

void frontend::observe_time(int64_t t_ms) {
  int64_t seen = max_t_.load();
  while (t_ms > seen && !max_t_.compare_exchange_weak(seen, t_ms)) {
  }
}

void frontend::close_writes() {
  writes_closed_ = true;
  std::deque<read_job_ptr> waiting;
  {
    std::lock_guard<std::mutex> g{reads_mtx_};
    waiting.swap(reads_waiting_);
  }
  m_.remote_read_queries.fetch_sub(static_cast<int64_t>(waiting.size()), std::memory_order_relaxed);
  // Destroyed unanswered: each answers 503 (reply_once).
}

std::string frontend::handler_name(const std::string& method, const std::string& path) {
  auto r = protocol::match_route(method, path);
  if (r.result == protocol::route::outcome::not_found)
    return "other";
  return std::string{protocol::info(r.ep).path};
}

void frontend::handle(http_request&& req, http_reply reply) {
  using protocol::endpoint;
  auto rt = protocol::match_route(req.method, req.path);
  bool api = protocol::is_api_path(req.path);
  // Compressed for clients that take gzip, as Prometheus does: the JSON of
  // its API handlers and the exposition text of /metrics (and /federate),
  // errors included; not walreplay, which it serves unwrapped, nor the
  // plain-text answers of remote write, health and routing.
  bool compress = rt.result == protocol::route::outcome::found && rt.ep != endpoint::walreplay;
  http_reply out = [reply, api, compress](http_response r) {
    if (api)
      add_cors(r);  // every API answer, errors included
    r.compressible = compress && (r.content_type == "application/json" || is_exposition(r.content_type));
    reply(std::move(r));
  };
  if (rt.result == protocol::route::outcome::not_found)
    return out(text(404, "404 page not found\n"));
  if (rt.result == protocol::route::outcome::method_not_allowed) {
    // Prometheus answers plain text here; clients of the API (Grafana,
    // scripts) read JSON error envelopes, so API paths get one.
    auto r = api ? json_error(protocol::api_error::method_not_allowed,
                              "method " + req.method + " is not allowed for " + req.path + " (allowed: " + rt.allow + ")")
                 : text(405, "Method Not Allowed\n");
    r.headers.emplace_back("Allow", rt.allow);
    return out(std::move(r));
  }
  switch (rt.ep) {
    case endpoint::healthy:
      return out(text(200, "Nightlight is Healthy.\n"));
    case endpoint::ready:
      return out(ready() ? text(200, "Nightlight is Ready.\n") : text(503, "Service Unavailable"));
    case endpoint::cors_preflight: {
      http_response r;
      r.status = 204;
      return out(std::move(r));
    }
    case endpoint::metrics: {
      http_response r;
      r.status = 200;
      r.content_type = exposition_type;
      r.body = m_.render();
      if (cluster_)
        r.body += cluster_->render_metrics();
      return out(std::move(r));
    }
    case endpoint::buildinfo:
      return out(json_success(buildinfo_json()));
    case endpoint::walreplay: {
      // Served while the WAL is replayed (not ready), as Prometheus does:
      // it is how a client follows the replay.
      auto p = replay_ ? replay_->get() : storage::wal_replay_progress::snapshot{};
      std::string d;
      protocol::append_wal_replay_status(d, p.min, p.max, p.current);
      return out(json_success(std::move(d)));
    }
    case endpoint::status_flags: {
      std::string d;
      protocol::append_string_map(d, shown_flags(cfg_, cli_));
      return out(json_success(std::move(d)));
    }
    case endpoint::status_runtimeinfo:
      return out(json_success(runtime_info_json()));
    case endpoint::status_config: {
      std::string d = R"({"yaml":)";
      protocol::append_json_string(d, effective_yaml(cfg_));
      d += '}';
      return out(json_success(std::move(d)));
    }
    case endpoint::cluster_status:
      // The links' state, served while not ready too: it is how an
      // operator sees a node find its peers.
      if (!cluster_)
        return out(json_error(protocol::api_error::not_found,
                              "not in cluster mode (the configuration has no cluster section)"));
      return out(json_success(cluster_->status_json()));
    case endpoint::rules:
      return out(json_success(R"({"groups":[]})"));
    case endpoint::alerts:
      return out(json_success(R"({"alerts":[]})"));
    case endpoint::format_query:
      return handle_format_query(std::move(req), std::move(out));
    case endpoint::query_exemplars:
      // Exemplars are not stored (remote-write exemplars are counted and
      // dropped); Prometheus answers an empty list when it has none, and
      // Grafana's capability probe needs a success.
      return out(json_success("[]"));
    // The web UI is static: it loads while the WAL is replayed and shows
    // the API's 503 until the storage is ready.
    case endpoint::ui_root:
      return out(protocol::web_ui_root_response());
    case endpoint::ui_page:
      return out(protocol::web_asset_response(protocol::find_web_asset(protocol::web_ui_shell), req.if_none_match));
    case endpoint::ui_static:
      return out(protocol::web_asset_response(protocol::find_web_asset(rt.param), req.if_none_match));
    default:
      break;
  }
  // Everything below needs the storage.
  if (!ready())
    return out(text(503, "Service Unavailable"));
  switch (rt.ep) {
    case endpoint::write:
      return handle_write(std::move(req), std::move(out));
    case endpoint::remote_read:
      return handle_read(std::move(req), std::move(out));
    case endpoint::query:
      return handle_query(false, std::move(req), std::move(out));
    case endpoint::query_range:
      return handle_query(true, std::move(req), std::move(out));
    case endpoint::series:
      return handle_meta(meta_series, {}, std::move(req), std::move(out));
    case endpoint::labels:
      return handle_meta(meta_labels, {}, std::move(req), std::move(out));
    case endpoint::label_values:
      return handle_meta(meta_values, std::move(rt.param), std::move(req), std::move(out));
    case endpoint::tsdb_status:
      return handle_tsdb_status(std::move(req), std::move(out));
    case endpoint::metadata:
      return handle_metadata(std::move(req), std::move(out));
    case endpoint::federate:
      return handle_federate(std::move(req), std::move(out));
    case endpoint::admin_snapshot:
    case endpoint::admin_delete_series:
    case endpoint::admin_clean_tombstones:
      // Prometheus 2.42 answers this (errorType unavailable, status 500)
      // before it looks at any parameter.
      if (!cfg_.server.enable_admin_api)
        return out(json_error(protocol::api_error::unavailable, "admin APIs disabled"));
      return handle_admin(rt.ep, std::move(req), std::move(out));
    default:
      return out(text(500, "unrouted endpoint\n"));
  }
}

http_response frontend::overloaded(const std::string& why) {
  m_.overload_responses.fetch_add(1, std::memory_order_relaxed);
  auto r = text(cfg_.server.overload_status, "overloaded: " + why + "; retry later");
  r.headers.emplace_back("Retry-After", std::to_string(cfg_.server.retry_after_seconds));
  return r;
}

void frontend::handle_write(http_request&& req, http_reply reply) {
  // Remote write 1.0 only: an explicit foreign encoding or type is 415
  // (missing headers are accepted, as Prometheus 2.42 does).
  // Header values such as media types compare case-insensitively.
  if (!req.content_encoding.empty() && !promql::iequals(req.content_encoding, "snappy"))
    return reply(text(415, "unsupported Content-Encoding \"" + req.content_encoding + "\"; remote write needs snappy"));
  if (!req.content_type.empty()) {
    std::string_view ct = req.content_type;
    auto semi = ct.find(';');
    auto base = ct.substr(0, semi);
    while (!base.empty() && base.back() == ' ')
      base.remove_suffix(1);
    bool v2 = semi != std::string_view::npos
              && ct.find("proto=io.prometheus.write.v2.Request", semi) != std::string_view::npos;
    if (!promql::iequals(base, "application/x-protobuf") || v2)
      return reply(text(415, "unsupported Content-Type \"" + req.content_type
                               + "\"; this receiver speaks remote write 1.0 (application/x-protobuf)"));
  }
  if (writes_closed_)
    return reply(overloaded("shutting down"));
  protocol::write_settings ws;
  ws.allow_utf8_names = cfg_.ingest.allow_utf8_names;
  ws.drop_non_finite = cfg_.ingest.drop_non_finite;
  ws.max_future_ms = int64_t{cfg_.ingest.max_future_seconds} * 1000;
  auto decoded = protocol::decode_remote_write(req.body, now_ms(), ws, cfg_.server.max_decoded_bytes);
  if (!decoded) {
    auto st = decoded.error();
    if (st.error_code() == storage::status::code::limit_exceeded)
      return reply(text(413, st.message()));
    return reply(text(400, st.message()));
  }
  auto& wb = *decoded;
  if (wb.report.non_finite_dropped > 0)
    m_.count_rejected(reject_reason::non_finite, wb.report.non_finite_dropped);
  if (wb.report.samples_rejected > 0)
    count_decoder_rejections(m_, wb.report);
  if (wb.report.metadata_rejected > 0)
    m_.metadata_rejected.fetch_add(wb.report.metadata_rejected, std::memory_order_relaxed);
  auto job = std::make_shared<write_job>();
  job->report = std::move(wb.report);
  job->reply = std::move(reply);
  if (wb.samples.empty() && wb.metadata.empty()) {
    // Nothing to store (empty request, or everything refused).
    job->fe = this;
    finish_write(*job);
    return;
  }
  auto net = network();
  if (cluster_) {
    // One batch per other node (its gateway splits it by shard and applies
    // its own budget); this node's part per shard, as below.
    split_by_node(wb, *cluster_, cluster_->healthy(), num_shards_, job->batches, job->local,
                  job->replicas.owner_sets);
    job->cluster = cluster_.get();
  } else {
    split_by_shard(wb, num_shards_, job->batches);
  }
  // Raise the shared newest time first, then stamp every batch with it.
  int64_t batch_max = INT64_MIN;
  for (auto& smp : wb.samples)
    batch_max = std::max(batch_max, smp.t);
  observe_time(batch_max);
  uint64_t write_id = next_write_id_.fetch_add(1) + 1;
  // Peers' WAL writers see write ids of every node: keep them apart.
  if (cluster_)
    write_id = (write_id & ((uint64_t{1} << 56) - 1)) | (uint64_t{cluster_->self() + 1} << 56);
  for (auto* bs : {&job->batches, &job->local})
    for (auto& b : *bs) {
      b.observed_max_t = max_t_.load();
      b.write_id = write_id;
    }
  // Metadata goes to the metadata actor, in the same WAL group as the
  // samples (all of the request is written, or none of it).
  job->metadata.entries = std::move(wb.metadata);
  job->metadata.seen_ms = now_ms();
  job->metadata.write_id = write_id;
  // Admission: reserve the samples (and metadata entries) against the
  // global budget and the samples against each shard's share. A request is
  // always admitted when nothing is in flight, so a batch larger than the
  // budget cannot be refused forever.
  int64_t n = static_cast<int64_t>(wb.samples.size() + job->metadata.entries.size());
  int64_t budget = static_cast<int64_t>(cfg_.server.max_inflight_samples);
  int64_t before = inflight_samples_.fetch_add(n);
  job->total = n;
  job->fe = this;  // from here on the destructor releases the reservation
  job->reserved.assign(num_shards_, 0);
  m_.inflight_samples.fetch_add(n, std::memory_order_relaxed);
  if (before > 0 && before + n > budget) {
    return job->answer(overloaded("too many samples in flight"));
  }
  int64_t shard_cap = std::max<int64_t>(budget / static_cast<int64_t>(num_shards_), 1);
  // Per shard only on a single node: in cluster mode a reservation would
  // be held until the slowest peer answered, and a busy local shard would
  // refuse the whole write where its replica alone should fail; the global
  // budget above bounds this node's own part.
  for (size_t s = 0; s < num_shards_ && !cluster_; ++s) {
    int64_t k = static_cast<int64_t>(job->batches[s].num_samples());
    if (k == 0)
      continue;
    int64_t prev = shard_pending_[s].fetch_add(k);
    job->reserved[s] = k;
    if (prev > 0 && prev + k > shard_cap) {
      return job->answer(overloaded("head shard " + std::to_string(s) + " is behind"));
    }
  }
  writes_in_flight_.fetch_add(1);
  job->counted = true;
  caf::anon_send(net, std::move(job));
}

void frontend::release(write_job& job) {
  if (job.released || job.fe == nullptr)
    return;
  job.released = true;
  if (job.counted)
    writes_in_flight_.fetch_sub(1);
  inflight_samples_.fetch_sub(job.total);
  m_.inflight_samples.fetch_sub(job.total, std::memory_order_relaxed);
  for (size_t s = 0; s < job.reserved.size(); ++s)
    if (job.reserved[s] != 0)
      shard_pending_[s].fetch_sub(job.reserved[s]);
}

void frontend::finish_write(write_job& job) {
  release(job);
  if (job.failure) {
    // A remote-write sender retries 5xx and drops 4xx: only input that can
    // never be stored is a 4xx.
    auto code = code_of(job.failure);
    auto msg = message_of(job.failure);
    if (code == error_code::bad_input)
      return job.answer(text(400, msg));
    if (code == error_code::internal || code == error_code::too_many_samples)
      return job.answer(text(500, "internal error: " + msg));
    auto r = text(503, "storage unavailable (" + std::string(to_string(code)) + "): " + msg + "; retry");
    r.headers.emplace_back("Retry-After", std::to_string(cfg_.server.retry_after_seconds));
    return job.answer(std::move(r));
  }
  uint64_t refused = job.report.samples_rejected + job.result.rejected;
  if (refused == 0 && !job.report.any_rejected())
    return job.answer(http_response{204, {}, {}, {}});
  // One line (Prometheus logs the first line, up to 1024 bytes): the
  // decoder's summary, then the storage's first refusals, then the totals.
  std::string body = job.report.summary();
  for (auto& e : job.result.errors) {
    if (!body.empty())
      body += "; ";
    body += e;
  }
  body += " (" + std::to_string(refused) + " samples rejected, " + std::to_string(job.result.accepted)
          + " stored)";
  std::replace(body.begin(), body.end(), '\n', ' ');
  if (body.size() > 1024)
    body = body.substr(0, 1000) + "... (" + std::to_string(refused) + " samples rejected)";
  job.answer(text(400, std::move(body)));
}

namespace {

protocol::form_params request_form(const http_request& req) {
  bool form_body = req.method == "POST" && protocol::is_form_content_type(req.content_type);
  return protocol::form_params::parse(req.query, form_body ? std::string_view{req.body} : std::string_view{});
}

// Cluster mode: the nodes that did not answer (actors/cluster/cluster_index.hpp).
template <class Result>
std::vector<std::string> warnings_of(const Result&) {
  return {};
}
std::vector<std::string> warnings_of(const series_list& xs) { return xs.warnings; }
std::vector<std::string> warnings_of(const string_list& xs) { return xs.warnings; }
std::vector<std::string> warnings_of(const metadata_list& xs) { return xs.warnings; }

// The `done` of a typed call answered in the API's JSON envelope: errors by
// their code; a result is encoded on the connection's thread by
// `encode(result, data)`, which appends the `data` value and says whether
// a limit cut it ("results truncated due to limit").
template <class Result, class Encode>
std::function<void(caf::expected<Result>)> json_answer(http_reply reply, Encode encode) {
  return [reply = std::move(reply), encode](caf::expected<Result> r) {
    if (!r)
      return reply(api_error_response(r.error()));
    http_response resp;
    resp.status = 200;
    resp.content_type = "application/json";
    resp.encode = [result = std::make_shared<Result>(std::move(*r)), encode](http_response& out) {
      std::string d;
      auto warnings = warnings_of(*result);
      if (encode(*result, d))
        warnings.emplace_back("results truncated due to limit");
      out.body = json_success(std::move(d), warnings).body;
    };
    reply(std::move(resp));
  };
}

}  // namespace

void frontend::handle_query(bool range, http_request&& req, http_reply reply) {
  using protocol::api_error;
  auto f = request_form(req);
  if (!f.error().empty())
    return reply(json_error(api_error::bad_data, f.error()));
  auto call = std::make_shared<query_call>();
  auto& q = call->request;
  // Checks in Prometheus 2.42's order: times, then timeout, then the query.
  if (range) {
    auto rp = protocol::parse_range_params(f.value("start"), f.value("end"), f.value("step"));
    if (!rp)
      return reply(json_error(api_error::bad_data, rp.error().message()));
    q.start = rp->start_ms;
    q.end = rp->end_ms;
    q.step = rp->step_ms;
  } else {
    auto t = protocol::parse_time_or("time", f.value("time"), now_ms());
    if (!t)
      return reply(json_error(api_error::bad_data, t.error().message()));
    q.start = q.end = *t;
  }
  if (auto tv = f.get("timeout"); tv && !tv->empty()) {
    auto d = protocol::parse_duration("timeout", *tv);
    if (!d)
      return reply(json_error(api_error::bad_data, d.error().message()));
    q.timeout_ms = std::max<int64_t>(*d, 1);
  }
  q.query = std::string(f.value("query"));
  q.id = next_query_id();
  // Prometheus: any non-empty `stats` adds data.stats, "all" with the reads
  // per step (there behind --enable-feature=promql-per-step-stats).
  auto stats = f.value("stats");
  q.stats = stats.empty() ? 0 : stats == "all" ? 2 : 1;
  // Times that look like milliseconds: Prometheus answers them silently
  // (with nothing found); Nightlight says why.
  std::vector<std::string> time_warnings;
  for (auto [name, t] : {std::pair{"time", q.start}, std::pair{"start", q.start}, std::pair{"end", q.end}})
    if ((std::string_view{name} == "time") != range)
      if (auto w = protocol::millisecond_time_warning(name, f.value(name), t))
        time_warnings.push_back(std::move(*w));
  call->done = [reply = std::move(reply), retry_after_s = cfg_.server.retry_after_seconds,
                time_warnings = std::move(time_warnings)](caf::expected<query_answer> r) mutable {
    if (!r)
      return reply(query_failure(r.error(), retry_after_s));
    r->warnings.insert(r->warnings.begin(), time_warnings.begin(), time_warnings.end());
    reply(query_success(std::move(*r)));
  };
  auto net = network();
  auto id = q.id;
  caf::anon_send(net, std::move(call));
  // Subscribed after the job is sent, so a cancel always follows its query
  // into the network actor's mailbox.
  if (req.cancellation)
    req.cancellation->on_cancel([net, id] { caf::anon_send(net, query_cancel{id}); });
}

network_actor frontend::network() const {
  std::lock_guard<std::mutex> g{net_mtx_};
  return net_;
}

void frontend::handle_format_query(http_request&& req, http_reply reply) {
  using protocol::api_error;
  auto f = request_form(req);
  if (!f.error().empty())
    return reply(json_error(api_error::bad_data, f.error()));
  auto parsed = promql::parse(f.value("query"));
  if (!parsed)
    return reply(json_error(api_error::bad_data, "invalid parameter \"query\": " + parsed.error.message));
  std::string d;
  protocol::append_json_string(d, promql::prettify(*parsed.expr));
  reply(json_success(std::move(d)));
}

void frontend::handle_meta(int kind, std::string label_name, http_request&& req, http_reply reply) {
  using protocol::api_error;
  auto f = request_form(req);
  if (!f.error().empty())
    return reply(json_error(api_error::bad_data, f.error()));
  meta_query q;
  if (kind == meta_values) {
    if (auto st = protocol::check_label_name_param(label_name, cfg_.ingest.allow_utf8_names); !st)
      return reply(json_error(api_error::bad_data, st.message()));
    q.label_name = std::move(label_name);
  }
  auto start = protocol::parse_time_or("start", f.value("start"), protocol::min_time_ms);
  if (!start)
    return reply(json_error(api_error::bad_data, start.error().message()));
  auto end = protocol::parse_time_or("end", f.value("end"), protocol::max_time_ms);
  if (!end)
    return reply(json_error(api_error::bad_data, end.error().message()));
  auto limit = protocol::parse_limit(f.value("limit"));
  if (!limit)
    return reply(json_error(api_error::bad_data, limit.error().message()));
  q.mint = *start;
  q.maxt = *end;
  q.limit = static_cast<uint64_t>(*limit);
  auto selectors = protocol::parse_match_params(f.get_all("match[]"), kind == meta_series);
  if (!selectors)
    return reply(json_error(api_error::bad_data, selectors.error().message()));
  q.selectors = std::move(*selectors);
  if (kind == meta_series) {
    auto call = std::make_shared<series_call>();
    call->query = std::move(q);
    call->done = json_answer<series_list>(std::move(reply), [](const series_list& xs, std::string& d) {
      protocol::append_series_list(d, xs.items);
      return xs.truncated;
    });
    caf::anon_send(network(), std::move(call));
    return;
  }
  auto call = std::make_shared<labels_call>();
  call->query = std::move(q);
  call->values = kind == meta_values;
  call->done = json_answer<string_list>(std::move(reply), [](const string_list& xs, std::string& d) {
    protocol::append_string_list(d, xs.items);
    return xs.truncated;
  });
  caf::anon_send(network(), std::move(call));
}

void frontend::handle_read(http_request&& req, http_reply reply) {
  // As Prometheus' handler: the body is a snappy block whatever the
  // headers say, and every refusal is plain text (its client shows it).
  std::string decoded;
  if (auto st = protocol::snappy_decode(req.body, decoded, cfg_.server.max_decoded_bytes); !st) {
    auto status = st.error_code() == storage::status::code::limit_exceeded ? 413u : 400u;
    return reply(text(status, st.message() + "\n"));
  }
  auto request = protocol::decode_read_request(decoded);
  if (!request)
    return reply(text(400, request.error().message() + "\n"));
  auto job = std::make_shared<read_job>();
  job->request = std::move(*request);
  job->sample_limit = cfg_.server.remote_read_sample_limit;
  job->max_frame_bytes = cfg_.server.remote_read_max_bytes_in_frame;
  job->reply = std::move(reply);
  if (req.cancellation)
    req.cancellation->on_cancel([c = job->cancelled] { c->store(true); });
  m_.remote_read_queries.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> g{reads_mtx_};
    const auto limit = cfg_.server.remote_read_concurrent_limit;
    if (writes_closed_) {
      m_.remote_read_queries.fetch_sub(1, std::memory_order_relaxed);
      return;  // shutting down: the job answers 503 as it goes
    }
    if (limit != 0 && reads_running_ >= limit) {
      reads_waiting_.push_back(std::move(job));
      return;
    }
    reads_running_ += 1;
    job->fe = this;
  }
  network_actor net;
  {
    std::lock_guard<std::mutex> g{net_mtx_};
    net = net_;
  }
  caf::anon_send(net, std::move(job));
}

void frontend::read_finished() {
  m_.remote_read_queries.fetch_sub(1, std::memory_order_relaxed);
  read_job_ptr next;
  std::vector<read_job_ptr> gone;  // dropped outside the lock
  {
    std::lock_guard<std::mutex> g{reads_mtx_};
    reads_running_ -= 1;
    while (!reads_waiting_.empty() && !next) {
      auto job = std::move(reads_waiting_.front());
      reads_waiting_.pop_front();
      if (job->cancelled->load()) {
        gone.push_back(std::move(job));
        continue;
      }
      reads_running_ += 1;
      job->fe = this;
      next = std::move(job);
    }
  }
  if (!gone.empty())
    m_.remote_read_queries.fetch_sub(static_cast<int64_t>(gone.size()), std::memory_order_relaxed);
  if (!next)
    return;
  network_actor net;
  {
    std::lock_guard<std::mutex> g{net_mtx_};
    net = net_;
  }
  caf::anon_send(net, std::move(next));
}

namespace {

// `limit` of /api/v1/status/tsdb as Prometheus 3.x checks it (2.42 has no
// parameter and always answers 10): strconv.Atoi, 1..10000, default 10.
storage::result<uint64_t> tsdb_status_limit(std::string_view v) {
  if (v.empty())
    return uint64_t{storage::tsdb_status_default_limit};
  auto n = protocol::parse_limit(v);  // Atoi's syntax; refuses negatives
  if (!n || *n < 1)
    return storage::status::invalid_argument("limit must be a positive number");
  if (static_cast<uint64_t>(*n) > storage::tsdb_status_max_limit)
    return storage::status::invalid_argument("limit must not exceed "
                                             + std::to_string(storage::tsdb_status_max_limit));
  return static_cast<uint64_t>(*n);
}

}  // namespace

void frontend::handle_tsdb_status(http_request&& req, http_reply reply) {
  using protocol::api_error;
  auto f = request_form(req);
  if (!f.error().empty())
    return reply(json_error(api_error::bad_data, f.error()));
  auto limit = tsdb_status_limit(f.value("limit"));
  if (!limit)
    return reply(json_error(api_error::bad_data, limit.error().message()));
  auto call = std::make_shared<tsdb_status_call>();
  call->limit = *limit;
  call->done = json_answer<storage::tsdb_status>(std::move(reply),
                                                 [](const storage::tsdb_status& st, std::string& d) {
                                                   protocol::append_tsdb_status(d, st);
                                                   return false;
                                                 });
  caf::anon_send(network(), std::move(call));
}

void frontend::handle_metadata(http_request&& req, http_reply reply) {
  using protocol::api_error;
  // Prometheus reads these with FormValue, which ignores a malformed pair.
  auto f = request_form(req);
  auto call = std::make_shared<metadata_call>();
  auto& q = call->params;
  // limit_per_metric came with Prometheus 2.47 (2.42 ignores it); it is
  // read as 2.47 reads it.
  for (auto [name, field] : {std::pair{"limit", &q.limit}, std::pair{"limit_per_metric", &q.limit_per_metric}}) {
    auto v = f.value(name);
    if (v.empty())
      continue;
    auto n = protocol::go_atoi(v);
    if (!n)
      return reply(json_error(api_error::bad_data, std::string{name} + " must be a number"));
    *field = *n;
  }
  q.metric = std::string{f.value("metric")};
  call->done = json_answer<metadata_list>(std::move(reply), [](const metadata_list& xs, std::string& d) {
    protocol::append_metadata(d, xs.items);
    return false;
  });
  caf::anon_send(network(), std::move(call));
}

void frontend::handle_federate(http_request&& req, http_reply reply) {
  // Errors are plain text with a newline, as Go's http.Error writes them.
  auto f = request_form(req);
  if (!f.error().empty())
    return reply(text(400, "error parsing form values: " + f.error() + "\n"));
  auto call = std::make_shared<federate_call>();
  auto& q = call->query;
  for (auto v : f.get_all("match[]")) {
    auto sel = promql::parse_metric_selector(v);
    if (!sel)
      return reply(text(400, sel.error->message + "\n"));
    q.selectors.push_back(std::move(sel.matchers));
  }
  // The newest sample at most one lookback delta old, as an instant
  // selector at "now" sees it.
  q.maxt = now_ms();
  q.mint = q.maxt - cfg_.server.lookback_delta_ms;
  call->done = [reply = std::move(reply)](caf::expected<std::string> body) {
    if (!body) {
      // Plain text, as Prometheus' http.Error answers.
      auto code = code_of(body.error());
      return reply(text(code == error_code::internal ? 500 : 503, message_of(body.error()) + "\n"));
    }
    http_response r;
    r.status = 200;
    r.content_type = std::string{protocol::federation_content_type};
    r.body = std::move(*body);
    reply(std::move(r));
  };
  caf::anon_send(network(), std::move(call));
}

void frontend::handle_admin(protocol::endpoint ep, http_request&& req, http_reply reply) {
  using protocol::api_error;
  auto job = std::make_shared<admin_job>();
  job->ep = ep;
  // Go's ParseForm reads form bodies of POST and PUT requests.
  bool form_body = (req.method == "POST" || req.method == "PUT") && protocol::is_form_content_type(req.content_type);
  auto f = protocol::form_params::parse(req.query, form_body ? std::string_view{req.body} : std::string_view{});
  if (ep == protocol::endpoint::admin_snapshot) {
    // FormValue: a malformed pair is skipped silently.
    auto skip = protocol::parse_bool_or("skip_head", f.value("skip_head"), false);
    if (!skip)
      return reply(json_error(api_error::bad_data, skip.error().message()));
    job->skip_head = *skip;
  } else if (ep == protocol::endpoint::admin_delete_series) {
    // Checks in Prometheus 2.42's order (deleteSeries in web/api/v1).
    if (!f.error().empty())
      return reply(json_error(api_error::bad_data, "error parsing form values: " + f.error()));
    auto matches = f.get_all("match[]");
    if (matches.empty())
      return reply(json_error(api_error::bad_data, "no match[] parameter provided"));
    auto start = protocol::parse_time_or("start", f.value("start"), protocol::min_time_ms);
    if (!start)
      return reply(json_error(api_error::bad_data, start.error().message()));
    auto end = protocol::parse_time_or("end", f.value("end"), protocol::max_time_ms);
    if (!end)
      return reply(json_error(api_error::bad_data, end.error().message()));
    auto& d = job->deletion;
    d.mint = *start;
    d.maxt = *end;
    for (auto v : matches) {
      auto sel = promql::parse_metric_selector(v);
      if (!sel)
        return reply(json_error(api_error::bad_data, "invalid parameter \"match[]\": " + sel.error->message));
      d.selectors.push_back(std::move(sel.matchers));
    }
  }
  job->reply = std::move(reply);
  auto net = network();
  caf::anon_send(net, std::move(job));
}

}  // namespace nl::actors

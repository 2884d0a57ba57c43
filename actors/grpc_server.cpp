#include "actors/grpc_server.hpp"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <atomic>
#include <limits>
#include <optional>
#include <type_traits>

#include "actors/frontend.hpp"
#include "actors/log.hpp"
#include "actors/metrics.hpp"
#include "actors/network_jobs.hpp"
#include "protocol/authorization.hpp"
#include "protocol/query_params.hpp"
#include "protocol/query_proto.hpp"
#include "protocol/tls_context.hpp"
#include "protocol/tls_material_files.hpp"
#include "query.grpc.pb.h"

namespace nl::actors {

namespace pb = nightlight::v1;
using storage::status;

namespace {

constexpr int64_t ns_per_ms = 1'000'000;

// The first part of an answer, encoded on the actor thread that delivered
// it: small answers fit whole, large ones go on from gRPC's threads.
constexpr size_t first_part_bytes = 32 * 1024;

// How often gRPC re-reads its in-memory copies of the TLS files: reading
// three memfds is free, and a reload HTTP accepted (poll or SIGHUP) then
// reaches gRPC within a second.
constexpr int tls_refresh_seconds = 1;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// ms to Go's nanosecond Duration, saturating (the point limit is computed
// in ns, as for HTTP).
int64_t ms_to_ns(int64_t ms) {
  if (ms > std::numeric_limits<int64_t>::max() / ns_per_ms)
    return std::numeric_limits<int64_t>::max();
  if (ms < std::numeric_limits<int64_t>::min() / ns_per_ms)
    return std::numeric_limits<int64_t>::min();
  return ms * ns_per_ms;
}

status check_timeout(int64_t timeout_ms) {
  if (timeout_ms < 0)
    return status::invalid_argument("invalid parameter \"timeout_ms\": must not be negative");
  return status::ok();
}

// A request's message from the bytes gRPC hands a raw method; false if
// they are not one.
template <class Request>
bool parse_request(const grpc::ByteBuffer* raw, Request& out) {
  grpc::Slice bytes;
  if (raw == nullptr || !raw->Valid() || !raw->DumpToSingleSlice(&bytes).ok())
    return false;
  return out.ParseFromArray(bytes.begin(), static_cast<int>(bytes.size()));
}

// A part's bytes as gRPC's buffer, not copied: the slice owns the string
// and frees it when gRPC is done sending it.
grpc::ByteBuffer buffer_of(std::string bytes) {
  auto* held = new std::string(std::move(bytes));
  grpc::Slice slice(
    held->data(), held->size(), [](void* p) { delete static_cast<std::string*>(p); }, held);
  return grpc::ByteBuffer(&slice, 1);
}

template <class Request>
storage::result<meta_query> meta_of(const Request& r, bool series) {
  meta_query q;
  q.mint = r.has_start_ms() ? r.start_ms() : protocol::min_time_ms;
  q.maxt = r.has_end_ms() ? r.end_ms() : protocol::max_time_ms;
  q.limit = r.limit();
  std::vector<std::string_view> match(r.match().begin(), r.match().end());
  auto selectors = protocol::parse_match_params(match, series);
  if (!selectors)
    return selectors.error();
  q.selectors = std::move(*selectors);
  return q;
}

}  // namespace

// -- requests and statuses ------------------------------------------------------

storage::result<query_request> query_request_of(const pb::QueryRequest& r, int64_t now_ms) {
  // HTTP's order: times, then timeout, then the query (the planner parses).
  if (auto st = check_timeout(r.timeout_ms()); !st)
    return st;
  query_request q;
  q.query = r.query();
  q.start = q.end = r.has_time_ms() ? r.time_ms() : now_ms;
  q.timeout_ms = r.timeout_ms();
  return q;
}

storage::result<query_request> query_request_of(const pb::QueryRangeRequest& r) {
  auto range = protocol::check_range(r.start_ms(), r.end_ms(), ms_to_ns(r.step_ms()));
  if (!range)
    return range.error();
  if (auto st = check_timeout(r.timeout_ms()); !st)
    return st;
  query_request q;
  q.query = r.query();
  q.start = range->start_ms;
  q.end = range->end_ms;
  q.step = range->step_ms;
  q.timeout_ms = r.timeout_ms();
  return q;
}

storage::result<meta_query> meta_query_of(const pb::SeriesRequest& r) { return meta_of(r, true); }

storage::result<meta_query> meta_query_of(const pb::LabelNamesRequest& r) { return meta_of(r, false); }

storage::result<meta_query> meta_query_of(const pb::LabelValuesRequest& r, bool allow_utf8_names) {
  if (auto st = protocol::check_label_name_param(r.label_name(), allow_utf8_names); !st)
    return st;
  auto q = meta_of(r, false);
  if (q)
    q->label_name = r.label_name();
  return q;
}

metadata_query metadata_query_of(const pb::MetadataRequest& r) {
  // As HTTP reads them: any number; a negative limit means no limit.
  metadata_query q;
  q.metric = r.metric();
  q.limit = r.has_limit() ? r.limit() : -1;
  q.limit_per_metric = r.has_limit_per_metric() ? r.limit_per_metric() : -1;
  return q;
}

grpc::Status grpc_status_of(const caf::error& err) {
  using grpc::StatusCode;
  auto msg = message_of(err);
  switch (code_of(err)) {
    case error_code::bad_input: return {StatusCode::INVALID_ARGUMENT, msg};
    case error_code::execution: return {StatusCode::FAILED_PRECONDITION, msg};
    case error_code::too_many_samples: return {StatusCode::RESOURCE_EXHAUSTED, msg};
    case error_code::timeout: return {StatusCode::DEADLINE_EXCEEDED, msg};
    case error_code::canceled: return {StatusCode::CANCELLED, msg};
    case error_code::internal: return {StatusCode::INTERNAL, msg};
    default: return {StatusCode::UNAVAILABLE, msg};
  }
}

namespace {

const char* code_name(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    default: return "UNKNOWN";
  }
}

// The tls.* check HTTP's context makes that gRPC's own verification does
// not: a client certificate must allow client authentication.
class client_purpose_verifier : public grpc::experimental::ExternalCertificateVerifier {
 public:
  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request, std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    auto pem = request->peer_cert();
    // No certificate: the request type decided already whether that is fine.
    if (pem.size() == 0 || protocol::allows_client_auth({pem.data(), pem.size()}))
      *sync_status = grpc::Status::OK;
    else
      *sync_status = {grpc::StatusCode::UNAUTHENTICATED, "certificate may not be used for client authentication"};
    return true;
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}
};

// gRPC's TLS over `files`: the material HTTP's reloader checked, in memory.
std::shared_ptr<grpc::ServerCredentials> credentials_of(const tls_settings& tls,
                                                        const protocol::tls_material_files* files) {
  if (files == nullptr)
    return grpc::InsecureServerCredentials();
  using grpc::experimental::FileWatcherCertificateProvider;
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (tls.ca_file.empty())
    provider = std::make_shared<FileWatcherCertificateProvider>(files->key_path(), files->cert_path(),
                                                                tls_refresh_seconds);
  else
    provider = std::make_shared<FileWatcherCertificateProvider>(files->key_path(), files->cert_path(),
                                                                files->ca_path(), tls_refresh_seconds);
  grpc::experimental::TlsServerCredentialsOptions opts(provider);
  opts.watch_identity_key_cert_pairs();
  if (tls.ca_file.empty()) {
    opts.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    opts.watch_root_certs();
    opts.set_cert_request_type(tls.require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                                       : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
    opts.set_certificate_verifier(grpc::experimental::ExternalCertificateVerifier::Create<client_purpose_verifier>());
  }
  return grpc::experimental::TlsServerCredentials(opts);
}

// What every call of the service shares.
struct service_context {
  const settings& cfg;
  frontend& front;
  metrics& m;
  std::shared_ptr<const protocol::authorizer> authz;
};

// One call: checks, sends its typed call to the network actor, then writes
// the answer's parts. Deletes itself when gRPC is done with it. The
// service's methods are raw: requests arrive as bytes (parsed here with
// the generated message), answers leave as the bytes protocol/query_proto
// encodes, with no message objects in between.
//
// Who may touch the reactor when: until the call's answer arrives only
// gRPC (OnCancel) and the constructor; then the answer's path alone (the
// actor's callback: an error's Finish or the first write; then
// OnWriteDone), which also is the only one to Finish. gRPC destroys a
// reactor only after Finish, so the answer's callback never meets a dead
// reactor.
//
// The first part is written from the actor's thread, kept small so that
// encoding it costs microseconds there; the rest are encoded on gRPC's
// threads as the writes complete. (Hopping threads first, with a gRPC
// alarm, cost a millisecond per call: timers tick in milliseconds.)
template <class Call, class Encoder>
class call_stream : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  using result_type = typename Call::result_type;

  call_stream(service_context& svc, grpc::CallbackServerContext* ctx, const char* method, const char* http_path)
    : svc_(svc), ctx_(ctx), method_(method), http_path_(http_path), started_(std::chrono::steady_clock::now()) {
    active_before_ = svc_.m.grpc_streams_active.fetch_add(1, std::memory_order_relaxed);
  }

  void OnDone() override {
    release_stream();
    delete this;
  }

  void OnCancel() override { withdraw(); }

  void OnWriteDone(bool ok) override {
    if (!ok)
      return finish({grpc::StatusCode::CANCELLED, "the client went away"});
    write_next();
  }

 protected:
  // The checks every call passes before its own: concurrency, caller,
  // readiness. False: the call is finished.
  bool admit() {
    auto max_streams = static_cast<int64_t>(svc_.cfg.server.max_concurrent_streams);
    if (active_before_ >= max_streams) {
      finish({grpc::StatusCode::UNAVAILABLE, "too many concurrent calls (server.max_concurrent_streams = "
                                                + std::to_string(max_streams) + "); retry later"});
      return false;
    }
    if (svc_.authz) {
      auto pems = ctx_->auth_context()->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
      auto who = pems.empty() ? protocol::peer_identity{}
                              : protocol::identity_of_pem({pems.front().data(), pems.front().size()});
      auto decision = svc_.authz->check(who, http_path_);
      if (!decision.allowed) {
        log_warn("forbidden: gRPC " + std::string(method_) + " from " + ctx_->peer() + ": " + decision.reason);
        finish({grpc::StatusCode::PERMISSION_DENIED, decision.reason});
        return false;
      }
    }
    if (!svc_.front.ready()) {
      finish({grpc::StatusCode::UNAVAILABLE, "not ready: the WAL is being replayed"});
      return false;
    }
    return true;
  }

  // Finishes with a bad request's status (INVALID_ARGUMENT, HTTP's text).
  void refuse(const storage::status& st) { finish({grpc::StatusCode::INVALID_ARGUMENT, st.message()}); }

  // The call's request; false (the call is finished) if its bytes are not
  // one.
  template <class Request>
  bool read(const grpc::ByteBuffer* raw, Request& req) {
    if (parse_request(raw, req))
      return true;
    finish({grpc::StatusCode::INVALID_ARGUMENT, "the request is not a " + req.GetTypeName()});
    return false;
  }

  // Sends the call; its answer finishes this call.
  void send(std::shared_ptr<Call> call) {
    call->done = [this](caf::expected<result_type> r) { on_answer(std::move(r)); };
    caf::anon_send(svc_.front.network(), std::move(call));
  }

  // The client cancelled or its deadline passed (any gRPC thread).
  virtual void withdraw() {}

  service_context& svc_;
  grpc::CallbackServerContext* ctx_;

 private:
  // On an actor's thread: errors finish at once; an answer starts with a
  // small part.
  void on_answer(caf::expected<result_type> r) {
    if (!r)
      return finish(grpc_status_of(r.error()));
    result_.emplace(std::move(*r));
    encoder_.emplace(make_encoder(*result_));
    encoder_->set_target_bytes(first_part_bytes);
    write_next();
  }

  void write_next() {
    part_ = buffer_of(encoder_->next());
    encoder_->set_target_bytes(protocol::grpc_part_bytes);
    if (!encoder_->done())
      return this->StartWrite(&part_);
    record(grpc::StatusCode::OK);
    release_stream();
    this->StartWriteAndFinish(&part_, grpc::WriteOptions{}, grpc::Status::OK);
  }

  void finish(const grpc::Status& st) {
    record(st.error_code());
    release_stream();
    this->Finish(st);  // gRPC may destroy the reactor from here on
  }

  // A call stops counting against max_concurrent_streams before its
  // status leaves (here and in write_next): OnDone comes later, on gRPC's
  // threads, and a client that called again as soon as it had the answer
  // was refused "too many concurrent calls" when it came first.
  void release_stream() {
    if (!released_) {
      released_ = true;
      svc_.m.grpc_streams_active.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  void record(grpc::StatusCode code) {
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    svc_.m.observe_grpc(method_, code_name(code), secs);
  }

  static Encoder make_encoder(const query_answer& a) { return Encoder{a.value, a.warnings}; }
  static Encoder make_encoder(const metadata_list& xs) { return Encoder{xs.items, xs.warnings}; }
  template <class List>
  static Encoder make_encoder(const List& xs) {
    return Encoder{xs.items, xs.truncated, xs.warnings};
  }

  const char* method_;
  const char* http_path_;
  std::chrono::steady_clock::time_point started_;
  int64_t active_before_ = 0;
  bool released_ = false;  // by finish() or OnDone(), whichever comes first
  std::optional<result_type> result_;
  std::optional<Encoder> encoder_;
  grpc::ByteBuffer part_;  ///< the part being written
};

using query_stream_base = call_stream<query_call, protocol::query_response_encoder>;

// Query and QueryRange: the planner's query, withdrawn when the client
// cancels or its deadline passes.
class query_stream final : public query_stream_base {
 public:
  template <class Request>
  query_stream(service_context& svc, grpc::CallbackServerContext* ctx, const char* method, const char* path,
               const grpc::ByteBuffer* raw, Request req)
    : query_stream_base(svc, ctx, method, path) {
    if (!admit() || !read(raw, req))
      return;
    auto q = build(req);
    if (!q) {
      refuse(q.error());
      return;
    }
    auto call = std::make_shared<query_call>();
    call->request = std::move(*q);
    call->request.id = id_ = svc_.front.next_query_id();
    send(std::move(call));
  }

 private:
  static storage::result<query_request> build(const pb::QueryRequest& r) { return query_request_of(r, wall_ms()); }
  static storage::result<query_request> build(const pb::QueryRangeRequest& r) { return query_request_of(r); }

  void withdraw() override {
    if (id_ != 0)
      caf::anon_send(svc_.front.network(), query_cancel{id_});
  }

  uint64_t id_ = 0;  ///< query_request::id once sent
};

// Series, LabelNames, LabelValues: the index's answer.
template <class Request, class Call, class Encoder>
class meta_stream final : public call_stream<Call, Encoder> {
 public:
  meta_stream(service_context& svc, grpc::CallbackServerContext* ctx, const char* method, const char* path,
              const grpc::ByteBuffer* raw)
    : call_stream<Call, Encoder>(svc, ctx, method, path) {
    Request req;
    if (!this->admit() || !this->read(raw, req))
      return;
    auto q = query_of(req);
    if (!q) {
      this->refuse(q.error());
      return;
    }
    auto call = std::make_shared<Call>();
    call->query = std::move(*q);
    if constexpr (std::is_same_v<Request, pb::LabelValuesRequest>)
      call->values = true;
    this->send(std::move(call));
  }

 private:
  storage::result<meta_query> query_of(const pb::LabelValuesRequest& r) {
    return meta_query_of(r, this->svc_.cfg.ingest.allow_utf8_names);
  }
  template <class R>
  storage::result<meta_query> query_of(const R& r) {
    return meta_query_of(r);
  }
};

// Metadata: the metadata actor's answer (cluster mode: every node's).
class metadata_stream final : public call_stream<metadata_call, protocol::metadata_response_encoder> {
 public:
  metadata_stream(service_context& svc, grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw)
    : call_stream(svc, ctx, "Metadata", "/api/v1/metadata") {
    pb::MetadataRequest req;
    if (!admit() || !read(raw, req))
      return;
    auto call = std::make_shared<metadata_call>();
    call->params = metadata_query_of(req);
    send(std::move(call));
  }
};

// Every method raw (bytes in, bytes out): see call_stream.
using raw_service = pb::QueryService::WithRawCallbackMethod_Query<
  pb::QueryService::WithRawCallbackMethod_QueryRange<pb::QueryService::WithRawCallbackMethod_Series<
    pb::QueryService::WithRawCallbackMethod_LabelNames<pb::QueryService::WithRawCallbackMethod_LabelValues<
      pb::QueryService::WithRawCallbackMethod_Metadata<pb::QueryService::Service>>>>>>;

class query_service final : public raw_service {
 public:
  explicit query_service(service_context svc) : svc_(std::move(svc)) {}

  using stream = grpc::ServerWriteReactor<grpc::ByteBuffer>;

  stream* Query(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw) override {
    return new query_stream(svc_, ctx, "Query", "/api/v1/query", raw, pb::QueryRequest{});
  }

  stream* QueryRange(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw) override {
    return new query_stream(svc_, ctx, "QueryRange", "/api/v1/query_range", raw, pb::QueryRangeRequest{});
  }

  stream* Series(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw) override {
    return new meta_stream<pb::SeriesRequest, series_call, protocol::series_response_encoder>(
      svc_, ctx, "Series", "/api/v1/series", raw);
  }

  stream* LabelNames(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw) override {
    return new meta_stream<pb::LabelNamesRequest, labels_call, protocol::strings_response_encoder>(
      svc_, ctx, "LabelNames", "/api/v1/labels", raw);
  }

  stream* LabelValues(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw) override {
    return new meta_stream<pb::LabelValuesRequest, labels_call, protocol::strings_response_encoder>(
      svc_, ctx, "LabelValues", "/api/v1/label/:name/values", raw);
  }

  stream* Metadata(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw) override {
    return new metadata_stream(svc_, ctx, raw);
  }

 private:
  service_context svc_;
};

}  // namespace

// -- the server -------------------------------------------------------------------

struct grpc_query_server::impl {
  explicit impl(const settings& c) : cfg(c) {}
  const settings& cfg;
  std::shared_ptr<protocol::tls_context_reloader> tls;
  std::shared_ptr<protocol::tls_material_files> tls_files;
  std::unique_ptr<query_service> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::mutex mtx;
  bool shut_down = false;
};

grpc_query_server::grpc_query_server(const settings& cfg, frontend& front, metrics& m,
                                     std::shared_ptr<protocol::tls_context_reloader> tls,
                                     std::shared_ptr<const protocol::authorizer> authz)
  : impl_(std::make_unique<impl>(cfg)) {
  impl_->tls = std::move(tls);
  impl_->service = std::make_unique<query_service>(service_context{cfg, front, m, std::move(authz)});
}

grpc_query_server::~grpc_query_server() {
  shutdown(std::chrono::milliseconds{0});
  if (impl_->tls)
    impl_->tls->on_reload(nullptr);
}

storage::status grpc_query_server::start() {
  if (impl_->tls) {
    auto files = protocol::tls_material_files::create(impl_->tls->material());
    if (!files)
      return files.error();
    impl_->tls_files = std::move(*files);
    // Every context HTTP's reloader accepts (poll or SIGHUP) reaches gRPC;
    // one it refuses never does.
    impl_->tls->on_reload([files = impl_->tls_files](const protocol::tls_material& m) {
      if (auto st = files->replace(m); !st)
        log_warn(st.message() + "; gRPC keeps the previous certificates");
    });
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const auto& addr = impl_->cfg.server.grpc_addr;
  builder.AddListeningPort(addr, credentials_of(impl_->cfg.tls, impl_->tls_files.get()), &impl_->port);
  builder.RegisterService(impl_->service.get());
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             static_cast<int>(impl_->cfg.server.max_concurrent_streams));
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || impl_->port == 0)
    return status::io_error("server.grpc_addr: cannot listen on " + addr
                            + " (address in use, or not an address of this host)");
  set_serving(false);
  return status::ok();
}

uint16_t grpc_query_server::port() const {
  return static_cast<uint16_t>(impl_->port);
}

void grpc_query_server::set_serving(bool serving) {
  std::lock_guard<std::mutex> g{impl_->mtx};
  if (!impl_->server || impl_->shut_down)
    return;
  auto* health = impl_->server->GetHealthCheckService();
  health->SetServingStatus("", serving);
  health->SetServingStatus(pb::QueryService::service_full_name(), serving);
}

void grpc_query_server::shutdown(std::chrono::milliseconds grace) {
  {
    std::lock_guard<std::mutex> g{impl_->mtx};
    if (!impl_->server || impl_->shut_down)
      return;
    impl_->shut_down = true;
  }
  // Health answers NOT_SERVING from here on; then new calls are refused,
  // and calls still running at the deadline are cancelled (their queries
  // withdrawn) and waited for.
  impl_->server->GetHealthCheckService()->Shutdown();
  impl_->server->Shutdown(std::chrono::system_clock::now() + grace);
  impl_->server->Wait();
}

}  // namespace nl::actors

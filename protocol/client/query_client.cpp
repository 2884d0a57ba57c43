#include "nightlight/api/query_client.hpp"

#include <grpcpp/grpcpp.h>

#include "protocol/client/client_tls.hpp"
#include "protocol/client/query_answers.hpp"
#include "query.grpc.pb.h"

namespace nightlight::api {

namespace v1 = ::nightlight::v1;
using namespace std::chrono;

const char* to_string(result_type t) {
  switch (t) {
    case result_type::vector: return "vector";
    case result_type::matrix: return "matrix";
    case result_type::scalar: return "scalar";
    case result_type::string: return "string";
  }
  return "vector";
}

struct query_client::impl {
  query_client_options options;
  std::unique_ptr<v1::QueryService::Stub> stub;

  void prepare(grpc::ClientContext& ctx, const call_options& call) const {
    auto deadline = call.deadline > milliseconds::zero() ? call.deadline : options.default_deadline;
    if (deadline > milliseconds::zero())
      ctx.set_deadline(system_clock::now() + deadline);
  }

  /// Reads every part of a server-streaming answer into `add`.
  template <class Response, class Add>
  std::optional<error> read_all(grpc::ClientContext& ctx,
                                std::unique_ptr<grpc::ClientReader<Response>> reader, Add add) const {
    Response part;
    std::optional<error> failed;
    while (reader->Read(&part)) {
      if (!failed)
        failed = add(part);
      if (failed)
        ctx.TryCancel();  // nothing more of this answer is useful
      part.Clear();
    }
    grpc::Status status = reader->Finish();
    if (failed)
      return failed;
    if (!status.ok())
      return detail::error_from_status(status);
    return std::nullopt;
  }

  /// A list call: every part merged into one `Result` (detail::add_part).
  template <class Result, class Request, class Start>
  result<Result> collect(const Request& req, const call_options& call, Start start) const {
    grpc::ClientContext ctx;
    prepare(ctx, call);
    Result out;
    if (auto failed = read_all(ctx, start(&ctx, req), [&](auto& part) -> std::optional<error> {
          detail::add_part(out, part);
          return std::nullopt;
        }))
      return *failed;
    return out;
  }
};

namespace {

template <class Request>
void set_range(Request& r, const std::optional<int64_t>& start, const std::optional<int64_t>& end) {
  if (start)
    r.set_start_ms(*start);
  if (end)
    r.set_end_ms(*end);
}

}  // namespace

result<query_client> query_client::connect(query_client_options options) {
  if (options.address.empty())
    return error{errc::invalid_argument, "address: empty (want host:port)"};
  std::shared_ptr<grpc::ChannelCredentials> creds;
  grpc::ChannelArguments args;
  args.SetUserAgentPrefix("nightlight-api/" NL_API_VERSION);
  if (options.tls.enabled) {
    auto material = detail::load_tls_material(options.tls);
    if (!material)
      return material.err();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = material->ca_pem;  // empty: gRPC's default roots
    ssl.pem_cert_chain = material->cert_pem;
    ssl.pem_private_key = material->key_pem;
    creds = grpc::SslCredentials(ssl);
    if (!options.tls.server_name.empty())
      args.SetSslTargetNameOverride(options.tls.server_name);
  } else {
    if (!options.tls.ca_file.empty() || !options.tls.cert_file.empty() ||
        !options.tls.server_name.empty())
      return error{errc::invalid_argument, "tls files or server_name given but tls.enabled is false"};
    creds = grpc::InsecureChannelCredentials();
  }
  auto channel = grpc::CreateCustomChannel(options.address, creds, args);
  auto p = std::make_unique<impl>();
  p->stub = v1::QueryService::NewStub(channel);
  p->options = std::move(options);
  return query_client(std::move(p));
}

query_client::query_client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
query_client::query_client(query_client&&) noexcept = default;
query_client& query_client::operator=(query_client&&) noexcept = default;
query_client::~query_client() = default;

const query_client_options& query_client::options() const {
  return impl_->options;
}

result<query_result> query_client::query(const instant_query& q, const call_options& call) const {
  v1::QueryRequest req;
  req.set_query(q.query);
  if (q.time_ms)
    req.set_time_ms(*q.time_ms);
  req.set_timeout_ms(q.timeout.count());
  grpc::ClientContext ctx;
  impl_->prepare(ctx, call);
  detail::query_answer answer;
  if (auto failed = impl_->read_all(ctx, impl_->stub->Query(&ctx, req),
                                    [&](v1::QueryResponse& part) { return answer.add(part); }))
    return *failed;
  return answer.finish();
}

result<query_result> query_client::query_range(const range_query& q,
                                               const call_options& call) const {
  v1::QueryRangeRequest req;
  req.set_query(q.query);
  req.set_start_ms(q.start_ms);
  req.set_end_ms(q.end_ms);
  req.set_step_ms(q.step_ms);
  req.set_timeout_ms(q.timeout.count());
  grpc::ClientContext ctx;
  impl_->prepare(ctx, call);
  detail::query_answer answer;
  if (auto failed = impl_->read_all(ctx, impl_->stub->QueryRange(&ctx, req),
                                    [&](v1::QueryResponse& part) { return answer.add(part); }))
    return *failed;
  return answer.finish();
}

result<series_result> query_client::series(const series_query& q, const call_options& call) const {
  v1::SeriesRequest req;
  for (const auto& m : q.match)
    req.add_match(m);
  set_range(req, q.start_ms, q.end_ms);
  req.set_limit(q.limit);
  return impl_->collect<series_result>(req, call, [&](grpc::ClientContext* ctx, const v1::SeriesRequest& r) {
    return impl_->stub->Series(ctx, r);
  });
}

result<strings_result> query_client::label_names(const label_names_query& q,
                                                 const call_options& call) const {
  v1::LabelNamesRequest req;
  for (const auto& m : q.match)
    req.add_match(m);
  set_range(req, q.start_ms, q.end_ms);
  req.set_limit(q.limit);
  return impl_->collect<strings_result>(req, call, [&](grpc::ClientContext* ctx, const v1::LabelNamesRequest& r) {
    return impl_->stub->LabelNames(ctx, r);
  });
}

result<strings_result> query_client::label_values(const label_values_query& q,
                                                  const call_options& call) const {
  v1::LabelValuesRequest req;
  req.set_label_name(q.label_name);
  for (const auto& m : q.match)
    req.add_match(m);
  set_range(req, q.start_ms, q.end_ms);
  req.set_limit(q.limit);
  return impl_->collect<strings_result>(req, call, [&](grpc::ClientContext* ctx, const v1::LabelValuesRequest& r) {
    return impl_->stub->LabelValues(ctx, r);
  });
}

result<metadata_result> query_client::metadata(const metadata_query& q,
                                               const call_options& call) const {
  v1::MetadataRequest req;
  req.set_metric(q.metric);
  if (q.limit)
    req.set_limit(*q.limit);
  if (q.limit_per_metric)
    req.set_limit_per_metric(*q.limit_per_metric);
  return impl_->collect<metadata_result>(req, call, [&](grpc::ClientContext* ctx, const v1::MetadataRequest& r) {
    return impl_->stub->Metadata(ctx, r);
  });
}

}  // namespace nightlight::api

// Times one nightlight.v1.QueryService call repeated over one channel, for
// bench/grpc_vs_http.py: Python's gRPC streaming client costs ~0.3 ms a
// call by itself, more than the server's whole work for a small query.
// The answer's parts are received as bytes, not decoded (the HTTP side of
// the benchmark does not decode its JSON either).
//
//   grpc_latency_client HOST:PORT METHOD REQUEST_JSON RUNS WARMUPS
//
// NL_BENCH_CLIENT_WINDOW=BYTES in the environment sets the channel's
// receive window (GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES).
// METHOD: Query, QueryRange, Series, LabelNames, LabelValues, Metadata;
// REQUEST_JSON: the request in protobuf's JSON form ({"query": "up",
// "timeMs": "1700000000000"}). METHOD Health times grpc.health.v1's unary
// Check of the whole server (REQUEST_JSON ignored): the transport's floor,
// a call the server answers without any query work. Prints one line per timed run: seconds and
// answer bytes. Exit 1 when a call fails (the status on stderr).
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/sync_stream.h>
#include <grpcpp/support/byte_buffer.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "query.pb.h"

namespace pb = nightlight::v1;

namespace {

template <class Request>
int run(const std::shared_ptr<grpc::Channel>& channel, const std::string& method, const std::string& json,
        int runs, int warmups) {
  Request req;
  auto parsed = google::protobuf::util::JsonStringToMessage(json, &req);
  if (!parsed.ok()) {
    std::fprintf(stderr, "request: %s\n", parsed.ToString().c_str());
    return 2;
  }
  std::string path = "/nightlight.v1.QueryService/" + method;
  grpc::internal::RpcMethod rpc(path.c_str(), grpc::internal::RpcMethod::SERVER_STREAMING, channel);
  for (int i = 0; i < warmups + runs; ++i) {
    grpc::ClientContext ctx;
    auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(channel.get(), rpc, &ctx, req));
    grpc::ByteBuffer part;
    size_t bytes = 0;
    while (reader->Read(&part))
      bytes += part.Length();
    auto status = reader->Finish();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!status.ok()) {
      std::fprintf(stderr, "%s: %d %s\n", method.c_str(), static_cast<int>(status.error_code()),
                   status.error_message().c_str());
      return 1;
    }
    if (i >= warmups)
      std::printf("%.9f %zu\n", secs, bytes);
  }
  return 0;
}

// grpc.health.v1.Health/Check with an empty HealthCheckRequest (service
// ""), sent and received as bytes: the proto needs no generated code.
int run_health(const std::shared_ptr<grpc::Channel>& channel, int runs, int warmups) {
  grpc::internal::RpcMethod rpc("/grpc.health.v1.Health/Check", grpc::internal::RpcMethod::NORMAL_RPC, channel);
  grpc::Slice empty;
  grpc::ByteBuffer req(&empty, 1);
  for (int i = 0; i < warmups + runs; ++i) {
    grpc::ClientContext ctx;
    grpc::ByteBuffer resp;
    auto t0 = std::chrono::steady_clock::now();
    auto status = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(channel.get(), rpc, &ctx,
                                                                                      req, &resp);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!status.ok()) {
      std::fprintf(stderr, "Health: %d %s\n", static_cast<int>(status.error_code()), status.error_message().c_str());
      return 1;
    }
    if (i >= warmups)
      std::printf("%.9f %zu\n", secs, resp.Length());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s HOST:PORT METHOD REQUEST_JSON RUNS WARMUPS\n", argv[0]);
    return 2;
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // The client's HTTP/2 receive window (bytes): gRPC starts at 64 KiB and
  // grows it by BDP probing over a channel's life, so a fresh channel
  // takes a mid-size answer in many window round trips.
  if (const char* w = std::getenv("NL_BENCH_CLIENT_WINDOW"))
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, std::atoi(w));
  auto channel = grpc::CreateCustomChannel(argv[1], grpc::InsecureChannelCredentials(), args);
  std::string method = argv[2];
  int runs = std::atoi(argv[4]);
  int warmups = std::atoi(argv[5]);
  if (method == "Health")
    return run_health(channel, runs, warmups);
  if (method == "Query")
    return run<pb::QueryRequest>(channel, method, argv[3], runs, warmups);
  if (method == "QueryRange")
    return run<pb::QueryRangeRequest>(channel, method, argv[3], runs, warmups);
  if (method == "Series")
    return run<pb::SeriesRequest>(channel, method, argv[3], runs, warmups);
  if (method == "LabelNames")
    return run<pb::LabelNamesRequest>(channel, method, argv[3], runs, warmups);
  if (method == "LabelValues")
    return run<pb::LabelValuesRequest>(channel, method, argv[3], runs, warmups);
  if (method == "Metadata")
    return run<pb::MetadataRequest>(channel, method, argv[3], runs, warmups);
  std::fprintf(stderr, "unknown method %s\n", method.c_str());
  return 2;
}

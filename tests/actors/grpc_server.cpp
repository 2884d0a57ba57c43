#define CAF_SUITE actors.grpc_server
#include "test_support.hpp"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <caf/all.hpp>

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <thread>

#include "actors/frontend.hpp"
#include "actors/grpc_server.hpp"
#include "actors/metrics.hpp"
#include "actors/network_jobs.hpp"
#include "protocol/query_params.hpp"
#include "query.grpc.pb.h"
#include "storage/sample.hpp"

using namespace nl::actors;
using namespace std::chrono_literals;
using nl::storage::float_bits;
using nl::storage::label_set;
namespace pb = nightlight::v1;

namespace {

constexpr uint64_t nan_payload = 0x7ff8000000000abcULL;

std::string message_of_error(const nl::storage::status& st) { return st.message(); }

}  // namespace

// -- status mapping and request checks --------------------------------------------

CAF_TEST(actor errors map to grpc status codes with their message) {
  auto code = [](error_code c) { return grpc_status_of(caf::make_error(c, "why")).error_code(); };
  CAF_CHECK(code(error_code::bad_input) == grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK(code(error_code::execution) == grpc::StatusCode::FAILED_PRECONDITION);
  CAF_CHECK(code(error_code::too_many_samples) == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CAF_CHECK(code(error_code::timeout) == grpc::StatusCode::DEADLINE_EXCEEDED);
  CAF_CHECK(code(error_code::canceled) == grpc::StatusCode::CANCELLED);
  CAF_CHECK(code(error_code::overloaded) == grpc::StatusCode::UNAVAILABLE);
  CAF_CHECK(code(error_code::unavailable) == grpc::StatusCode::UNAVAILABLE);
  CAF_CHECK(code(error_code::disk_full) == grpc::StatusCode::UNAVAILABLE);
  CAF_CHECK(code(error_code::internal) == grpc::StatusCode::INTERNAL);
  CAF_CHECK_EQUAL(grpc_status_of(caf::make_error(error_code::bad_input, "1:3: parse error")).error_message(),
                  "1:3: parse error");
  // CAF's own: a dead receiver passes by itself, a request timeout is one.
  CAF_CHECK(grpc_status_of(caf::make_error(caf::sec::request_receiver_down)).error_code()
            == grpc::StatusCode::UNAVAILABLE);
  CAF_CHECK(grpc_status_of(caf::make_error(caf::sec::request_timeout)).error_code()
            == grpc::StatusCode::DEADLINE_EXCEEDED);
}

CAF_TEST(requests get the checks and messages of the http parameters) {
  pb::QueryRangeRequest r;
  r.set_query("up");
  r.set_start_ms(2000);
  r.set_end_ms(1000);
  r.set_step_ms(1000);
  auto bad = query_request_of(r);
  CAF_REQUIRE(!bad.is_ok());
  CAF_CHECK_EQUAL(message_of_error(bad.error()),
                  "invalid parameter \"end\": end timestamp must not be before start time");
  r.set_end_ms(2000 + 11001 * 1000);
  auto many = query_request_of(r);
  CAF_REQUIRE(!many.is_ok());
  CAF_CHECK_EQUAL(message_of_error(many.error()),
                  "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
                  "resolution (?step=XX)");
  r.set_step_ms(0);
  CAF_CHECK(!query_request_of(r).is_ok());
  r.set_step_ms(std::numeric_limits<int64_t>::max());  // saturates, does not overflow
  auto huge_step = query_request_of(r);
  CAF_REQUIRE(huge_step.is_ok());
  CAF_CHECK_EQUAL(huge_step->step, std::numeric_limits<int64_t>::max() / 1000000);
  r.set_step_ms(15000);
  r.set_end_ms(62000);
  r.set_timeout_ms(-1);
  CAF_CHECK(!query_request_of(r).is_ok());
  r.set_timeout_ms(250);
  auto ok = query_request_of(r);
  CAF_REQUIRE(ok.is_ok());
  CAF_CHECK_EQUAL(ok->start, 2000);
  CAF_CHECK_EQUAL(ok->end, 62000);
  CAF_CHECK_EQUAL(ok->step, 15000);
  CAF_CHECK_EQUAL(ok->timeout_ms, 250);

  pb::QueryRequest i;
  i.set_query("up");
  auto now = query_request_of(i, 12345);
  CAF_REQUIRE(now.is_ok());
  CAF_CHECK_EQUAL(now->start, 12345);  // no time: the server's
  CAF_CHECK_EQUAL(now->step, 0);
  i.set_time_ms(-5);
  auto at = query_request_of(i, 12345);
  CAF_REQUIRE(at.is_ok());
  CAF_CHECK_EQUAL(at->start, -5);

  pb::SeriesRequest s;
  auto none = meta_query_of(s);
  CAF_REQUIRE(!none.is_ok());
  CAF_CHECK_EQUAL(message_of_error(none.error()), "no match[] parameter provided");
  s.add_match("{job=\"\"}");
  auto empty = meta_query_of(s);
  CAF_REQUIRE(!empty.is_ok());
  CAF_CHECK_EQUAL(message_of_error(empty.error()), "match[] must contain at least one non-empty matcher");
  s.set_match(0, "up{job=\"a\"}");
  s.set_limit(7);
  auto q = meta_query_of(s);
  CAF_REQUIRE(q.is_ok());
  CAF_CHECK_EQUAL(q->selectors.size(), 1u);
  CAF_CHECK_EQUAL(q->limit, 7u);
  CAF_CHECK_EQUAL(q->mint, nl::protocol::min_time_ms);
  CAF_CHECK_EQUAL(q->maxt, nl::protocol::max_time_ms);
  s.set_start_ms(10);
  s.set_end_ms(20);
  auto window = meta_query_of(s);
  CAF_REQUIRE(window.is_ok());
  CAF_CHECK_EQUAL(window->mint, 10);
  CAF_CHECK_EQUAL(window->maxt, 20);

  pb::LabelNamesRequest n;  // selectors optional
  CAF_CHECK(meta_query_of(n).is_ok());
  pb::LabelValuesRequest v;
  v.set_label_name("k8s.pod");
  CAF_CHECK(meta_query_of(v, true).is_ok());
  auto legacy = meta_query_of(v, false);
  CAF_REQUIRE(!legacy.is_ok());
  CAF_CHECK_EQUAL(message_of_error(legacy.error()), "invalid label name: \"k8s.pod\"");
  v.set_label_name("job");
  auto named = meta_query_of(v, false);
  CAF_REQUIRE(named.is_ok());
  CAF_CHECK_EQUAL(named->label_name, "job");
}

// -- the server in process, in front of a fake network actor ----------------------

namespace {

// Answers queries by their text; keeps "hold" queries until withdrawn.
struct fake_network_state {
  std::map<uint64_t, query_call_ptr> held;
  static inline const char* name = "fake_network";
};

struct observed {
  std::mutex mtx;
  std::vector<uint64_t> cancelled;
  size_t held = 0;
};

label_set ls(int i) {
  return label_set::from_unsorted({{"__name__", "m"}, {"i", std::to_string(i)}});
}

query_answer answer_for(const std::string& q) {
  query_answer a;
  if (q == "special") {
    a.value = nl::promql::vector{{ls(0), 1000, nl::storage::stale_nan()},
                                 {ls(1), 1000, nl::storage::float_from_bits(nan_payload)},
                                 {ls(2), 1000, INFINITY},
                                 {ls(3), 1000, -INFINITY},
                                 {ls(4), 1000, -0.0}};
    a.warnings = {"a warning"};
  } else if (q == "big") {
    nl::promql::matrix m;
    for (int i = 0; i < 300; ++i) {
      nl::promql::series_points s{ls(i), {}};
      for (int k = 0; k < 1000; ++k)
        s.points.push_back({k * 15000, i + k * 0.5});
      m.push_back(std::move(s));
    }
    a.value = std::move(m);
  } else {
    a.value = nl::promql::scalar{7, 42.5};
  }
  return a;
}

network_actor::behavior_type fake_network(network_actor::stateful_pointer<fake_network_state> self,
                                          std::shared_ptr<observed> seen) {
  return {
    [](write_job_ptr&) {},
    [](admin_job_ptr&) {},
    [](tsdb_status_call_ptr&) {},
    [](federate_call_ptr&) {}, [](read_job_ptr&) {},
    [](metadata_call_ptr& call) {
      using nl::storage::metric_type;
      if (call->params.metric == "fail")
        return call->answer(caf::make_error(error_code::unavailable, "the metadata store is not running"));
      std::vector<nl::storage::metric_metadata> xs{
        {"a_total", metric_type::counter, "A.", ""},
        {"b", metric_type::gauge, "B one.", "bytes"},
        {"b", metric_type::gauge, "B two.", "bytes"},
      };
      if (call->params.limit >= 0)
        xs.resize(std::min<size_t>(xs.size(), static_cast<size_t>(call->params.limit)));
      call->answer(metadata_list{std::move(xs), {}});
    },
    [=](query_call_ptr& call) {
      const auto& q = call->request.query;
      auto fail = [&](error_code c) { call->answer(caf::make_error(c, "because " + q)); };
      if (q == "bad")
        return fail(error_code::bad_input);
      if (q == "exec")
        return fail(error_code::execution);
      if (q == "many")
        return fail(error_code::too_many_samples);
      if (q == "slow")
        return fail(error_code::timeout);
      if (q == "busy")
        return fail(error_code::overloaded);
      if (q == "hold") {
        self->state.held.emplace(call->request.id, call);
        std::lock_guard<std::mutex> g{seen->mtx};
        seen->held += 1;
        return;
      }
      call->answer(answer_for(q));
    },
    [=](query_cancel c) {
      {
        std::lock_guard<std::mutex> g{seen->mtx};
        seen->cancelled.push_back(c.id);
      }
      auto it = self->state.held.find(c.id);
      if (it == self->state.held.end())
        return;
      it->second->answer(caf::make_error(error_code::canceled, "query canceled: the client went away"));
      self->state.held.erase(it);
    },
    [](series_call_ptr& call) {
      std::vector<label_set> xs;
      for (int i = 0; i < 5; ++i)
        xs.push_back(ls(i));
      call->answer(series_list{std::move(xs), true, {}});
    },
    [](labels_call_ptr& call) {
      if (call->values)
        call->answer(string_list{{"a", call->query.label_name}, false, {}});
      else
        call->answer(string_list{{"__name__", "i"}, false, {}});
    },
  };
}

struct fixture {
  caf::actor_system_config caf_cfg;
  std::unique_ptr<caf::actor_system> sys;
  settings cfg;
  metrics stats;
  std::unique_ptr<frontend> front;
  std::unique_ptr<grpc_query_server> server;
  std::shared_ptr<observed> seen = std::make_shared<observed>();
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::QueryService::Stub> stub;

  fixture() {
    caf_cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(caf_cfg);
    cfg.server.grpc_addr = "127.0.0.1:0";
    cfg.server.max_concurrent_streams = 3;
    front = std::make_unique<frontend>(cfg, stats);
    server = std::make_unique<grpc_query_server>(cfg, *front, stats, nullptr, nullptr);
    auto st = server->start();
    CAF_REQUIRE(st.is_ok());
    front->on_ready([this] { server->set_serving(true); });
    channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server->port()), grpc::InsecureChannelCredentials());
    stub = pb::QueryService::NewStub(channel);
  }

  network_actor net;

  void attach() {
    net = sys->spawn(fake_network, seen);
    front->attach(net, 1);
  }

  ~fixture() {
    server->shutdown(1s);
    server.reset();
    caf::anon_send_exit(net, caf::exit_reason::user_shutdown);
    net = nullptr;
    front.reset();
    sys.reset();
  }

  // Every part of an instant query's answer, and its status.
  grpc::Status query(const std::string& q, std::vector<pb::QueryResponse>& parts,
                     std::chrono::milliseconds deadline = 10s) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + deadline);
    pb::QueryRequest req;
    req.set_query(q);
    auto reader = stub->Query(&ctx, req);
    pb::QueryResponse part;
    while (reader->Read(&part))
      parts.push_back(part);
    return reader->Finish();
  }

  grpc::StatusCode query_code(const std::string& q) {
    std::vector<pb::QueryResponse> parts;
    return query(q, parts).error_code();
  }

  // A call through a generic stub, with the request's bytes as given:
  // its status, and the answer's bytes (one message) in `answer`.
  grpc::Status raw_call(const std::string& method, const std::string& request, std::string& answer) {
    grpc::GenericStub generic{channel};
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    grpc::Slice slice{request};
    grpc::ByteBuffer in{&slice, 1};
    grpc::ByteBuffer out;
    grpc::CompletionQueue cq;
    auto call = generic.PrepareUnaryCall(&ctx, method, in, &cq);
    call->StartCall();
    grpc::Status status;
    call->Finish(&out, &status, reinterpret_cast<void*>(1));
    void* tag = nullptr;
    bool ok = false;
    CAF_REQUIRE(cq.Next(&tag, &ok));
    answer.clear();
    std::vector<grpc::Slice> slices;
    if (status.ok() && out.Dump(&slices).ok())
      for (auto& s : slices)
        answer.append(reinterpret_cast<const char*>(s.begin()), s.size());
    return status;
  }

  // grpc.health.v1.Health/Check through a generic stub: any client works.
  int health(const std::string& service) {
    std::string req;
    req += '\x0a';
    req += static_cast<char>(service.size());
    req += service;
    std::string bytes;
    auto status = raw_call("/grpc.health.v1.Health/Check", req, bytes);
    if (!status.ok())
      return -static_cast<int>(status.error_code());
    // HealthCheckResponse{status = 1}: 0x08 <enum>; an empty message is UNKNOWN.
    return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : 0;
  }

  template <class Pred>
  bool wait_for(Pred p, std::chrono::milliseconds max = 10s) {
    auto until = std::chrono::steady_clock::now() + max;
    while (!p()) {
      if (std::chrono::steady_clock::now() > until)
        return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }
};

constexpr int serving = 1;
constexpr int not_serving = 2;

}  // namespace

CAF_TEST_FIXTURE_SCOPE(grpc_server_tests, fixture)

CAF_TEST(before the storage is ready health says not serving and queries are unavailable) {
  CAF_CHECK_EQUAL(health(""), not_serving);
  CAF_CHECK_EQUAL(health("nightlight.v1.QueryService"), not_serving);
  std::vector<pb::QueryResponse> parts;
  auto st = query("special", parts);
  CAF_CHECK(st.error_code() == grpc::StatusCode::UNAVAILABLE);
  CAF_CHECK_EQUAL(st.error_message(), "not ready: the WAL is being replayed");
  attach();
  CAF_CHECK_EQUAL(health(""), serving);
  CAF_CHECK_EQUAL(health("nightlight.v1.QueryService"), serving);
  CAF_CHECK_EQUAL(health("no.such.Service"), -static_cast<int>(grpc::StatusCode::NOT_FOUND));
  CAF_CHECK(query_code("special") == grpc::StatusCode::OK);
}

CAF_TEST(answers arrive typed and bit exact with their warnings) {
  attach();
  std::vector<pb::QueryResponse> parts;
  auto st = query("special", parts);
  CAF_REQUIRE(st.ok());
  CAF_REQUIRE_EQUAL(parts.size(), 1u);
  const auto& p = parts[0];
  CAF_CHECK_EQUAL(p.result_type(), pb::RESULT_TYPE_VECTOR);
  CAF_REQUIRE_EQUAL(p.vector_size(), 5);
  CAF_CHECK_EQUAL(float_bits(p.vector(0).value()), nl::storage::stale_nan_bits);
  CAF_CHECK_EQUAL(float_bits(p.vector(1).value()), nan_payload);
  CAF_CHECK_EQUAL(float_bits(p.vector(2).value()), float_bits(INFINITY));
  CAF_CHECK_EQUAL(float_bits(p.vector(3).value()), float_bits(-INFINITY));
  CAF_CHECK_EQUAL(float_bits(p.vector(4).value()), float_bits(-0.0));
  CAF_CHECK_EQUAL(p.vector(4).timestamp_ms(), 1000);
  CAF_CHECK_EQUAL(p.vector(4).labels(1).value(), "4");
  CAF_REQUIRE_EQUAL(p.warnings_size(), 1);
  CAF_CHECK_EQUAL(p.warnings(0), "a warning");
}

CAF_TEST(request bytes that are not the request message are invalid arguments) {
  attach();
  std::string answer;
  // Field 1 (query) as a length that runs past the end; a group; a bad wire type.
  for (std::string bytes : {std::string("\x0a\x05up", 4), std::string("\x0b", 1), std::string("\x0f", 1)}) {
    auto st = raw_call("/nightlight.v1.QueryService/Query", bytes, answer);
    CAF_CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CAF_CHECK_EQUAL(st.error_message(), "the request is not a nightlight.v1.QueryRequest");
  }
  auto st = raw_call("/nightlight.v1.QueryService/Series", std::string("\x0a\x09{x", 3), answer);
  CAF_CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK_EQUAL(st.error_message(), "the request is not a nightlight.v1.SeriesRequest");
  st = raw_call("/nightlight.v1.QueryService/Metadata", std::string("\x10", 1), answer);
  CAF_CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  // A well-formed request sent as bytes gets the answer's bytes: one
  // QueryResponse, exactly as the generated class serializes it.
  pb::QueryRequest req;
  req.set_query("special");
  st = raw_call("/nightlight.v1.QueryService/Query", req.SerializeAsString(), answer);
  CAF_REQUIRE(st.ok());
  pb::QueryResponse part;
  CAF_REQUIRE(part.ParseFromString(answer));
  CAF_CHECK_EQUAL(part.vector_size(), 5);
  CAF_CHECK(part.SerializeAsString() == answer);
}

CAF_TEST(calls one after another never count against the concurrency limit) {
  // max_concurrent_streams is 3 here: a call must stop counting before its
  // client has the answer, or the next call can be refused while the
  // server's threads have not yet let the last one go.
  attach();
  std::string answer;
  pb::QueryRequest req;
  req.set_query("special");
  for (int i = 0; i < 60; ++i) {
    auto st = i % 2 == 0 ? raw_call("/nightlight.v1.QueryService/Query", std::string("\x0f", 1), answer)
                         : raw_call("/nightlight.v1.QueryService/Query", req.SerializeAsString(), answer);
    CAF_CHECK_NOT_EQUAL(st.error_code(), grpc::StatusCode::UNAVAILABLE);
    if (st.error_code() == grpc::StatusCode::UNAVAILABLE)
      CAF_MESSAGE("call " << i << ": " << st.error_message());
  }
  CAF_CHECK_EQUAL(stats.grpc_streams_active.load(), 0);
}

CAF_TEST(a large answer streams in parts under the default receive limit) {
  attach();
  std::vector<pb::QueryResponse> parts;
  auto st = query("big", parts);
  CAF_REQUIRE(st.ok());
  CAF_MESSAGE(parts.size() << " parts");
  CAF_CHECK(parts.size() >= 4);  // 300 x 1000 points: ~5 MB
  size_t points = 0;
  int series = 0;
  for (const auto& p : parts) {
    CAF_CHECK_LESS_OR_EQUAL(p.ByteSizeLong(), size_t{1200} * 1024);
    for (const auto& s : p.matrix()) {
      CAF_CHECK(!s.continued());
      CAF_CHECK_EQUAL(s.labels(1).value(), std::to_string(series));
      points += static_cast<size_t>(s.values_size());
      CAF_CHECK_EQUAL(s.values(3), series + 1.5);
      ++series;
    }
  }
  CAF_CHECK_EQUAL(series, 300);
  CAF_CHECK_EQUAL(points, 300000u);
}

CAF_TEST(errors keep their cause in the status code and message) {
  attach();
  std::vector<pb::QueryResponse> parts;
  auto st = query("bad", parts);
  CAF_CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK_EQUAL(st.error_message(), "because bad");
  CAF_CHECK(query_code("exec") == grpc::StatusCode::FAILED_PRECONDITION);
  CAF_CHECK(query_code("many") == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CAF_CHECK(query_code("slow") == grpc::StatusCode::DEADLINE_EXCEEDED);
  CAF_CHECK(query_code("busy") == grpc::StatusCode::UNAVAILABLE);
  // A range request the HTTP checks refuse never reaches the actors.
  grpc::ClientContext ctx;
  pb::QueryRangeRequest r;
  r.set_query("up");
  r.set_start_ms(10);
  r.set_end_ms(5);
  r.set_step_ms(1);
  auto reader = stub->QueryRange(&ctx, r);
  pb::QueryResponse part;
  CAF_CHECK(!reader->Read(&part));
  auto rs = reader->Finish();
  CAF_CHECK(rs.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK_EQUAL(rs.error_message(), "invalid parameter \"end\": end timestamp must not be before start time");
  std::string text = stats.render();
  CAF_CHECK(text.find("nightlight_grpc_requests_total{method=\"Query\",code=\"RESOURCE_EXHAUSTED\"} 1")
            != std::string::npos);
  CAF_CHECK(text.find("nightlight_grpc_requests_total{method=\"QueryRange\",code=\"INVALID_ARGUMENT\"} 1")
            != std::string::npos);
}

CAF_TEST(series and label calls answer from the index with the truncation warning) {
  attach();
  grpc::ClientContext c1;
  pb::SeriesRequest s;
  s.add_match("m");
  auto sr = stub->Series(&c1, s);
  pb::SeriesResponse sp;
  int n = 0;
  std::vector<std::string> warnings;
  while (sr->Read(&sp)) {
    n += sp.series_size();
    warnings.insert(warnings.end(), sp.warnings().begin(), sp.warnings().end());
  }
  CAF_CHECK(sr->Finish().ok());
  CAF_CHECK_EQUAL(n, 5);
  CAF_CHECK_EQUAL(warnings, std::vector<std::string>{"results truncated due to limit"});
  grpc::ClientContext c2;
  pb::LabelValuesRequest v;
  v.set_label_name("zone");
  auto vr = stub->LabelValues(&c2, v);
  pb::LabelValuesResponse vp;
  CAF_REQUIRE(vr->Read(&vp));
  CAF_CHECK(vr->Finish().ok());
  CAF_REQUIRE_EQUAL(vp.values_size(), 2);
  CAF_CHECK_EQUAL(vp.values(1), "zone");
  grpc::ClientContext c3;
  auto nr = stub->LabelNames(&c3, pb::LabelNamesRequest{});
  pb::LabelNamesResponse np;
  CAF_REQUIRE(nr->Read(&np));
  CAF_CHECK(nr->Finish().ok());
  CAF_CHECK_EQUAL(np.names_size(), 2);
  grpc::ClientContext c4;
  pb::SeriesRequest none;
  auto er = stub->Series(&c4, none);
  CAF_CHECK(!er->Read(&sp));
  auto es = er->Finish();
  CAF_CHECK(es.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK_EQUAL(es.error_message(), "no match[] parameter provided");
}

CAF_TEST(metadata answers per family from the metadata actor) {
  attach();
  auto fetch = [&](const pb::MetadataRequest& req, std::vector<pb::MetadataResponse>& parts) {
    grpc::ClientContext ctx;
    auto reader = stub->Metadata(&ctx, req);
    pb::MetadataResponse part;
    while (reader->Read(&part))
      parts.push_back(part);
    return reader->Finish();
  };
  std::vector<pb::MetadataResponse> parts;
  CAF_REQUIRE(fetch(pb::MetadataRequest{}, parts).ok());
  CAF_REQUIRE_EQUAL(parts.size(), 1u);
  CAF_REQUIRE_EQUAL(parts[0].metrics_size(), 2);
  CAF_CHECK_EQUAL(parts[0].metrics(0).metric(), "a_total");
  CAF_CHECK_EQUAL(parts[0].metrics(0).metadata(0).type(), "counter");
  CAF_REQUIRE_EQUAL(parts[0].metrics(1).metadata_size(), 2);
  CAF_CHECK_EQUAL(parts[0].metrics(1).metadata(1).help(), "B two.");
  CAF_CHECK_EQUAL(parts[0].metrics(1).metadata(1).unit(), "bytes");
  pb::MetadataRequest limited;
  limited.set_limit(1);
  parts.clear();
  CAF_REQUIRE(fetch(limited, parts).ok());
  CAF_CHECK_EQUAL(parts[0].metrics_size(), 1);
  pb::MetadataRequest failing;
  failing.set_metric("fail");
  parts.clear();
  CAF_CHECK(fetch(failing, parts).error_code() == grpc::StatusCode::UNAVAILABLE);
  pb::MetadataRequest none;
  CAF_CHECK_EQUAL(metadata_query_of(none).limit, -1);
  CAF_CHECK_EQUAL(metadata_query_of(none).limit_per_metric, -1);
  none.set_limit(0);
  none.set_limit_per_metric(2);
  CAF_CHECK_EQUAL(metadata_query_of(none).limit, 0);
  CAF_CHECK_EQUAL(metadata_query_of(none).limit_per_metric, 2);
}

CAF_TEST(a deadline withdraws the query and the call ends at once) {
  attach();
  std::vector<pb::QueryResponse> parts;
  auto t0 = std::chrono::steady_clock::now();
  auto st = query("hold", parts, 200ms);
  auto took = std::chrono::steady_clock::now() - t0;
  CAF_CHECK(st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  CAF_MESSAGE("ended after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  // The query was withdrawn by its id (what the planner stops it by).
  CAF_CHECK(wait_for([&] {
    std::lock_guard<std::mutex> g{seen->mtx};
    return seen->cancelled.size() == 1;
  }));
  // The reactor finished once its withdrawn query answered.
  CAF_CHECK(wait_for([&] { return stats.grpc_streams_active.load() == 0; }));
}

CAF_TEST(a cancelled call withdraws its query) {
  attach();
  grpc::ClientContext ctx;
  pb::QueryRequest req;
  req.set_query("hold");
  auto reader = stub->Query(&ctx, req);
  CAF_REQUIRE(wait_for([&] {
    std::lock_guard<std::mutex> g{seen->mtx};
    return seen->held == 1;
  }));
  ctx.TryCancel();
  pb::QueryResponse part;
  CAF_CHECK(!reader->Read(&part));
  CAF_CHECK(reader->Finish().error_code() == grpc::StatusCode::CANCELLED);
  CAF_CHECK(wait_for([&] {
    std::lock_guard<std::mutex> g{seen->mtx};
    return seen->cancelled.size() == 1;
  }));
  CAF_CHECK(wait_for([&] { return stats.grpc_streams_active.load() == 0; }));
}

CAF_TEST(calls beyond max_concurrent_streams are unavailable) {
  attach();
  // Three held calls, each on a connection of its own (the per-connection
  // HTTP/2 limit would make a fourth on one connection wait instead).
  std::vector<std::unique_ptr<grpc::ClientContext>> ctxs;
  std::vector<std::unique_ptr<grpc::ClientReader<pb::QueryResponse>>> readers;
  std::vector<std::unique_ptr<pb::QueryService::Stub>> stubs;
  for (int i = 0; i < 4; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    args.SetInt("nl.test.connection", i);
    auto ch = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(server->port()),
                                        grpc::InsecureChannelCredentials(), args);
    stubs.push_back(pb::QueryService::NewStub(ch));
  }
  for (int i = 0; i < 3; ++i) {
    ctxs.push_back(std::make_unique<grpc::ClientContext>());
    pb::QueryRequest req;
    req.set_query("hold");
    readers.push_back(stubs[i]->Query(ctxs.back().get(), req));
  }
  CAF_REQUIRE(wait_for([&] {
    std::lock_guard<std::mutex> g{seen->mtx};
    return seen->held == 3;
  }));
  CAF_CHECK_EQUAL(stats.grpc_streams_active.load(), 3);
  grpc::ClientContext extra;
  pb::QueryRequest req;
  req.set_query("special");
  auto r4 = stubs[3]->Query(&extra, req);
  pb::QueryResponse part;
  CAF_CHECK(!r4->Read(&part));
  auto st = r4->Finish();
  CAF_CHECK(st.error_code() == grpc::StatusCode::UNAVAILABLE);
  CAF_CHECK(st.error_message().find("server.max_concurrent_streams") != std::string::npos);
  for (auto& c : ctxs)
    c->TryCancel();
  for (auto& r : readers) {
    while (r->Read(&part)) {
    }
    CAF_CHECK(r->Finish().error_code() == grpc::StatusCode::CANCELLED);
  }
  CAF_CHECK(wait_for([&] { return stats.grpc_streams_active.load() == 0; }));
  CAF_CHECK(query_code("special") == grpc::StatusCode::OK);  // room again
}

CAF_TEST(shutdown withdraws calls in progress and waits for them) {
  attach();
  grpc::ClientContext ctx;
  pb::QueryRequest req;
  req.set_query("hold");
  auto reader = stub->Query(&ctx, req);
  CAF_REQUIRE(wait_for([&] {
    std::lock_guard<std::mutex> g{seen->mtx};
    return seen->held == 1;
  }));
  auto t0 = std::chrono::steady_clock::now();
  server->shutdown(100ms);
  CAF_CHECK_LESS(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count(),
                 5000);
  pb::QueryResponse part;
  CAF_CHECK(!reader->Read(&part));
  CAF_CHECK(!reader->Finish().ok());
  std::lock_guard<std::mutex> g{seen->mtx};
  CAF_CHECK_EQUAL(seen->cancelled.size(), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()

#define CAF_SUITE actors.network
#include "test_support.hpp"

#include <caf/test/dsl.hpp>

#include "actors/cluster/cluster_view.hpp"
#include "actors/frontend.hpp"
#include "actors/network.hpp"
#include "actors/storage_open.hpp"
#include "fake_wal_file.hpp"
#include "protocol/remote_write.hpp"
#include "protocol/snappy_block.hpp"
#include "remote_write_body.hpp"

using namespace nl::actors;
using nl::protocol::http_request;
using nl::protocol::http_response;
using nl::test::fake_wal_disk;
using nl::test::now_ms;
using nl::test::write_body;

namespace {

http_request post_write(std::string body) {
  http_request r;
  r.method = "POST";
  r.path = r.target = "/api/v1/write";
  r.content_encoding = "snappy";
  r.content_type = "application/x-protobuf";
  r.body = std::move(body);
  return r;
}

http_request get(std::string path, std::string query = {}) {
  http_request r;
  r.method = "GET";
  r.path = path;
  r.query = query;
  r.target = path + (query.empty() ? "" : "?" + query);
  return r;
}

// Replies land here; shared so a job answering late (destroyed with the
// actor system) never writes to a dead test.
using replies = std::shared_ptr<std::vector<http_response>>;

std::string header(const http_response& r, const std::string& name) {
  for (auto& [k, v] : r.headers)
    if (k == name)
      return v;
  return "";
}

struct fixture : test_coordinator_fixture<caf::actor_system_config> {
  settings cfg;
  metrics stats;
  nl::storage::wal_replay_progress replay;
  std::unique_ptr<frontend> front;
  replies got = std::make_shared<std::vector<http_response>>();

  fixture() {
    cfg.server.max_inflight_samples = 10;
    front = std::make_unique<frontend>(cfg, stats, &replay);
  }

  void call(http_request rq) {
    auto g = got;
    front->handle(std::move(rq), [g](http_response r) {
      nl::protocol::complete(r);
      g->push_back(std::move(r));
    });
  }

  /// Calls and lets the actors finish; the answer. No answer fails the
  /// test (and comes back as status 0).
  http_response answer(http_request rq) {
    auto before = got->size();
    auto target = rq.target;
    call(std::move(rq));
    sched.run();
    if (got->size() == before) {
      CAF_ERROR(target << " got no answer");
      return http_response{0, {}, {}, {}};
    }
    return got->back();
  }
};

// The real chain behind the frontend: WAL writer (fake file), two shards,
// index, network actor.
struct storage_fixture : fixture {
  std::shared_ptr<fake_wal_disk> disk = std::make_shared<fake_wal_disk>();
  wal_writer_actor wal;
  std::vector<head_block_actor> shards;
  index_actor idx;
  query_planner_actor planner;
  metadata_actor meta;
  network_actor net;

  storage_fixture() {
    wal = sys.spawn(wal_writer, nl::test::fake_wal_writer(disk), wal_writer_options{fsync_policy::always, {}, &stats});
    for (size_t i = 0; i < 2; ++i) {
      head_block_options ho;
      ho.shard = i;
      ho.stats = &stats;
      nl::storage::head_options hopts;
      hopts.ref_start = 1 + i;
      hopts.ref_stride = 2;
      shards.push_back(sys.spawn(head_block, std::make_shared<nl::storage::head>(hopts), wal, ho));
    }
    idx = sys.spawn(series_index, shards, nullptr);
    planner = sys.spawn(query_planner, idx, query_planner_options{});
    metadata_options mo;
    mo.stats = &stats;
    meta = sys.spawn(metadata, std::make_shared<nl::storage::metadata_store>(), wal, mo);
    net = sys.spawn(network, shards, idx, planner, std::chrono::milliseconds(1000), compactor_actor{}, meta,
                    meta, std::vector<peer_actor>{});
    front->attach(net, shards.size());
    sched.run();
  }

  ~storage_fixture() {
    for (caf::actor_addr a : {net.address(), planner.address(), idx.address(), meta.address(), shards[0].address(),
                              shards[1].address(), wal.address()})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(frontend_tests, fixture)

CAF_TEST(storage endpoints answer 503 until the storage is attached) {
  call(get("/-/ready"));
  call(get("/-/healthy"));
  call(post_write(write_body("a", 1, now_ms())));
  call(get("/api/v1/labels"));
  CAF_REQUIRE_EQUAL(got->size(), 4u);
  CAF_CHECK_EQUAL((*got)[0].status, 503u);
  CAF_CHECK_EQUAL((*got)[1].status, 200u);
  CAF_CHECK_EQUAL((*got)[2].status, 503u);
  CAF_CHECK_EQUAL((*got)[3].status, 503u);
  CAF_CHECK_EQUAL(header((*got)[3], "Access-Control-Allow-Origin"), "*");
}

CAF_TEST(the cluster status lists the nodes and is not found on a single node) {
  auto single = answer(get("/api/v1/status/cluster"));
  CAF_CHECK_EQUAL(single.status, 404u);
  CAF_CHECK_EQUAL(single.body, R"x({"status":"error","errorType":"not_found","error":"not in cluster mode (the configuration has no cluster section)"})x");
  cluster_settings c;
  c.name = "prod";
  c.self = "b";
  c.nodes = {{"a", "10.0.0.1:7001"}, {"b", "10.0.0.2:7001"}, {"c", "10.0.0.3:7001"}};
  auto view = std::make_shared<cluster_view>(c);
  view->set_up(0, true);
  front->set_cluster(view);
  // Served before the storage is attached, like walreplay.
  auto r = answer(get("/api/v1/status/cluster"));
  CAF_CHECK_EQUAL(r.status, 200u);
  CAF_CHECK_EQUAL(r.content_type, "application/json");
  CAF_CHECK_EQUAL(r.body,
                  R"({"status":"success","data":{"cluster":"prod","self":"b","replicationFactor":2,"writeQuorum":2,"nodes":[)"
                  R"({"name":"a","addr":"10.0.0.1:7001","state":"up","requestsInFlight":0,"requestFailures":0},)"
                  R"({"name":"b","addr":"10.0.0.2:7001","state":"self","requestsInFlight":0,"requestFailures":0},)"
                  R"({"name":"c","addr":"10.0.0.3:7001","state":"down","requestsInFlight":0,"requestFailures":0}]}})");
}

CAF_TEST(walreplay answers while the WAL is replayed and tsdb waits for the storage) {
  CAF_CHECK_EQUAL(answer(get("/api/v1/status/walreplay")).body,
                  R"({"status":"success","data":{"min":0,"max":0,"current":0}})");
  replay.start(3, 9);
  replay.read(5);
  auto r = answer(get("/api/v1/status/walreplay"));
  CAF_CHECK_EQUAL(r.status, 200u);
  CAF_CHECK_EQUAL(r.content_type, "application/json");
  CAF_CHECK_EQUAL(header(r, "Access-Control-Allow-Origin"), "*");
  CAF_CHECK_EQUAL(r.body, R"({"status":"success","data":{"min":3,"max":9,"current":5}})");
  replay.finish(9);
  CAF_CHECK_EQUAL(answer(get("/api/v1/status/walreplay")).body,
                  R"({"status":"success","data":{"min":3,"max":9,"current":9}})");
  CAF_CHECK_EQUAL(answer(get("/api/v1/status/tsdb")).status, 503u);
  CAF_CHECK_EQUAL(frontend::handler_name("GET", "/api/v1/status/tsdb"), "/api/v1/status/tsdb");
  CAF_CHECK_EQUAL(frontend::handler_name("GET", "/api/v1/status/walreplay"), "/api/v1/status/walreplay");
  // A fresh data directory: no WAL to replay, the writer opens segment 1.
  nl::storage::wal_replay_progress fresh;
  fresh.finish(1);
  CAF_CHECK_EQUAL(fresh.get().min, 1);
  CAF_CHECK_EQUAL(fresh.get().current, 1);
}

CAF_TEST(the web UI is served before the storage is attached) {
  auto root = answer(get("/"));
  CAF_CHECK_EQUAL(root.status, 302u);
  CAF_CHECK_EQUAL(header(root, "Location"), "graph");
  CAF_CHECK_EQUAL(header(root, "Access-Control-Allow-Origin"), "");  // not an API path
  auto page = answer(get("/graph", "g0.expr=up&g0.tab=0"));
  CAF_CHECK_EQUAL(page.status, 200u);
  CAF_CHECK_EQUAL(page.content_type, "text/html; charset=utf-8");
  CAF_CHECK(page.body.find("static/js/app.js") != std::string::npos);
  CAF_CHECK_EQUAL(answer(get("/tsdb-status")).body, page.body);  // every page is the one shell
  auto js = answer(get("/static/js/app.js"));
  CAF_CHECK_EQUAL(js.status, 200u);
  CAF_CHECK_EQUAL(js.content_type, "text/javascript; charset=utf-8");
  auto again = get("/static/js/app.js");
  again.if_none_match = header(js, "ETag");
  auto cached = answer(std::move(again));
  CAF_CHECK_EQUAL(cached.status, 304u);
  CAF_CHECK(cached.body.empty());
  CAF_CHECK_EQUAL(answer(get("/static/js/nothing.js")).status, 404u);
  CAF_CHECK_EQUAL(frontend::handler_name("GET", "/static/js/app.js"), "/static/:file");
  CAF_CHECK_EQUAL(frontend::handler_name("GET", "/graph"), "/:page");
  CAF_CHECK_EQUAL(frontend::handler_name("GET", "/"), "/");
}

CAF_TEST(a write over the in-flight budget is refused before it is queued) {
  // A network actor that is never scheduled: jobs stay in flight.
  auto net = sys.spawn([]() -> network_actor::behavior_type {
    return {[](write_job_ptr&) {},    [](query_call_ptr&) {},       [](series_call_ptr&) {},
            [](labels_call_ptr&) {},  [](tsdb_status_call_ptr&) {}, [](query_cancel) {},
            [](metadata_call_ptr&) {}, [](federate_call_ptr&) {}, [](read_job_ptr&) {},
            [](admin_job_ptr&) {}};
  });
  front->attach(net, 2);
  call(post_write(write_body("a", 6, now_ms() - 60000)));
  CAF_CHECK_EQUAL(got->size(), 0u);  // admitted, waiting for the actors
  CAF_CHECK_EQUAL(front->writes_in_flight(), 1);
  call(post_write(write_body("b", 6, now_ms() - 60000)));
  CAF_REQUIRE_EQUAL(got->size(), 1u);  // answered at once
  CAF_CHECK_EQUAL((*got)[0].status, 503u);
  CAF_CHECK_EQUAL(header((*got)[0], "Retry-After"), "1");
  CAF_CHECK_EQUAL(stats.overload_responses.load(), 1u);
  CAF_CHECK_EQUAL(stats.inflight_samples.load(), 6);  // the refused one released its share
  cfg.server.overload_status = 429;
  call(post_write(write_body("c", 6, now_ms() - 60000)));
  CAF_REQUIRE_EQUAL(got->size(), 2u);
  CAF_CHECK_EQUAL((*got)[1].status, 429u);
  // Shutdown: the job dies with the actor and still gets an answer.
  caf::anon_send_exit(net, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 3u);
  CAF_CHECK_EQUAL((*got)[2].status, 503u);
  CAF_CHECK_EQUAL(stats.inflight_samples.load(), 0);
  CAF_CHECK_EQUAL(front->writes_in_flight(), 0);
}

CAF_TEST(foreign encodings and broken bodies are client errors) {
  auto net = sys.spawn([]() -> network_actor::behavior_type {
    return {[](write_job_ptr&) {},    [](query_call_ptr&) {},       [](series_call_ptr&) {},
            [](labels_call_ptr&) {},  [](tsdb_status_call_ptr&) {}, [](query_cancel) {},
            [](metadata_call_ptr&) {}, [](federate_call_ptr&) {}, [](read_job_ptr&) {},
            [](admin_job_ptr&) {}};
  });
  front->attach(net, 1);
  auto gz = post_write(write_body("a", 1, now_ms()));
  gz.content_encoding = "gzip";
  call(std::move(gz));
  auto v2 = post_write(write_body("a", 1, now_ms()));
  v2.content_type = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
  call(std::move(v2));
  auto json = post_write(write_body("a", 1, now_ms()));
  json.content_type = "application/json";
  call(std::move(json));
  call(post_write("\xff\x06\x00\x00sNaPpY garbage"));
  // A preamble announcing 1 GiB: refused before anything is allocated.
  call(post_write(std::string("\x80\x80\x80\x80\x04", 5)));
  CAF_REQUIRE_EQUAL(got->size(), 5u);
  CAF_CHECK_EQUAL((*got)[0].status, 415u);
  CAF_CHECK_EQUAL((*got)[1].status, 415u);
  CAF_CHECK_EQUAL((*got)[2].status, 415u);
  CAF_CHECK_EQUAL((*got)[3].status, 400u);
  CAF_CHECK_EQUAL((*got)[4].status, 413u);
  CAF_CHECK_EQUAL(front->writes_in_flight(), 0);
  caf::anon_send_exit(net, caf::exit_reason::user_shutdown);
  sched.run();
}

CAF_TEST(static endpoints and routing misses) {
  call(get("/api/v1/status/buildinfo"));
  call(get("/api/v1/rules"));
  call(get("/nope"));
  auto post = get("/api/v1/alerts");
  post.method = "POST";
  call(std::move(post));
  CAF_REQUIRE_EQUAL(got->size(), 4u);
  CAF_CHECK((*got)[0].body.find(R"("version":"2.42.0")") != std::string::npos);
  CAF_CHECK((*got)[0].body.find("features") == std::string::npos);
  CAF_CHECK_EQUAL((*got)[1].body, R"({"status":"success","data":{"groups":[]}})");
  CAF_CHECK_EQUAL((*got)[2].status, 404u);
  CAF_CHECK_EQUAL((*got)[2].body, "404 page not found\n");
  CAF_CHECK_EQUAL((*got)[3].status, 405u);
  CAF_CHECK_EQUAL(header((*got)[3], "Allow"), "GET, OPTIONS");
  CAF_CHECK_EQUAL((*got)[3].content_type, "application/json");
  CAF_CHECK_EQUAL((*got)[3].body, R"x({"status":"error","errorType":"method_not_allowed",)x"
                                  R"x("error":"method POST is not allowed for /api/v1/alerts (allowed: GET, OPTIONS)"})x");
  // Outside the API a 405 stays Prometheus' plain text.
  auto metrics_post = get("/metrics");
  metrics_post.method = "POST";
  call(std::move(metrics_post));
  CAF_REQUIRE_EQUAL(got->size(), 5u);
  CAF_CHECK_EQUAL((*got)[4].status, 405u);
  CAF_CHECK_EQUAL((*got)[4].body, "Method Not Allowed\n");
  CAF_CHECK_EQUAL(header((*got)[4], "Allow"), "GET, OPTIONS");
}

CAF_TEST(status flags runtimeinfo and config answer before the storage) {
  cfg.storage.retention_bytes = 50ull << 30;
  cfg.tls.cert_file = "/etc/nl/server.pem";
  cfg.tls.key_file = "/etc/nl/server-key.pem";
  auto flags = answer(get("/api/v1/status/flags"));
  CAF_CHECK_EQUAL(flags.status, 200u);
  CAF_CHECK(flags.body.find(R"("server.http_addr":"127.0.0.1:9101")") != std::string::npos);
  CAF_CHECK(flags.body.find(R"("tls.key_file":"\u003csecret\u003e")") != std::string::npos);
  CAF_CHECK(flags.body.find("server-key.pem") == std::string::npos);
  auto info = answer(get("/api/v1/status/runtimeinfo"));
  CAF_CHECK_EQUAL(info.status, 200u);
  for (auto key : {R"({"status":"success","data":{"startTime":")", R"(","CWD":")", R"("reloadConfigSuccess":true,)",
                   R"("corruptionCount":0,"goroutineCount":)", R"("GOGC":"","GODEBUG":"","storageRetention":"15d or 50GiB"}})"})
    CAF_CHECK(info.body.find(key) != std::string::npos);
  auto config = answer(get("/api/v1/status/config"));
  CAF_CHECK_EQUAL(config.status, 200u);
  CAF_CHECK(config.body.find(R"({"status":"success","data":{"yaml":"server:\n  grpc_addr: )") == 0);
  CAF_CHECK(config.body.find(R"(key_file: \u003csecret\u003e\n)") != std::string::npos);
  CAF_CHECK(config.body.find("server-key.pem") == std::string::npos);
  for (auto path : {"/api/v1/status/flags", "/api/v1/status/runtimeinfo", "/api/v1/status/config"}) {
    auto post = get(path);
    post.method = "POST";
    CAF_CHECK_EQUAL(answer(post).status, 405u);
  }
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(write_path_tests, storage_fixture)

CAF_TEST(a write is stored and listed by the read APIs) {
  auto t0 = now_ms() - 60000;
  call(post_write(write_body("a", 3, t0)));
  call(post_write(write_body("b", 2, t0)));
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 2u);
  CAF_CHECK_EQUAL((*got)[0].status, 204u);
  CAF_CHECK_EQUAL((*got)[1].status, 204u);
  CAF_CHECK_EQUAL(stats.samples_appended.load(), 5u);
  CAF_CHECK_EQUAL(front->writes_in_flight(), 0);
  CAF_CHECK_EQUAL(answer(get("/api/v1/series", "match%5B%5D=up")).body,
                  R"({"status":"success","data":[{"__name__":"up","job":"a"},{"__name__":"up","job":"b"}]})");
  CAF_CHECK_EQUAL(answer(get("/api/v1/labels")).body, R"({"status":"success","data":["__name__","job"]})");
  CAF_CHECK_EQUAL(answer(get("/api/v1/label/job/values", "limit=1")).body,
                  R"({"status":"success","data":["a"],"warnings":["results truncated due to limit"]})");
  auto none = answer(get("/api/v1/series"));
  CAF_CHECK_EQUAL(none.status, 400u);
  CAF_CHECK_EQUAL(none.body, R"({"status":"error","errorType":"bad_data","error":"no match[] parameter provided"})");
  auto expr = answer(get("/api/v1/series", "match[]=sum(up)"));
  CAF_CHECK_EQUAL(expr.status, 400u);
  CAF_CHECK_EQUAL(expr.body, R"({"status":"error","errorType":"bad_data","error":"1:4: parse error: unexpected \"(\""})");
  auto empty = answer(get("/api/v1/series", "match[]={job=~\".*\"}"));
  CAF_CHECK_EQUAL(empty.status, 400u);
  CAF_CHECK(empty.body.find("at least one non-empty matcher") != std::string::npos);
  auto start = answer(get("/api/v1/series", "match[]=up&start=abc"));
  CAF_CHECK_EQUAL(start.status, 400u);
  CAF_CHECK(start.body.find(R"(invalid parameter \"start\")") != std::string::npos);
  // POST form parameters and a time range that excludes everything.
  auto post = get("/api/v1/series");
  post.method = "POST";
  post.content_type = "application/x-www-form-urlencoded";
  post.body = "match%5B%5D=up%7Bjob%3D%22b%22%7D&end=1";
  CAF_CHECK_EQUAL(answer(post).body, R"({"status":"success","data":[]})");
  post.body = "match%5B%5D=up%7Bjob%3D%22b%22%7D";
  CAF_CHECK_EQUAL(answer(post).body, R"({"status":"success","data":[{"__name__":"up","job":"b"}]})");
}

// What Prometheus gzips for clients that ask: its API handlers' JSON
// (errors too) and /metrics; not walreplay, remote write, health, 404/405.
CAF_TEST(answers are marked compressible where Prometheus compresses) {
  auto t0 = now_ms() - 60000;
  auto w = answer(post_write(write_body("a", 1, t0)));
  CAF_CHECK_EQUAL(w.status, 204u);
  CAF_CHECK(!w.compressible);
  CAF_CHECK(!answer(post_write("garbage")).compressible);
  auto q = answer(get("/api/v1/query", "query=up"));
  CAF_CHECK_EQUAL(q.status, 200u);
  CAF_CHECK(q.compressible);
  auto bad = answer(get("/api/v1/query", "query=sum("));
  CAF_CHECK_EQUAL(bad.status, 400u);
  CAF_CHECK(bad.compressible);
  CAF_CHECK(answer(get("/api/v1/series", "match%5B%5D=up")).compressible);
  CAF_CHECK(answer(get("/api/v1/status/buildinfo")).compressible);
  CAF_CHECK(answer(get("/metrics")).compressible);
  CAF_CHECK(!answer(get("/api/v1/status/walreplay")).compressible);
  CAF_CHECK(!answer(get("/-/healthy")).compressible);
  CAF_CHECK(!answer(get("/-/ready")).compressible);
  CAF_CHECK(!answer(get("/nope")).compressible);
  auto put = get("/api/v1/query");
  put.method = "PUT";
  CAF_CHECK(!answer(put).compressible);
}

CAF_TEST(a time in milliseconds is answered with a warning) {
  auto r = answer(get("/api/v1/query", "query=1&time=1700000000000"));
  CAF_CHECK_EQUAL(r.status, 200u);
  CAF_CHECK_EQUAL(r.body, R"({"status":"success","data":{"resultType":"scalar","result":[1700000000000,"1"]},)"
                          R"("warnings":["time=1700000000000 is in the year 55840: times are seconds since the epoch, )"
                          R"x(and this looks like milliseconds (1700000000000 ms is 2023-11-14T22:13:20Z)"]})x");
  auto range = answer(get("/api/v1/query_range", "query=1&start=1700000000&end=1700000060000&step=60"));
  CAF_CHECK_EQUAL(range.status, 400u);  // too many points, as in Prometheus; no warnings on errors
  CAF_CHECK(range.body.find("warnings") == std::string::npos);
  CAF_CHECK(answer(get("/api/v1/query", "query=1&time=1700000000")).body.find("warnings") == std::string::npos);
}

CAF_TEST(the stats parameter adds data stats as prometheus does) {
  auto t0 = now_ms() - 60000;
  CAF_CHECK_EQUAL(answer(post_write(write_body("a", 3, t0))).status, 204u);
  auto at = "&time=" + std::to_string((t0 + 2000) / 1000.0);
  auto all = answer(get("/api/v1/query", "query=up&stats=all" + at)).body;
  CAF_CHECK(all.find(R"(],"stats":{"timings":{"evalTotalTime":)") != std::string::npos);
  CAF_CHECK(all.find(R"("samples":{"totalQueryableSamplesPerStep":[[)") != std::string::npos);
  CAF_CHECK(all.find(R"(,1]],"totalQueryableSamples":1,"peakSamples":1}}}})") != std::string::npos);
  auto some = answer(get("/api/v1/query", "query=up&stats=1" + at)).body;
  CAF_CHECK(some.find(R"("samples":{"totalQueryableSamples":1,"peakSamples":1}}}})") != std::string::npos);
  auto range = answer(get("/api/v1/query_range", "query=up&stats=x&step=1&start=" + std::to_string(t0 / 1000.0)
                                                   + "&end=" + std::to_string((t0 + 2000) / 1000.0)))
                 .body;
  CAF_CHECK(range.find(R"("samples":{"totalQueryableSamples":3,"peakSamples":3}}}})") != std::string::npos);
  CAF_CHECK(answer(get("/api/v1/query", "query=up&stats=" + at)).body.find("stats") == std::string::npos);
}

CAF_TEST(the tsdb status counts the head of every shard) {
  auto empty = answer(get("/api/v1/status/tsdb"));
  CAF_CHECK_EQUAL(empty.status, 200u);
  CAF_CHECK_EQUAL(empty.body, R"({"status":"success","data":{"headStats":{"numSeries":0,"numLabelPairs":0,)"
                              R"("chunkCount":0,"minTime":9223372036854775807,"maxTime":-9223372036854775808},)"
                              R"("seriesCountByMetricName":[],"labelValueCountByLabelName":[],)"
                              R"("memoryInBytesByLabelName":[],"seriesCountByLabelValuePair":[]}})");
  auto t0 = now_ms() - 60000;
  call(post_write(write_body("a", 3, t0)));
  call(post_write(write_body("bb", 2, t0)));
  sched.run();
  auto r = answer(get("/api/v1/status/tsdb"));
  CAF_CHECK_EQUAL(r.status, 200u);
  CAF_CHECK_EQUAL(r.body, R"({"status":"success","data":{"headStats":{"numSeries":2,"numLabelPairs":3,"chunkCount":2,)"
                          R"("minTime":)" + std::to_string(t0) + R"(,"maxTime":)" + std::to_string(t0 + 2000) + "},"
                          R"("seriesCountByMetricName":[{"name":"up","value":2}],)"
                          R"("labelValueCountByLabelName":[{"name":"job","value":2},{"name":"__name__","value":1}],)"
                          R"("memoryInBytesByLabelName":[{"name":"job","value":3},{"name":"__name__","value":2}],)"
                          R"("seriesCountByLabelValuePair":[{"name":"__name__=up","value":2},)"
                          R"({"name":"job=a","value":1},{"name":"job=bb","value":1}]}})");
  auto one = answer(get("/api/v1/status/tsdb", "limit=1"));
  CAF_CHECK(one.body.find(R"("seriesCountByLabelValuePair":[{"name":"__name__=up","value":2}]})") != std::string::npos);
  // Prometheus 3.x's checks of `limit` (2.42 has no parameter).
  for (auto bad : {"limit=0", "limit=-1", "limit=abc", "limit=1.5"}) {
    auto e = answer(get("/api/v1/status/tsdb", bad));
    CAF_CHECK_EQUAL(e.status, 400u);
    CAF_CHECK_EQUAL(e.body, R"({"status":"error","errorType":"bad_data","error":"limit must be a positive number"})");
  }
  auto big = answer(get("/api/v1/status/tsdb", "limit=10001"));
  CAF_CHECK_EQUAL(big.status, 400u);
  CAF_CHECK_EQUAL(big.body, R"({"status":"error","errorType":"bad_data","error":"limit must not exceed 10000"})");
  CAF_CHECK_EQUAL(answer(get("/api/v1/status/tsdb", "limit=10000")).status, 200u);
}

CAF_TEST(refused samples give 400 naming the series while the rest is stored) {
  auto t0 = now_ms() - 60000;
  call(post_write(write_body("a", 3, t0)));
  sched.run();
  got->clear();
  // The newest sample again (an identical duplicate: accepted), a new one,
  // an out-of-order one; and a new series.
  nl::protocol::write_series a, b;
  a.labels = {{"__name__", "up"}, {"job", "a"}};
  a.samples = {{t0 + 2000, 1.0}, {t0 + 3000, 1.0}, {t0 + 1000, 5.0}};
  b.labels = {{"__name__", "up"}, {"job", "b"}};
  b.samples = {{t0 + 5000, 2.0}};
  call(post_write(nl::protocol::snappy_encode(nl::protocol::encode_write_request({a, b}))));
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  auto& r = (*got)[0];
  CAF_CHECK_EQUAL(r.status, 400u);
  CAF_MESSAGE("body: " << r.body);
  CAF_CHECK(r.body.find("up{job=\"a\"}") != std::string::npos);
  CAF_CHECK(r.body.find("(1 samples rejected, 3 stored)") != std::string::npos);
}

CAF_TEST(shards share the out of bounds limit like one head) {
  auto now = now_ms();
  CAF_CHECK_EQUAL(answer(post_write(write_body("a", 1, now - 60000))).status, 204u);
  // A series that lands on the other shard, which has no data of its own.
  auto shard_a = nl::storage::label_set::from_unsorted({{"__name__", "up"}, {"job", "a"}}).hash() % 2;
  std::string other;
  for (int i = 0; other.empty(); ++i) {
    auto job = "x" + std::to_string(i);
    if (nl::storage::label_set::from_unsorted({{"__name__", "up"}, {"job", job}}).hash() % 2 != shard_a)
      other = job;
  }
  auto r = answer(post_write(write_body(other, 1, now - 3 * 3600 * 1000)));
  CAF_CHECK_EQUAL(r.status, 400u);
  CAF_CHECK(r.body.find("out of bounds for series up{job=\"" + other + "\"}") == 0);
}

namespace {

// A snappy-compressed WriteRequest carrying only metadata.
std::string metadata_body(const std::vector<nl::protocol::metadata_entry>& md) {
  return nl::protocol::snappy_encode(nl::protocol::encode_write_request({}, md));
}

}  // namespace

CAF_TEST(remote written metadata is logged once then listed by the metadata api) {
  using nl::storage::metric_type;
  std::vector<nl::protocol::metadata_entry> md{
    {"http_requests_total", metric_type::counter, "Requests served.", ""},
    {"rpc_seconds", metric_type::histogram, "RPC latency.", "seconds"},
    {"rpc_seconds", metric_type::histogram, "RPC latency (v2).", "seconds"},
  };
  auto wal_bytes = disk->bytes.size();
  CAF_CHECK_EQUAL(answer(post_write(metadata_body(md))).status, 204u);
  CAF_CHECK_GREATER(disk->bytes.size(), wal_bytes);
  CAF_CHECK_EQUAL(stats.metadata_families.load(), 2);
  // Senders resend everything every minute: no new WAL bytes for that.
  wal_bytes = disk->bytes.size();
  CAF_CHECK_EQUAL(answer(post_write(metadata_body(md))).status, 204u);
  CAF_CHECK_EQUAL(disk->bytes.size(), wal_bytes);
  CAF_CHECK_EQUAL(answer(get("/api/v1/metadata")).body,
                  R"({"status":"success","data":{"http_requests_total":[{"type":"counter","help":"Requests served.","unit":""}],)"
                  R"("rpc_seconds":[{"type":"histogram","help":"RPC latency (v2).","unit":"seconds"},)"
                  R"({"type":"histogram","help":"RPC latency.","unit":"seconds"}]}})");
  // Prometheus' parameters.
  CAF_CHECK_EQUAL(answer(get("/api/v1/metadata", "metric=rpc_seconds&limit_per_metric=1")).body,
                  R"({"status":"success","data":{"rpc_seconds":[{"type":"histogram","help":"RPC latency (v2).","unit":"seconds"}]}})");
  CAF_CHECK_EQUAL(answer(get("/api/v1/metadata", "limit=1")).body,
                  R"({"status":"success","data":{"http_requests_total":[{"type":"counter","help":"Requests served.","unit":""}]}})");
  CAF_CHECK_EQUAL(answer(get("/api/v1/metadata", "limit=0")).body, R"({"status":"success","data":{}})");
  CAF_CHECK_EQUAL(answer(get("/api/v1/metadata", "limit=-1&limit_per_metric=0")).body,
                  answer(get("/api/v1/metadata")).body);
  CAF_CHECK_EQUAL(answer(get("/api/v1/metadata", "metric=nope")).body, R"({"status":"success","data":{}})");
  for (auto [query, what] : {std::pair{"limit=abc", "limit"}, std::pair{"limit=1.5", "limit"},
                             std::pair{"limit=+", "limit"}, std::pair{"limit=99999999999999999999", "limit"},
                             std::pair{"limit_per_metric=x", "limit_per_metric"}}) {
    auto e = answer(get("/api/v1/metadata", query));
    CAF_CHECK_EQUAL(e.status, 400u);
    CAF_CHECK_EQUAL(e.body, std::string{R"({"status":"error","errorType":"bad_data","error":")"} + what
                              + R"( must be a number"})");
  }
  auto post = get("/api/v1/metadata");
  post.method = "POST";
  post.content_type = "application/x-www-form-urlencoded";
  post.body = "metric=http_requests_total";
  CAF_CHECK(answer(post).body.find("rpc_seconds") == std::string::npos);
}

CAF_TEST(samples and metadata of one request are stored together and bad metadata is named) {
  using nl::storage::metric_type;
  nl::protocol::write_series s;
  s.labels = {{"__name__", "up"}, {"job", "a"}};
  s.samples = {{now_ms() - 60000, 1.0}};
  std::vector<nl::protocol::metadata_entry> md{{"up", metric_type::gauge, "Up.", ""},
                                               {"", metric_type::gauge, "Nameless.", ""}};
  auto r = answer(post_write(nl::protocol::snappy_encode(nl::protocol::encode_write_request({s}, md))));
  CAF_CHECK_EQUAL(r.status, 400u);
  CAF_MESSAGE("body: " << r.body);
  CAF_CHECK(r.body.find("1 metadata entries rejected: metadata \"\": metadata without a metric family name")
            != std::string::npos);
  CAF_CHECK_EQUAL(stats.metadata_rejected.load(), 1u);
  CAF_CHECK_EQUAL(stats.samples_appended.load(), 1u);
  CAF_CHECK_EQUAL(answer(get("/api/v1/metadata")).body,
                  R"({"status":"success","data":{"up":[{"type":"gauge","help":"Up.","unit":""}]}})");
}

CAF_TEST(metadata the WAL could not take is answered 503 and not shown) {
  disk->fail_appends = true;
  std::vector<nl::protocol::metadata_entry> md{{"x", nl::storage::metric_type::gauge, "X.", ""}};
  auto r = answer(post_write(metadata_body(md)));
  CAF_CHECK_EQUAL(r.status, 503u);
  CAF_CHECK_EQUAL(front->writes_in_flight(), 0);
  CAF_CHECK_EQUAL(stats.inflight_samples.load(), 0);
}

CAF_TEST(federate answers the newest sample of each matching series as text) {
  auto now = now_ms();
  auto write = [&](std::vector<nl::storage::label> ls, std::vector<nl::storage::sample> xs) {
    nl::protocol::write_series s;
    s.labels = std::move(ls);
    s.samples = std::move(xs);
    CAF_REQUIRE_EQUAL(answer(post_write(nl::protocol::snappy_encode(nl::protocol::encode_write_request({s})))).status,
                      204u);
  };
  write({{"__name__", "up"}, {"job", "a"}}, {{now - 20000, 0.5}, {now - 10000, 1.0}});
  write({{"__name__", "up"}, {"job", "b\"q\\\n"}, {"instance", "i:1"}}, {{now - 10000, 1e6}});
  // Older than the lookback delta (5m), and a series that went stale.
  write({{"__name__", "up"}, {"job", "old"}}, {{now - 400000, 1.0}});
  write({{"__name__", "up"}, {"job", "gone"}}, {{now - 20000, 1.0}, {now - 10000, nl::storage::stale_nan()}});
  write({{"__name__", "a_metric"}, {"z", "1"}}, {{now - 5000, -0.0}});
  auto r = answer(get("/federate", "match[]=up&match[]=%7B__name__%3D~%22a_.*%22%7D&match[]=up%7Bjob%3D%22a%22%7D"));
  CAF_CHECK_EQUAL(r.status, 200u);
  CAF_CHECK_EQUAL(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  CAF_CHECK_EQUAL(header(r, "Access-Control-Allow-Origin"), "");
  CAF_CHECK_EQUAL(r.body, "# TYPE a_metric untyped\n"
                          "a_metric{z=\"1\",instance=\"\"} 0 " + std::to_string(now - 5000) + "\n"
                          "# TYPE up untyped\n"
                          "up{instance=\"i:1\",job=\"b\\\"q\\\\\\n\"} 1e+06 " + std::to_string(now - 10000) + "\n"
                          "up{job=\"a\",instance=\"\"} 1 " + std::to_string(now - 10000) + "\n");
  // No match[]: an empty answer; a selector without matchers selects
  // nothing; a bad one is a plain-text 400.
  auto none = answer(get("/federate"));
  CAF_CHECK_EQUAL(none.status, 200u);
  CAF_CHECK_EQUAL(none.body, "");
  CAF_CHECK_EQUAL(answer(get("/federate", "match[]=%7B%7D")).body, "");
  auto bad = answer(get("/federate", "match[]=up%5B5m%5D"));
  CAF_CHECK_EQUAL(bad.status, 400u);
  CAF_CHECK_EQUAL(bad.content_type, "text/plain; charset=utf-8");
  CAF_CHECK_EQUAL(bad.body, "1:3: parse error: unexpected \"[\"\n");
  auto esc = answer(get("/federate", "match[]=%zz"));
  CAF_CHECK_EQUAL(esc.status, 400u);
  CAF_CHECK(esc.body.find("error parsing form values: ") == 0);
  auto post = get("/federate", "match[]=up");
  post.method = "POST";
  auto not_allowed = answer(post);
  CAF_CHECK_EQUAL(not_allowed.status, 405u);
  CAF_CHECK_EQUAL(header(not_allowed, "Allow"), "GET, OPTIONS");
}

CAF_TEST(a storage failure is answered 503 so the sender retries) {
  disk->fail_appends = true;
  call(post_write(write_body("a", 1, now_ms())));
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL((*got)[0].status, 503u);
  CAF_CHECK_EQUAL(front->writes_in_flight(), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()

// Cluster mode, the whole write path of one node: the frontend splits the
// request by owner, the network actor sends each node its part, and the
// answer goes back through the frontend's HTTP mapping. The nodes (this
// node's gateway and its two links) are fakes that answer as scripted.
namespace {

struct append_script {
  caf::error fail;     ///< set: every append fails with it
  size_t batches = 0;  ///< appends received
};
using append_script_ptr = std::shared_ptr<append_script>;

peer_actor::behavior_type scripted_node(peer_actor::pointer, append_script_ptr sc) {
  auto no_reads = [] { return caf::make_error(error_code::internal, "the write tests read nothing"); };
  return {
    [sc](append_atom, append_batch& b) -> caf::result<append_result> {
      ++sc->batches;
      if (sc->fail)
        return sc->fail;
      return append_result{b.num_samples(), 0, {}, {}};
    },
    [no_reads](select_atom, select_request&) -> caf::result<select_result> { return no_reads(); },
    [no_reads](series_atom, meta_query&) -> caf::result<series_list> { return no_reads(); },
    [no_reads](label_names_atom, meta_query&) -> caf::result<string_list> { return no_reads(); },
    [no_reads](label_values_atom, meta_query&) -> caf::result<string_list> { return no_reads(); },
    [no_reads](metadata_fetch_atom, metadata_query&) -> caf::result<metadata_records> { return no_reads(); },
    [](fetch_cancel_atom, uint64_t) {},
  };
}

// This node's head shard, scripted alike: a cluster node appends its own
// part to its shards directly.
head_block_actor::behavior_type scripted_shard(head_block_actor::pointer, append_script_ptr sc) {
  return {
    [sc](append_atom, append_batch& b) -> caf::result<append_result> {
      ++sc->batches;
      if (sc->fail)
        return sc->fail;
      return append_result{b.num_samples(), 0, {}, {}};
    },
    [](select_atom, select_request&) { return select_result{}; },
    [](series_atom, meta_query&) { return series_list{}; },
    [](label_names_atom, meta_query&) { return string_list{}; },
    [](label_values_atom, meta_query&) { return string_list{}; },
    [](stats_atom) { return shard_stats{}; },
    [](cut_atom, int64_t, int64_t) { return head_cursor{}; },
    [](read_head_atom) { return head_cursor{}; },
    [](head_page_atom, uint64_t, uint64_t, uint64_t) { return select_result{}; },
    [](truncate_atom, int64_t) { return shard_stats{}; },
    [](series_records_atom) { return series_records{}; },
    [](cardinality_atom) { return nl::storage::head_cardinality{}; },
    [](delete_series_atom, series_deletion&) { return uint64_t{0}; },
  };
}

// A snappy-compressed WriteRequest of `n` series up{i=...}, one sample each:
// enough for every owner set of three nodes.
std::string many_series_body(int n) {
  std::vector<nl::protocol::write_series> ws;
  for (int i = 0; i < n; ++i) {
    nl::protocol::write_series s;
    s.labels = {{"__name__", "up"}, {"i", std::to_string(i)}};
    s.samples = {{now_ms() - 1000, 1.0}};
    ws.push_back(std::move(s));
  }
  return nl::protocol::snappy_encode(nl::protocol::encode_write_request(ws));
}

struct cluster_write_fixture : fixture {
  std::vector<append_script_ptr> nodes;  ///< a (this node: its one head shard), b, c
  std::shared_ptr<cluster_view> view;
  std::vector<peer_actor> peers;  ///< b and c; a's gateway, which no write reaches, is a script too
  head_block_actor shard;
  network_actor net;

  // A request over the budget (30 samples, 10 allowed) is admitted when
  // nothing else is in flight: one at a time here.
  void start(size_t write_quorum) {
    cluster_settings c;
    c.name = "t";
    c.self = "a";
    c.nodes = {{"a", "h:1"}, {"b", "h:2"}, {"c", "h:3"}};
    c.replication_factor = 2;
    c.write_quorum = write_quorum;
    view = std::make_shared<cluster_view>(c);
    view->set_up(1, true);
    view->set_up(2, true);
    for (int i = 0; i < 3; ++i) {
      nodes.push_back(std::make_shared<append_script>());
      peers.push_back(sys.spawn(scripted_node, i == 0 ? std::make_shared<append_script>() : nodes.back()));
    }
    shard = sys.spawn(scripted_shard, nodes[0]);
    net = sys.spawn(network, std::vector<head_block_actor>{shard}, index_actor{}, query_planner_actor{},
                    std::chrono::milliseconds(1000), compactor_actor{}, metadata_actor{}, metadata_reader_actor{},
                    peers);
    front->set_cluster(view);
    front->attach(net, 1);
    sched.run();
  }

  size_t batches_sent() const {
    size_t n = 0;
    for (auto& sc : nodes)
      n += sc->batches;
    return n;
  }

  ~cluster_write_fixture() {
    caf::anon_send_exit(net, caf::exit_reason::user_shutdown);
    for (auto& p : peers)
      caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    sched.run();
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(cluster_write_tests, cluster_write_fixture)

CAF_TEST(a replicated write is 204 once every series has its quorum) {
  start(2);
  auto r = answer(post_write(many_series_body(30)));
  CAF_CHECK_EQUAL(r.status, 204u);
  for (auto& sc : nodes)
    CAF_CHECK_EQUAL(sc->batches, 1u);  // 30 series fall on every owner set
  CAF_CHECK_EQUAL(front->writes_in_flight(), 0);
}

CAF_TEST(below the quorum a write is 503 with Retry-After naming the failed node) {
  start(2);
  nodes[1]->fail = caf::make_error(error_code::timeout, "no answer within 3s");
  auto r = answer(post_write(many_series_body(30)));
  CAF_CHECK_EQUAL(r.status, 503u);
  CAF_CHECK_EQUAL(header(r, "Retry-After"), std::to_string(cfg.server.retry_after_seconds));
  CAF_MESSAGE("body: " << r.body);
  CAF_CHECK(r.body.find("write quorum (2 copies) not reached: b: no answer within 3s") != std::string::npos);
  CAF_CHECK_EQUAL(front->writes_in_flight(), 0);
}

CAF_TEST(an overloaded peer makes the write 503 at once and the sender retries) {
  // The gateway's refusal over cluster.max_inflight_samples (or a full
  // link) comes back as the peer's answer: no timer runs here, so the 503
  // cannot be a request timeout.
  start(2);
  nodes[1]->fail = caf::make_error(error_code::overloaded,
                                   "node b has 9000 samples of peers' writes in flight (cluster.max_inflight_samples)");
  auto r = answer(post_write(many_series_body(30)));
  CAF_CHECK_EQUAL(r.status, 503u);
  CAF_CHECK_EQUAL(header(r, "Retry-After"), std::to_string(cfg.server.retry_after_seconds));
  CAF_CHECK(r.body.find("b: node b has 9000 samples of peers' writes in flight") != std::string::npos);
  CAF_CHECK_EQUAL(front->writes_in_flight(), 0);
  // Once b has room again, the resent write is 204.
  nodes[1]->fail = caf::error{};
  CAF_CHECK_EQUAL(answer(post_write(many_series_body(30))).status, 204u);
}

CAF_TEST(the shards of this node count as its replica) {
  start(2);
  nodes[0]->fail = caf::make_error(error_code::wal_deadline, "WAL busy");
  auto r = answer(post_write(many_series_body(30)));
  CAF_CHECK_EQUAL(r.status, 503u);
  CAF_CHECK_EQUAL(nodes[0]->batches, 1u);  // one shard: the whole local part
  CAF_CHECK(r.body.find("a: WAL busy") != std::string::npos);
  CAF_CHECK_EQUAL(front->writes_in_flight(), 0);
}

CAF_TEST(a replica beyond the quorum may fail and the write is still 204) {
  start(1);
  nodes[1]->fail = caf::make_error(error_code::timeout, "no answer within 3s");
  auto r = answer(post_write(many_series_body(30)));
  CAF_CHECK_EQUAL(r.status, 204u);
  CAF_CHECK_EQUAL(nodes[1]->batches, 1u);
}

CAF_TEST(a batch a node calls bad is 400 so the sender drops it) {
  start(2);
  nodes[2]->fail = caf::make_error(error_code::bad_input, "node c refused the batch");
  auto r = answer(post_write(many_series_body(30)));
  CAF_CHECK_EQUAL(r.status, 400u);
  CAF_CHECK_EQUAL(header(r, "Retry-After"), "");
  CAF_CHECK(r.body.find("node c refused the batch") != std::string::npos);
}

CAF_TEST(with too few nodes up for the quorum nothing is sent and the write is 503) {
  start(2);
  view->set_up(1, false);
  view->set_up(2, false);
  auto r = answer(post_write(many_series_body(30)));
  CAF_CHECK_EQUAL(r.status, 503u);
  CAF_CHECK_EQUAL(header(r, "Retry-After"), std::to_string(cfg.server.retry_after_seconds));
  CAF_CHECK(r.body.find("write quorum (2 copies) not reached: 1 nodes reachable") != std::string::npos);
  CAF_CHECK_EQUAL(batches_sent(), 0u);
  CAF_CHECK_EQUAL(front->writes_in_flight(), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()

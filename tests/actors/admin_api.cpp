#define CAF_SUITE actors.admin_api
#include "test_support.hpp"

#include <caf/test/dsl.hpp>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <regex>

#include "actors/compactor.hpp"
#include "actors/frontend.hpp"
#include "actors/network.hpp"
#include "actors/storage_open.hpp"
#include "fake_wal_file.hpp"
#include "remote_write_body.hpp"
#include "storage/block/writer.hpp"
#include "storage/file.hpp"
#include "storage/wal/records.hpp"
#include "storage/wal/segment_writer.hpp"

using namespace nl::actors;
using nl::protocol::http_request;
using nl::protocol::http_response;
using nl::test::fake_wal_disk;
using nl::test::now_ms;
using nl::test::write_body;
namespace fs = std::filesystem;
namespace storage = nl::storage;

namespace {

http_request make_request(std::string method, std::string path, std::string query = {}) {
  http_request r;
  r.method = std::move(method);
  r.path = path;
  r.query = query;
  r.target = path + (query.empty() ? "" : "?" + query);
  return r;
}

http_request post_write(std::string body) {
  auto r = make_request("POST", "/api/v1/write");
  r.content_encoding = "snappy";
  r.content_type = "application/x-protobuf";
  r.body = std::move(body);
  return r;
}

std::string header(const http_response& r, const std::string& name) {
  for (auto& [k, v] : r.headers)
    if (k == name)
      return v;
  return "";
}

constexpr const char* disabled_body = R"({"status":"error","errorType":"unavailable","error":"admin APIs disabled"})";
constexpr const char* block_ulid = "01HZZZZZZZZZZZZZZZZZZZZZZA";

using nl::test::temp_dir;

// The whole chain: WAL writer (fake file), two shards, compactor (blocks in
// a temp data dir, which starts with one block of up{job="a"} and
// up{job="old"}), index, planner, network. The compactor is spawned
// scheduled so the test drives it.
struct fixture : test_coordinator_fixture<caf::actor_system_config> {
  temp_dir data;
  settings cfg;
  metrics stats;
  storage::wal_replay_progress replay;
  std::unique_ptr<frontend> front;
  std::shared_ptr<std::vector<http_response>> got = std::make_shared<std::vector<http_response>>();
  std::shared_ptr<fake_wal_disk> disk = std::make_shared<fake_wal_disk>();
  std::shared_ptr<storage::block_set> blocks;
  wal_writer_actor wal;
  std::vector<head_block_actor> shards;
  compactor_actor compact;
  index_actor idx;
  query_planner_actor planner;
  network_actor net;
  int64_t block_start = 0;

  fixture() {
    cfg.server.enable_admin_api = true;
    cfg.storage.data_dir = data.path;
    front = std::make_unique<frontend>(cfg, stats, &replay);
    block_start = (now_ms() / 7200000 - 2) * 7200000;
    blocks = std::make_shared<storage::block_set>(std::vector<storage::block_set::block_ptr>{old_block()});
    wal = sys.spawn(wal_writer, nl::test::fake_wal_writer(disk), wal_writer_options{fsync_policy::always, {}, &stats});
    for (size_t i = 0; i < 2; ++i) {
      head_block_options ho;
      ho.shard = i;
      ho.stats = &stats;
      storage::head_options hopts;
      hopts.ref_start = 1 + i;
      hopts.ref_stride = 2;
      shards.push_back(sys.spawn(head_block, std::make_shared<storage::head>(hopts), wal, ho));
    }
    compactor_options co;
    co.data_dir = data.path;
    co.stats = &stats;
    compact = sys.spawn(compactor, shards, wal, blocks, co, metadata_actor{});
    idx = sys.spawn(series_index, shards, blocks);
    planner = sys.spawn(query_planner, idx, query_planner_options{});
    net = sys.spawn(network, shards, idx, planner, std::chrono::milliseconds(1000), compact, metadata_actor{},
                    metadata_reader_actor{}, std::vector<peer_actor>{});
    front->attach(net, shards.size());
    sched.run();
  }

  ~fixture() {
    for (caf::actor_addr a : {net.address(), planner.address(), idx.address(), compact.address(),
                              shards[0].address(), shards[1].address(), wal.address()})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  // [block_start, + 2h): up{job="a"} and up{job="old"}, a sample a minute.
  storage::block_set::block_ptr old_block() {
    auto dir = blocks_dir(data.path);
    auto w = storage::block_writer::create(dir, block_ulid, block_start, block_start + 7200000);
    CAF_REQUIRE(w.is_ok());
    for (auto job : {"a", "old"}) {
      storage::xor_appender app;
      for (int64_t t = block_start; t < block_start + 7200000; t += 60000) {
        if (app.num_samples() == 120)
          break;
        app.append(t, 2.0);
      }
      auto labels = storage::label_set::from_unsorted({{"__name__", "up"}, {"job", job}});
      CAF_REQUIRE((*w)->add_series(labels, {app.cut()}).is_ok());
    }
    CAF_REQUIRE((*w)->finish().is_ok());
    auto b = storage::block::open(dir + "/" + block_ulid);
    CAF_REQUIRE(b.is_ok());
    return *b;
  }

  /// The answer to `rq` once the actors are done. No answer fails the
  /// test (and comes back as status 0).
  http_response answer(http_request rq) {
    auto before = got->size();
    auto target = rq.method + " " + rq.target;
    auto g = got;
    front->handle(std::move(rq), [g](http_response r) {
      nl::protocol::complete(r);
      g->push_back(std::move(r));
    });
    sched.run();
    if (got->size() == before) {
      CAF_ERROR(target << " got no answer");
      return http_response{0, {}, {}, {}};
    }
    return got->back();
  }

  std::string series(const std::string& match) {
    return answer(make_request("GET", "/api/v1/series", "match%5B%5D=" + match)).body;
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(admin_api_tests, fixture)

CAF_TEST(a disabled admin API answers 500 unavailable to every admin path) {
  cfg.server.enable_admin_api = false;
  for (auto path : {"/api/v1/admin/tsdb/snapshot", "/api/v1/admin/tsdb/delete_series",
                    "/api/v1/admin/tsdb/clean_tombstones"})
    for (auto method : {"POST", "PUT"}) {
      auto r = answer(make_request(method, path, "match[]=up"));
      CAF_CHECK_EQUAL(r.status, 500u);
      CAF_CHECK_EQUAL(r.content_type, "application/json");
      CAF_CHECK_EQUAL(r.body, disabled_body);
    }
  CAF_CHECK(!fs::exists(data.path + "/snapshots"));
  CAF_CHECK_EQUAL(stats.snapshots.load(), 0u);
}

CAF_TEST(admin paths take POST and PUT only) {
  auto r = answer(make_request("GET", "/api/v1/admin/tsdb/snapshot"));
  CAF_CHECK_EQUAL(r.status, 405u);
  CAF_CHECK_EQUAL(header(r, "Allow"), "OPTIONS, POST, PUT");
  CAF_CHECK_EQUAL(answer(make_request("GET", "/api/v1/admin/tsdb/nothing")).status, 404u);
  CAF_CHECK_EQUAL(frontend::handler_name("PUT", "/api/v1/admin/tsdb/delete_series"),
                  "/api/v1/admin/tsdb/delete_series");
}

CAF_TEST(a snapshot links the blocks and writes the head as a block) {
  auto t0 = now_ms() - 60000;
  CAF_CHECK_EQUAL(answer(post_write(write_body("a", 3, t0))).status, 204u);
  auto r = answer(make_request("POST", "/api/v1/admin/tsdb/snapshot"));
  CAF_REQUIRE_EQUAL(r.status, 200u);
  std::smatch mm;
  std::regex re{R"re(^\{"status":"success","data":\{"name":"(\d{8}T\d{6}Z-[0-9a-f]{16})"\}\}$)re"};
  CAF_REQUIRE(std::regex_match(r.body, mm, re));
  auto dir = data.path + "/snapshots/" + mm[1].str();
  CAF_REQUIRE(fs::is_directory(dir));
  std::vector<std::string> entries;
  for (auto& e : fs::directory_iterator(dir))
    entries.push_back(e.path().filename().string());
  CAF_REQUIRE_EQUAL(entries.size(), 2u);  // the block and the head's
  CAF_REQUIRE(fs::exists(dir + "/" + block_ulid + "/meta.json"));
  // Hard links: the same inode as the live block's file.
  CAF_CHECK_EQUAL(fs::hard_link_count(dir + "/" + block_ulid + "/chunks"), 2u);
  for (auto& name : entries) {
    auto b = storage::block::open(dir + "/" + name);
    CAF_REQUIRE(b.is_ok());
    CAF_CHECK((*b)->check().is_ok());
    if (name != block_ulid) {
      CAF_CHECK_EQUAL((*b)->meta().min_time, t0);
      CAF_CHECK_EQUAL((*b)->meta().max_time, t0 + 2001);
      CAF_CHECK_EQUAL((*b)->meta().num_samples, 3u);
    }
  }
  // The live head is untouched.
  CAF_CHECK_EQUAL(series("up%7Bjob%3D%22a%22%7D"), R"({"status":"success","data":[{"__name__":"up","job":"a"}]})");
  CAF_CHECK_EQUAL(stats.snapshots.load(), 1u);
  // skip_head: the blocks only; a bad value is refused as Prometheus does.
  auto put = make_request("PUT", "/api/v1/admin/tsdb/snapshot");
  put.content_type = "application/x-www-form-urlencoded";
  put.body = "skip_head=true";
  r = answer(put);
  CAF_REQUIRE_EQUAL(r.status, 200u);
  CAF_REQUIRE(std::regex_match(r.body, mm, re));
  size_t n = 0;
  for (auto& e : fs::directory_iterator(data.path + "/snapshots/" + mm[1].str()))
    n += e.is_directory() ? 1 : 0;
  CAF_CHECK_EQUAL(n, 1u);
  r = answer(make_request("POST", "/api/v1/admin/tsdb/snapshot", "skip_head=maybe"));
  CAF_CHECK_EQUAL(r.status, 400u);
  CAF_CHECK_EQUAL(r.body, R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"skip_head\": )"
                          R"(unable to parse boolean: strconv.ParseBool: parsing \"maybe\": invalid syntax"})");
}

CAF_TEST(delete_series hides the data of the head and of the blocks) {
  auto t0 = now_ms() - 60000;
  CAF_CHECK_EQUAL(answer(post_write(write_body("a", 3, t0))).status, 204u);
  CAF_CHECK_EQUAL(answer(post_write(write_body("b", 3, t0))).status, 204u);
  auto none = answer(make_request("POST", "/api/v1/admin/tsdb/delete_series"));
  CAF_CHECK_EQUAL(none.status, 400u);
  CAF_CHECK_EQUAL(none.body, R"({"status":"error","errorType":"bad_data","error":"no match[] parameter provided"})");
  auto bad = answer(make_request("POST", "/api/v1/admin/tsdb/delete_series", "match[]=sum(up)"));
  CAF_CHECK_EQUAL(bad.status, 400u);
  CAF_CHECK_EQUAL(bad.body, R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"match[]\": )"
                            R"(1:4: parse error: unexpected \"(\""})");
  auto bad_start = answer(make_request("POST", "/api/v1/admin/tsdb/delete_series", "match[]=up&start=x"));
  CAF_CHECK_EQUAL(bad_start.status, 400u);
  CAF_CHECK(bad_start.body.find(R"(invalid parameter \"start\")") != std::string::npos);
  auto wal_bytes = disk->bytes.size();
  // job="a" everywhere, all times (the block's and the head's).
  auto r = answer(make_request("PUT", "/api/v1/admin/tsdb/delete_series", "match[]=up%7Bjob%3D%22a%22%7D"));
  CAF_CHECK_EQUAL(r.status, 204u);
  CAF_CHECK(r.body.empty());
  CAF_CHECK_GREATER(disk->bytes.size(), wal_bytes);  // the tombstones record
  CAF_CHECK_EQUAL(series("up"), R"({"status":"success","data":[{"__name__":"up","job":"b"},)"
                                R"({"__name__":"up","job":"old"}]})");
  CAF_CHECK(fs::exists(blocks_dir(data.path) + "/" + block_ulid + "/tombstones"));
  CAF_CHECK_EQUAL(blocks->snapshot().at(0)->tombstones().size(), 1u);
  // A time range: job="old" loses its first hour only, so it stays.
  auto form = make_request("POST", "/api/v1/admin/tsdb/delete_series");
  form.content_type = "application/x-www-form-urlencoded";
  form.body = "match%5B%5D=up%7Bjob%3D%22old%22%7D&start=" + std::to_string(block_start / 1000)
              + "&end=" + std::to_string(block_start / 1000 + 3599);
  CAF_CHECK_EQUAL(answer(form).status, 204u);
  CAF_CHECK_EQUAL(series("up%7Bjob%3D%22old%22%7D"), R"({"status":"success","data":[{"__name__":"up","job":"old"}]})");
  auto q = answer(make_request("GET", "/api/v1/query",
                          "query=count_over_time(up%7Bjob%3D%22old%22%7D%5B1d%5D)&time="
                            + std::to_string(block_start / 1000 + 7200)));
  CAF_CHECK_EQUAL(q.status, 200u);
  CAF_CHECK(q.body.find(R"("60"])") != std::string::npos);  // 120 minutes less 60
  CAF_CHECK_EQUAL(stats.series_deletions.load(), 2u);

  // clean_tombstones rewrites the block without them.
  auto c = answer(make_request("POST", "/api/v1/admin/tsdb/clean_tombstones"));
  CAF_CHECK_EQUAL(c.status, 204u);
  auto now = blocks->snapshot();
  CAF_REQUIRE_EQUAL(now.size(), 1u);
  CAF_CHECK_NOT_EQUAL(now[0]->meta().ulid, block_ulid);
  CAF_CHECK(now[0]->tombstones().empty());
  CAF_CHECK_EQUAL(now[0]->meta().num_series, 1u);
  CAF_CHECK_EQUAL(now[0]->meta().num_samples, 60u);
  CAF_CHECK(!fs::exists(blocks_dir(data.path) + "/" + block_ulid));
  CAF_CHECK_EQUAL(series("up"), R"({"status":"success","data":[{"__name__":"up","job":"b"},)"
                                R"({"__name__":"up","job":"old"}]})");
  CAF_CHECK_EQUAL(stats.tombstone_cleanups.load(), 1u);
  // Nothing left to clean: still 204.
  CAF_CHECK_EQUAL(answer(make_request("POST", "/api/v1/admin/tsdb/clean_tombstones")).status, 204u);
  CAF_CHECK_EQUAL(stats.tombstone_cleanups.load(), 2u);
  auto m = stats.render();
  CAF_CHECK(m.find("nightlight_delete_series_requests_total 2\n") != std::string::npos);
  CAF_CHECK(m.find("nightlight_tombstone_cleanups_total 2\n") != std::string::npos);
  CAF_CHECK(m.find("nightlight_snapshots_total 0\n") != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(a restart replays deletions from the WAL into the right shards) {
  temp_dir d;
  {
    auto w = storage::wal_segment_writer::open(d.path + "/wal", 1 << 20);
    CAF_REQUIRE(w.is_ok());
    auto put = [&](const std::string& rec) { CAF_REQUIRE((*w)->append(rec).is_ok()); };
    std::string rec;
    std::vector<storage::series_record> series;
    for (uint64_t ref = 1; ref <= 4; ++ref)
      series.push_back({ref, storage::label_set::from_unsorted({{"__name__", "up"}, {"job", std::to_string(ref)}})});
    storage::encode_series(series, rec);
    put(rec);
    std::vector<storage::sample_record> samples;
    for (uint64_t ref = 1; ref <= 4; ++ref)
      for (int64_t t = 1000; t <= 5000; t += 1000)
        samples.push_back({ref, t, 1.0});
    rec.clear();
    storage::encode_samples(samples, rec);
    put(rec);
    rec.clear();
    storage::encode_tombstone_records({{1, 2000, 3000}, {2, 0, 10000}, {3, 5000, 5000}}, rec);
    put(rec);
    rec.clear();
    storage::encode_samples({{2, 6000, 1.0}}, rec);
    put(rec);
    CAF_REQUIRE((*w)->close().is_ok());
  }
  settings s;
  s.storage.data_dir = d.path;
  auto opened = open_storage(s, 2, false);
  CAF_REQUIRE(opened.is_ok());
  std::map<std::string, size_t> left;
  for (auto& h : opened->heads)
    for (auto& snap : h->select({}, INT64_MIN, INT64_MAX)) {
      std::vector<storage::sample> xs;
      CAF_REQUIRE(storage::decode_chunks(snap.chunks, INT64_MIN, INT64_MAX, xs).is_ok());
      left[std::string{snap.labels.get("job")}] = xs.size();
    }
  CAF_CHECK_EQUAL(left["1"], 3u);
  CAF_CHECK_EQUAL(left["2"], 1u);  // the sample written after the deletion
  CAF_CHECK_EQUAL(left["3"], 4u);
  CAF_CHECK_EQUAL(left["4"], 5u);
  opened->lock.release();
}

#define CAF_SUITE actors.remote_reader
#include "test_support.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "actors/frontend.hpp"
#include "actors/network.hpp"
#include "protocol/pb_wire.hpp"
#include "protocol/remote_read.hpp"
#include "protocol/snappy_block.hpp"
#include "remote.pb.h"
#include "storage/block/block_set.hpp"
#include "storage/block/writer.hpp"
#include "storage/coding.hpp"
#include "storage/label_key.hpp"

using namespace nl::actors;
using nl::protocol::http_body_source;
using nl::protocol::http_request;
using nl::protocol::http_response;
using nl::storage::float_bits;
using nl::storage::label_set;
using nl::storage::sample;

namespace {

using namespace std::chrono_literals;

// Replies arrive on actor threads (readers run detached); tests wait for
// them, never longer than 10 s.
struct reply_box {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<http_response> items;

  void add(http_response r) {
    std::lock_guard<std::mutex> g{mtx};
    items.push_back(std::move(r));
    cv.notify_all();
  }
  size_t size() {
    std::lock_guard<std::mutex> g{mtx};
    return items.size();
  }
  /// The n-th reply (0-based), once it came; fails the test otherwise.
  http_response at(size_t n) {
    std::unique_lock<std::mutex> g{mtx};
    if (!cv.wait_for(g, 10s, [&] { return items.size() > n; }))
      CAF_FAIL("no reply number " << n + 1 << " within 10 s");
    return items[n];
  }
};
using replies = std::shared_ptr<reply_box>;

// Waits (at most 10 s) until `pred` holds.
template <class Pred>
bool wait_for(Pred pred) {
  for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    if (pred())
      return true;
    std::this_thread::sleep_for(1ms);
  }
  return pred();
}

label_set series_labels(int i) {
  return label_set::from_unsorted({{"__name__", "m"}, {"i", std::to_string(100000 + i)}});
}

// Sample j of series i: t = j * 1000, with a staleness marker at j == 5.
double value_of(int i, int j) { return j == 5 ? nl::storage::stale_nan() : i * 1000.0 + j; }

struct query_spec {
  int64_t start = 0;
  int64_t end = 0;
  std::vector<std::tuple<int, std::string, std::string>> matchers;  // type, name, value
  std::optional<std::tuple<int64_t, int64_t, std::string>> hints;   // start, end, func
};

std::string read_body(const std::vector<query_spec>& qs, std::vector<int> accepted = {}) {
  prometheus::ReadRequest req;
  for (const auto& q : qs) {
    auto* pq = req.add_queries();
    pq->set_start_timestamp_ms(q.start);
    pq->set_end_timestamp_ms(q.end);
    for (const auto& [type, name, value] : q.matchers) {
      auto* m = pq->add_matchers();
      m->set_type(static_cast<prometheus::LabelMatcher_Type>(type));
      m->set_name(name);
      m->set_value(value);
    }
    if (q.hints) {
      pq->mutable_hints()->set_start_ms(std::get<0>(*q.hints));
      pq->mutable_hints()->set_end_ms(std::get<1>(*q.hints));
      pq->mutable_hints()->set_func(std::get<2>(*q.hints));
    }
  }
  for (int t : accepted)
    req.add_accepted_response_types(static_cast<prometheus::ReadRequest_ResponseType>(t));
  return nl::protocol::snappy_encode(req.SerializeAsString());
}

http_request post_read(std::string body) {
  http_request r;
  r.method = "POST";
  r.path = r.target = "/api/v1/read";
  r.content_encoding = "snappy";
  r.content_type = "application/x-protobuf";
  r.body = std::move(body);
  r.cancellation = std::make_shared<nl::protocol::http_cancellation>();
  return r;
}

query_spec all_of_m(int64_t start, int64_t end) {
  return {start, end, {{0, "__name__", "m"}}, std::nullopt};
}

// One decoded frame of a streamed answer.
struct frame {
  int64_t query_index;
  label_set labels;
  std::vector<sample> samples;
  size_t chunks;
};

// Splits a streamed body into frames, checking every CRC.
std::vector<frame> frames_of(const std::string& body) {
  std::vector<frame> out;
  const char* p = body.data();
  const char* end = p + body.size();
  while (p < end) {
    uint64_t len = 0;
    CAF_REQUIRE(nl::protocol::pb::reader::decode_varint(p, end, len));
    CAF_REQUIRE(static_cast<uint64_t>(end - p) >= 4 + len);
    auto u = [&](int k) { return static_cast<uint32_t>(static_cast<unsigned char>(p[k])); };
    uint32_t crc = u(0) << 24 | u(1) << 16 | u(2) << 8 | u(3);  // big-endian
    std::string msg(p + 4, len);
    p += 4 + len;
    CAF_CHECK_EQUAL(crc, nl::storage::crc32c(msg));
    prometheus::ChunkedReadResponse r;
    CAF_REQUIRE(r.ParseFromString(msg));
    CAF_REQUIRE_EQUAL(r.chunked_series_size(), 1);
    frame f;
    f.query_index = r.query_index();
    std::vector<nl::storage::label> ls;
    for (const auto& l : r.chunked_series(0).labels())
      ls.push_back({l.name(), l.value()});
    f.labels = label_set::from_unsorted(std::move(ls));
    f.chunks = static_cast<size_t>(r.chunked_series(0).chunks_size());
    for (const auto& c : r.chunked_series(0).chunks()) {
      CAF_CHECK_EQUAL(c.type(), prometheus::Chunk::XOR);
      auto x = nl::storage::xor_chunk::from_bytes(c.data());
      CAF_REQUIRE(x.is_ok());
      CAF_CHECK_EQUAL(x->min_time(), c.min_time_ms());
      CAF_CHECK_EQUAL(x->max_time(), c.max_time_ms());
      CAF_REQUIRE(x->decode(INT64_MIN, INT64_MAX, f.samples).is_ok());
    }
    out.push_back(std::move(f));
  }
  return out;
}

// `n` series m{i="1000xx"} in two shards, samples at j * 1000 for j in
// [0, samples); with `blocks`, also a block holding j in [0, 20) of every
// series, which the head's samples overlap. A real actor system: the
// network actor gives each reader a thread of its own.
struct fixture {
  caf::actor_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  settings cfg;
  metrics stats;
  nl::test::temp_dir dir;
  std::unique_ptr<frontend> front;
  replies got = std::make_shared<reply_box>();
  std::vector<head_block_actor> shards;
  index_actor idx;
  network_actor net;

  void start(int n, int samples, bool with_block = false) {
    front = std::make_unique<frontend>(cfg, stats);
    std::vector<std::shared_ptr<nl::storage::head>> heads;
    for (size_t s = 0; s < 2; ++s) {
      nl::storage::head_options o;
      o.ref_start = 1 + s;
      o.ref_stride = 2;
      o.out_of_bounds_window_ms = INT64_MAX / 2;
      heads.push_back(std::make_shared<nl::storage::head>(o));
    }
    for (int i = 0; i < n; ++i) {
      auto ls = series_labels(i);
      auto& h = *heads[ls.hash() % 2];
      auto slot = h.get_or_create(ls.hash(), nl::storage::label_key(ls));
      CAF_REQUIRE(slot.is_ok());
      for (int j = 0; j < samples; ++j)
        CAF_REQUIRE(h.append(slot->ref(), j * 1000, value_of(i, j)).is_ok());
    }
    std::shared_ptr<nl::storage::block_set> blocks;
    if (with_block) {
      auto w = nl::storage::block_writer::create(dir.path, "01HZZZZZZZZZZZZZZZZZZZZZZA", 0, 20000);
      CAF_REQUIRE(w.is_ok());
      for (int i = 0; i < n; ++i) {
        nl::storage::xor_appender app;
        for (int j = 0; j < 20; ++j)
          app.append(j * 1000, value_of(i, j));
        CAF_REQUIRE((*w)->add_series(series_labels(i), {app.cut()}).is_ok());
      }
      CAF_REQUIRE((*w)->finish().is_ok());
      auto b = nl::storage::block::open(dir.path + "/01HZZZZZZZZZZZZZZZZZZZZZZA");
      CAF_REQUIRE(b.is_ok());
      blocks = std::make_shared<nl::storage::block_set>(std::vector<nl::storage::block_set::block_ptr>{*b});
    }
    for (size_t s = 0; s < 2; ++s) {
      head_block_options ho;
      ho.shard = s;
      ho.stats = &stats;
      shards.push_back(sys.spawn(head_block, heads[s], wal_writer_actor{}, ho));
    }
    idx = sys.spawn(series_index, shards, blocks);
    net = sys.spawn(network, shards, idx, query_planner_actor{}, std::chrono::milliseconds(1000), compactor_actor{},
                    metadata_actor{}, metadata_reader_actor{}, std::vector<peer_actor>{});
    front->attach(net, shards.size());
  }

  // Streams nobody took are cancelled, so that their readers end and the
  // actor system can shut down.
  ~fixture() {
    for (auto& r : got->items)
      if (r.stream)
        r.stream->cancel();
    for (caf::actor_addr a : {net.address(), idx.address(), shards[0].address(), shards[1].address()})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    // Actors and readers use `stats`, `cfg` and `front`, which die before
    // `sys`: wait for every actor while they are still alive.
    sys.await_all_actors_done();
  }

  void call(http_request rq) {
    auto g = got;
    front->handle(std::move(rq), [g](http_response r) { g->add(std::move(r)); });
  }

  http_response answer(http_request rq) {
    auto before = got->size();
    call(std::move(rq));
    return got->at(before);
  }

  // Takes a streamed body piece by piece, as the HTTP server does;
  // `max_pieces` stops early. Returns the bytes and whether the last piece
  // came.
  std::pair<std::string, bool> drain(http_body_source& src, size_t max_pieces = SIZE_MAX, size_t* pieces = nullptr) {
    std::string body;
    size_t n = 0;
    for (;;) {
      if (n == max_pieces)
        return {body, false};
      struct slot {
        std::mutex mtx;
        std::condition_variable cv;
        std::optional<http_body_source::piece> p;
      };
      auto box = std::make_shared<slot>();
      src.pull([box](http_body_source::piece x) {
        std::lock_guard<std::mutex> g{box->mtx};
        box->p = std::move(x);
        box->cv.notify_all();
      });
      std::unique_lock<std::mutex> g{box->mtx};
      CAF_REQUIRE(box->cv.wait_for(g, 10s, [&] { return box->p.has_value(); }));
      http_body_source::piece p = std::move(*box->p);
      ++n;
      if (pieces)
        *pieces = n;
      body += p.bytes;
      CAF_REQUIRE(!p.failed);
      if (p.last)
        return {body, true};
    }
  }

  prometheus::ReadResponse samples_answer(const http_response& r) {
    CAF_CHECK_EQUAL(r.status, 200u);
    CAF_CHECK_EQUAL(r.content_type, "application/x-protobuf");
    CAF_CHECK(std::find(r.headers.begin(), r.headers.end(), std::pair<std::string, std::string>{"Content-Encoding", "snappy"})
              != r.headers.end());
    std::string raw;
    CAF_REQUIRE(nl::protocol::snappy_decode(r.body, raw, 1u << 30).is_ok());
    prometheus::ReadResponse resp;
    CAF_REQUIRE(resp.ParseFromString(raw));
    return resp;
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(remote_reader_tests, fixture)

CAF_TEST(a samples read answers every query with its samples in range) {
  start(5, 30);
  query_spec narrow{2000, 9000, {{0, "i", "100002"}}, std::nullopt};
  query_spec regex{0, 100000, {{2, "i", "10000[13]"}, {1, "__name__", "x"}}, std::nullopt};
  query_spec none{0, 100000, {{3, "__name__", "m"}}, std::nullopt};
  query_spec no_matchers{0, 100000, {}, std::nullopt};
  auto resp = samples_answer(answer(post_read(read_body({narrow, regex, none, no_matchers}))));
  CAF_REQUIRE_EQUAL(resp.results_size(), 4);
  CAF_REQUIRE_EQUAL(resp.results(0).timeseries_size(), 1);
  const auto& ts = resp.results(0).timeseries(0);
  CAF_CHECK_EQUAL(ts.labels(1).value(), "100002");
  CAF_REQUIRE_EQUAL(ts.samples_size(), 8);  // t = 2000 .. 9000
  for (int k = 0; k < 8; ++k) {
    CAF_CHECK_EQUAL(ts.samples(k).timestamp(), (k + 2) * 1000);
    CAF_CHECK_EQUAL(float_bits(ts.samples(k).value()), float_bits(value_of(2, k + 2)));  // StaleNaN too
  }
  CAF_REQUIRE_EQUAL(resp.results(1).timeseries_size(), 2);  // sorted by labels
  CAF_CHECK_EQUAL(resp.results(1).timeseries(0).labels(1).value(), "100001");
  CAF_CHECK_EQUAL(resp.results(1).timeseries(1).labels(1).value(), "100003");
  CAF_CHECK_EQUAL(resp.results(1).timeseries(1).samples_size(), 30);
  CAF_CHECK_EQUAL(resp.results(2).timeseries_size(), 0);
  CAF_CHECK_EQUAL(resp.results(3).timeseries_size(), 0);  // no matchers select nothing, as in Prometheus
  CAF_CHECK(wait_for([&] { return stats.remote_read_queries.load() == 0; }));
}

CAF_TEST(hints choose the range and series lookups come without samples) {
  start(3, 30);
  query_spec ranged{0, 100000, {{0, "i", "100001"}}, std::tuple<int64_t, int64_t, std::string>{10000, 12000, "rate"}};
  query_spec lookup{0, 100000, {{0, "__name__", "m"}}, std::tuple<int64_t, int64_t, std::string>{0, 100000, "series"}};
  auto resp = samples_answer(answer(post_read(read_body({ranged, lookup}))));
  CAF_REQUIRE_EQUAL(resp.results_size(), 2);
  CAF_REQUIRE_EQUAL(resp.results(0).timeseries_size(), 1);
  CAF_CHECK_EQUAL(resp.results(0).timeseries(0).samples_size(), 3);
  CAF_CHECK_EQUAL(resp.results(0).timeseries(0).samples(0).timestamp(), 10000);
  CAF_REQUIRE_EQUAL(resp.results(1).timeseries_size(), 3);
  for (const auto& s : resp.results(1).timeseries())
    CAF_CHECK_EQUAL(s.samples_size(), 0);
}

CAF_TEST(the sample limit counts each query on its own) {
  cfg.server.remote_read_sample_limit = 60;
  start(2, 30);
  // 60 samples in each query: at the limit, not over it.
  CAF_CHECK_EQUAL(answer(post_read(read_body({all_of_m(0, 29000), all_of_m(0, 29000)}))).status, 200u);
  cfg.server.remote_read_sample_limit = 59;
  auto r = answer(post_read(read_body({all_of_m(0, 29000)})));
  CAF_CHECK_EQUAL(r.status, 400u);
  CAF_CHECK_EQUAL(r.content_type, "text/plain; charset=utf-8");
  CAF_CHECK_EQUAL(r.body, "exceeded sample limit (59)\n");
  // A streamed answer has no sample limit, as in Prometheus.
  auto s = answer(post_read(read_body({all_of_m(0, 29000)}, {1})));
  CAF_REQUIRE(s.stream != nullptr);
  auto frames = frames_of(drain(*s.stream).first);
  CAF_CHECK_EQUAL(frames.size(), 2u);
}

CAF_TEST(bad requests are refused with 400 and a message) {
  start(1, 1);
  auto garbage = answer(post_read(nl::protocol::snappy_encode("\x0a\x05\x1a\x10")));
  CAF_CHECK_EQUAL(garbage.status, 400u);
  CAF_CHECK_EQUAL(garbage.body, "protobuf: length 5 exceeds the enclosing message at offset 2\n");
  auto unsnappy = answer(post_read("not snappy at all"));
  CAF_CHECK_EQUAL(unsnappy.status, 400u);
  CAF_CHECK_EQUAL(unsnappy.body, "snappy: corrupt input\n");
  auto types = answer(post_read(read_body({all_of_m(0, 1)}, {7})));
  CAF_CHECK_EQUAL(types.status, 400u);
  CAF_CHECK_EQUAL(types.body, "server does not support any of the requested response types: [7]; "
                              "supported: map[SAMPLES:{} STREAMED_XOR_CHUNKS:{}]\n");
  auto regex = answer(post_read(read_body({{0, 1, {{2, "__name__", "(unclosed"}}, std::nullopt}})));
  CAF_CHECK_EQUAL(regex.status, 400u);
  CAF_CHECK(regex.body.find("error parsing regexp") != std::string::npos);
  auto huge = answer(post_read(std::string("\x80\x80\x80\x80\x04", 5)));  // announces 1 GiB
  CAF_CHECK_EQUAL(huge.status, 413u);
  CAF_CHECK(wait_for([&] { return stats.remote_read_queries.load() == 0; }));
}

CAF_TEST(a streamed read pages through many series in label order) {
  // More series per shard than a page holds (4096): several pages.
  const int n = 10000;
  start(n, 8);
  query_spec first{0, 100000, {{2, "i", "10[0-9]*"}}, std::nullopt};
  query_spec second{3000, 4000, {{0, "i", "100007"}}, std::nullopt};
  auto r = answer(post_read(read_body({first, second}, {1, 0})));
  CAF_CHECK_EQUAL(r.status, 200u);
  CAF_CHECK_EQUAL(r.content_type,
                  "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse");
  for (const auto& h : r.headers)
    CAF_CHECK_NOT_EQUAL(h.first, "Content-Encoding");  // frames are not compressed
  CAF_REQUIRE(r.stream != nullptr);
  size_t pieces = 0;
  auto [body, complete] = drain(*r.stream, SIZE_MAX, &pieces);
  CAF_CHECK(complete);
  auto frames = frames_of(body);
  // One frame a piece; the end comes with the last frame when the reader
  // finished before it was pulled, else as a piece of its own.
  CAF_CHECK_GREATER_OR_EQUAL(pieces, frames.size());
  CAF_CHECK_LESS_OR_EQUAL(pieces, frames.size() + 1);
  CAF_REQUIRE_EQUAL(frames.size(), static_cast<size_t>(n + 1));
  for (int i = 0; i < n; ++i) {
    const auto& f = frames[static_cast<size_t>(i)];
    CAF_CHECK_EQUAL(f.query_index, 0);
    CAF_REQUIRE_EQUAL(f.labels, series_labels(i));
    CAF_REQUIRE_EQUAL(f.samples.size(), 8u);
    for (int j = 0; j < 8; ++j)
      CAF_CHECK_EQUAL(float_bits(f.samples[static_cast<size_t>(j)].v), float_bits(value_of(i, j)));
  }
  // Whole chunks, as Prometheus sends them: the client trims to its range.
  CAF_CHECK_EQUAL(frames.back().query_index, 1);
  CAF_CHECK_EQUAL(frames.back().labels, series_labels(7));
  CAF_CHECK_EQUAL(frames.back().samples.size(), 8u);
  CAF_CHECK(wait_for([&] { return stats.remote_read_queries.load() == 0; }));
}

CAF_TEST(overlapping chunks of a block and the head are merged) {
  start(40, 30, true);  // the block holds j < 20, the head j < 30
  auto s = answer(post_read(read_body({all_of_m(0, 100000)}, {1})));
  CAF_REQUIRE(s.stream != nullptr);
  auto frames = frames_of(drain(*s.stream).first);
  CAF_REQUIRE_EQUAL(frames.size(), 40u);
  for (size_t i = 0; i < frames.size(); ++i) {
    // Every sample once, in time order, across the frame's chunks.
    CAF_REQUIRE_EQUAL(frames[i].samples.size(), 30u);
    for (size_t j = 0; j < 30; ++j) {
      CAF_CHECK_EQUAL(frames[i].samples[j].t, static_cast<int64_t>(j) * 1000);
      CAF_CHECK_EQUAL(float_bits(frames[i].samples[j].v), float_bits(value_of(static_cast<int>(i), static_cast<int>(j))));
    }
  }
  auto resp = samples_answer(answer(post_read(read_body({all_of_m(5000, 25000)}))));
  CAF_REQUIRE_EQUAL(resp.results(0).timeseries_size(), 40);
  CAF_CHECK_EQUAL(resp.results(0).timeseries(39).samples_size(), 21);
}

CAF_TEST(reads beyond the concurrency limit wait for a slot) {
  cfg.server.remote_read_concurrent_limit = 1;
  start(3, 10);
  // A streamed read holds its slot until its body is taken.
  auto first = answer(post_read(read_body({all_of_m(0, 100000)}, {1})));
  CAF_REQUIRE(first.stream != nullptr);
  // The second waits; a third whose client leaves while it waits is
  // dropped when its turn comes.
  call(post_read(read_body({all_of_m(0, 100000)})));
  auto third = post_read(read_body({all_of_m(0, 100000)}));
  auto leaving = third.cancellation;
  call(std::move(third));
  // Both wait in the frontend (queued there at once, nothing sent on).
  CAF_CHECK_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL(stats.remote_read_queries.load(), 3);
  leaving->cancel();
  auto frames = frames_of(drain(*first.stream).first);
  CAF_CHECK_EQUAL(frames.size(), 3u);
  // The second is read; the third, dropped, answers its gone client 503.
  CAF_CHECK_EQUAL(samples_answer(got->at(1)).results(0).timeseries_size(), 3);
  CAF_CHECK_EQUAL(got->at(2).status, 503u);
  CAF_CHECK(wait_for([&] { return stats.remote_read_queries.load() == 0; }));
}

CAF_TEST(a client that goes away stops the read and frees its slot) {
  cfg.server.remote_read_concurrent_limit = 1;
  start(10000, 8);
  auto r = answer(post_read(read_body({all_of_m(0, 100000)}, {1})));
  CAF_REQUIRE(r.stream != nullptr);
  auto [some, complete] = drain(*r.stream, 10);
  CAF_CHECK(!complete);
  CAF_CHECK_EQUAL(frames_of(some).size(), 10u);
  r.stream->cancel();
  CAF_CHECK(wait_for([&] { return stats.remote_read_queries.load() == 0; }));
  // The slot is free again.
  auto next = answer(post_read(read_body({{0, 100000, {{0, "i", "100003"}}, std::nullopt}})));
  CAF_CHECK_EQUAL(samples_answer(next).results(0).timeseries_size(), 1);
}

CAF_TEST_FIXTURE_SCOPE_END()

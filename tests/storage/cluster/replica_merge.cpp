#define CAF_SUITE storage.cluster.replica_merge
#include "test_support.hpp"

#include <cmath>
#include <limits>
#include <map>

#include "storage/cluster/replica_merge.hpp"
#include "storage/chunk/xor_chunk.hpp"
#include "storage/sample.hpp"

using namespace nl::storage;

namespace {

using chunk_ptr = std::shared_ptr<const chunk>;

label_set series_named(const std::string& i) {
  return label_set::from_unsorted({{"__name__", "up"}, {"i", i}});
}

// Chunks as a head cuts them: every `per_chunk` samples.
std::vector<chunk_ptr> chunks_of(const std::vector<sample>& samples, size_t per_chunk = 120) {
  std::vector<chunk_ptr> out;
  xor_appender app;
  for (const auto& s : samples) {
    app.append(s.t, s.v);
    if (app.num_samples() == per_chunk)
      out.push_back(app.cut());
  }
  if (!app.empty())
    out.push_back(app.cut());
  return out;
}

std::vector<sample> ramp(int64_t from, int64_t to, int64_t step = 1000) {
  std::vector<sample> out;
  for (int64_t t = from; t <= to; t += step)
    out.push_back({t, static_cast<double>(t / 1000)});
  return out;
}

series_snapshot snap(const std::string& i, std::vector<chunk_ptr> chunks) {
  series_snapshot s;
  s.labels = series_named(i);
  s.chunks = std::move(chunks);
  return s;
}

std::vector<sample> decoded(const series_snapshot& s) {
  std::vector<sample> out;
  CAF_CHECK(decode_chunks(s.chunks, INT64_MIN, INT64_MAX, out));
  return out;
}

bool same_samples(const std::vector<sample>& a, const std::vector<sample>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t k = 0; k < a.size(); ++k)
    if (a[k].t != b[k].t || float_bits(a[k].v) != float_bits(b[k].v))
      return false;
  return true;
}

std::vector<series_snapshot> merge(std::vector<std::vector<series_snapshot>> parts) {
  auto r = merge_replicas(std::move(parts));
  CAF_REQUIRE(r);
  return std::move(*r);
}

}  // namespace

CAF_TEST(identical replicas keep their chunks undecoded) {
  auto chunks = chunks_of(ramp(0, 599'000));  // 600 samples, 5 chunks
  // Equal bytes in distinct objects, as two nodes' answers arrive.
  std::vector<chunk_ptr> copy;
  for (const auto& c : chunks)
    copy.push_back(std::make_shared<const xor_chunk>(static_cast<const xor_chunk&>(*c)));
  auto out = merge({{snap("1", chunks)}, {snap("1", copy)}});
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_REQUIRE_EQUAL(out[0].chunks.size(), chunks.size());
  for (size_t k = 0; k < chunks.size(); ++k)
    CAF_CHECK(out[0].chunks[k] == chunks[k]);  // the first replica's, shared
}

CAF_TEST(series of one replica pass through and the answer stays sorted) {
  auto a = chunks_of(ramp(0, 10'000));
  auto b = chunks_of(ramp(0, 20'000));
  auto c = chunks_of(ramp(5'000, 8'000));
  auto out = merge({{snap("1", a), snap("3", c)}, {snap("2", b)}, {}});
  CAF_REQUIRE_EQUAL(out.size(), 3u);
  CAF_CHECK(out[0].labels == series_named("1"));
  CAF_CHECK(out[1].labels == series_named("2"));
  CAF_CHECK(out[2].labels == series_named("3"));
  CAF_CHECK(out[0].chunks == a);
  CAF_CHECK(out[1].chunks == b);
  CAF_CHECK(out[2].chunks == c);
}

CAF_TEST(a replica that missed samples is completed by the other) {
  // Node A was down from 100 s to 300 s; node C took its place then, and
  // holds only those samples.
  auto all = ramp(0, 500'000);
  std::vector<sample> on_a, on_c;
  for (const auto& s : all)
    (s.t >= 100'000 && s.t < 300'000 ? on_c : on_a).push_back(s);
  auto b = all;
  auto out = merge({{snap("1", chunks_of(on_a))}, {snap("1", chunks_of(b))}, {snap("1", chunks_of(on_c))}});
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(same_samples(decoded(out[0]), all));
  // Re-encoded chunks do not overlap and hold at most 120 samples each.
  for (size_t k = 0; k < out[0].chunks.size(); ++k) {
    CAF_CHECK_LESS_OR_EQUAL(out[0].chunks[k]->num_samples(), replica_merge_chunk_samples);
    if (k > 0)
      CAF_CHECK_GREATER(out[0].chunks[k]->min_time(), out[0].chunks[k - 1]->max_time());
  }
}

CAF_TEST(a newer tail on one replica keeps the shared chunks) {
  auto all = ramp(0, 299'000);  // 300 samples: chunks of 120, 120, 60
  std::vector<sample> older{all.begin(), all.begin() + 250};
  auto full = chunks_of(all);
  auto behind = chunks_of(older);
  auto out = merge({{snap("1", behind)}, {snap("1", full)}});
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_REQUIRE_GREATER_OR_EQUAL(out[0].chunks.size(), 3u);
  CAF_CHECK(out[0].chunks[0] == behind[0]);
  CAF_CHECK(out[0].chunks[1] == behind[1]);
  CAF_CHECK(same_samples(decoded(out[0]), all));
}

CAF_TEST(out of order data overlapping the shared chunks is merged in full) {
  // Both replicas share the first chunk; one also holds a late chunk that
  // reaches back into it (an out-of-order write stored on one node).
  auto first = chunks_of(ramp(0, 119'000));
  std::vector<sample> late{{500, 7.0}, {130'000, 1.0}};
  auto a = first;
  a.push_back(chunks_of(late)[0]);
  auto out = merge({{snap("1", a)}, {snap("1", first)}});
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  auto want = ramp(0, 119'000);
  want.insert(want.begin() + 1, sample{500, 7.0});
  want.push_back({130'000, 1.0});
  CAF_CHECK(same_samples(decoded(out[0]), want));
  for (size_t k = 1; k < out[0].chunks.size(); ++k)
    CAF_CHECK_GREATER(out[0].chunks[k]->min_time(), out[0].chunks[k - 1]->max_time());
}

CAF_TEST(differing values at one timestamp resolve by the rule in any order) {
  double nan = std::numeric_limits<double>::quiet_NaN();
  double inf = std::numeric_limits<double>::infinity();
  CAF_CHECK_EQUAL(pick_replica_value(1.0, 2.0), 2.0);
  CAF_CHECK_EQUAL(pick_replica_value(2.0, 1.0), 2.0);
  CAF_CHECK_EQUAL(pick_replica_value(-inf, -5.0), -5.0);
  CAF_CHECK(pick_replica_value(inf, 5.0) == inf);
  CAF_CHECK_EQUAL(pick_replica_value(stale_nan(), 3.0), 3.0);
  CAF_CHECK_EQUAL(pick_replica_value(3.0, stale_nan()), 3.0);
  CAF_CHECK_EQUAL(pick_replica_value(nan, -1.0), -1.0);
  CAF_CHECK_EQUAL(float_bits(pick_replica_value(0.0, -0.0)), float_bits(pick_replica_value(-0.0, 0.0)));
  CAF_CHECK_EQUAL(float_bits(pick_replica_value(stale_nan(), nan)), float_bits(pick_replica_value(nan, stale_nan())));
  // Through the merge, three replicas in every order give one answer.
  std::vector<std::vector<sample>> replicas{
    {{1000, 1.0}, {2000, 5.0}, {3000, stale_nan()}},
    {{1000, 1.0}, {2000, 4.0}, {3000, 2.0}},
    {{2000, 6.0}, {4000, 1.0}}};
  std::vector<sample> want{{1000, 1.0}, {2000, 6.0}, {3000, 2.0}, {4000, 1.0}};
  std::vector<size_t> order{0, 1, 2};
  do {
    std::vector<std::vector<series_snapshot>> parts;
    for (auto k : order)
      parts.push_back({snap("1", chunks_of(replicas[k]))});
    auto out = merge(std::move(parts));
    CAF_REQUIRE_EQUAL(out.size(), 1u);
    CAF_CHECK(same_samples(decoded(out[0]), want));
  } while (std::next_permutation(order.begin(), order.end()));
}

CAF_TEST(stale markers shared by the replicas survive the merge bit for bit) {
  std::vector<sample> a{{1000, 1.0}, {2000, stale_nan()}};
  std::vector<sample> b{{1000, 1.0}, {2000, stale_nan()}, {3000, 2.0}};
  auto out = merge({{snap("1", chunks_of(a))}, {snap("1", chunks_of(b))}});
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  auto got = decoded(out[0]);
  CAF_REQUIRE_EQUAL(got.size(), 3u);
  CAF_CHECK(is_stale_nan(got[1].v));
}

CAF_TEST(many series across three nodes: each once with the union of its samples) {
  // Series i lives on nodes i % 3 and (i + 1) % 3, as rf 2 places it; one
  // node lost every third sample of the series it holds.
  std::vector<std::vector<series_snapshot>> parts(3);
  std::map<std::string, std::vector<sample>> want;
  for (int i = 0; i < 30; ++i) {
    auto name = std::to_string(100 + i);  // sorts like its number
    auto all = ramp(0, 400'000);
    want[name] = all;
    for (int node : {i % 3, (i + 1) % 3}) {
      std::vector<sample> held;
      for (size_t k = 0; k < all.size(); ++k)
        if (node != 1 || k % 3 != 0)
          held.push_back(all[k]);
      parts[static_cast<size_t>(node)].push_back(snap(name, chunks_of(held)));
    }
  }
  for (auto& p : parts)
    std::sort(p.begin(), p.end(), [](const auto& x, const auto& y) { return x.labels < y.labels; });
  auto out = merge(std::move(parts));
  CAF_REQUIRE_EQUAL(out.size(), want.size());
  size_t k = 0;
  for (const auto& [name, samples] : want) {
    CAF_CHECK(out[k].labels == series_named(name));
    CAF_CHECK(same_samples(decoded(out[k]), samples));
    ++k;
  }
}

#define CAF_SUITE storage.compaction.merge
#include "test_support.hpp"

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storage/block/reader.hpp"
#include "storage/block/ulid.hpp"
#include "storage/block/writer.hpp"
#include "storage/block/format.hpp"
#include "storage/compaction/merge.hpp"
#include "storage/file.hpp"

using namespace nl::storage;

namespace {

using chunk_ptr = std::shared_ptr<const chunk>;
using chunk_list = std::vector<chunk_ptr>;
using series_map = std::map<label_set, std::vector<sample>>;

constexpr int64_t h = 3600 * 1000;

label_set ls(std::vector<label> l) { return label_set::from_unsorted(std::move(l)); }

using dir_guard = nl::test::temp_dir;

// Chunks of at most `per` samples, in order.
chunk_list encode(const std::vector<sample>& samples, size_t per = 120) {
  chunk_list out;
  xor_appender a;
  for (const auto& s : samples) {
    if (a.num_samples() >= per)
      out.push_back(a.cut());
    a.append(s.t, s.v);
  }
  if (!a.empty())
    out.push_back(a.cut());
  return out;
}

std::vector<sample> decode(const chunk_list& chunks) {
  std::vector<sample> out;
  for (const auto& c : chunks)
    CAF_CHECK(c->decode(INT64_MIN, INT64_MAX, out).is_ok());
  return out;
}

// Bit-exact comparison: NaN payloads (the stale marker) included.
bool same_samples(const std::vector<sample>& a, const std::vector<sample>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].t != b[i].t || float_bits(a[i].v) != float_bits(b[i].v))
      return false;
  return true;
}

bool strictly_increasing(const std::vector<sample>& s) {
  for (size_t i = 1; i < s.size(); ++i)
    if (s[i - 1].t >= s[i].t)
      return false;
  return true;
}

// What merging must give: every timestamp once, the first source's value
// where several have it.
std::vector<sample> expected_union(const std::vector<std::vector<sample>>& sources) {
  std::map<int64_t, double> m;
  for (const auto& src : sources)
    for (const auto& s : src)
      m.emplace(s.t, s.v);  // keeps the first
  std::vector<sample> out;
  for (const auto& [t, v] : m)
    out.push_back({t, v});
  return out;
}

// Checks the invariants of a merge_chunks answer.
void check_chunks(const chunk_list& out, size_t per = 120) {
  for (size_t i = 0; i < out.size(); ++i) {
    CAF_CHECK(out[i]->num_samples() >= 1);
    CAF_CHECK(out[i]->num_samples() <= per);
    if (i > 0)
      CAF_CHECK(out[i - 1]->max_time() < out[i]->min_time());
  }
}

std::vector<sample> samples(int64_t from, int64_t to, int64_t step, double base) {
  std::vector<sample> out;
  for (int64_t t = from; t < to; t += step)
    out.push_back({t, base + static_cast<double>(t) / 1000});
  return out;
}

// Writes a block of `series` (every sample inside [mint, maxt)).
std::shared_ptr<const block> write_block(const std::string& dir, const std::string& ulid, int64_t mint, int64_t maxt,
                                         const series_map& series, uint32_t level = 1,
                                         std::vector<std::string> sources = {},
                                         std::vector<std::string> parents = {}) {
  auto w = block_writer::create(dir, ulid, mint, maxt);
  CAF_REQUIRE(w.is_ok());
  if (level != 1 || !sources.empty())
    (*w)->set_compaction(level, sources.empty() ? std::vector<std::string>{ulid} : std::move(sources),
                         std::move(parents));
  for (const auto& [labels, ss] : series)
    CAF_REQUIRE((*w)->add_series(labels, encode(ss)).is_ok());
  auto meta = (*w)->finish();
  CAF_REQUIRE(meta.is_ok());
  auto b = block::open(dir + "/" + ulid);
  CAF_REQUIRE(b.is_ok());
  CAF_REQUIRE((*b)->check().is_ok());
  return *b;
}

// Every series of `b` with its samples.
series_map contents(const block& b) {
  auto all = b.select({}, INT64_MIN, INT64_MAX);
  CAF_REQUIRE(all.is_ok());
  series_map out;
  const label_set* prev = nullptr;
  for (const auto& s : *all) {
    if (prev != nullptr)
      CAF_CHECK(*prev < s.labels);  // sorted, each once
    prev = &s.labels;
    out[s.labels] = decode(s.chunks);
  }
  return out;
}

bool same_contents(const series_map& a, const series_map& b) {
  if (a.size() != b.size())
    return false;
  for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j)
    if (i->first != j->first || !same_samples(i->second, j->second))
      return false;
  return true;
}

// Values that exercise the XOR encoder: repeats, stale markers, NaN.
double wobble(int64_t t, uint32_t salt) {
  switch ((static_cast<uint64_t>(t) / 15000 + salt) % 9) {
    case 0: return stale_nan();
    case 1: return float_from_bits(normal_nan_bits);
    case 2:
    case 3: return 42.0;
    default: return static_cast<double>((t / 1000) % 97) * 0.25 + salt;
  }
}

std::vector<sample> series_samples(int64_t from, int64_t to, int64_t step, uint32_t salt) {
  std::vector<sample> out;
  for (int64_t t = from; t < to; t += step)
    out.push_back({t, wobble(t, salt)});
  return out;
}

const std::string ulid_a = "01HZZZZZZZZZZZZZZZZZZZZZZA";
const std::string ulid_b = "01HZZZZZZZZZZZZZZZZZZZZZZB";
const std::string ulid_c = "01HZZZZZZZZZZZZZZZZZZZZZZC";

}  // namespace

CAF_TEST(chunks that overlap nothing are kept as they are) {
  auto s0 = encode(samples(0, 3000, 10, 0), 120);       // 300 samples: 120, 120, 60
  auto s1 = encode(samples(5000, 6000, 10, 1), 120);    // 100 samples
  auto s2 = encode(samples(3000, 5000, 100, 2), 120);   // between them
  CAF_REQUIRE_EQUAL(s0.size(), 3u);
  auto r = merge_chunks({s0, s1, s2});
  CAF_REQUIRE(r.is_ok());
  chunk_list want = {s0[0], s0[1], s0[2], s2[0], s1[0]};
  CAF_REQUIRE_EQUAL(r->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    CAF_CHECK((*r)[i].get() == want[i].get());  // the same objects, not copies
  // One source, or none.
  r = merge_chunks({s0});
  CAF_REQUIRE(r.is_ok());
  CAF_REQUIRE_EQUAL(r->size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    CAF_CHECK((*r)[i].get() == s0[i].get());
  r = merge_chunks({});
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK(r->empty());
  r = merge_chunks({{}, {}});
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK(r->empty());
  // Only the overlapping run is re-encoded: the rest keeps its objects.
  auto early = encode(samples(0, 500, 10, 0));    // [0, 490]
  auto a = encode(samples(1000, 1600, 10, 0));    // [1000, 1590], 60 samples
  auto b = encode(samples(1500, 2100, 10, 1));    // [1500, 2090], 60 samples
  auto late = encode(samples(3000, 3500, 10, 1));  // [3000, 3490]
  r = merge_chunks({{early[0], a[0]}, {b[0], late[0]}});
  CAF_REQUIRE(r.is_ok());
  CAF_REQUIRE_EQUAL(r->size(), 3u);
  CAF_CHECK((*r)[0].get() == early[0].get());
  CAF_CHECK((*r)[2].get() == late[0].get());
  CAF_CHECK((*r)[1].get() != a[0].get() && (*r)[1].get() != b[0].get());
  CAF_CHECK_EQUAL((*r)[1]->min_time(), 1000);
  CAF_CHECK_EQUAL((*r)[1]->max_time(), 2090);
  CAF_CHECK_EQUAL((*r)[1]->num_samples(), 110u);  // 10 timestamps in both
}

CAF_TEST(overlapping chunks are merged and the first source wins) {
  // Source 0: every 20 ms from 0; source 1: every 10 ms from 1000, so from
  // 1000 on every other timestamp is in both, with other values.
  auto v0 = samples(0, 4000, 20, 0);
  auto v1 = samples(1000, 5000, 10, 1000);
  // Stale markers: one that must win (source 0), one that must lose
  // (source 1, at a timestamp source 0 has too) and one that must survive
  // (source 1 alone).
  for (auto& s : v0)
    if (s.t == 2000)
      s.v = stale_nan();
  for (auto& s : v1) {
    if (s.t == 2040)
      s.v = stale_nan();
    if (s.t == 2050)
      s.v = stale_nan();
  }
  auto c0 = encode(v0, 120);
  auto c1 = encode(v1, 120);
  auto r = merge_chunks({c0, c1});
  CAF_REQUIRE(r.is_ok());
  check_chunks(*r);
  auto got = decode(*r);
  CAF_CHECK(strictly_increasing(got));
  auto want = expected_union({v0, v1});
  CAF_CHECK_EQUAL(got.size(), want.size());
  CAF_CHECK(same_samples(got, want));
  auto at = [&](int64_t t) {
    for (const auto& s : got)
      if (s.t == t)
        return float_bits(s.v);
    CAF_FAIL("no sample at " << t);
    return uint64_t{0};
  };
  CAF_CHECK_EQUAL(at(2000), stale_nan_bits);
  CAF_CHECK_EQUAL(at(2040), float_bits(0 + 2040.0 / 1000));
  CAF_CHECK_EQUAL(at(2050), stale_nan_bits);
  CAF_CHECK_EQUAL(at(1000), float_bits(1.0));
  CAF_CHECK_EQUAL(at(1010), float_bits(1000 + 1010.0 / 1000));
  // 200 + 400 samples, 150 timestamps in both: 450. Source 1's last chunk
  // [4600, 4990] overlaps nothing and is kept as it is; the other 410
  // samples are re-encoded in chunks of 120: 4 + 1 chunks.
  CAF_CHECK_EQUAL(got.size(), 450u);
  CAF_REQUIRE_EQUAL(r->size(), 5u);
  CAF_CHECK((*r)[4].get() == c1.back().get());
  CAF_CHECK_EQUAL((*r)[3]->num_samples(), 50u);
  // The other order: source 1's values win now.
  r = merge_chunks({c1, c0});
  CAF_REQUIRE(r.is_ok());
  check_chunks(*r);
  got = decode(*r);
  CAF_CHECK(same_samples(got, expected_union({v1, v0})));
  CAF_CHECK_EQUAL(at(2000), float_bits(1000 + 2000.0 / 1000));
  CAF_CHECK_EQUAL(at(2040), stale_nan_bits);
  // A smaller chunk size.
  r = merge_chunks({c0, c1}, 50);
  CAF_REQUIRE(r.is_ok());
  check_chunks(*r, 50);
  CAF_CHECK_EQUAL(r->size(), 9u + 1u);  // 410 samples in 50s, and the kept one
  CAF_CHECK(same_samples(decode(*r), expected_union({v0, v1})));
}

CAF_TEST(the first source wins even when its chunk starts later) {
  // Source 1's chunk starts first in time; at the shared timestamps
  // source 0 still wins. A chunk ending where the next begins overlaps it
  // (max_time is inclusive).
  std::vector<sample> v0 = {{50, 0.5}, {60, stale_nan()}, {70, 0.7}};
  std::vector<sample> v1 = {{0, 10}, {50, 15}, {60, 16}, {65, 16.5}, {70, 17}};
  std::vector<sample> v2 = {{70, 27}, {80, 28}};
  auto r = merge_chunks({encode(v0), encode(v1), encode(v2)});
  CAF_REQUIRE(r.is_ok());
  check_chunks(*r);
  CAF_CHECK_EQUAL(r->size(), 1u);
  std::vector<sample> want = {{0, 10}, {50, 0.5}, {60, stale_nan()}, {65, 16.5}, {70, 0.7}, {80, 28}};
  CAF_CHECK(same_samples(decode(*r), want));
  // Identical sources merge to one copy.
  auto c = encode(samples(0, 100000, 1000, 3));
  r = merge_chunks({c, c});
  CAF_REQUIRE(r.is_ok());
  check_chunks(*r);
  CAF_CHECK(same_samples(decode(*r), samples(0, 100000, 1000, 3)));
}

CAF_TEST(merging adjacent blocks concatenates their series) {
  dir_guard d;
  auto l1 = ls({{"__name__", "up"}, {"job", "a"}});             // in every block
  auto l2 = ls({{"__name__", "up"}, {"job", "b"}});             // blocks 0 and 2
  auto l3 = ls({{"__name__", "mem"}, {"instance", "x"}});       // block 1 only
  auto l4 = ls({{"__name__", "zzz"}, {"job", "a"}, {"k", "v"}});  // block 2 only
  series_map p0, p1, p2;
  p0[l1] = series_samples(0, 2 * h, 15000, 1);
  p0[l2] = series_samples(7000, 2 * h, 15000, 2);
  p1[l1] = series_samples(2 * h, 4 * h, 15000, 1);
  p1[l3] = series_samples(2 * h + 500, 3 * h, 10000, 3);
  p2[l1] = series_samples(4 * h, 6 * h, 15000, 1);
  p2[l2] = series_samples(5 * h, 6 * h - 1, 30000, 2);
  p2[l4] = series_samples(6 * h - 60000, 6 * h, 1000, 4);
  // Levels and sources of earlier merges: block 1 holds two level-1 blocks.
  const std::string src_x = make_ulid(1000);
  const std::string src_y = make_ulid(2000);
  CAF_REQUIRE(is_ulid(src_x) && is_ulid(src_y) && src_x < src_y);
  auto b0 = write_block(d.path, ulid_c, 0, 2 * h, p0);
  auto b1 = write_block(d.path, ulid_a, 2 * h, 4 * h, p1, 2, {src_y, src_x}, {src_x, src_y});
  auto b2 = write_block(d.path, ulid_b, 4 * h, 6 * h, p2);
  const std::string merged = make_ulid(3000);
  auto meta = merge_blocks({b0, b1, b2}, d.path, merged);
  CAF_REQUIRE(meta.is_ok());
  CAF_CHECK(!*path_exists(d.path + "/" + merged + ".tmp"));
  auto m = block::open(d.path + "/" + merged);
  CAF_REQUIRE(m.is_ok());
  CAF_CHECK((*m)->check().is_ok());
  const auto& mm = (*m)->meta();
  CAF_CHECK_EQUAL(mm.ulid, merged);
  CAF_CHECK_EQUAL(mm.min_time, 0);
  CAF_CHECK_EQUAL(mm.max_time, 6 * h);
  CAF_CHECK_EQUAL(mm.level, 3u);
  CAF_CHECK_EQUAL(mm.sources, (std::vector<std::string>{src_x, src_y, ulid_b, ulid_c}));
  CAF_CHECK_EQUAL(mm.parents, (std::vector<std::string>{ulid_c, ulid_a, ulid_b}));
  CAF_CHECK_EQUAL(mm.num_series, 4u);
  // No chunk overlapped another: the merged block serves as many chunks
  // as its parents together (the writer re-encodes every record).
  CAF_CHECK_EQUAL(mm.num_chunks, b0->meta().num_chunks + b1->meta().num_chunks + b2->meta().num_chunks);
  CAF_CHECK_EQUAL(mm.num_samples, b0->meta().num_samples + b1->meta().num_samples + b2->meta().num_samples);
  CAF_CHECK_EQUAL(meta->num_samples, mm.num_samples);
  // Per series, the parents' samples one after the other.
  series_map want;
  for (const auto* p : {&p0, &p1, &p2})
    for (const auto& [labels, ss] : *p)
      want[labels].insert(want[labels].end(), ss.begin(), ss.end());
  auto got = contents(**m);
  CAF_CHECK(same_contents(got, want));
  CAF_CHECK(same_contents(contents(*b0), p0));
  CAF_CHECK(same_contents(contents(*b1), p1));
  CAF_CHECK(same_contents(contents(*b2), p2));
  // The parents are untouched and still readable.
  CAF_CHECK(b0->check().is_ok() && b1->check().is_ok() && b2->check().is_ok());
  for (const auto& u : {ulid_a, ulid_b, ulid_c})
    CAF_CHECK(*path_exists(d.path + "/" + u + "/meta.json"));
}

CAF_TEST(merging overlapping blocks removes duplicates) {
  dir_guard d;
  auto x = ls({{"__name__", "x"}});
  auto y = ls({{"__name__", "y"}});
  auto only_b = ls({{"__name__", "z"}});
  series_map pa, pb;
  // A: every 20 s over [0, 2 h); B: every 10 s over [1 h, 3 h), so from 1 h
  // to 2 h every other timestamp is in both, with B's own values.
  pa[x] = series_samples(0, 2 * h, 20000, 1);
  pb[x] = series_samples(h, 3 * h, 10000, 2);
  pa[y] = series_samples(0, 2 * h, 60000, 3);
  pb[y] = series_samples(h + 30000, 2 * h, 60000, 4);  // interleaved, never equal
  pb[only_b] = series_samples(h, h + 600000, 15000, 5);
  // A stale marker in A where B has a number, and the other way round.
  for (auto& s : pa[x])
    if (s.t == h + 40000)
      s.v = stale_nan();
  for (auto& s : pb[x])
    if (s.t == h + 80000)
      s.v = stale_nan();
  auto a = write_block(d.path, ulid_a, 0, 2 * h, pa);
  auto b = write_block(d.path, ulid_b, h, 3 * h, pb);
  auto meta = merge_blocks({a, b}, d.path, ulid_c);
  CAF_REQUIRE(meta.is_ok());
  auto m = block::open(d.path + "/" + ulid_c);
  CAF_REQUIRE(m.is_ok());
  CAF_CHECK((*m)->check().is_ok());
  const auto& mm = (*m)->meta();
  CAF_CHECK_EQUAL(mm.min_time, 0);
  CAF_CHECK_EQUAL(mm.max_time, 3 * h);
  CAF_CHECK_EQUAL(mm.level, 2u);
  CAF_CHECK_EQUAL(mm.sources, (std::vector<std::string>{ulid_a, ulid_b}));
  CAF_CHECK_EQUAL(mm.parents, (std::vector<std::string>{ulid_a, ulid_b}));
  series_map want;
  want[x] = expected_union({pa[x], pb[x]});
  want[y] = expected_union({pa[y], pb[y]});
  want[only_b] = pb[only_b];
  CAF_CHECK_EQUAL(want[x].size(), 360u + 720u - 180u);
  auto got = contents(**m);
  CAF_CHECK(same_contents(got, want));
  for (const auto& [labels, ss] : got)
    CAF_CHECK(strictly_increasing(ss));
  CAF_CHECK_EQUAL(mm.num_samples, 900u + 120u + 60u + 40u);
  // Stale markers: A's wins, B's loses to A's number at the same time.
  auto value_at = [&](const std::vector<sample>& ss, int64_t t) {
    for (const auto& s : ss)
      if (s.t == t)
        return float_bits(s.v);
    CAF_FAIL("no sample at " << t);
    return uint64_t{0};
  };
  CAF_CHECK_EQUAL(value_at(got[x], h + 40000), stale_nan_bits);
  CAF_CHECK_EQUAL(value_at(got[x], h + 80000), float_bits(wobble(h + 80000, 1)));
  CAF_CHECK(float_bits(wobble(h + 80000, 1)) != stale_nan_bits);
  // Every record of the merged block holds at most a record's samples and
  // is served as XOR chunks of at most 120 (remote read; what
  // stats.numChunks counts).
  auto all = (*m)->select({}, INT64_MIN, INT64_MAX);
  CAF_REQUIRE(all.is_ok());
  uint64_t served = 0;
  for (const auto& s : *all)
    for (const auto& c : s.chunks) {
      CAF_CHECK(c->num_samples() <= block_format::dense_record_max_samples);
      std::vector<std::shared_ptr<const xor_chunk>> pieces;
      CAF_REQUIRE(append_as_xor(c, INT64_MIN, INT64_MAX, block_format::xor_chunk_samples, pieces).is_ok());
      for (const auto& p : pieces)
        CAF_CHECK(p->num_samples() <= 120u);
      served += pieces.size();
    }
  CAF_CHECK_EQUAL(served, (*m)->meta().num_chunks);
  // Parents the other way round: B's values win.
  auto meta2 = merge_blocks({b, a}, d.path, make_ulid(5000));
  CAF_REQUIRE(meta2.is_ok());
  auto m2 = block::open(d.path + "/" + meta2->ulid);
  CAF_REQUIRE(m2.is_ok());
  CAF_CHECK((*m2)->check().is_ok());
  CAF_CHECK_EQUAL((*m2)->meta().parents, (std::vector<std::string>{ulid_b, ulid_a}));
  want[x] = expected_union({pb[x], pa[x]});
  want[y] = expected_union({pb[y], pa[y]});
  CAF_CHECK(same_contents(contents(**m2), want));
  // Nothing to merge is an error, not an empty block.
  CAF_CHECK_EQUAL(merge_blocks({}, d.path, make_ulid(6000)).error().error_code(), status::code::invalid_argument);
}

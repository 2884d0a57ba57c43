#define CAF_SUITE storage.compaction.planner
#include "test_support.hpp"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "storage/block/meta.hpp"
#include "storage/compaction/planner.hpp"

using namespace nl::storage;

namespace {

constexpr int64_t h = 3600 * 1000;  // one hour in ms
constexpr int64_t day = 24 * h;

using ulids = std::vector<std::string>;

// A ULID-shaped name whose last character is `c`; names sort like `c`.
std::string u(char c) { return std::string{"01HZZZZZZZZZZZZZZZZZZZZZZ"} + c; }

block_meta meta(std::string ulid, int64_t mint, int64_t maxt, uint32_t level = 1) {
  block_meta m;
  m.ulid = std::move(ulid);
  m.min_time = mint;
  m.max_time = maxt;
  m.level = level;
  m.sources = {m.ulid};
  return m;
}

block_meta meta(char name, int64_t mint, int64_t maxt, uint32_t level = 1) {
  return meta(u(name), mint, maxt, level);
}

// The planner takes metas in any order: the answer must not depend on it.
std::vector<block_meta> shuffled(std::vector<block_meta> ms, uint32_t seed) {
  std::mt19937 rng{seed};
  std::shuffle(ms.begin(), ms.end(), rng);
  return ms;
}

ulids plan(const std::vector<block_meta>& ms, const std::vector<int64_t>& ranges) {
  auto first = plan_merge(ms, ranges);
  for (uint32_t seed = 1; seed <= 5; ++seed)
    CAF_CHECK_EQUAL(plan_merge(shuffled(ms, seed), ranges), first);
  return first;
}

// The sizes below go with the metas by position, so they are shuffled with
// them.
ulids retention(const std::vector<block_meta>& ms, const std::vector<uint64_t>& sizes, int64_t retention_ms,
                uint64_t retention_bytes, uint64_t other_bytes) {
  auto first = plan_retention(ms, sizes, retention_ms, retention_bytes, other_bytes);
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    std::vector<size_t> idx(ms.size());
    for (size_t i = 0; i < idx.size(); ++i)
      idx[i] = i;
    std::mt19937 rng{seed};
    std::shuffle(idx.begin(), idx.end(), rng);
    std::vector<block_meta> ms2;
    std::vector<uint64_t> sizes2;
    for (auto i : idx) {
      ms2.push_back(ms[i]);
      sizes2.push_back(sizes[i]);
    }
    CAF_CHECK_EQUAL(plan_retention(ms2, sizes2, retention_ms, retention_bytes, other_bytes), first);
  }
  return first;
}

// The metas with the planned ones replaced by their merge, as the
// compactor does.
std::vector<block_meta> apply(std::vector<block_meta> ms, const ulids& planned, const std::string& name) {
  int64_t mint = INT64_MAX;
  int64_t maxt = INT64_MIN;
  uint32_t level = 0;
  std::vector<block_meta> out;
  for (auto& m : ms) {
    if (std::find(planned.begin(), planned.end(), m.ulid) == planned.end()) {
      out.push_back(m);
      continue;
    }
    mint = std::min(mint, m.min_time);
    maxt = std::max(maxt, m.max_time);
    level = std::max(level, m.level);
  }
  out.push_back(meta(name, mint, maxt, level + 1));
  return out;
}

std::vector<block_meta> apply(std::vector<block_meta> ms, const ulids& planned, char name) {
  return apply(std::move(ms), planned, u(name));
}

}  // namespace

CAF_TEST(compaction ranges grow by three while they fit) {
  // 2 h blocks, at most 31 days: 6 h, 18 h, 54 h, 162 h, 486 h (1458 h
  // would be 60.75 days).
  CAF_CHECK_EQUAL(compaction_ranges(2 * h, 31 * day), (std::vector<int64_t>{6 * h, 18 * h, 54 * h, 162 * h, 486 * h}));
  // The limit is inclusive; below the first range there is none.
  CAF_CHECK_EQUAL(compaction_ranges(2 * h, 18 * h), (std::vector<int64_t>{6 * h, 18 * h}));
  CAF_CHECK_EQUAL(compaction_ranges(2 * h, 18 * h - 1), (std::vector<int64_t>{6 * h}));
  CAF_CHECK(compaction_ranges(2 * h, 6 * h - 1).empty());
  CAF_CHECK(compaction_ranges(2 * h, 0).empty());
  CAF_CHECK_EQUAL(compaction_ranges(1000, 27000), (std::vector<int64_t>{3000, 9000, 27000}));
}

CAF_TEST(merged blocks grow to a tenth of the retention and at most 31 days) {
  CAF_CHECK_EQUAL(max_compaction_range(15 * day), 36 * h);
  CAF_CHECK_EQUAL(max_compaction_range(310 * day), 31 * day);
  CAF_CHECK_EQUAL(max_compaction_range(365 * day), 31 * day);
  // Prometheus' defaults: 15 days of 2 h blocks merge up to 18 h blocks.
  CAF_CHECK_EQUAL(compaction_ranges(2 * h, max_compaction_range(15 * day)), (std::vector<int64_t>{6 * h, 18 * h}));
  CAF_CHECK_EQUAL(compaction_ranges(2 * h, max_compaction_range(365 * day)),
                  (std::vector<int64_t>{6 * h, 18 * h, 54 * h, 162 * h, 486 * h}));
}

CAF_TEST(nothing to do plans nothing) {
  auto ranges = compaction_ranges(2 * h, 31 * day);
  CAF_CHECK(plan_merge({}, ranges).empty());
  CAF_CHECK(plan_merge({meta('A', 0, 2 * h)}, ranges).empty());
  // Already merged: one block per finished interval, and a lone newest one.
  CAF_CHECK(plan({meta('A', 0, 6 * h, 2), meta('B', 6 * h, 12 * h, 2), meta('C', 12 * h, 14 * h)}, {6 * h}).empty());
  // Without ranges only overlaps are merged.
  CAF_CHECK(plan({meta('A', 0, 2 * h), meta('B', 2 * h, 4 * h), meta('C', 4 * h, 6 * h), meta('D', 6 * h, 8 * h)}, {})
              .empty());
  CAF_CHECK(plan_retention({}, {}, 1000, 1000, 0).empty());
  CAF_CHECK(plan_retention({meta('A', 0, 2 * h)}, {100}, 0, 0, 0).empty());
}

CAF_TEST(overlapping blocks are planned first and as a whole group) {
  auto ranges = compaction_ranges(2 * h, 31 * day);
  // B and C overlap, D overlaps C but not B: one group {B, C, D}. A only
  // touches B (max_time is exclusive) and E is apart.
  std::vector<block_meta> ms = {meta('A', 0, 2 * h),          meta('B', 2 * h, 4 * h), meta('C', 3 * h, 5 * h),
                                meta('D', 4 * h + 1, 6 * h),  meta('E', 8 * h, 10 * h)};
  CAF_CHECK_EQUAL(plan(ms, ranges), (ulids{u('B'), u('C'), u('D')}));
  // Overlaps come before an otherwise ready interval: [0, 6 h) holds three
  // finished 2 h blocks, yet the overlapping pair later on goes first.
  ms = {meta('A', 0, 2 * h),       meta('B', 2 * h, 4 * h),  meta('C', 4 * h, 6 * h),
        meta('D', 12 * h, 14 * h), meta('E', 13 * h, 14 * h)};
  CAF_CHECK_EQUAL(plan(ms, ranges), (ulids{u('D'), u('E')}));
  // A block inside another one overlaps it; so do equal ranges, ordered by
  // ULID.
  CAF_CHECK_EQUAL(plan({meta('F', 0, 6 * h, 2), meta('A', 2 * h, 4 * h)}, ranges), (ulids{u('F'), u('A')}));
  CAF_CHECK_EQUAL(plan({meta('B', 0, 2 * h), meta('A', 0, 2 * h), meta('C', 2 * h, 4 * h)}, ranges),
                  (ulids{u('A'), u('B')}));
  // The first (oldest) group is planned; the next one waits for the next
  // round.
  ms = {meta('A', 0, 2 * h), meta('B', h, 3 * h), meta('C', 10 * h, 12 * h), meta('D', 11 * h, 13 * h)};
  auto first = plan(ms, ranges);
  CAF_CHECK_EQUAL(first, (ulids{u('A'), u('B')}));
  CAF_CHECK_EQUAL(plan(apply(ms, first, 'M'), ranges), (ulids{u('C'), u('D')}));
}

CAF_TEST(adjacent blocks of an ended interval are merged) {
  std::vector<int64_t> ranges = {6 * h, 18 * h};
  // Three 2 h blocks fill [0, 6 h); the newest block ends after it.
  std::vector<block_meta> ms = {meta('A', 0, 2 * h), meta('B', 2 * h, 4 * h), meta('C', 4 * h, 6 * h),
                                meta('D', 6 * h, 8 * h)};
  CAF_CHECK_EQUAL(plan(ms, ranges), (ulids{u('A'), u('B'), u('C')}));
  // The newest block waits for a later one, as in Prometheus, even when it
  // completes the interval: alone, A and B neither fill [0, 6 h) nor end
  // before C, the newest block left, begins.
  CAF_CHECK(plan({meta('A', 0, 2 * h), meta('B', 2 * h, 4 * h), meta('C', 4 * h, 6 * h)}, ranges).empty());
  // So one interval never takes every block: size retention always has an
  // older block to delete than the newest (the case of e2e.retention).
  CAF_CHECK_EQUAL(plan({meta('A', 0, 2 * h), meta('B', 2 * h, 4 * h), meta('C', 4 * h, 6 * h),
                        meta('D', 6 * h, 8 * h)},
                       ranges),
                  (ulids{u('A'), u('B'), u('C')}));
  // Two blocks are enough, gaps do not matter.
  CAF_CHECK_EQUAL(plan({meta('A', 0, 2 * h), meta('C', 4 * h, 6 * h), meta('D', 8 * h, 10 * h)}, ranges),
                  (ulids{u('A'), u('C')}));
  // Negative times align the same way (floor, not truncation toward 0).
  CAF_CHECK_EQUAL(plan({meta('A', -6 * h, -4 * h), meta('B', -4 * h, -2 * h), meta('C', -2 * h, 0),
                        meta('D', 0, 2 * h)},
                       ranges),
                  (ulids{u('A'), u('B'), u('C')}));
  CAF_CHECK(plan({meta('A', -2 * h, 0), meta('B', 0, 2 * h), meta('C', 2 * h, 4 * h)}, {6 * h}).empty());
}

CAF_TEST(an interval that has not ended is not merged) {
  std::vector<int64_t> ranges = {6 * h, 18 * h};
  // The newest block lies inside [0, 6 h), which ends only at 6 h.
  CAF_CHECK(plan({meta('A', 0, 2 * h), meta('B', 2 * h, 4 * h)}, ranges).empty());
  CAF_CHECK(plan({meta('A', 0, 2 * h), meta('B', 2 * h, 4 * h), meta('C', 4 * h, 6 * h - 1)}, ranges).empty());
  // Same one level up: [0, 18 h) holds three blocks but the newest ends at
  // 16 h; [12 h, 18 h) holds only two, also unfinished.
  std::vector<block_meta> ms = {meta('A', 0, 6 * h, 2), meta('B', 6 * h, 12 * h, 2), meta('C', 12 * h, 14 * h),
                                meta('D', 14 * h, 16 * h)};
  CAF_CHECK(plan(ms, ranges).empty());
  // Once a block past 18 h arrives, the smallest range goes first ([12 h,
  // 18 h) of 2 h blocks), then [0, 18 h) of 6 h blocks.
  ms.push_back(meta('E', 16 * h, 18 * h));
  ms.push_back(meta('F', 18 * h, 20 * h));
  auto first = plan(ms, ranges);
  CAF_CHECK_EQUAL(first, (ulids{u('C'), u('D'), u('E')}));
  ms = apply(ms, first, 'G');
  auto second = plan(ms, ranges);
  CAF_CHECK_EQUAL(second, (ulids{u('A'), u('B'), u('G')}));
  ms = apply(ms, second, 'H');
  CAF_CHECK(plan(ms, ranges).empty());
  CAF_REQUIRE_EQUAL(ms.size(), 2u);
  CAF_CHECK_EQUAL(ms[1].level, 3u);
}

CAF_TEST(blocks straddling an interval boundary are not grouped) {
  std::vector<int64_t> ranges = {6 * h};
  // C crosses 6 h: A and B are merged without it.
  std::vector<block_meta> ms = {meta('A', 0, 2 * h), meta('B', 2 * h, 4 * h), meta('C', 4 * h, 8 * h),
                                meta('D', 8 * h, 10 * h), meta('E', 13 * h, 14 * h)};
  CAF_CHECK_EQUAL(plan(ms, ranges), (ulids{u('A'), u('B')}));
  // Each interval holds at most one block that fits in it: nothing to do.
  ms = {meta('A', 2 * h, 4 * h), meta('B', 4 * h, 8 * h), meta('C', 8 * h, 10 * h), meta('D', 10 * h, 14 * h),
        meta('E', 14 * h, 20 * h)};
  CAF_CHECK(plan(ms, ranges).empty());
  // A larger range that contains the straddling blocks takes them, once
  // they end before the newest block left in play begins (E, after F came).
  CAF_CHECK(plan(ms, {6 * h, 18 * h}).empty());
  ms.push_back(meta('F', 20 * h, 22 * h));
  CAF_CHECK_EQUAL(plan(ms, {6 * h, 18 * h}), (ulids{u('A'), u('B'), u('C'), u('D')}));
}

CAF_TEST(repeated planning keeps blocks aligned and apart) {
  // A compactor's life: a 2 h block at a time, merging until nothing is
  // left to do after each one.
  auto ranges = compaction_ranges(2 * h, 31 * day);
  std::vector<block_meta> ms;
  // Distinct names: two base32 digits of a counter.
  const std::string digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  size_t next = 0;
  auto name = [&] {
    size_t n = next++;
    CAF_REQUIRE(n < 32 * 32);
    return std::string{"01HZZZZZZZZZZZZZZZZZZZZZ"} + digits[n / 32] + digits[n % 32];
  };
  size_t merges = 0;
  for (int64_t t = 0; t < 60 * h; t += 2 * h) {
    ms.push_back(meta(name(), t, t + 2 * h));
    for (;;) {
      auto p = plan_merge(ms, ranges);
      if (p.empty())
        break;
      CAF_REQUIRE(p.size() >= 2);
      ms = apply(ms, p, name());
      ++merges;
      CAF_REQUIRE(merges < 1000);
    }
    std::sort(ms.begin(), ms.end(), [](const block_meta& a, const block_meta& b) { return a.min_time < b.min_time; });
    for (size_t i = 0; i + 1 < ms.size(); ++i)
      CAF_CHECK_EQUAL(ms[i].max_time, ms[i + 1].min_time);
    for (const auto& m : ms) {
      auto len = m.max_time - m.min_time;
      CAF_CHECK(len == 2 * h || std::find(ranges.begin(), ranges.end(), len) != ranges.end());
      CAF_CHECK_EQUAL(m.min_time % len, 0);
    }
  }
  // At 60 h: [0, 54 h) is one block; [54 h, 60 h) is still three 2 h
  // blocks, since the newest waits and the other two neither fill 6 h nor
  // end before the second newest begins.
  CAF_REQUIRE_EQUAL(ms.size(), 4u);
  CAF_CHECK_EQUAL(ms[0].min_time, 0);
  CAF_CHECK_EQUAL(ms[0].max_time, 54 * h);
  CAF_CHECK_EQUAL(ms[0].level, 4u);
  CAF_CHECK_EQUAL(ms[1].min_time, 54 * h);
  CAF_CHECK_EQUAL(ms[3].max_time, 60 * h);
}

CAF_TEST(time retention deletes blocks far enough behind the newest) {
  std::vector<block_meta> ms = {meta('A', 0, 2 * h), meta('B', 2 * h, 4 * h), meta('C', 4 * h, 6 * h),
                                meta('D', 6 * h, 8 * h)};
  std::vector<uint64_t> sizes = {100, 100, 100, 100};
  // newest max_time 8 h: A is 6 h behind, B 4 h (the limit itself: deleted),
  // C 2 h.
  CAF_CHECK_EQUAL(retention(ms, sizes, 4 * h, 0, 0), (ulids{u('A'), u('B')}));
  CAF_CHECK_EQUAL(retention(ms, sizes, 4 * h + 1, 0, 0), (ulids{u('A')}));
  CAF_CHECK(retention(ms, sizes, 6 * h + 1, 0, 0).empty());
  // The newest block is 0 behind itself: kept by any positive retention.
  CAF_CHECK_EQUAL(retention(ms, sizes, 1, 0, 0), (ulids{u('A'), u('B'), u('C')}));
  // 0 (or less) disables time retention.
  CAF_CHECK(retention(ms, sizes, 0, 0, 0).empty());
  CAF_CHECK(retention(ms, sizes, -1, 0, 0).empty());
}

CAF_TEST(size retention deletes the oldest until under the limit) {
  std::vector<block_meta> ms = {meta('A', 0, 2 * h), meta('B', 2 * h, 4 * h), meta('C', 4 * h, 6 * h),
                                meta('D', 6 * h, 8 * h)};
  std::vector<uint64_t> sizes = {400, 300, 200, 100};  // 1000 in all
  CAF_CHECK(retention(ms, sizes, 0, 1000, 0).empty());  // at the limit is fine
  CAF_CHECK_EQUAL(retention(ms, sizes, 0, 999, 0), (ulids{u('A')}));
  CAF_CHECK_EQUAL(retention(ms, sizes, 0, 600, 0), (ulids{u('A')}));
  CAF_CHECK_EQUAL(retention(ms, sizes, 0, 599, 0), (ulids{u('A'), u('B')}));
  // other_bytes (the WAL) count against the limit but are never deleted.
  CAF_CHECK_EQUAL(retention(ms, sizes, 0, 600, 1), (ulids{u('A'), u('B')}));
  CAF_CHECK_EQUAL(retention(ms, sizes, 0, 600, 301), (ulids{u('A'), u('B'), u('C')}));
  // The newest block is never deleted by size, even when it alone, or the
  // WAL alone, is over the limit.
  CAF_CHECK_EQUAL(retention(ms, sizes, 0, 50, 0), (ulids{u('A'), u('B'), u('C')}));
  CAF_CHECK_EQUAL(retention(ms, sizes, 0, 1000, 5000), (ulids{u('A'), u('B'), u('C')}));
  CAF_CHECK(retention({meta('A', 0, 2 * h)}, {5000}, 0, 10, 0).empty());
}

CAF_TEST(time and size retention combine) {
  std::vector<block_meta> ms = {meta('A', 0, 2 * h), meta('B', 2 * h, 4 * h), meta('C', 4 * h, 6 * h),
                                meta('D', 6 * h, 8 * h)};
  std::vector<uint64_t> sizes = {1000, 100, 100, 100};
  // Time takes A; the rest is 300 > 250, so size takes B as well. A's bytes
  // are not counted twice (that would delete C too).
  CAF_CHECK_EQUAL(retention(ms, sizes, 6 * h, 250, 0), (ulids{u('A'), u('B')}));
  // Time alone is enough: size deletes nothing more, and nothing twice.
  CAF_CHECK_EQUAL(retention(ms, sizes, 4 * h, 250, 0), (ulids{u('A'), u('B')}));
  // Size goes on where time stopped, oldest first; never the newest.
  CAF_CHECK_EQUAL(retention(ms, sizes, 6 * h, 150, 0), (ulids{u('A'), u('B'), u('C')}));
  CAF_CHECK_EQUAL(retention(ms, sizes, 6 * h, 1, 0), (ulids{u('A'), u('B'), u('C')}));
  // Size alone would take A only (1300 - 1000 <= 350).
  CAF_CHECK_EQUAL(retention(ms, sizes, 0, 350, 0), (ulids{u('A')}));
}

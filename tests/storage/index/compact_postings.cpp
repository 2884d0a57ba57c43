#define CAF_SUITE storage.index.compact_postings
#include "test_support.hpp"

#include <algorithm>
#include <random>
#include <set>

#include "storage/index/compact_postings.hpp"

using namespace nl::storage;

using pl = postings_list;

CAF_TEST(appended refs decode in order at one or two bytes each) {
  compact_postings c;
  CAF_CHECK(c.empty());
  CAF_CHECK(c.decode().empty());
  pl want;
  for (uint64_t ref = 3; ref < 3 + 2 * 1000; ref += 2) {
    c.add(ref);
    want.push_back(ref);
  }
  CAF_CHECK_EQUAL(c.size(), 1000u);
  CAF_CHECK_EQUAL(c.decode(), want);
  // The same list as a vector took 8000 bytes.
  CAF_CHECK(c.bytes() <= 1000u);
}

CAF_TEST(refs below the newest are inserted in place) {
  compact_postings c;
  for (uint64_t ref : {30, 10, 20, 5, 40, 25})
    c.add(ref);
  CAF_CHECK_EQUAL(c.decode(), (pl{5, 10, 20, 25, 30, 40}));
  c.add(41);  // appending still works after a rewrite
  CAF_CHECK_EQUAL(c.decode(), (pl{5, 10, 20, 25, 30, 40, 41}));
}

CAF_TEST(extreme refs and gaps round trip) {
  compact_postings c;
  const uint64_t big = uint64_t{1} << 62;
  for (uint64_t ref : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, big - 1, big, ~uint64_t{0}})
    c.add(ref);
  CAF_CHECK_EQUAL(c.decode(), (pl{0, 1, 127, 128, big - 1, big, ~uint64_t{0}}));
}

CAF_TEST(subtract removes only the refs present) {
  compact_postings c;
  for (uint64_t ref = 1; ref <= 10; ++ref)
    c.add(ref);
  c.subtract({0, 2, 4, 11});
  CAF_CHECK_EQUAL(c.decode(), (pl{1, 3, 5, 6, 7, 8, 9, 10}));
  CAF_CHECK_EQUAL(c.size(), 8u);
  c.subtract({});
  CAF_CHECK_EQUAL(c.size(), 8u);
  c.subtract({1, 3, 5, 6, 7, 8, 9, 10});
  CAF_CHECK(c.empty());
  CAF_CHECK(c.decode().empty());
  c.add(7);
  CAF_CHECK_EQUAL(c.decode(), (pl{7}));
}

CAF_TEST(intersects stops at the first shared ref) {
  compact_postings c;
  for (uint64_t ref : {2, 4, 6, 8})
    c.add(ref);
  CAF_CHECK(c.intersects({1, 8}));
  CAF_CHECK(c.intersects({2}));
  CAF_CHECK(!c.intersects({1, 3, 5, 7, 9}));
  CAF_CHECK(!c.intersects({}));
  CAF_CHECK(!compact_postings{}.intersects({1, 2}));
  int visited = 0;
  c.for_each([&](uint64_t ref) {
    ++visited;
    return ref < 4;
  });
  CAF_CHECK_EQUAL(visited, 2);
}

CAF_TEST(random adds and removals match a set) {
  std::mt19937_64 rng(7);
  compact_postings c;
  std::set<uint64_t> want;
  for (int round = 0; round < 200; ++round) {
    int adds = static_cast<int>(rng() % 20);
    for (int i = 0; i < adds; ++i) {
      // Mostly increasing, as the head allocates refs; sometimes older.
      uint64_t ref = rng() % 4 == 0 ? rng() % 5000 : (want.empty() ? 0 : *want.rbegin()) + 1 + rng() % 300;
      if (want.insert(ref).second)
        c.add(ref);
    }
    pl gone;
    for (uint64_t ref : want)
      if (rng() % 10 == 0)
        gone.push_back(ref);
    gone.push_back(rng() % 100000);  // possibly absent
    std::sort(gone.begin(), gone.end());
    gone.erase(std::unique(gone.begin(), gone.end()), gone.end());
    c.subtract(gone);
    for (uint64_t ref : gone)
      want.erase(ref);
    CAF_REQUIRE_EQUAL(c.decode(), pl(want.begin(), want.end()));
    CAF_REQUIRE_EQUAL(c.size(), want.size());
  }
}

CAF_TEST(intersects jumps through long lists and agrees with brute force) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 50; ++round) {
    compact_postings c;
    std::set<uint64_t> in;
    uint64_t ref = rng() % 10;
    const size_t n = 1 + rng() % 3000;  // up to ~47 skip points
    for (size_t i = 0; i < n; ++i) {
      in.insert(ref);
      c.add(ref);
      ref += 1 + rng() % (round % 2 == 0 ? 3 : 1000);
    }
    if (round % 5 == 0) {  // a rewrite rebuilds the skip points
      pl gone;
      for (uint64_t r : in)
        if (rng() % 7 == 0)
          gone.push_back(r);
      c.subtract(gone);
      for (uint64_t r : gone)
        in.erase(r);
    }
    for (int q = 0; q < 40; ++q) {
      pl probe;
      const size_t k = rng() % 6;
      for (size_t i = 0; i < k; ++i)
        probe.push_back(rng() % (ref + 100));
      std::sort(probe.begin(), probe.end());
      probe.erase(std::unique(probe.begin(), probe.end()), probe.end());
      bool want = std::any_of(probe.begin(), probe.end(), [&](uint64_t r) { return in.count(r) > 0; });
      CAF_REQUIRE_EQUAL(c.intersects(probe), want);
    }
    // Each ref alone is found, and the one past the last is not.
    for (uint64_t r : in)
      CAF_REQUIRE(c.intersects({r}));
    CAF_CHECK(!c.intersects({ref + 1}));
  }
}

#define CAF_SUITE storage.head.ref_table
#include "test_support.hpp"

#include <map>
#include <random>
#include <vector>

#include "storage/head/ref_table.hpp"

using nl::storage::ref_table;

namespace {

std::map<uint64_t, int*> contents(const ref_table<int>& t) {
  std::map<uint64_t, int*> out;
  t.for_each([&](uint64_t ref, int* p) { out.emplace(ref, p); });
  return out;
}

}  // namespace

CAF_TEST(refs of the class and strays are found erased and listed) {
  ref_table<int> t{2, 3};  // the class 2, 5, 8, ...
  int a = 1, b = 2, c = 3, d = 4;
  t.insert(2, &a);
  t.insert(5, &b);
  t.insert(4, &c);  // not of the class
  t.insert(1, &d);  // below start
  CAF_CHECK_EQUAL(t.size(), 4u);
  CAF_CHECK_EQUAL(t.find(2), &a);
  CAF_CHECK_EQUAL(t.find(5), &b);
  CAF_CHECK_EQUAL(t.find(4), &c);
  CAF_CHECK_EQUAL(t.find(1), &d);
  CAF_CHECK(t.find(8) == nullptr);
  CAF_CHECK(t.find(3) == nullptr);
  CAF_CHECK(t.find(1u << 30) == nullptr);
  CAF_CHECK((contents(t) == std::map<uint64_t, int*>{{1, &d}, {2, &a}, {4, &c}, {5, &b}}));
  CAF_CHECK(t.erase(5));
  CAF_CHECK(!t.erase(5));
  CAF_CHECK(t.erase(4));
  CAF_CHECK(!t.erase(7));
  CAF_CHECK(t.find(5) == nullptr);
  CAF_CHECK(t.find(4) == nullptr);
  CAF_CHECK_EQUAL(t.size(), 2u);
}

CAF_TEST(a ref far from the window is kept as a stray) {
  // A damaged WAL record may name any ref: it must not allocate pages up
  // to it.
  ref_table<int> t{1, 1};
  int a = 1, b = 2;
  t.insert(5, &a);
  uint64_t far = uint64_t{1} << 60;
  t.insert(far, &b);
  CAF_CHECK_EQUAL(t.window_pages(), 1u);
  CAF_CHECK_EQUAL(t.find(far), &b);
  CAF_CHECK((contents(t) == std::map<uint64_t, int*>{{5, &a}, {far, &b}}));
  CAF_CHECK(t.erase(far));
  CAF_CHECK_EQUAL(t.size(), 1u);
}

CAF_TEST(the window follows the live refs through churn and restarts) {
  // Refs handed out in order while the oldest leave: the window stays
  // about as large as the live refs, however high the refs climb.
  ref_table<int> t{2, 2};
  std::vector<int> v(1);
  const uint64_t live = 5000;
  for (uint64_t i = 0; i < 200000; ++i) {
    t.insert(2 + 2 * i, v.data());
    if (i >= live)
      CAF_REQUIRE(t.erase(2 + 2 * (i - live)));
  }
  CAF_CHECK_EQUAL(t.size(), live);
  CAF_CHECK_LESS_OR_EQUAL(t.window_pages(), live / ref_table<int>::page_size + 2);
  CAF_CHECK_EQUAL(t.find(2 + 2 * 199999), v.data());
  CAF_CHECK(t.find(2 + 2 * 1000) == nullptr);
  // A restart replays refs far above 1: an empty table starts its window
  // at the first one.
  ref_table<int> r{1, 1};
  r.insert(1000000000, v.data());
  r.insert(1000000001, v.data());
  CAF_CHECK_EQUAL(r.window_pages(), 1u);
  CAF_CHECK_EQUAL(r.find(1000000001), v.data());
  // A stray whose page later joins the window is still found and erased.
  ref_table<int> s{1, 1};
  int x = 1, y = 2;
  s.insert(1, &x);
  uint64_t later = 1 + 3000 * ref_table<int>::page_size;  // beyond the gap allowed now
  s.insert(later, &y);
  for (uint64_t i = 2; i <= later + 1; i += ref_table<int>::page_size)
    s.insert(i, &x);  // the window grows page by page, past it
  CAF_CHECK_EQUAL(s.find(later), &y);
  CAF_CHECK(s.erase(later));
  CAF_CHECK(s.find(later) == nullptr);
}

CAF_TEST(random inserts and erases agree with a reference map) {
  std::mt19937_64 rng(7);
  ref_table<int> t{1, 2};
  std::map<uint64_t, int*> want;
  std::vector<int> values(20000);
  for (int round = 0; round < 200000; ++round) {
    uint64_t ref = 1 + rng() % 20000;
    int* p = &values[ref - 1];
    if (rng() % 3 == 0) {
      CAF_REQUIRE_EQUAL(t.erase(ref), want.erase(ref) == 1);
    } else if (want.count(ref) == 0) {
      t.insert(ref, p);
      want.emplace(ref, p);
    }
    CAF_REQUIRE_EQUAL(t.find(ref), want.count(ref) ? want[ref] : nullptr);
  }
  CAF_CHECK_EQUAL(t.size(), want.size());
  CAF_CHECK(contents(t) == want);
}

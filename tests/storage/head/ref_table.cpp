#define CAF_SUITE storage.head.ref_table
#include "test_support.hpp"

#include <map>
#include <random>

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

CAF_TEST(a ref far above the top is kept as a stray) {
  // A damaged WAL record may name any ref: it must not allocate pages up
  // to it.
  ref_table<int> t{1, 1};
  int a = 1;
  uint64_t far = uint64_t{1} << 60;
  t.insert(far, &a);
  CAF_CHECK_EQUAL(t.find(far), &a);
  CAF_CHECK((contents(t) == std::map<uint64_t, int*>{{far, &a}}));
  CAF_CHECK(t.erase(far));
  CAF_CHECK(t.empty());
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

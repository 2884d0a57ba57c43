#define CAF_SUITE storage.head.pair_table
#include "test_support.hpp"

#include "storage/head/pair_table.hpp"
#include "storage/label_key.hpp"

using namespace nl::storage;

CAF_TEST(a pair has one id while it has holders) {
  pair_table t;
  auto a = t.acquire(label_pair("job", "node"));
  auto b = t.acquire(label_pair("job", "api"));
  CAF_CHECK_NOT_EQUAL(a, b);
  CAF_CHECK_EQUAL(t.acquire(label_pair("job", "node")), a);
  CAF_CHECK_EQUAL(t.bytes(a), label_pair("job", "node"));
  CAF_CHECK_EQUAL(t.bytes(b), label_pair("job", "api"));
  CAF_CHECK_EQUAL(t.size(), 2u);
  CAF_CHECK(!t.release(a));  // one holder left
  CAF_CHECK_EQUAL(t.bytes(a), label_pair("job", "node"));
  CAF_CHECK_EQUAL(t.acquire(label_pair("job", "node")), a);
  CAF_CHECK(!t.release(a));
  CAF_CHECK(t.release(a));  // the last holder frees it
  CAF_CHECK_EQUAL(t.size(), 1u);
  // The freed id goes to the next new pair; the old pair is new again.
  auto c = t.acquire(label_pair("env", "prod"));
  CAF_CHECK_EQUAL(c, a);
  CAF_CHECK_EQUAL(t.bytes(c), label_pair("env", "prod"));
  auto d = t.acquire(label_pair("job", "node"));
  CAF_CHECK_NOT_EQUAL(d, c);
  CAF_CHECK_EQUAL(t.size(), 3u);
}

CAF_TEST(pairs compare by name then value as strings) {
  // Not as their bytes: a length prefix would put "b" before "aa".
  CAF_CHECK_LESS(compare_pairs(label_pair("aa", "x"), label_pair("b", "x")), 0);
  CAF_CHECK_GREATER(compare_pairs(label_pair("b", "x"), label_pair("aa", "x")), 0);
  CAF_CHECK_LESS(compare_pairs(label_pair("a", "aa"), label_pair("a", "b")), 0);
  CAF_CHECK_LESS(compare_pairs(label_pair("a", "x"), label_pair("a", "xy")), 0);
  CAF_CHECK_EQUAL(compare_pairs(label_pair("a", "x"), label_pair("a", "x")), 0);
}

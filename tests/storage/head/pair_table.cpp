#define CAF_SUITE storage.head.pair_table
#include "test_support.hpp"

#include "storage/coding.hpp"
#include "storage/head/pair_table.hpp"

using namespace nl::storage;

namespace {

std::string pair(std::string_view name, std::string_view value) {
  std::string out;
  put_length_prefixed(out, name);
  put_length_prefixed(out, value);
  return out;
}

}  // namespace

CAF_TEST(a pair has one id while it has holders) {
  pair_table t;
  auto a = t.acquire(pair("job", "node"));
  auto b = t.acquire(pair("job", "api"));
  CAF_CHECK_NOT_EQUAL(a, b);
  CAF_CHECK_EQUAL(t.acquire(pair("job", "node")), a);
  CAF_CHECK_EQUAL(t.bytes(a), pair("job", "node"));
  CAF_CHECK_EQUAL(t.bytes(b), pair("job", "api"));
  CAF_CHECK_EQUAL(t.size(), 2u);
  t.release(a);  // one holder left
  CAF_CHECK_EQUAL(t.bytes(a), pair("job", "node"));
  CAF_CHECK_EQUAL(t.acquire(pair("job", "node")), a);
  t.release(a);
  t.release(a);
  CAF_CHECK_EQUAL(t.size(), 1u);
  // The freed id goes to the next new pair; the old pair is new again.
  auto c = t.acquire(pair("env", "prod"));
  CAF_CHECK_EQUAL(c, a);
  CAF_CHECK_EQUAL(t.bytes(c), pair("env", "prod"));
  auto d = t.acquire(pair("job", "node"));
  CAF_CHECK_NOT_EQUAL(d, c);
  CAF_CHECK_EQUAL(t.size(), 3u);
}

CAF_TEST(pairs compare by name then value as strings) {
  // Not as their bytes: a length prefix would put "b" before "aa".
  CAF_CHECK_LESS(compare_pairs(pair("aa", "x"), pair("b", "x")), 0);
  CAF_CHECK_GREATER(compare_pairs(pair("b", "x"), pair("aa", "x")), 0);
  CAF_CHECK_LESS(compare_pairs(pair("a", "aa"), pair("a", "b")), 0);
  CAF_CHECK_LESS(compare_pairs(pair("a", "x"), pair("a", "xy")), 0);
  CAF_CHECK_EQUAL(compare_pairs(pair("a", "x"), pair("a", "x")), 0);
}

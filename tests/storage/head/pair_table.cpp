#define CAF_SUITE storage.head.pair_table
#include "test_support.hpp"

#include <map>
#include <random>
#include <string>
#include <vector>

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

// Thousands of pairs acquired and released at random, many alike at both
// ends (what the table's memo of recent ids keys on) and ids reused: every
// acquire gives the pair's one live id, whose bytes are the pair.
CAF_TEST(random acquires and releases agree with a count per pair) {
  pair_table t;
  std::mt19937_64 rng{1207};
  std::vector<std::string> pairs;
  for (int i = 0; i < 3000; ++i)
    pairs.push_back(label_pair(i % 2 ? "instance" : "job", "host-" + std::to_string(i % 1500) + ":9100"));
  std::map<std::string, std::pair<uint32_t, int>> live;  // pair -> id, holders
  std::map<uint32_t, std::string> by_id;                 // live ids
  for (int step = 0; step < 200000; ++step) {
    const auto& p = pairs[rng() % pairs.size()];
    auto it = live.find(p);
    if (it != live.end() && rng() % 2 == 0) {
      bool freed = t.release(it->second.first);
      CAF_REQUIRE_EQUAL(freed, --it->second.second == 0);
      if (freed) {
        by_id.erase(it->second.first);
        live.erase(it);
      }
      continue;
    }
    uint32_t id = t.acquire(p);
    CAF_REQUIRE_EQUAL(t.bytes(id), p);
    if (it != live.end()) {
      CAF_REQUIRE_EQUAL(id, it->second.first);
      ++it->second.second;
    } else {
      CAF_REQUIRE(by_id.emplace(id, p).second);  // no other live pair has it
      live[p] = {id, 1};
    }
  }
  CAF_CHECK_EQUAL(t.size(), live.size());
}

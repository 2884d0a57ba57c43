#define CAF_SUITE storage.hash_slots
#include "test_support.hpp"

#include <map>
#include <random>
#include <set>

#include "storage/hash_slots.hpp"

using nl::storage::hash_slots;

namespace {

struct item {
  uint64_t hash;
  int id;
};

struct hash_of_item {
  uint64_t operator()(const item& x) const { return x.hash; }
  void prefetch(const item&) const {}
};

using slots = hash_slots<item, hash_of_item>;

}  // namespace

CAF_TEST(equal hashes are told apart by the match function) {
  slots t;
  item a{7, 1};
  item b{7, 2};
  t.insert(7, &a);
  t.insert(7, &b);
  CAF_CHECK_EQUAL(t.find(7, [](const item& x) { return x.id == 2; }), &b);
  CAF_CHECK_EQUAL(t.find(7, [](const item& x) { return x.id == 1; }), &a);
  CAF_CHECK(t.find(7, [](const item& x) { return x.id == 3; }) == nullptr);
  CAF_CHECK(t.find(8, [](const item&) { return true; }) == nullptr);
  CAF_CHECK(t.erase(7, &a));
  CAF_CHECK(!t.erase(7, &a));
  CAF_CHECK_EQUAL(t.find(7, [](const item&) { return true; }), &b);
}

CAF_TEST(random inserts and erases agree with a reference map) {
  // Few distinct hashes force long probe runs that wrap around the array,
  // which is where backward-shift deletion can go wrong.
  std::mt19937_64 rng(42);
  std::vector<item> items(4000);
  for (size_t i = 0; i < items.size(); ++i)
    items[i] = {rng() % 300, static_cast<int>(i)};
  slots t;
  std::set<int> in;
  for (int round = 0; round < 40000; ++round) {
    auto& x = items[rng() % items.size()];
    if (in.count(x.id)) {
      CAF_REQUIRE(t.erase(x.hash, &x));
      in.erase(x.id);
    } else {
      t.insert(x.hash, &x);
      in.insert(x.id);
    }
    if (round % 1000 == 0) {
      for (auto& y : items) {
        auto* got = t.find(y.hash, [&](const item& z) { return z.id == y.id; });
        CAF_REQUIRE_EQUAL(got != nullptr, in.count(y.id) == 1);
      }
    }
  }
  CAF_CHECK_EQUAL(t.size(), in.size());
}

CAF_TEST(a bulk insert stores every entry and stops at a repeated key) {
  std::mt19937_64 rng{11};
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{5000}, size_t{70000}}) {
    std::vector<item> items(n);
    std::vector<std::pair<uint64_t, item*>> entries;
    for (size_t i = 0; i < n; ++i) {
      // Some hashes shared by distinct items, as colliding label sets.
      items[i] = {i % 10 == 0 && i > 0 ? items[i - 1].hash : rng(), static_cast<int>(i)};
      entries.emplace_back(items[i].hash, &items[i]);
    }
    slots t;
    item before{rng(), -1};  // already there: a bulk load adds to it
    t.insert(before.hash, &before);
    auto same_id = [](const item& a, const item& b) { return a.id == b.id; };
    CAF_CHECK(t.insert_all(entries, same_id) == nullptr);
    CAF_CHECK_EQUAL(t.size(), n + 1);
    for (auto& x : items)
      CAF_CHECK_EQUAL(t.find(x.hash, [&x](const item& y) { return y.id == x.id; }), &x);
    CAF_CHECK_EQUAL(t.find(before.hash, [](const item& y) { return y.id == -1; }), &before);
  }
  // A second item with the id (the key) of one already stored: reported.
  item a{42, 1};
  item b{42, 1};
  item c{43, 2};
  std::vector<std::pair<uint64_t, item*>> entries = {{42, &a}, {43, &c}, {42, &b}};
  slots t;
  auto* repeated = t.insert_all(entries, [](const item& x, const item& y) { return x.id == y.id; });
  CAF_CHECK(repeated == &a || repeated == &b);
}

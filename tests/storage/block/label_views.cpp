#define CAF_SUITE storage.block.label_views
#include "test_support.hpp"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "storage/block/label_views.hpp"

using namespace nl::storage;

namespace {

// Small alphabets, so that label sets share names, values and prefixes.
label_set random_set(std::mt19937_64& rng) {
  std::vector<label> ls;
  const size_t n = rng() % 4;
  for (size_t i = 0; i < n; ++i)
    ls.push_back({std::string(1, static_cast<char>('a' + rng() % 3)) + (rng() % 2 ? "x" : ""),
                  std::string(1 + rng() % 2, static_cast<char>('0' + rng() % 3))});
  return label_set::from_unsorted(std::move(ls));
}

// The views of `sets` (which own the strings) in their order.
label_views views_of(const std::vector<label_set>& sets) {
  label_views v;
  for (const auto& s : sets) {
    for (const auto& l : s.labels()) {
      v.parts.push_back(l.name);
      v.parts.push_back(l.value);
    }
    v.ends.push_back(static_cast<uint32_t>(v.parts.size()));
  }
  return v;
}

bool less(const label_set& a, const label_set& b) { return label_set::compare(a, b) < 0; }

std::vector<label_set> sorted_distinct(std::vector<label_set> xs) {
  std::sort(xs.begin(), xs.end(), less);
  xs.erase(std::unique(xs.begin(), xs.end(),
                       [](const label_set& a, const label_set& b) { return label_set::compare(a, b) == 0; }),
           xs.end());
  return xs;
}

bool same(const std::vector<label_set>& a, const std::vector<label_set>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (label_set::compare(a[i], b[i]) != 0)
      return false;
  return true;
}

}  // namespace

CAF_TEST(views compare as label sets do) {
  std::mt19937_64 rng{7};
  size_t equal = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<label_set> two = {random_set(rng), random_set(rng)};
    auto v = views_of(two);
    int want = label_set::compare(two[0], two[1]);
    CAF_REQUIRE_EQUAL(compare(v, 0, v, 1), want);
    CAF_REQUIRE_EQUAL(compare(v, 1, v, 0), -want);
    equal += want == 0;
  }
  CAF_CHECK(equal > 0);  // the alphabets make equal sets too
}

CAF_TEST(the union of sorted lists is their sorted set union and builds each series once) {
  std::mt19937_64 rng{11};
  for (int round = 0; round < 500; ++round) {
    std::vector<std::vector<label_set>> lists(1 + rng() % 5);
    std::vector<label_set> everything;
    for (auto& l : lists) {
      for (size_t k = rng() % 12; k > 0; --k)
        l.push_back(random_set(rng));
      l = sorted_distinct(std::move(l));
      everything.insert(everything.end(), l.begin(), l.end());
    }
    label_views all;
    for (const auto& l : lists)
      all = union_of(all, views_of(l));
    CAF_REQUIRE(same(to_label_sets(all), sorted_distinct(everything)));
  }
}

CAF_TEST(an unsorted list with repeats is sorted and made distinct) {
  std::mt19937_64 rng{13};
  for (int round = 0; round < 500; ++round) {
    std::vector<label_set> xs;
    for (size_t k = rng() % 15; k > 0; --k)
      xs.push_back(random_set(rng));
    auto v = views_of(xs);
    sort_distinct(v);
    CAF_REQUIRE(same(to_label_sets(v), sorted_distinct(xs)));
  }
  // Already sorted and distinct: left as it is.
  std::vector<label_set> ok = sorted_distinct({label_set::from_unsorted({{"a", "1"}}),
                                               label_set::from_unsorted({{"a", "2"}}),
                                               label_set::from_unsorted({{"a", "2"}, {"b", "1"}})});
  auto v = views_of(ok);
  auto before = v.parts;
  sort_distinct(v);
  CAF_CHECK(v.parts == before);
  CAF_CHECK_EQUAL(v.size(), 3u);
}

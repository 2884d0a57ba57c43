#define CAF_SUITE storage.index.postings
#include "test_support.hpp"

#include <random>

#include "storage/index/postings.hpp"

using namespace nl::storage;

namespace {

matcher m(match_type t, std::string name, std::string value) {
  auto r = matcher::make(t, std::move(name), std::move(value));
  CAF_REQUIRE(r.is_ok());
  return *r;
}

label_set ls(std::vector<label> l) { return label_set::from_unsorted(std::move(l)); }

// Series 1..6:
//   1 {__name__=up, job=a, env=prod}
//   2 {__name__=up, job=a}
//   3 {__name__=up, job=b, env=dev}
//   4 {__name__=cpu, job=b, env=prod}
//   5 {__name__=cpu, job=c}
//   6 {__name__=mem}
postings_index fixture() {
  postings_index ix;
  ix.add(1, ls({{"__name__", "up"}, {"job", "a"}, {"env", "prod"}}));
  ix.add(2, ls({{"__name__", "up"}, {"job", "a"}}));
  ix.add(3, ls({{"__name__", "up"}, {"job", "b"}, {"env", "dev"}}));
  ix.add(4, ls({{"__name__", "cpu"}, {"job", "b"}, {"env", "prod"}}));
  ix.add(5, ls({{"__name__", "cpu"}, {"job", "c"}}));
  ix.add(6, ls({{"__name__", "mem"}}));
  return ix;
}

using pl = postings_list;

}  // namespace

CAF_TEST(set operations on empty and disjoint lists) {
  CAF_CHECK_EQUAL(intersect({}, {1, 2}), pl{});
  CAF_CHECK_EQUAL(intersect({1, 3, 5}, {2, 4}), pl{});
  CAF_CHECK_EQUAL(intersect({1, 3, 5, 9}, {3, 9, 10}), (pl{3, 9}));
  CAF_CHECK_EQUAL(merge(pl{}, pl{}), pl{});
  CAF_CHECK_EQUAL(merge(pl{1, 5}, pl{}), (pl{1, 5}));
  CAF_CHECK_EQUAL(merge(pl{1, 5}, pl{1, 2, 5, 7}), (pl{1, 2, 5, 7}));
  CAF_CHECK_EQUAL(subtract({1, 2, 3}, {}), (pl{1, 2, 3}));
  CAF_CHECK_EQUAL(subtract({}, {1}), pl{});
  CAF_CHECK_EQUAL(subtract({1, 2, 3, 4}, {0, 2, 4, 6}), (pl{1, 3}));
  pl a{1, 4, 9}, b{2, 4, 10}, c{}, d{0, 11};
  CAF_CHECK_EQUAL(merge(std::vector<const pl*>{&a, nullptr, &b, &c, &d}), (pl{0, 1, 2, 4, 9, 10, 11}));
  CAF_CHECK_EQUAL(merge(std::vector<const pl*>{}), pl{});
}

CAF_TEST(k way merge equals repeated pairwise merge) {
  std::mt19937_64 rng{1};
  std::vector<pl> lists(7);
  for (auto& l : lists) {
    for (int i = 0; i < 50; ++i)
      l.push_back(rng() % 200);
    std::sort(l.begin(), l.end());
    l.erase(std::unique(l.begin(), l.end()), l.end());
  }
  pl expected;
  std::vector<const pl*> ptrs;
  for (auto& l : lists) {
    expected = merge(expected, l);
    ptrs.push_back(&l);
  }
  CAF_CHECK_EQUAL(merge(ptrs), expected);
}

CAF_TEST(equality and regex select with set lookups and scans) {
  auto ix = fixture();
  CAF_CHECK_EQUAL(ix.select({m(match_type::equal, "__name__", "up")}), (pl{1, 2, 3}));
  CAF_CHECK_EQUAL(ix.select({m(match_type::equal, "__name__", "up"),
                             m(match_type::equal, "job", "a")}),
                  (pl{1, 2}));
  CAF_CHECK_EQUAL(ix.select({m(match_type::regex, "job", "a|c")}), (pl{1, 2, 5}));
  CAF_CHECK_EQUAL(ix.select({m(match_type::regex, "job", "[bc]")}), (pl{3, 4, 5}));
  CAF_CHECK_EQUAL(ix.select({m(match_type::regex, "job", "a|nope")}), (pl{1, 2}));
  CAF_CHECK_EQUAL(ix.select({m(match_type::equal, "job", "zzz")}), pl{});
  CAF_CHECK_EQUAL(ix.select({m(match_type::equal, "nolabel", "x")}), pl{});
  CAF_CHECK_EQUAL(ix.select({m(match_type::regex, "job", ".+")}), (pl{1, 2, 3, 4, 5}));
  // Regex is fully anchored: "u" does not match "up".
  CAF_CHECK_EQUAL(ix.select({m(match_type::regex, "__name__", "u")}), pl{});
}

CAF_TEST(matchers accepting the empty value include series without the label) {
  auto ix = fixture();
  // env!="prod": series without env count.
  CAF_CHECK_EQUAL(ix.select({m(match_type::not_equal, "env", "prod")}), (pl{2, 3, 5, 6}));
  CAF_CHECK_EQUAL(ix.select({m(match_type::equal, "__name__", "up"),
                             m(match_type::not_equal, "env", "prod")}),
                  (pl{2, 3}));
  // env="": only series without env.
  CAF_CHECK_EQUAL(ix.select({m(match_type::equal, "env", "")}), (pl{2, 5, 6}));
  // env!="": only series with env.
  CAF_CHECK_EQUAL(ix.select({m(match_type::not_equal, "env", "")}), (pl{1, 3, 4}));
  // env=~".*" selects everything, env=~".+" only labelled ones.
  CAF_CHECK_EQUAL(ix.select({m(match_type::regex, "env", ".*")}), (pl{1, 2, 3, 4, 5, 6}));
  CAF_CHECK_EQUAL(ix.select({m(match_type::regex, "env", ".+")}), (pl{1, 3, 4}));
  // env=~"dev|": dev or missing.
  CAF_CHECK_EQUAL(ix.select({m(match_type::regex, "env", "dev|")}), (pl{2, 3, 5, 6}));
  // env!~"dev|prod": only missing.
  CAF_CHECK_EQUAL(ix.select({m(match_type::not_regex, "env", "dev|prod")}), (pl{2, 5, 6}));
  // env!~"d.*" with a label that must be set.
  CAF_CHECK_EQUAL(ix.select({m(match_type::regex, "env", ".+"),
                             m(match_type::not_regex, "env", "d.*")}),
                  (pl{1, 4}));
  // job!~"" (rejects empty) behaves like job=~".+".
  CAF_CHECK_EQUAL(ix.select({m(match_type::not_regex, "job", "")}), (pl{1, 2, 3, 4, 5}));
  // Missing label name entirely: != matches every series.
  CAF_CHECK_EQUAL(ix.select({m(match_type::not_equal, "nolabel", "x")}), (pl{1, 2, 3, 4, 5, 6}));
  CAF_CHECK_EQUAL(ix.select({}), (pl{1, 2, 3, 4, 5, 6}));
}

CAF_TEST(select agrees with brute force matching) {
  auto ix = fixture();
  std::vector<label_set> all{{}, ls({{"__name__", "up"}, {"job", "a"}, {"env", "prod"}}),
                             ls({{"__name__", "up"}, {"job", "a"}}),
                             ls({{"__name__", "up"}, {"job", "b"}, {"env", "dev"}}),
                             ls({{"__name__", "cpu"}, {"job", "b"}, {"env", "prod"}}),
                             ls({{"__name__", "cpu"}, {"job", "c"}}), ls({{"__name__", "mem"}})};
  std::vector<matcher> pool{m(match_type::equal, "job", "b"),    m(match_type::not_equal, "job", "a"),
                            m(match_type::regex, "env", "p.*|"), m(match_type::not_regex, "__name__", "up|mem"),
                            m(match_type::equal, "env", ""),     m(match_type::regex, "job", ".*"),
                            m(match_type::not_equal, "env", ""), m(match_type::regex, "__name__", "c.u")};
  for (size_t i = 0; i < pool.size(); ++i) {
    for (size_t j = 0; j < pool.size(); ++j) {
      matcher_list ms{pool[i], pool[j]};
      pl expected;
      for (uint64_t ref = 1; ref <= 6; ++ref)
        if (matches_all(ms, all[ref]))
          expected.push_back(ref);
      CAF_CHECK_EQUAL(ix.select(ms), expected);
    }
  }
}

CAF_TEST(names and values are sorted and follow removals) {
  auto ix = fixture();
  CAF_CHECK_EQUAL(ix.label_names(), (std::vector<std::string>{"__name__", "env", "job"}));
  CAF_CHECK_EQUAL(ix.label_values("job"), (std::vector<std::string>{"a", "b", "c"}));
  CAF_CHECK_EQUAL(ix.label_values("nope"), std::vector<std::string>{});
  // Restricted to some series.
  CAF_CHECK_EQUAL(ix.label_names(pl{2, 6}), (std::vector<std::string>{"__name__", "job"}));
  CAF_CHECK_EQUAL(ix.label_names(pl{}), std::vector<std::string>{});
  CAF_CHECK_EQUAL(ix.label_values("job", pl{1, 2, 5, 6}), (std::vector<std::string>{"a", "c"}));
  CAF_CHECK_EQUAL(ix.label_values("env", pl{2, 5}), std::vector<std::string>{});
  CAF_CHECK(intersects({1, 5, 9}, {2, 9}));
  CAF_CHECK(!intersects({1, 5, 9}, {2, 6, 10}));
  CAF_CHECK(!intersects({}, {1}));
  // Remove every series with env, plus series 5.
  std::vector<std::vector<interned_label>> kept;
  postings_index ix2;
  std::vector<label_set> sets{ls({{"__name__", "up"}, {"env", "prod"}}),
                              ls({{"__name__", "up"}, {"env", "dev"}}),
                              ls({{"__name__", "up"}, {"job", "x"}})};
  for (uint64_t i = 0; i < sets.size(); ++i)
    ix2.add(10 + i, sets[i]);
  for (const auto& set : sets) {
    kept.emplace_back();
    for (const auto& l : set) {
      auto in = ix2.interned(l.name, l.value);
      CAF_REQUIRE(in);
      kept.back().push_back(*in);
    }
  }
  CAF_CHECK_EQUAL(*kept[0][1].value, "prod");
  CAF_CHECK_EQUAL(*kept[0][0].name, "__name__");
  ix2.remove({{10, &kept[0]}, {11, &kept[1]}});
  CAF_CHECK_EQUAL(ix2.label_names(), (std::vector<std::string>{"__name__", "job"}));
  CAF_CHECK_EQUAL(ix2.all(), pl{12});
  CAF_CHECK_EQUAL(ix2.select({m(match_type::equal, "__name__", "up")}), pl{12});
  CAF_CHECK(!ix2.get("env", "prod"));
  // The survivor's interned strings are intact.
  CAF_CHECK_EQUAL(*kept[2][1].value, "x");
  ix2.remove({{12, &kept[2]}});
  CAF_CHECK(ix2.label_names().empty());
  CAF_CHECK_EQUAL(ix2.size(), 0u);
}

CAF_TEST(out of order refs are inserted sorted) {
  postings_index ix;
  ix.add(30, ls({{"a", "1"}}));
  ix.add(10, ls({{"a", "1"}}));
  ix.add(20, ls({{"a", "1"}}));
  auto got = ix.get("a", "1");
  CAF_REQUIRE(got);
  CAF_CHECK_EQUAL(*got, (pl{10, 20, 30}));
  CAF_CHECK_EQUAL(ix.all(), (pl{10, 20, 30}));
}

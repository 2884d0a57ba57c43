#define CAF_SUITE storage.labels
#include "test_support.hpp"

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/labels.hpp"
#include "storage/matcher.hpp"

using namespace nl::storage;

CAF_TEST(from_unsorted sorts and drops empty values) {
  auto ls = label_set::from_unsorted({{"job", "a"}, {"__name__", "up"}, {"empty", ""}});
  CAF_REQUIRE_EQUAL(ls.size(), 2u);
  CAF_CHECK_EQUAL(ls.labels()[0].name, "__name__");
  CAF_CHECK_EQUAL(ls.labels()[1].name, "job");
  CAF_CHECK_EQUAL(ls.to_string(), "up{job=\"a\"}");
  CAF_CHECK_EQUAL(ls.get("missing"), "");
}

CAF_TEST(hash separates name and value boundaries) {
  auto a = label_set::from_unsorted({{"ab", "c"}});
  auto b = label_set::from_unsorted({{"a", "bc"}});
  CAF_CHECK_NOT_EQUAL(a.hash(), b.hash());
  CAF_CHECK_EQUAL(a.hash(), label_set::from_unsorted({{"ab", "c"}}).hash());
}

CAF_TEST(hash tells apart values of every length and every byte position) {
  // The hasher reads whole words and a partial tail: strings of 0..40
  // bytes, and each one with a single byte changed, must all differ.
  std::set<uint64_t> seen;
  size_t made = 0;
  for (size_t n = 1; n <= 40; ++n) {
    std::string v(n, 'a');
    seen.insert(label_set::from_unsorted({{"k", v}}).hash());
    ++made;
    for (size_t i = 0; i < n; ++i) {
      std::string w = v;
      w[i] = 'b';
      seen.insert(label_set::from_unsorted({{"k", w}}).hash());
      ++made;
    }
  }
  CAF_CHECK_EQUAL(seen.size(), made);
  // Both shards of two get a fair share of similar series.
  size_t odd = 0;
  for (int i = 0; i < 1000; ++i)
    odd += label_set::from_unsorted({{"__name__", "up"}, {"instance", "host-" + std::to_string(i)}}).hash() & 1;
  CAF_CHECK_GREATER(odd, 400u);
  CAF_CHECK_LESS(odd, 600u);
}

CAF_TEST(compare orders like prometheus) {
  auto a = label_set::from_unsorted({{"a", "1"}});
  auto b = label_set::from_unsorted({{"a", "1"}, {"b", "1"}});
  auto c = label_set::from_unsorted({{"a", "2"}});
  CAF_CHECK(a < b);
  CAF_CHECK(b < c);
  CAF_CHECK(!(c < a));
}

CAF_TEST(builder set del keep) {
  auto ls = label_set_builder{label_set::from_unsorted({{"a", "1"}, {"b", "2"}})}
              .set("c", "3")
              .set("a", "")
              .build();
  CAF_CHECK_EQUAL(ls.to_string(), "{b=\"2\", c=\"3\"}");
  auto kept = label_set_builder{ls}.keep({"c"}).build();
  CAF_CHECK_EQUAL(kept.to_string(), "{c=\"3\"}");
}

CAF_TEST(regex matchers are fully anchored and dot stops at newline) {
  auto m = matcher::make(match_type::regex, "a", "fo+");
  CAF_REQUIRE(m.is_ok());
  CAF_CHECK(m->matches("foo"));
  CAF_CHECK(!m->matches("xfoo"));
  CAF_CHECK(!m->matches("foox"));
  auto dot = matcher::make(match_type::regex, "a", "a.b");
  CAF_CHECK(!dot->matches("a\nb"));
  CAF_CHECK(dot->matches("axb"));
  auto alt = matcher::make(match_type::regex, "a", "x|y");
  CAF_CHECK_EQUAL(alt->set_matches().size(), 2u);
  auto nre = matcher::make(match_type::not_regex, "a", ".+");
  CAF_CHECK(nre->matches_empty());
}

CAF_TEST(invalid regex is an error not a crash) {
  auto m = matcher::make(match_type::regex, "a", "(");
  CAF_CHECK(!m.is_ok());
  CAF_CHECK(m.error().message().find("error parsing regexp") == 0);
}

CAF_TEST(compiled regexes are reused across threads and past the cache bound) {
  // 300 patterns (more than the cache keeps) made again and again from four
  // threads: every matcher still matches its own pattern, a negated one
  // with the same text still negates, and an invalid pattern fails every
  // time (failures are not kept).
  std::atomic<int> wrong{0};
  auto work = [&](int seed) {
    for (int round = 0; round < 3; ++round)
      for (int i = 0; i < 300; ++i) {
        int k = (i * 7 + seed) % 300;
        std::string v = "10\\.0\\.0\\." + std::to_string(k) + ":.*";
        auto m = matcher::make(match_type::regex, "instance", v);
        auto n = matcher::make(match_type::not_regex, "instance", v);
        std::string hit = "10.0.0." + std::to_string(k) + ":9100";
        std::string miss = "10.0.0." + std::to_string(k + 1000) + ":9100";
        if (!m.is_ok() || !n.is_ok() || !m->matches(hit) || m->matches(miss) || n->matches(hit) ||
            !n->matches(miss))
          ++wrong;
        if (matcher::make(match_type::regex, "a", "(").is_ok())
          ++wrong;
      }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back(work, t);
  for (auto& t : threads)
    t.join();
  CAF_CHECK_EQUAL(wrong.load(), 0);
}

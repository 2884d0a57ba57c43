#define CAF_SUITE storage.head.stats
#include "test_support.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "storage/head/head.hpp"
#include "storage/label_key.hpp"
#include "storage/index/label_stats.hpp"

using namespace nl::storage;

namespace {

label_set ls(std::vector<label> l) { return label_set::from_unsorted(std::move(l)); }

// Creates the series and appends a sample at each of `ts` (none: the series
// exists without data, as after a refused first sample).
void add(head& h, const label_set& labels, std::vector<int64_t> ts) {
  auto slot = h.get_or_create(labels.hash(), label_key(labels));
  CAF_REQUIRE(slot.is_ok());
  for (auto t : ts)
    CAF_REQUIRE(h.append(slot->ref(), t, 1.0).is_ok());
}

using stats = std::vector<cardinality_stat>;

std::string show(const stats& xs) {
  std::string s;
  for (auto& x : xs)
    s += x.name + ":" + std::to_string(x.value) + " ";
  return s;
}

// The status computed the slow way, straight from Prometheus' definitions
// (MemPostings.Stats) over a list of label sets: the reference for the
// sharded merge.
tsdb_status brute_force(const std::vector<label_set>& all, size_t limit) {
  std::map<std::string, std::map<std::string, uint64_t>> pairs;
  for (auto& s : all)
    for (auto& l : s.labels())
      pairs[l.name][l.value] += 1;
  stats metrics, counts, bytes, pair_counts;
  tsdb_status out;
  out.num_series = all.size();
  for (auto& [name, values] : pairs) {
    uint64_t b = 0;
    for (auto& [v, n] : values) {
      if (name == "__name__")
        metrics.push_back({v, n});
      pair_counts.push_back({name + "=" + v, n});
      b += v.size();
    }
    counts.push_back({name, values.size()});
    bytes.push_back({name, b});
    out.num_label_pairs += values.size();
  }
  auto top = [limit](stats xs) {
    std::sort(xs.begin(), xs.end(), [](auto& a, auto& b) {
      return a.value != b.value ? a.value > b.value : a.name < b.name;
    });
    if (xs.size() > limit)
      xs.resize(limit);
    return xs;
  };
  out.series_count_by_metric_name = top(metrics);
  out.label_value_count_by_label_name = top(counts);
  out.memory_in_bytes_by_label_name = top(bytes);
  out.series_count_by_label_value_pair = top(pair_counts);
  return out;
}

void check_lists(const tsdb_status& got, const tsdb_status& want) {
  CAF_CHECK_EQUAL(got.num_series, want.num_series);
  CAF_CHECK_EQUAL(got.num_label_pairs, want.num_label_pairs);
  CAF_CHECK_EQUAL(show(got.series_count_by_metric_name), show(want.series_count_by_metric_name));
  CAF_CHECK_EQUAL(show(got.label_value_count_by_label_name), show(want.label_value_count_by_label_name));
  CAF_CHECK_EQUAL(show(got.memory_in_bytes_by_label_name), show(want.memory_in_bytes_by_label_name));
  CAF_CHECK_EQUAL(show(got.series_count_by_label_value_pair), show(want.series_count_by_label_value_pair));
}

constexpr int64_t min_i64 = std::numeric_limits<int64_t>::min();
constexpr int64_t max_i64 = std::numeric_limits<int64_t>::max();

}  // namespace

CAF_TEST(an empty head reports no series and Prometheus empty head times) {
  head h;
  auto c = h.cardinality();
  CAF_CHECK_EQUAL(c.num_series, 0u);
  CAF_CHECK_EQUAL(c.num_chunks, 0u);
  CAF_CHECK_EQUAL(c.min_time, max_i64);
  CAF_CHECK_EQUAL(c.max_time, min_i64);
  CAF_CHECK(c.labels.empty());
  auto s = merge_head_cardinality({c}, 10);
  CAF_CHECK_EQUAL(s.num_series, 0u);
  CAF_CHECK_EQUAL(s.num_label_pairs, 0u);
  CAF_CHECK_EQUAL(s.chunk_count, 0u);
  CAF_CHECK_EQUAL(s.min_time, max_i64);
  CAF_CHECK_EQUAL(s.max_time, min_i64);
  CAF_CHECK(s.series_count_by_metric_name.empty());
  CAF_CHECK(s.series_count_by_label_value_pair.empty());
  // No shards at all: the same answer.
  auto none = merge_head_cardinality({}, 10);
  CAF_CHECK_EQUAL(none.min_time, max_i64);
  CAF_CHECK(none.label_value_count_by_label_name.empty());
}

CAF_TEST(the lists follow Prometheus MemPostings Stats definitions) {
  head_options o;
  o.samples_per_chunk = 2;
  head h{o};
  add(h, ls({{"__name__", "up"}, {"job", "a"}, {"instance", "x"}}), {1000, 2000, 3000});  // 2 chunks
  add(h, ls({{"__name__", "up"}, {"job", "a"}, {"instance", "y"}}), {1500});
  add(h, ls({{"__name__", "up"}, {"job", "b"}, {"instance", "x"}}), {4000});
  add(h, ls({{"__name__", "node_cpu"}, {"job", "a"}, {"instance", "x"}, {"mode", "idle"}}), {});
  auto c = h.cardinality();
  CAF_CHECK_EQUAL(c.num_series, 4u);
  CAF_CHECK_EQUAL(c.num_chunks, 4u);  // 2 + 1 + 1; the series without samples has none
  CAF_CHECK_EQUAL(c.min_time, 1000);
  CAF_CHECK_EQUAL(c.max_time, 4000);
  CAF_REQUIRE_EQUAL(c.labels.size(), 4u);
  CAF_CHECK_EQUAL(c.labels[0].name, "__name__");
  CAF_CHECK_EQUAL(c.labels[0].values, (std::vector<std::string>{"node_cpu", "up"}));
  CAF_CHECK_EQUAL(c.labels[0].series, (std::vector<uint64_t>{1, 3}));
  auto s = merge_head_cardinality({c}, 10);
  CAF_CHECK_EQUAL(s.num_series, 4u);
  CAF_CHECK_EQUAL(s.chunk_count, 4u);
  // Distinct pairs: __name__ 2, instance 2, job 2, mode 1.
  CAF_CHECK_EQUAL(s.num_label_pairs, 7u);
  CAF_CHECK_EQUAL(show(s.series_count_by_metric_name), "up:3 node_cpu:1 ");
  // Ties go by name (Prometheus leaves their order to chance).
  CAF_CHECK_EQUAL(show(s.label_value_count_by_label_name), "__name__:2 instance:2 job:2 mode:1 ");
  // Bytes of the distinct values, each once: "up" + "node_cpu" = 10, not
  // weighted by the series that carry them.
  CAF_CHECK_EQUAL(show(s.memory_in_bytes_by_label_name), "__name__:10 mode:4 instance:2 job:2 ");
  CAF_CHECK_EQUAL(show(s.series_count_by_label_value_pair),
                  "__name__=up:3 instance=x:3 job=a:3 __name__=node_cpu:1 instance=y:1 job=b:1 mode=idle:1 ");
}

CAF_TEST(limit keeps the largest values and ties by name) {
  head h;
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j <= i; ++j)
      add(h, ls({{"__name__", "m" + std::to_string(i)}, {"i", std::to_string(j)}}), {1000});
  auto c = h.cardinality();
  CAF_CHECK_EQUAL(show(merge_head_cardinality({c}, 2).series_count_by_metric_name), "m5:6 m4:5 ");
  CAF_CHECK_EQUAL(show(merge_head_cardinality({c}, 0).series_count_by_metric_name), "m5:6 ");
  // Pairs i=0 and __name__=m5 both count 6: the name decides.
  CAF_CHECK_EQUAL(show(merge_head_cardinality({c}, 3).series_count_by_label_value_pair),
                  "__name__=m5:6 i=0:6 __name__=m4:5 ");
  CAF_CHECK_EQUAL(merge_head_cardinality({c}, 10000).series_count_by_label_value_pair.size(), 6u + 6u);
}

CAF_TEST(shards merge distinct values as sets and add series counts) {
  // Series spread over 3 shards by label hash, as the head shards are;
  // job and zone values repeat across shards, instance values do not.
  std::vector<label_set> all;
  for (int m = 0; m < 7; ++m)
    for (int s = 0; s < 3 + 2 * m; ++s)
      all.push_back(ls({{"__name__", "metric_" + std::to_string(m)},
                        {"instance", "host-" + std::to_string(s) + std::string(static_cast<size_t>(s % 5), 'x')},
                        {"job", "job-" + std::to_string(s % 3)},
                        {"zone", s % 4 == 0 ? "a" : "bb"}}));
  std::vector<std::unique_ptr<head>> shards;
  for (int i = 0; i < 3; ++i)
    shards.push_back(std::make_unique<head>());
  head whole;
  int64_t t = 1000;
  for (auto& s : all) {
    add(*shards[s.hash() % 3], s, {t});
    add(whole, s, {t});
    t += 10;
  }
  std::vector<head_cardinality> parts;
  for (auto& h : shards) {
    CAF_CHECK(h->num_series() > 0);
    parts.push_back(h->cardinality());
  }
  for (size_t limit : {1, 3, 10, 100}) {
    CAF_MESSAGE("limit " << limit);
    auto merged = merge_head_cardinality(parts, limit);
    check_lists(merged, brute_force(all, limit));
    auto single = merge_head_cardinality({whole.cardinality()}, limit);
    check_lists(merged, single);
    CAF_CHECK_EQUAL(merged.chunk_count, all.size());
    CAF_CHECK_EQUAL(merged.min_time, 1000);
    CAF_CHECK_EQUAL(merged.max_time, t - 10);
  }
  // Every job value is in several shards: counted once per name.
  auto merged = merge_head_cardinality(parts, 100);
  auto jobs = std::find_if(merged.label_value_count_by_label_name.begin(),
                           merged.label_value_count_by_label_name.end(),
                           [](auto& x) { return x.name == "job"; });
  CAF_REQUIRE(jobs != merged.label_value_count_by_label_name.end());
  CAF_CHECK_EQUAL(jobs->value, 3u);
}

CAF_TEST(truncated series leave no pairs behind) {
  head h;
  add(h, ls({{"__name__", "old"}, {"job", "gone"}}), {1000});
  add(h, ls({{"__name__", "new"}, {"job", "kept"}}), {10000});
  CAF_CHECK_EQUAL(merge_head_cardinality({h.cardinality()}, 10).num_label_pairs, 4u);
  CAF_CHECK_EQUAL(h.truncate(5000), 1u);
  auto s = merge_head_cardinality({h.cardinality()}, 10);
  CAF_CHECK_EQUAL(s.num_series, 1u);
  CAF_CHECK_EQUAL(s.num_label_pairs, 2u);
  CAF_CHECK_EQUAL(show(s.series_count_by_label_value_pair), "__name__=new:1 job=kept:1 ");
}

CAF_TEST(parts with unequal columns from the wire are read safely) {
  head_cardinality p;
  p.num_series = 1;
  label_value_counts lc;
  lc.name = "job";
  lc.values = {"a", "b"};
  lc.series = {2};  // one short
  p.labels.push_back(lc);
  label_value_counts empty_name;
  empty_name.values = {"x"};
  empty_name.series = {1};
  p.labels.insert(p.labels.begin(), empty_name);  // "" sorts first; skipped
  auto s = merge_head_cardinality({p}, 10);
  CAF_CHECK_EQUAL(s.num_label_pairs, 1u);
  CAF_CHECK_EQUAL(show(s.series_count_by_label_value_pair), "job=a:2 ");
}

#define CAF_SUITE storage.head.head
#include "test_support.hpp"

#include <algorithm>
#include <malloc.h>

#include <cmath>
#include <string>

#include "storage/head/head.hpp"
#include "storage/label_key.hpp"
#include "storage/padded_key.hpp"

using namespace nl::storage;

namespace {

matcher m(match_type t, std::string name, std::string value) {
  auto r = matcher::make(t, std::move(name), std::move(value));
  CAF_REQUIRE(r.is_ok());
  return *r;
}

label_set ls(std::vector<label> l) { return label_set::from_unsorted(std::move(l)); }

// The series' ref, created if new, and whether it was created.
std::pair<uint64_t, bool> get_or_create(head& h, const label_set& labels) {
  auto slot = h.get_or_create(labels.hash(), label_key(labels));
  CAF_REQUIRE(slot.is_ok());
  return {slot->ref(), slot->created()};
}

label_set metric(const std::string& name, const std::string& job, const std::string& inst = "") {
  return ls({{"__name__", name}, {"job", job}, {"instance", inst}});
}

std::vector<sample> samples_of(const series_snapshot& s, int64_t mint, int64_t maxt) {
  std::vector<sample> out;
  CAF_CHECK(decode_chunks(s.chunks, mint, maxt, out).is_ok());
  return out;
}

constexpr int64_t min_i64 = std::numeric_limits<int64_t>::min();
constexpr int64_t max_i64 = std::numeric_limits<int64_t>::max();

}  // namespace

CAF_TEST(get_or_create finds existing series and allocates strided refs) {
  head h{head_options{3, 4}};
  auto [a, created_a] = get_or_create(h, metric("up", "x"));
  auto [b, created_b] = get_or_create(h, metric("up", "y"));
  auto [a2, created_a2] = get_or_create(h, metric("up", "x"));
  CAF_CHECK_EQUAL(a, 3u);
  CAF_CHECK_EQUAL(b, 7u);
  CAF_CHECK(created_a && created_b && !created_a2);
  CAF_CHECK_EQUAL(a2, a);
  CAF_CHECK_EQUAL(h.find_ref(metric("up", "y")), std::optional<uint64_t>{b});
  CAF_CHECK(!h.find_ref(metric("up", "z")).has_value());
  CAF_CHECK_EQUAL(h.num_series(), 2u);
  CAF_CHECK_EQUAL(h.labels_of(b)->to_string(), "up{job=\"y\"}");
  CAF_CHECK_EQUAL(h.labels_of(99).error().error_code(), status::code::not_found);
}

CAF_TEST(append outcomes follow prometheus 2.42) {
  head h;
  auto ref = get_or_create(h, metric("up", "x")).first;
  CAF_CHECK(h.append(ref, 10'000'000, 1.0).is_ok());
  CAF_CHECK(h.append(ref, 10'000'100, 2.0).is_ok());
  // Identical duplicate: accepted, nothing stored.
  CAF_CHECK(h.appendable(ref, 10'000'100, 2.0).is_ok());
  CAF_CHECK(h.append(ref, 10'000'100, 2.0).is_ok());
  // Same timestamp, other value.
  auto dup = h.append(ref, 10'000'100, 3.0);
  CAF_CHECK_EQUAL(dup.error_code(), status::code::duplicate_sample);
  CAF_CHECK_EQUAL(dup.message(), "duplicate sample for timestamp");
  // NaN with another payload is another value.
  CAF_CHECK(h.append(ref, 10'000'200, stale_nan()).is_ok());
  CAF_CHECK(h.append(ref, 10'000'200, stale_nan()).is_ok());
  CAF_CHECK_EQUAL(h.append(ref, 10'000'200, float_from_bits(normal_nan_bits)).error_code(),
                  status::code::duplicate_sample);
  // Older than the last sample but inside the window.
  auto ooo = h.append(ref, 10'000'050, 1.0);
  CAF_CHECK_EQUAL(ooo.error_code(), status::code::out_of_order);
  CAF_CHECK_EQUAL(ooo.message(), "out of order sample");
  // Older than max time - 1h, on any series, even a new one.
  auto other = get_or_create(h, metric("up", "new")).first;
  CAF_CHECK_EQUAL(h.min_valid_time(), 10'000'200 - 3'600'000);
  auto oob = h.append(other, 10'000'200 - 3'600'001, 1.0);
  CAF_CHECK_EQUAL(oob.error_code(), status::code::out_of_bounds);
  CAF_CHECK_EQUAL(oob.message(), "out of bounds");
  CAF_CHECK(h.append(other, 10'000'200 - 3'600'000, 1.0).is_ok());
  // The bound is checked first, like Prometheus.
  CAF_CHECK_EQUAL(h.appendable(ref, 1, 1.0).error_code(), status::code::out_of_bounds);
  CAF_CHECK_EQUAL(h.append(12345, 1, 1.0).error_code(), status::code::not_found);
  auto st = h.stats();
  CAF_CHECK_EQUAL(st.samples_appended, 4u);
  CAF_CHECK_EQUAL(st.duplicates_ignored, 2u);
  CAF_CHECK_EQUAL(st.duplicate_sample, 2u);
  CAF_CHECK_EQUAL(st.out_of_order, 1u);
  CAF_CHECK_EQUAL(st.out_of_bounds, 1u);
  auto snaps = h.select({m(match_type::equal, "job", "x")}, min_i64, max_i64);
  CAF_REQUIRE_EQUAL(snaps.size(), 1u);
  auto got = samples_of(snaps[0], min_i64, max_i64);
  CAF_REQUIRE_EQUAL(got.size(), 3u);
  CAF_CHECK_EQUAL(got[1].v, 2.0);
  CAF_CHECK_EQUAL(float_bits(got[2].v), stale_nan_bits);
}

CAF_TEST(appendable changes nothing) {
  head h;
  auto ref = get_or_create(h, metric("up", "x")).first;
  CAF_CHECK(h.appendable(ref, 100, 1.0).is_ok());
  CAF_CHECK(h.appendable(ref, 50, 1.0).is_ok());
  CAF_CHECK_EQUAL(h.max_time(), min_i64);
  CAF_CHECK_EQUAL(h.stats().samples_appended, 0u);
  // Validated against committed data: both pass, the second append of a
  // decreasing pair then fails.
  CAF_CHECK(h.append(ref, 100, 1.0).is_ok());
  CAF_CHECK_EQUAL(h.append(ref, 50, 1.0).error_code(), status::code::out_of_order);
}

// Cluster mode: a client's retry of a write that some replicas stored.
CAF_TEST(stored_duplicates_ok accepts an identical older sample as a no-op) {
  head_options opts;
  opts.samples_per_chunk = 4;  // samples 0..3 closed, 4..9 in later chunks
  opts.stored_duplicates_ok = true;
  head h{opts};
  auto ref = get_or_create(h, metric("up", "x")).first;
  for (int i = 0; i < 10; ++i)
    CAF_CHECK(h.append(ref, 1000 * i, i + 0.5).is_ok());
  // In a closed chunk, in the open one, the newest: identical, accepted.
  CAF_CHECK(h.appendable(ref, 1000, 1.5).is_ok());
  CAF_CHECK(h.append(ref, 1000, 1.5).is_ok());
  CAF_CHECK(h.append(ref, 0, 0.5).is_ok());
  CAF_CHECK(h.append(ref, 8000, 8.5).is_ok());
  CAF_CHECK(h.append(ref, 9000, 9.5).is_ok());
  // Another value there: a duplicate; no sample there: out of order.
  CAF_CHECK_EQUAL(h.append(ref, 1000, 7.0).error_code(), status::code::duplicate_sample);
  CAF_CHECK_EQUAL(h.append(ref, 8000, 7.0).error_code(), status::code::duplicate_sample);
  CAF_CHECK_EQUAL(h.append(ref, 1500, 1.5).error_code(), status::code::out_of_order);
  // Staged behind a newer staged sample: the same rules.
  auto slot = h.get_or_create(metric("up", "x").hash(), label_key(metric("up", "x")));
  CAF_REQUIRE(slot.is_ok());
  CAF_CHECK(h.stage(*slot, 10'000, 10.5).is_ok());
  CAF_CHECK(h.stage(*slot, 2000, 2.5).is_ok());
  CAF_CHECK_EQUAL(h.stage(*slot, 2000, 3.0).error_code(), status::code::duplicate_sample);
  CAF_CHECK_EQUAL(h.stage(*slot, 2500, 3.0).error_code(), status::code::out_of_order);
  CAF_CHECK(h.append_staged(*slot, 10'000, 10.5).is_ok());
  CAF_CHECK(h.append_staged(*slot, 2000, 2.5).is_ok());
  auto st = h.stats();
  CAF_CHECK_EQUAL(st.samples_appended, 11u);
  CAF_CHECK_EQUAL(st.duplicates_ignored, 5u);
  CAF_CHECK_EQUAL(st.ooo_appended, 0u);
  auto snaps = h.select({}, min_i64, max_i64);
  CAF_REQUIRE_EQUAL(snaps.size(), 1u);
  auto got = samples_of(snaps[0], min_i64, max_i64);
  CAF_REQUIRE_EQUAL(got.size(), 11u);  // each sample once
  for (size_t i = 0; i < got.size(); ++i) {
    CAF_CHECK_EQUAL(got[i].t, 1000 * static_cast<int64_t>(i));
    CAF_CHECK_EQUAL(got[i].v, i + 0.5);
  }
  // Off (single node, Prometheus' rules): an older sample is out of order
  // whatever the head holds there.
  head plain;
  auto r2 = get_or_create(plain, metric("up", "x")).first;
  for (int i = 0; i < 3; ++i)
    CAF_CHECK(plain.append(r2, 1000 * i, i + 0.5).is_ok());
  CAF_CHECK_EQUAL(plain.append(r2, 1000, 1.5).error_code(), status::code::out_of_order);
  CAF_CHECK_EQUAL(plain.append(r2, 1000, 7.0).error_code(), status::code::out_of_order);
  CAF_CHECK(plain.append(r2, 2000, 2.5).is_ok());  // the newest: a harmless duplicate
}

CAF_TEST(chunks are cut at the sample limit and at range boundaries) {
  head_options opts;
  opts.samples_per_chunk = 120;
  opts.chunk_range_ms = 7'200'000;
  head h{opts};
  auto ref = get_or_create(h, metric("up", "x")).first;
  // 250 samples every 15s from t=0: cuts after 120 and 240.
  for (int i = 0; i < 250; ++i)
    CAF_CHECK(h.append(ref, 15'000 * i, i).is_ok());
  auto snaps = h.select({}, min_i64, max_i64);
  CAF_REQUIRE_EQUAL(snaps.size(), 1u);
  CAF_REQUIRE_EQUAL(snaps[0].chunks.size(), 3u);
  CAF_CHECK_EQUAL(snaps[0].chunks[0]->num_samples(), 120);
  CAF_CHECK_EQUAL(snaps[0].chunks[2]->num_samples(), 10);
  CAF_CHECK_EQUAL(samples_of(snaps[0], min_i64, max_i64).size(), 250u);
  // A sample past the 2h boundary starts a chunk even when not full.
  auto r2 = get_or_create(h, metric("up", "y")).first;
  CAF_CHECK(h.append(r2, 7'199'999, 1).is_ok());
  CAF_CHECK(h.append(r2, 7'200'000, 2).is_ok());
  auto s2 = h.select({m(match_type::equal, "job", "y")}, min_i64, max_i64);
  CAF_REQUIRE_EQUAL(s2.size(), 1u);
  CAF_CHECK_EQUAL(s2[0].chunks.size(), 2u);
  auto st = h.stats();
  CAF_CHECK_EQUAL(st.chunks, 5u);
  CAF_CHECK_EQUAL(st.chunks_created, 5u);
  CAF_CHECK(st.chunk_bytes > 0);
}

CAF_TEST(select returns only overlapping chunks and frozen open chunks) {
  head_options opts;
  opts.samples_per_chunk = 10;
  head h{opts};
  auto a = get_or_create(h, metric("up", "x", "b")).first;
  auto b = get_or_create(h, metric("up", "x", "a")).first;
  auto c = get_or_create(h, metric("down", "x")).first;
  for (int i = 0; i < 35; ++i) {
    CAF_CHECK(h.append(a, 1000 * i, i).is_ok());
    CAF_CHECK(h.append(b, 1000 * i, -i).is_ok());
  }
  CAF_CHECK(h.append(c, 500, 1).is_ok());
  CAF_CHECK_EQUAL(h.min_time(), 0);
  CAF_CHECK_EQUAL(h.max_time(), 34000);
  auto snaps = h.select({m(match_type::equal, "__name__", "up")}, 12'000, 25'000);
  CAF_REQUIRE_EQUAL(snaps.size(), 2u);
  // Sorted by labels: instance a before b.
  CAF_CHECK_EQUAL(snaps[0].labels.get("instance"), "a");
  CAF_CHECK_EQUAL(snaps[0].ref, b);
  CAF_CHECK_EQUAL(snaps[1].chunks.size(), 2u);  // [10..19], [20..29]
  auto got = samples_of(snaps[1], 12'000, 25'000);
  CAF_REQUIRE_EQUAL(got.size(), 14u);
  CAF_CHECK_EQUAL(got.front().t, 12'000);
  CAF_CHECK_EQUAL(got.back().t, 25'000);
  // The open chunk in a snapshot does not see later appends.
  auto open = h.select({m(match_type::equal, "instance", "b")}, 30'000, max_i64);
  CAF_REQUIRE_EQUAL(open.size(), 1u);
  CAF_CHECK(h.append(a, 35'000, 35).is_ok());
  CAF_CHECK_EQUAL(samples_of(open[0], 30'000, max_i64).size(), 5u);
  // Nothing outside the data.
  CAF_CHECK(h.select({}, 40'000, 50'000).empty());
  CAF_CHECK(h.select({}, -10, -1).empty());
  CAF_CHECK_EQUAL(h.select({}, 0, 0).size(), 2u);
  CAF_CHECK(h.select({m(match_type::equal, "job", "nope")}, min_i64, max_i64).empty());
}

CAF_TEST(select finds the overlapping chunks for every window) {
  // Chunks of 10 samples 1 s apart with a gap after every third chunk;
  // select walks back from the newest chunk, so every window (in gaps, on
  // chunk edges, before, after, all) must still get exactly the chunks a
  // scan of all of them finds.
  head_options opts;
  opts.samples_per_chunk = 10;
  head h{opts};
  auto ref = get_or_create(h, metric("up", "x")).first;
  int64_t t = 0;
  for (int i = 0; i < 120; ++i) {
    CAF_CHECK(h.append(ref, t, i).is_ok());
    t += (i % 30 == 29) ? 50'000 : 1000;
  }
  auto all = h.select({}, min_i64, max_i64);
  CAF_REQUIRE_EQUAL(all.size(), 1u);
  const auto& chunks = all[0].chunks;
  CAF_REQUIRE_EQUAL(chunks.size(), 12u);
  int wrong = 0;
  for (int64_t mint = -2000; mint <= t + 2000; mint += 1500)
    for (int64_t len : {0, 999, 1000, 9000, 60'000, 1'000'000}) {
      int64_t maxt = mint + len;
      std::vector<const chunk*> want;
      for (auto& c : chunks)
        if (c->overlaps(mint, maxt))
          want.push_back(c.get());
      auto got = h.select({}, mint, maxt);
      if (want.empty()) {
        wrong += !got.empty();
        continue;
      }
      if (got.size() != 1 || got[0].chunks.size() != want.size()) {
        ++wrong;
        continue;
      }
      for (size_t i = 0; i < want.size(); ++i)
        wrong += got[0].chunks[i]->min_time() != want[i]->min_time();
    }
  CAF_CHECK_EQUAL(wrong, 0);
}

CAF_TEST(select and series sort by labels like label_set) {
  // Created in an order unrelated to the label order; prefixes, shared
  // values under different names and a missing label all take part.
  std::vector<label_set> sets = {
    ls({{"__name__", "b"}, {"job", "x"}}),
    ls({{"__name__", "a"}, {"job", "y"}, {"zone", "1"}}),
    ls({{"__name__", "a"}, {"job", "y"}}),
    ls({{"__name__", "a"}, {"instance", "y"}, {"job", "x"}}),
    ls({{"__name__", "a"}, {"job", "x"}, {"zone", "x"}}),
    ls({{"__name__", "ab"}, {"job", "a"}}),
    ls({{"__name__", "a"}, {"job", "x"}}),
    ls({{"instance", "a"}}),
  };
  head h;
  for (auto& l : sets)
    CAF_REQUIRE(h.append(get_or_create(h, l).first, 1000, 1).is_ok());
  std::sort(sets.begin(), sets.end());
  auto snaps = h.select({}, min_i64, max_i64);
  CAF_REQUIRE_EQUAL(snaps.size(), sets.size());
  for (size_t i = 0; i < sets.size(); ++i)
    CAF_CHECK_EQUAL(snaps[i].labels, sets[i]);
  CAF_CHECK_EQUAL(h.series({}, min_i64, max_i64), sets);
  // One series a page: each page starts after the last one's labels,
  // compared with the series' pairs (prefixes included).
  page_limits page;
  page.max_series = 1;
  std::vector<label_set> paged;
  for (size_t i = 0; i <= sets.size(); ++i) {
    auto p = h.select_page({}, min_i64, max_i64, page);
    for (auto& x : p.series)
      paged.push_back(x.labels);
    if (!p.more)
      break;
    page.after = paged.back();
  }
  CAF_CHECK_EQUAL(paged, sets);
}

// A set of more series than the head has pairs is sorted by pair ranks,
// labels compared only where the first ranks agree: the order must still
// be label_set's. Label sets of two to thirteen labels (past the ranks a
// key holds), values that are prefixes of one another, names shared at
// different places, and a pair released before the sort (a freed id, which
// the ranks must skip).
CAF_TEST(many series sort by labels like label_set) {
  head h;
  std::vector<label_set> sets;
  auto add = [&](const label_set& l) {
    auto [ref, created] = get_or_create(h, l);
    CAF_REQUIRE(created);
    CAF_REQUIRE(h.append(ref, 1000, 1).is_ok());
    sets.push_back(l);
  };
  for (int i = 0; i < 6000; ++i) {
    std::vector<label> l{{"__name__", i % 3 == 0 ? "m" : i % 3 == 1 ? "m_total" : "a"}};
    int extra = i % 12;
    for (int k = 0; k < extra; ++k)
      l.push_back({"l" + std::to_string(k), std::to_string((i / 12 + k) % 7) + (k % 2 ? "0" : "")});
    l.push_back({"instance", std::to_string(i % 997)});
    add(ls(std::move(l)));  // i % 12 and i % 997 make each set new
  }
  // A series whose only pair nobody else has, gone before the sort.
  auto lonely = get_or_create(h, ls({{"__name__", "gone"}, {"only", "here"}})).first;
  CAF_REQUIRE(h.append(lonely, 1, 1).is_ok());
  h.truncate(500, UINT64_MAX);
  CAF_REQUIRE(sets.size() > 4096);
  std::sort(sets.begin(), sets.end());
  auto refs = h.sorted_refs(min_i64, max_i64);
  CAF_REQUIRE_EQUAL(refs.size(), sets.size());
  for (size_t i = 0; i < sets.size(); ++i) {
    auto got = h.labels_of(refs[i]);
    CAF_REQUIRE(got.is_ok());
    CAF_CHECK_EQUAL(*got, sets[i]);
  }
}

CAF_TEST(label apis respect matchers and time ranges) {
  head h;
  auto a = get_or_create(h, ls({{"__name__", "up"}, {"job", "a"}, {"zone", "eu"}})).first;
  auto b = get_or_create(h, ls({{"__name__", "up"}, {"job", "b"}})).first;
  auto c = get_or_create(h, ls({{"__name__", "cpu"}, {"job", "c"}, {"core", "0"}})).first;
  CAF_CHECK(h.append(a, 1000, 1).is_ok());
  CAF_CHECK(h.append(b, 2000, 1).is_ok());
  CAF_CHECK(h.append(c, 3000, 1).is_ok());
  using strs = std::vector<std::string>;
  CAF_CHECK_EQUAL(h.label_names({}, min_i64, max_i64), (strs{"__name__", "core", "job", "zone"}));
  // Without matchers the index answers for any range the head overlaps,
  // as Prometheus' head does (tsdb/head_read.go, LabelNames/LabelValues).
  CAF_CHECK_EQUAL(h.label_names({}, 1500, 2500), (strs{"__name__", "core", "job", "zone"}));
  CAF_CHECK_EQUAL(h.label_names({m(match_type::regex, "job", ".+")}, 1500, 2500), (strs{"__name__", "job"}));
  CAF_CHECK_EQUAL(h.label_names({m(match_type::equal, "__name__", "up")}, min_i64, max_i64),
                  (strs{"__name__", "job", "zone"}));
  CAF_CHECK_EQUAL(h.label_values("job", {}, min_i64, max_i64), (strs{"a", "b", "c"}));
  CAF_CHECK_EQUAL(h.label_values("job", {}, 2000, 5000), (strs{"a", "b", "c"}));
  CAF_CHECK_EQUAL(h.label_values("job", {m(match_type::regex, "job", ".+")}, 2000, 5000), (strs{"b", "c"}));
  CAF_CHECK_EQUAL(h.label_values("job", {m(match_type::not_equal, "zone", "eu")}, min_i64, max_i64),
                  (strs{"b", "c"}));
  CAF_CHECK_EQUAL(h.label_values("nope", {}, min_i64, max_i64), strs{});
  CAF_CHECK(h.label_names({}, 5000, 6000).empty());
  auto series = h.series({m(match_type::regex, "job", "a|c")}, min_i64, max_i64);
  CAF_REQUIRE_EQUAL(series.size(), 2u);
  CAF_CHECK_EQUAL(series[0].to_string(), "cpu{core=\"0\", job=\"c\"}");
  CAF_CHECK_EQUAL(series[1].to_string(), "up{job=\"a\", zone=\"eu\"}");
  // A series without samples is not listed by series().
  get_or_create(h, ls({{"__name__", "empty"}}));
  CAF_CHECK_EQUAL(h.series({m(match_type::equal, "__name__", "empty")}, min_i64, max_i64).size(), 0u);
}

CAF_TEST(truncate drops old chunks and empty series and updates the index) {
  head_options opts;
  opts.samples_per_chunk = 10;
  head h{opts};
  auto old_series = get_or_create(h, metric("gone", "x")).first;
  auto live = get_or_create(h, metric("live", "x")).first;
  auto never = get_or_create(h, metric("never", "y")).first;
  for (int i = 0; i < 30; ++i) {
    CAF_CHECK(h.append(live, 1000 * i, i).is_ok());
    if (i < 12)
      CAF_CHECK(h.append(old_series, 1000 * i, i).is_ok());
  }
  CAF_CHECK_EQUAL(h.stats().chunks, 5u);
  CAF_CHECK_EQUAL(h.truncate(15'000), 2u);
  CAF_CHECK_EQUAL(h.num_series(), 1u);
  CAF_CHECK_EQUAL(h.stats().series_removed, 2u);
  CAF_CHECK_EQUAL(h.stats().chunks, 2u);  // live's [10..19] and [20..29]
  CAF_CHECK_EQUAL(h.min_time(), 10'000);
  CAF_CHECK_EQUAL(h.max_time(), 29'000);
  CAF_CHECK(h.min_valid_time() >= 15'000);
  CAF_CHECK_EQUAL(h.appendable(old_series, 40'000, 1).error_code(), status::code::not_found);
  CAF_CHECK_EQUAL(h.appendable(never, 40'000, 1).error_code(), status::code::not_found);
  CAF_CHECK_EQUAL(h.append(live, 14'000, 1).error_code(), status::code::out_of_bounds);
  CAF_CHECK_EQUAL(h.label_values("__name__", {}, min_i64, max_i64),
                  (std::vector<std::string>{"live"}));
  CAF_CHECK_EQUAL(h.label_names({}, min_i64, max_i64),
                  (std::vector<std::string>{"__name__", "job"}));
  CAF_CHECK(h.select({m(match_type::equal, "__name__", "gone")}, min_i64, max_i64).empty());
  // Re-created series get a fresh ref and work normally.
  auto [again, created] = get_or_create(h, metric("gone", "x"));
  CAF_CHECK(created);
  CAF_CHECK(again != old_series);
  CAF_CHECK(h.append(again, 30'000, 5).is_ok());
  CAF_CHECK_EQUAL(h.select({m(match_type::equal, "__name__", "gone")}, min_i64, max_i64).size(), 1u);
  // Everything old: the head empties.
  CAF_CHECK_EQUAL(h.truncate(100'000), 2u);
  CAF_CHECK_EQUAL(h.num_series(), 0u);
  CAF_CHECK_EQUAL(h.min_time(), max_i64);
  CAF_CHECK_EQUAL(h.max_time(), min_i64);
  CAF_CHECK_EQUAL(h.stats().chunks, 0u);
  CAF_CHECK_EQUAL(h.stats().chunk_bytes, 0u);
  CAF_CHECK(h.label_names({}, min_i64, max_i64).empty());
}

CAF_TEST(series churn keeps index and memory bounded) {
  head h;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 100; ++i) {
      auto ref = get_or_create(h, metric("churn", "j", "pod-" + std::to_string(round) + "-" +
                                                        std::to_string(i)))
                   .first;
      CAF_CHECK(h.append(ref, 1000 * round, i).is_ok());
    }
    h.truncate(1000 * round);
    CAF_CHECK_EQUAL(h.num_series(), 100u);
    CAF_CHECK_EQUAL(h.label_values("instance", {}, min_i64, max_i64).size(), 100u);
  }
  CAF_CHECK_EQUAL(h.select({m(match_type::regex, "instance", "pod-19-.*")}, min_i64, max_i64).size(),
                  100u);
  CAF_CHECK(h.select({m(match_type::regex, "instance", "pod-18-.*")}, min_i64, max_i64).empty());
}

CAF_TEST(replay recreates refs aliases duplicates and bumps allocation) {
  head h{head_options{2, 4}};  // shard 1 of 4: refs 2, 6, 10, ...
  CAF_CHECK(h.create_series_with_ref(9, metric("up", "a")).is_ok());
  CAF_CHECK(h.create_series_with_ref(9, metric("up", "a")).is_ok());  // repeated record
  CAF_CHECK_EQUAL(h.create_series_with_ref(9, metric("up", "b")).error_code(),
                  status::code::corruption);
  CAF_CHECK_EQUAL(h.create_series_with_ref(0, metric("up", "c")).error_code(),
                  status::code::invalid_argument);
  // Same labels under a new ref: the second ref is an alias.
  CAF_CHECK(h.create_series_with_ref(21, metric("up", "a")).is_ok());
  CAF_CHECK(h.append(9, 100, 1).is_ok());
  CAF_CHECK(h.append(21, 200, 2).is_ok());
  CAF_CHECK_EQUAL(h.append(21, 150, 3).error_code(), status::code::out_of_order);
  CAF_CHECK_EQUAL(h.num_series(), 1u);
  auto snaps = h.select({}, min_i64, max_i64);
  CAF_REQUIRE_EQUAL(snaps.size(), 1u);
  CAF_CHECK_EQUAL(samples_of(snaps[0], min_i64, max_i64).size(), 2u);
  auto records = h.series_records();
  CAF_REQUIRE_EQUAL(records.size(), 2u);
  CAF_CHECK_EQUAL(records[0].ref, 9u);
  CAF_CHECK_EQUAL(records[1].ref, 21u);
  CAF_CHECK_EQUAL(records[1].labels, metric("up", "a"));
  // The same as WAL series entries, alias included.
  std::string entries;
  CAF_CHECK_EQUAL(h.series_entries(entries), 2u);
  std::string expected;
  for (const auto& r : records)
    append_series_entry(expected, r.ref, label_key(r.labels));
  CAF_CHECK_EQUAL(entries, expected);
  // New refs stay above every replayed ref, in this shard's class.
  CAF_CHECK_EQUAL(get_or_create(h, metric("up", "new")).first, 22u);
  h.bump_next_ref(100);
  CAF_CHECK_EQUAL(get_or_create(h, metric("up", "new2")).first, 102u);
  h.bump_next_ref(5);  // never goes back
  CAF_CHECK_EQUAL(get_or_create(h, metric("up", "new3")).first, 106u);
}

// Past the first 256 entries the listing reserves from their average
// size; keys of very different lengths after them must still come out
// whole, after whatever `out` already held.
CAF_TEST(series entries of many series with growing keys equal the records) {
  head h;
  for (int i = 0; i < 1000; ++i)
    (void)get_or_create(h, metric("m", std::string(static_cast<size_t>(i < 300 ? 1 : i), 'x') + std::to_string(i)));
  std::string entries = "prefix";
  CAF_CHECK_EQUAL(h.series_entries(entries), 1000u);
  std::string expected = "prefix";
  for (const auto& r : h.series_records())
    append_series_entry(expected, r.ref, label_key(r.labels));
  CAF_CHECK_EQUAL(entries.size(), expected.size());
  CAF_CHECK(entries == expected);
}

CAF_TEST(observed time from other shards moves the bound) {
  head h;
  auto ref = get_or_create(h, metric("up", "x")).first;
  CAF_CHECK_EQUAL(h.min_valid_time(), min_i64);
  CAF_CHECK(h.append(ref, min_i64 + 5, 1).is_ok());  // no overflow near the minimum
  h.observe_time(10'000'000);
  CAF_CHECK_EQUAL(h.min_valid_time(), 10'000'000 - 3'600'000);
  CAF_CHECK_EQUAL(h.max_time(), min_i64 + 5);
  CAF_CHECK_EQUAL(h.append(ref, 6'000'000, 1).error_code(), status::code::out_of_bounds);
}

CAF_TEST(a paged read lists series by labels and trims chunks to the range) {
  head h;
  std::vector<uint64_t> refs_by_creation;
  for (const char* job : {"c", "a", "d", "b"}) {
    auto ref = get_or_create(h, metric("up", job)).first;
    refs_by_creation.push_back(ref);
    for (int64_t t = 1000; t <= 10000; t += 1000)
      CAF_REQUIRE(h.append(ref, t, static_cast<double>(t)).is_ok());
  }
  auto idle = get_or_create(h, metric("up", "idle")).first;  // no sample: not listed
  (void)idle;
  auto refs = h.sorted_refs(min_i64, max_i64);
  CAF_REQUIRE_EQUAL(refs.size(), 4u);
  std::vector<std::string> jobs;
  for (auto r : refs)
    jobs.push_back(std::string{h.labels_of(r)->get("job")});
  CAF_CHECK_EQUAL(jobs, (std::vector<std::string>{"a", "b", "c", "d"}));
  // Pages of two, the open chunk (1s..10s) cut down to [2.5s, 6s].
  auto page = h.read(refs.data() + 2, 2, 2500, 6000, UINT64_MAX);
  CAF_REQUIRE_EQUAL(page.size(), 2u);
  CAF_CHECK_EQUAL(page[0].labels, metric("up", "c"));
  CAF_CHECK_EQUAL(page[1].labels, metric("up", "d"));
  for (auto& p : page) {
    CAF_REQUIRE_EQUAL(p.chunks.size(), 1u);
    CAF_CHECK_EQUAL(p.chunks[0]->min_time(), 3000);
    CAF_CHECK_EQUAL(p.chunks[0]->max_time(), 6000);
    CAF_CHECK_EQUAL(p.chunks[0]->num_samples(), 4u);
  }
  // A range without data of the series and an unknown ref give nothing.
  CAF_CHECK(h.read(refs.data(), 1, 20000, 30000, UINT64_MAX).empty());
  uint64_t unknown = 12345;
  CAF_CHECK(h.read(&unknown, 1, min_i64, max_i64, UINT64_MAX).empty());
}

CAF_TEST(memory per series and per sample) {
#if defined(__SANITIZE_ADDRESS__)
  CAF_MESSAGE("skipped under AddressSanitizer (allocator is replaced)");
  CAF_CHECK(true);
#else
  auto measure = [](int samples) {
    malloc_trim(0);
    // Blocks malloc maps on their own (hblkhd) count too: glibc raises its
    // mmap threshold after earlier tests free such blocks, so the same
    // table is mapped when this test runs alone and in the heap after others.
    auto in_use = [] {
      auto m = mallinfo2();
      return m.uordblks + m.hblkhd;
    };
    size_t before = in_use();
    size_t used;
    {
      auto h = std::make_unique<head>();
      for (int i = 0; i < 10'000; ++i) {
        auto ref = get_or_create(*h, ls({{"__name__", "http_requests_total"},
                                         {"job", "api"},
                                         {"instance", "host-" + std::to_string(i % 100) + ":9100"},
                                         {"path", "/p" + std::to_string(i)}}))
                     .first;
        for (int s = 0; s < samples; ++s)
          (void) h->append(ref, 1'700'000'000'000 + 15'000 * s, 100.0 + 2 * s + (s % 3));
      }
      used = in_use() - before;
      auto st = h->stats();
      CAF_MESSAGE(samples << " samples/series: " << used / 10'000 << " bytes/series, "
                          << static_cast<double>(st.chunk_bytes) / st.samples_appended
                          << " chunk bytes/sample");
    }
    return used / 10'000;
  };
  size_t one = measure(1);
  size_t full = measure(120);
  // One chunk closed and ten samples in the next: the closed chunk is an
  // exact copy in chunk pages, and the open one keeps its buffer (not a
  // new one per chunk: storage/chunk/chunk_pages.hpp says why).
  size_t cut = measure(130);
  CAF_MESSAGE("bytes per sample beyond the first: " << static_cast<double>(full - one) / 119);
  // glibc's malloc here (16 bytes a block); bench/head_memory_bench
  // measures the head on the server's jemalloc.
  // An open chunk starts with 128 bytes, as Prometheus' does.
  CAF_CHECK(one < 600);
  CAF_CHECK(full < 650);
  CAF_CHECK(cut < 900);
#endif
}

CAF_TEST(a label key finds the series its label set created) {
  head h{head_options{2, 2}};
  auto a = metric("up", "x");
  auto ref = get_or_create(h, a).first;
  auto key = label_key(a);
  auto found = h.get_or_create(a.hash(), key);
  CAF_REQUIRE(found.is_ok());
  CAF_CHECK_EQUAL(found->ref(), ref);
  CAF_CHECK(!found->created());
  auto b = metric("up", "y");
  auto made = h.get_or_create(b.hash(), label_key(b));
  CAF_REQUIRE(made.is_ok());
  CAF_CHECK(made->created());
  CAF_CHECK_EQUAL(made->ref(), ref + 2);
  CAF_CHECK_EQUAL(h.labels_of(*made), b);
  CAF_CHECK_EQUAL(h.find_ref(b), std::optional<uint64_t>{made->ref()});
  // A damaged or empty key creates nothing.
  CAF_CHECK(!h.get_or_create(1, std::string("\x05\x01", 2)).is_ok());
  CAF_CHECK(!h.get_or_create(2, std::string("\x00", 1)).is_ok());
  CAF_CHECK_EQUAL(h.num_series(), 2u);
  // A valid key in another spelling (padded varints, as a peer might send)
  // finds the same series, and one of new labels is stored canonically.
  using nl::test::padded_label_key;
  auto again = h.get_or_create(a.hash(), padded_label_key(a));
  CAF_REQUIRE(again.is_ok());
  CAF_CHECK_EQUAL(again->ref(), ref);
  CAF_CHECK(!again->created());
  auto c = metric("up", "z");
  auto made_c = h.get_or_create(c.hash(), padded_label_key(c));
  CAF_REQUIRE(made_c.is_ok());
  CAF_CHECK(made_c->created());
  auto canonical_c = h.get_or_create(c.hash(), label_key(c));
  CAF_REQUIRE(canonical_c.is_ok());
  CAF_CHECK_EQUAL(canonical_c->ref(), made_c->ref());
  CAF_CHECK_EQUAL(h.num_series(), 3u);
  // Replay's path too: ref 100 with a's labels in the padded spelling is
  // an alias of a's series, not a second one.
  CAF_REQUIRE(h.create_series_with_ref(100, a.hash(), padded_label_key(a)).is_ok());
  CAF_CHECK_EQUAL(h.num_series(), 3u);
}

CAF_TEST(series under one hash are told apart by every label) {
  // A series keeps its labels as ids of shared pairs: a key that is a
  // prefix of another, extends it or differs in the last pair only is
  // another series, even when the hashes collide. (A forced hash: fine
  // while nothing moves the entries, which rehashes them by their labels.)
  head h;
  std::vector<label_set> sets = {
    ls({{"__name__", "up"}, {"job", "x"}}),
    ls({{"__name__", "up"}, {"job", "x"}, {"zone", "a"}}),
    ls({{"__name__", "up"}}),
    ls({{"__name__", "up"}, {"job", "y"}}),
    ls({{"__name__", "up"}, {"jo", "bx"}}),
  };
  std::vector<uint64_t> refs;
  for (auto& l : sets) {
    auto slot = h.get_or_create(42, label_key(l));
    CAF_REQUIRE(slot.is_ok());
    CAF_CHECK(slot->created());
    refs.push_back(slot->ref());
  }
  for (size_t i = 0; i < sets.size(); ++i) {
    auto slot = h.get_or_create(42, label_key(sets[i]));
    CAF_REQUIRE(slot.is_ok());
    CAF_CHECK(!slot->created());
    CAF_CHECK_EQUAL(slot->ref(), refs[i]);
    CAF_CHECK_EQUAL(h.labels_of(refs[i])->to_string(), sets[i].to_string());
  }
  CAF_CHECK_EQUAL(h.num_series(), sets.size());
}

CAF_TEST(staged samples count as the newest sample until appended) {
  head h;
  auto a = metric("up", "x");
  auto slot = *h.get_or_create(a.hash(), label_key(a));
  CAF_REQUIRE(h.append(slot.ref(), 1000, 1).is_ok());
  CAF_CHECK_EQUAL(h.stage(slot, 1000, 2).error_code(), status::code::duplicate_sample);
  CAF_REQUIRE(h.stage(slot, 2000, 2).is_ok());
  // Not in the head yet, but later checks see it.
  CAF_CHECK(h.appendable(slot.ref(), 1500, 0).is_ok());
  CAF_CHECK_EQUAL(h.stage(slot, 1500, 0).error_code(), status::code::out_of_order);
  CAF_CHECK_EQUAL(h.stage(slot, 2000, 3).error_code(), status::code::duplicate_sample);
  CAF_CHECK(h.stage(slot, 2000, 2).is_ok());  // an identical retry
  CAF_CHECK(h.stage(slot, 3000, 3).is_ok());
  CAF_CHECK(h.append_staged(slot, 2000, 2).is_ok());
  CAF_CHECK(h.append_staged(slot, 2000, 2).is_ok());  // the retry: a no-op
  CAF_CHECK(h.append_staged(slot, 3000, 3).is_ok());
  CAF_CHECK_EQUAL(h.stats().samples_appended, 3u);
  CAF_CHECK_EQUAL(h.stats().duplicates_ignored, 1u);
  // Nothing staged any more: the head alone decides.
  CAF_CHECK_EQUAL(h.stage(slot, 2500, 0).error_code(), status::code::out_of_order);
  CAF_REQUIRE(h.stage(slot, 4000, 4).is_ok());
  h.unstage(slot);
  CAF_CHECK(h.stage(slot, 3500, 0).is_ok());  // the unstaged 4000 is forgotten
  h.unstage(slot);
}

CAF_TEST(truncate keeps a series with staged samples) {
  head h;
  auto a = metric("up", "x");
  auto slot = *h.get_or_create(a.hash(), label_key(a));
  CAF_REQUIRE(h.stage(slot, 1000, 1).is_ok());
  CAF_CHECK_EQUAL(h.truncate(5000), 0u);
  CAF_CHECK_EQUAL(h.append_staged(slot, 1000, 1).error_code(), status::code::out_of_bounds);
  CAF_CHECK_EQUAL(h.truncate(5000), 1u);
}

#define CAF_SUITE storage.head.delete
#include "test_support.hpp"

#include "storage/head/head.hpp"
#include "storage/label_key.hpp"

using namespace nl::storage;

namespace {

label_set ls(std::vector<label> l) { return label_set::from_unsorted(std::move(l)); }

matcher m(match_type t, std::string name, std::string value) {
  auto r = matcher::make(t, std::move(name), std::move(value));
  CAF_REQUIRE(r.is_ok());
  return *r;
}

// A head whose chunks hold 4 samples, with up{job="a"} and up{job="b"} at
// t = 0, 10, ..., 190 (20 samples: 4 closed chunks and a full open one).
struct fixture {
  head h;
  uint64_t a = 0;
  uint64_t b = 0;

  explicit fixture(int64_t ooo_window = 0) : h(options(ooo_window)) {
    a = create("a");
    b = create("b");
    for (int64_t t = 0; t < 200; t += 10) {
      CAF_REQUIRE(h.append(a, t, static_cast<double>(t)).is_ok());
      CAF_REQUIRE(h.append(b, t, static_cast<double>(t)).is_ok());
    }
  }

  static head_options options(int64_t ooo_window) {
    head_options o;
    o.samples_per_chunk = 4;
    o.ooo_window_ms = ooo_window;
    return o;
  }

  uint64_t create(const std::string& job) {
    auto labels = ls({{"__name__", "up"}, {"job", job}});
    auto slot = h.get_or_create(labels.hash(), label_key(labels));
    CAF_REQUIRE(slot.is_ok());
    return slot->ref();
  }

  std::vector<int64_t> times(const std::string& job, int64_t mint = INT64_MIN, int64_t maxt = INT64_MAX) const {
    auto snaps = h.select({m(match_type::equal, "job", job)}, mint, maxt);
    std::vector<int64_t> out;
    if (snaps.empty())
      return out;
    CAF_REQUIRE_EQUAL(snaps.size(), 1u);
    std::vector<sample> xs;
    CAF_REQUIRE(decode_chunks(snaps[0].chunks, mint, maxt, xs).is_ok());
    for (auto& x : xs) {
      CAF_CHECK_EQUAL(x.v, static_cast<double>(x.t));  // values follow their samples
      out.push_back(x.t);
    }
    return out;
  }
};

std::vector<int64_t> range(int64_t from, int64_t to, int64_t step = 10) {
  std::vector<int64_t> out;
  for (int64_t t = from; t < to; t += step)
    out.push_back(t);
  return out;
}

std::vector<int64_t> concat(std::vector<int64_t> x, const std::vector<int64_t>& y) {
  x.insert(x.end(), y.begin(), y.end());
  return x;
}

}  // namespace

CAF_TEST(deletion ranges are clamped to each series samples) {
  fixture f;
  auto r = f.h.deletion_ranges({m(match_type::equal, "__name__", "up")}, INT64_MIN, INT64_MAX);
  CAF_REQUIRE_EQUAL(r.size(), 2u);
  for (auto& x : r) {
    CAF_CHECK_EQUAL(x.mint, 0);
    CAF_CHECK_EQUAL(x.maxt, 190);
  }
  r = f.h.deletion_ranges({m(match_type::equal, "job", "a")}, 55, 1000);
  CAF_REQUIRE_EQUAL(r.size(), 1u);
  CAF_CHECK_EQUAL(r[0].ref, f.a);
  CAF_CHECK_EQUAL(r[0].mint, 55);
  CAF_CHECK_EQUAL(r[0].maxt, 190);
  // No sample in the range, no matching series, an empty range: nothing.
  CAF_CHECK(f.h.deletion_ranges({m(match_type::equal, "job", "a")}, 191, 1000).empty());
  CAF_CHECK(f.h.deletion_ranges({m(match_type::equal, "job", "c")}, 0, 1000).empty());
  CAF_CHECK(f.h.deletion_ranges({m(match_type::equal, "job", "a")}, 100, 99).empty());
}

CAF_TEST(deleting from the middle re-encodes the chunks it touches) {
  fixture f;
  auto before = f.h.stats();
  CAF_CHECK_EQUAL(before.samples, 40u);
  CAF_CHECK_EQUAL(f.h.delete_ranges({{f.a, 45, 105}}), 6u);  // 50 .. 100
  CAF_CHECK_EQUAL(f.times("a"), concat(range(0, 50), range(110, 200)));
  CAF_CHECK_EQUAL(f.times("b"), range(0, 200));
  auto after = f.h.stats();
  CAF_CHECK_EQUAL(after.samples, 34u);
  CAF_CHECK_LESS(after.chunk_bytes, before.chunk_bytes);
  CAF_CHECK_EQUAL(f.h.min_time(), 0);
  CAF_CHECK_EQUAL(f.h.max_time(), 190);
  // Deleting again removes nothing; unknown refs are skipped.
  CAF_CHECK_EQUAL(f.h.delete_ranges({{f.a, 45, 105}, {999, 0, 1000}}), 0u);
}

CAF_TEST(deleting the newest samples keeps the series appendable) {
  fixture f;
  // The open chunk (160..190) and more: the last closed chunk becomes the
  // open one again.
  CAF_CHECK_EQUAL(f.h.delete_ranges({{f.a, 150, 190}}), 5u);
  CAF_CHECK_EQUAL(f.times("a"), range(0, 150));
  // The series' newest sample is 140 now, so 145 is in order (Prometheus
  // would hide it behind its tombstone until the head is compacted).
  CAF_CHECK(f.h.append(f.a, 145, 145).is_ok());
  CAF_CHECK(f.h.append(f.a, 150, 150).is_ok());
  CAF_CHECK_EQUAL(f.times("a"), concat(range(0, 150), {145, 150}));
  CAF_CHECK_EQUAL(f.h.stats().samples, 20u + 15u + 2u);
}

CAF_TEST(a series deleted entirely is not read and goes at the next truncation) {
  fixture f;
  CAF_CHECK_EQUAL(f.h.delete_ranges({{f.b, INT64_MIN, INT64_MAX}}), 20u);
  CAF_CHECK(f.times("b").empty());
  CAF_CHECK_EQUAL(f.h.series({}, INT64_MIN, INT64_MAX).size(), 1u);
  CAF_CHECK_EQUAL(f.h.num_series(), 2u);
  CAF_CHECK_EQUAL(f.h.truncate(0), 1u);
  CAF_CHECK_EQUAL(f.h.num_series(), 1u);
  CAF_CHECK_EQUAL(f.times("a"), range(0, 200));
  CAF_CHECK_EQUAL(f.h.delete_ranges({{f.a, INT64_MIN, INT64_MAX}}), 20u);
  CAF_CHECK_EQUAL(f.h.stats().samples, 0u);
  CAF_CHECK_EQUAL(f.h.stats().chunk_bytes, 0u);
  CAF_CHECK_EQUAL(f.h.min_time(), INT64_MAX);
  CAF_CHECK_EQUAL(f.h.max_time(), INT64_MIN);
}

CAF_TEST(out of order samples are deleted too) {
  fixture f{1000};
  CAF_REQUIRE(f.h.append(f.a, 55, 55).is_ok());
  CAF_REQUIRE(f.h.append(f.a, 75, 75).is_ok());
  CAF_CHECK_EQUAL(f.h.stats().ooo_samples, 2u);
  auto r = f.h.deletion_ranges({m(match_type::equal, "job", "a")}, 51, 59);
  CAF_REQUIRE_EQUAL(r.size(), 1u);
  CAF_CHECK_EQUAL(f.h.delete_ranges(r), 1u);  // only the out-of-order 55
  CAF_CHECK_EQUAL(f.h.stats().ooo_samples, 1u);
  auto want = range(0, 200);
  want.insert(want.begin() + 8, 75);
  CAF_CHECK_EQUAL(f.times("a"), want);
  CAF_CHECK_EQUAL(f.h.delete_ranges({{f.a, 70, 80}}), 3u);  // 70, 75, 80
  CAF_CHECK_EQUAL(f.h.stats().ooo_samples, 0u);
  CAF_CHECK_EQUAL(f.times("a"), concat(range(0, 70), range(90, 200)));
}

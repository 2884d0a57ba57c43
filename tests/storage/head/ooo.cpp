#define CAF_SUITE storage.head.ooo
#include "test_support.hpp"

#include "storage/head/head.hpp"
#include "storage/label_key.hpp"

using namespace nl::storage;

namespace {

constexpr int64_t minute = 60000;

label_set ls(std::vector<label> l) { return label_set::from_unsorted(std::move(l)); }

struct fixture {
  head h;
  uint64_t ref = 0;

  explicit fixture(int64_t window_ms = 10 * minute) : h(options(window_ms)) {
    auto labels = ls({{"__name__", "m"}, {"job", "a"}});
    auto slot = h.get_or_create(labels.hash(), label_key(labels));
    CAF_REQUIRE(slot.is_ok());
    ref = slot->ref();
  }

  static head_options options(int64_t window_ms) {
    head_options o;
    o.ooo_window_ms = window_ms;
    o.chunk_range_ms = 6 * minute;  // chunks end at 6m, 12m, 18m, ...
    return o;
  }

  std::vector<sample> all() const {
    auto snaps = h.select({}, INT64_MIN, INT64_MAX);
    std::vector<sample> out;
    if (snaps.empty())
      return out;
    CAF_REQUIRE_EQUAL(snaps.size(), 1u);
    CAF_REQUIRE(decode_chunks(snaps[0].chunks, INT64_MIN, INT64_MAX, out).is_ok());
    return out;
  }

  std::vector<int64_t> times() const {
    std::vector<int64_t> out;
    for (auto& s : all())
      out.push_back(s.t);
    return out;
  }
};

}  // namespace

CAF_TEST(without a window an older sample is refused as before) {
  fixture f{0};
  CAF_REQUIRE(f.h.append(f.ref, 10 * minute, 1).is_ok());
  CAF_CHECK_EQUAL(f.h.append(f.ref, 9 * minute, 2).error_code(), status::code::out_of_order);
  CAF_CHECK_EQUAL(f.h.stats().ooo_appended, 0u);
}

CAF_TEST(inside the window an older sample is stored and read in time order) {
  fixture f;
  for (int64_t t : {10, 11, 12})
    CAF_REQUIRE(f.h.append(f.ref, t * minute, static_cast<double>(t)).is_ok());
  CAF_CHECK(f.h.append(f.ref, 5 * minute, 5).is_ok());
  CAF_CHECK(f.h.append(f.ref, 11 * minute + 30000, 11.5).is_ok());
  CAF_CHECK_EQUAL(f.h.stats().ooo_appended, 2u);
  CAF_CHECK_EQUAL(f.h.min_time(), 5 * minute);
  auto xs = f.all();
  CAF_REQUIRE_EQUAL(xs.size(), 5u);
  std::vector<double> want_v = {5, 10, 11, 11.5, 12};
  std::vector<int64_t> want_t = {5 * minute, 10 * minute, 11 * minute, 11 * minute + 30000, 12 * minute};
  for (size_t i = 0; i < xs.size(); ++i) {
    CAF_CHECK_EQUAL(xs[i].t, want_t[i]);
    CAF_CHECK_EQUAL(xs[i].v, want_v[i]);
  }
  // A range that holds only the out-of-order sample finds the series.
  CAF_CHECK_EQUAL(f.h.series({}, 5 * minute, 6 * minute).size(), 1u);
  // In-order appends go on after it.
  CAF_CHECK(f.h.append(f.ref, 13 * minute, 13).is_ok());
  CAF_CHECK_EQUAL(f.all().size(), 6u);
}

CAF_TEST(the window bounds how old a sample may be and duplicates are checked) {
  fixture f;
  CAF_REQUIRE(f.h.append(f.ref, 20 * minute, 1).is_ok());
  CAF_CHECK_EQUAL(f.h.append(f.ref, 9 * minute, 1).error_code(), status::code::out_of_order);
  CAF_CHECK(f.h.append(f.ref, 10 * minute, 7).is_ok());  // exactly the window
  CAF_CHECK(f.h.append(f.ref, 10 * minute, 7).is_ok());  // identical again: a no-op
  CAF_CHECK_EQUAL(f.h.append(f.ref, 10 * minute, 8).error_code(), status::code::duplicate_sample);
  CAF_CHECK_EQUAL(f.h.appendable(f.ref, 10 * minute, 8).error_code(), status::code::duplicate_sample);
  CAF_CHECK_EQUAL(f.all().size(), 2u);
}

CAF_TEST(below the cut floor but inside the window is out of order not out of bounds) {
  fixture f;
  CAF_REQUIRE(f.h.append(f.ref, 20 * minute, 1).is_ok());
  f.h.raise_min_valid_time(18 * minute);
  CAF_CHECK(f.h.append(f.ref, 15 * minute, 2).is_ok());
  fixture g{0};
  CAF_REQUIRE(g.h.append(g.ref, 20 * minute, 1).is_ok());
  g.h.raise_min_valid_time(18 * minute);
  CAF_CHECK_EQUAL(g.h.append(g.ref, 17 * minute, 2).error_code(), status::code::out_of_bounds);
}

CAF_TEST(truncation keeps out-of-order samples stored after the cut) {
  fixture f;
  for (int64_t t : {10, 11, 12, 13})
    CAF_REQUIRE(f.h.append(f.ref, t * minute, 1).is_ok());
  CAF_REQUIRE(f.h.append(f.ref, 5 * minute, 5).is_ok());
  auto cut_seq = f.h.ooo_sequence();  // a cut of [0, 12m) took the 5m sample
  CAF_REQUIRE(f.h.append(f.ref, 6 * minute, 6).is_ok());  // arrives during the cut
  f.h.truncate(12 * minute, cut_seq);
  CAF_CHECK_EQUAL(f.times(), (std::vector<int64_t>{6 * minute, 12 * minute, 13 * minute}));
  CAF_CHECK_EQUAL(f.h.min_time(), 6 * minute);
  CAF_CHECK_EQUAL(f.h.stats().ooo_samples, 1u);
  // The next cut takes it.
  f.h.truncate(12 * minute, f.h.ooo_sequence());
  CAF_CHECK_EQUAL(f.times(), (std::vector<int64_t>{12 * minute, 13 * minute}));
  CAF_CHECK_EQUAL(f.h.stats().samples, 2u);
}

CAF_TEST(a series with only out-of-order samples left is kept and then dropped) {
  fixture f;
  CAF_REQUIRE(f.h.append(f.ref, 10 * minute, 1).is_ok());
  CAF_REQUIRE(f.h.append(f.ref, 5 * minute, 1).is_ok());
  f.h.truncate(8 * minute, 0);  // the cut took no out-of-order sample
  CAF_CHECK_EQUAL(f.h.num_series(), 1u);
  f.h.truncate(11 * minute, f.h.ooo_sequence());
  CAF_CHECK_EQUAL(f.h.num_series(), 0u);
}

CAF_TEST(staging behind a staged sample goes out of order) {
  fixture f;
  auto labels = ls({{"__name__", "m"}, {"job", "a"}});
  auto slot = f.h.get_or_create(labels.hash(), label_key(labels));
  CAF_REQUIRE(slot.is_ok());
  f.h.observe_time(10 * minute);  // the batch's newest, as the shard does
  CAF_REQUIRE(f.h.stage(*slot, 10 * minute, 1).is_ok());
  CAF_CHECK(f.h.stage(*slot, 8 * minute, 2).is_ok());
  CAF_CHECK_EQUAL(f.h.stage(*slot, 10 * minute, 3).error_code(), status::code::duplicate_sample);
  CAF_CHECK(f.h.append_staged(*slot, 10 * minute, 1).is_ok());
  CAF_CHECK(f.h.append_staged(*slot, 8 * minute, 2).is_ok());
  CAF_CHECK_EQUAL(f.times(), (std::vector<int64_t>{8 * minute, 10 * minute}));
  fixture g{0};
  auto gslot = g.h.get_or_create(labels.hash(), label_key(labels));
  CAF_REQUIRE(g.h.stage(*gslot, 10 * minute, 1).is_ok());
  CAF_CHECK_EQUAL(g.h.stage(*gslot, 8 * minute, 2).error_code(), status::code::out_of_order);
}

CAF_TEST(decode_chunks merges overlapping chunks and keeps the earlier of equal times) {
  xor_appender a;
  for (int64_t t : {1, 3, 5, 7})
    a.append(t, 1);
  auto c1 = a.cut();
  for (int64_t t : {2, 3, 6, 9})
    a.append(t, 2);
  auto c2 = a.cut();
  for (int64_t t : {10, 11})
    a.append(t, 3);
  auto c3 = a.cut();
  std::vector<sample> out;
  CAF_REQUIRE(decode_chunks({c1, c2, c3}, INT64_MIN, INT64_MAX, out).is_ok());
  std::vector<int64_t> ts;
  std::vector<double> vs;
  for (auto& s : out) {
    ts.push_back(s.t);
    vs.push_back(s.v);
  }
  CAF_CHECK_EQUAL(ts, (std::vector<int64_t>{1, 2, 3, 5, 6, 7, 9, 10, 11}));
  CAF_CHECK_EQUAL(vs, (std::vector<double>{1, 2, 1, 1, 2, 1, 2, 3, 3}));
  out.clear();
  CAF_REQUIRE(decode_chunks({c1, c2}, 3, 6, out).is_ok());
  CAF_CHECK_EQUAL(out.size(), 3u);
}

CAF_TEST(a paged read leaves out out-of-order samples stored after the listing) {
  fixture f;
  for (int64_t t : {10, 11, 12, 13})
    CAF_REQUIRE(f.h.append(f.ref, t * minute, 1).is_ok());
  CAF_REQUIRE(f.h.append(f.ref, 5 * minute, 5).is_ok());
  auto refs = f.h.sorted_refs(0, 12 * minute - 1);  // a cut of [0, 12m)
  auto seq = f.h.ooo_sequence();
  CAF_REQUIRE(f.h.append(f.ref, 6 * minute, 6).is_ok());  // arrives during the cut
  CAF_REQUIRE_EQUAL(refs.size(), 1u);
  auto got = f.h.read(refs.data(), refs.size(), 0, 12 * minute - 1, seq);
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  std::vector<sample> xs;
  CAF_REQUIRE(decode_chunks(got[0].chunks, INT64_MIN, INT64_MAX, xs).is_ok());
  std::vector<int64_t> ts;
  for (auto& x : xs)
    ts.push_back(x.t);
  CAF_CHECK_EQUAL(ts, (std::vector<int64_t>{5 * minute, 10 * minute, 11 * minute}));
  // A read numbered after it takes it.
  got = f.h.read(refs.data(), refs.size(), 0, 12 * minute - 1, f.h.ooo_sequence());
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  xs.clear();
  CAF_REQUIRE(decode_chunks(got[0].chunks, INT64_MIN, INT64_MAX, xs).is_ok());
  CAF_CHECK_EQUAL(xs.size(), 4u);
}

CAF_TEST(inside the window another value at an older in-order timestamp is stored and read once) {
  // README, "Out-of-order window": only the newest sample and the
  // out-of-order samples are checked for duplicates, as in Prometheus
  // 2.42; a clash with an older in-order sample is kept, and a read gives
  // one sample at that time.
  fixture f;
  for (int64_t t : {10, 11, 12})
    CAF_REQUIRE(f.h.append(f.ref, t * minute, static_cast<double>(t)).is_ok());
  CAF_CHECK_EQUAL(f.h.append(f.ref, 12 * minute, 99).error_code(), status::code::duplicate_sample);
  CAF_CHECK(f.h.append(f.ref, 11 * minute, 99).is_ok());
  CAF_CHECK_EQUAL(f.h.stats().ooo_appended, 1u);
  CAF_CHECK_EQUAL(f.h.append(f.ref, 11 * minute, 98).error_code(), status::code::duplicate_sample);
  CAF_CHECK_EQUAL(f.times(), (std::vector<int64_t>{10 * minute, 11 * minute, 12 * minute}));
  auto xs = f.all();
  CAF_REQUIRE_EQUAL(xs.size(), 3u);
  CAF_CHECK(xs[1].v == 11 || xs[1].v == 99);
}

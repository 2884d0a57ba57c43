#define CAF_SUITE storage.cluster.series_refs
#include "test_support.hpp"

#include "storage/cluster/series_refs.hpp"
#include "storage/head/shard.hpp"
#include "storage/label_key.hpp"
#include "storage/labels.hpp"

using namespace nl::storage;

namespace {

std::string key_of(size_t i) {
  return label_key(label_set::from_unsorted({{"__name__", "up"}, {"instance", "host-" + std::to_string(i)}}));
}

}  // namespace

CAF_TEST(the sender numbers series in the order first seen) {
  series_ref_sender s;
  auto a = key_of(1);
  auto b = key_of(2);
  auto ra = s.assign(hash_label_key(a), a);
  auto rb = s.assign(hash_label_key(b), b);
  auto ra2 = s.assign(hash_label_key(a), a);
  CAF_CHECK(ra.is_new && ra.id == 0);
  CAF_CHECK(rb.is_new && rb.id == 1);
  CAF_CHECK(!ra2.is_new && ra2.id == 0);
  CAF_CHECK_EQUAL(s.size(), 2u);
  CAF_CHECK_EQUAL(s.key_bytes(), a.size() + b.size());
  s.reset();
  CAF_CHECK_EQUAL(s.size(), 0u);
  auto rb2 = s.assign(hash_label_key(b), b);
  CAF_CHECK(rb2.is_new && rb2.id == 0);
}

CAF_TEST(two keys with one hash get two numbers) {
  series_ref_sender s;
  auto a = key_of(1);
  auto b = key_of(2);
  auto ra = s.assign(42, a);
  auto rb = s.assign(42, b);
  CAF_CHECK(ra.is_new && rb.is_new);
  CAF_CHECK_NOT_EQUAL(ra.id, rb.id);
  CAF_CHECK_EQUAL(s.assign(42, b).id, rb.id);
  CAF_CHECK_EQUAL(s.assign(42, a).id, ra.id);
}

CAF_TEST(the sender keeps every number while its table grows) {
  series_ref_sender s;
  const size_t n = 5000;  // several doublings past the first 1024 slots
  for (size_t i = 0; i < n; ++i) {
    auto k = key_of(i);
    auto r = s.assign(hash_label_key(k), k);
    CAF_REQUIRE(r.is_new && r.id == i);
  }
  for (size_t i = 0; i < n; ++i) {
    auto k = key_of(i);
    auto r = s.assign(hash_label_key(k), k);
    CAF_REQUIRE(!r.is_new && r.id == i);
  }
}

CAF_TEST(the receiver numbers what the sender numbered and hashes the keys) {
  series_ref_sender s;
  series_ref_receiver r;
  std::string batch;
  uint32_t count = 0;
  for (size_t i : {3, 1, 3, 2}) {
    auto k = key_of(i);
    if (s.assign(hash_label_key(k), k).is_new) {
      batch += k;
      ++count;
    }
  }
  CAF_REQUIRE(r.define(batch, count).is_ok());
  CAF_REQUIRE_EQUAL(r.size(), 3u);
  for (uint32_t id = 0; id < 3; ++id) {
    auto want = key_of(id == 0 ? 3 : id == 1 ? 1 : 2);
    CAF_CHECK_EQUAL(r.key(id), want);
    CAF_CHECK_EQUAL(r.hash(id), hash_label_key(want));
  }
  auto k = key_of(9);
  CAF_REQUIRE(r.define(k, 1).is_ok());
  CAF_CHECK_EQUAL(r.key(3), k);
  r.clear();
  CAF_CHECK_EQUAL(r.size(), 0u);
}

CAF_TEST(the receiver numbers the series of each shard densely) {
  const size_t shards = 3;
  series_ref_receiver r{shards};
  std::string batch;
  const uint32_t n = 200;
  for (uint32_t i = n; i < 2 * n; ++i)
    batch += key_of(i);
  CAF_REQUIRE(r.define(batch, n).is_ok());
  r.clear();  // a new session: its slots start from 0 too
  batch.clear();
  for (uint32_t i = 0; i < n; ++i)
    batch += key_of(i);
  CAF_REQUIRE(r.define(batch, n / 2).is_ok() == false);  // more keys than announced: the first n / 2 stay
  std::string rest;
  for (uint32_t i = n / 2; i < n; ++i)
    rest += key_of(i);
  CAF_REQUIRE(r.define(rest, n / 2).is_ok());
  std::vector<uint32_t> seen(shards, 0);
  for (uint32_t id = 0; id < n; ++id) {
    auto s = shard_of(r.hash(id), shards);
    CAF_CHECK_EQUAL(r.shard_slot(id), seen[s]);  // in order, from 0, per shard
    seen[s] += 1;
  }
  for (auto count : seen)
    CAF_CHECK(count > 0u);
}

CAF_TEST(the receiver refuses keys that are not exactly the announced ones) {
  auto k = key_of(1);
  {
    series_ref_receiver r;
    auto st = r.define(k.substr(0, k.size() - 1), 1);
    CAF_CHECK(st.error_code() == status::code::corruption);
    CAF_CHECK(st.message().find("series reference 0") != std::string::npos);
  }
  {
    series_ref_receiver r;
    auto st = r.define(k + k, 1);
    CAF_CHECK(st.error_code() == status::code::corruption);
    CAF_CHECK(st.message().find("bytes after the 1 announced keys") != std::string::npos);
  }
  {
    series_ref_receiver r;
    CAF_CHECK(r.define(k, 2).error_code() == status::code::corruption);
    CAF_CHECK_EQUAL(r.size(), 1u);  // the good one before stays numbered
  }
  for (std::string empty : {std::string(1, '\0'), std::string("\x80\x00", 2)}) {  // zero labels, also overlong
    series_ref_receiver r;
    auto st = r.define(empty, 1);
    CAF_CHECK(st.error_code() == status::code::corruption);
    CAF_CHECK(st.message().find("has no labels") != std::string::npos);
  }
}

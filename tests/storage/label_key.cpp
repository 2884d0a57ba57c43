#define CAF_SUITE storage.label_key
#include "test_support.hpp"

#include <random>

#include "storage/label_key.hpp"
#include "storage/padded_key.hpp"

using namespace nl::storage;

namespace {

label_set ls(std::vector<label> l) { return label_set::from_unsorted(std::move(l)); }

}  // namespace

CAF_TEST(a key round trips and hashes like its label set) {
  auto a = ls({{"__name__", "node_cpu_seconds_total"}, {"cpu", "0"}, {"mode", "idle"},
               {"instance", std::string(300, 'x')}});
  auto key = label_key(a);
  // n, then length-prefixed pairs (the 300-byte value takes a 2-byte length).
  CAF_CHECK_EQUAL(static_cast<uint8_t>(key[0]), 4u);
  CAF_CHECK_EQUAL(key.substr(1, 9), std::string("\x08__name__", 9));
  auto back = label_set_from_key(key);
  CAF_REQUIRE(back.is_ok());
  CAF_CHECK_EQUAL(*back, a);
  CAF_CHECK_EQUAL(hash_label_key(key), a.hash());
  std::string_view in = key;
  std::string_view got;
  CAF_REQUIRE(next_label_key(in, got).is_ok());
  CAF_CHECK_EQUAL(got, key);
  CAF_CHECK(in.empty());
  // The hashing walk takes the same key and gives the label set's hash.
  in = key;
  uint64_t hash = 0;
  CAF_REQUIRE(next_label_key(in, got, hash).is_ok());
  CAF_CHECK_EQUAL(got, key);
  CAF_CHECK_EQUAL(hash, a.hash());
  CAF_CHECK(in.empty());
}

// copy_short takes every length through a different path (bytes, two 4-,
// 8- or 16-byte words, memcpy): each length from 0 to 80 lands exactly,
// the bytes around untouched.
CAF_TEST(copy_short copies every length exactly) {
  std::string src;
  for (int i = 0; i < 80; ++i)
    src.push_back(static_cast<char>('A' + i % 58));
  for (size_t n = 0; n <= src.size(); ++n) {
    std::string dst(n + 2, '#');
    copy_short(dst.data() + 1, src.data(), n);
    CAF_CHECK_EQUAL(dst, "#" + src.substr(0, n) + "#");
  }
}

// The key of labels of every length around the copy's thresholds, and
// with lengths that take a two-byte varint, reads back as its labels.
CAF_TEST(keys of names and values of any length round trip) {
  for (size_t len : {1, 3, 4, 7, 8, 9, 16, 17, 32, 33, 127, 128, 300}) {
    auto a = ls({{"__name__", std::string(len, 'm')}, {std::string(len, 'n'), std::string(len, 'v')}});
    auto key = label_key(a);
    auto back = label_set_from_key(key);
    CAF_REQUIRE(back.is_ok());
    CAF_CHECK_EQUAL(*back, a);
    CAF_CHECK_EQUAL(canonical_key_size(key), key.size());
  }
}

// Varints with a padding byte (0x81 0x00 is 1) are valid but not how the
// head spells pairs: canonical_label_key rewrites them, and leaves a
// canonical key as it is.
CAF_TEST(a valid key in another spelling is made canonical) {
  auto a = ls({{"__name__", "up"}, {"job", std::string(200, 'j')}});
  auto canonical = label_key(a);
  CAF_CHECK_EQUAL(canonical_key_size(canonical), canonical.size());
  auto padded = nl::test::padded_label_key(a);
  CAF_CHECK_EQUAL(padded.size(), canonical.size() + 5);  // five varints, a byte each
  std::string_view in = padded;
  std::string_view key;
  uint64_t hash = 0;
  CAF_REQUIRE(next_label_key(in, key, hash).is_ok());  // valid, as said
  CAF_CHECK_EQUAL(hash, a.hash());
  CAF_CHECK_EQUAL(canonical_key_size(padded), canonical.size());
  std::string scratch = "x";
  auto made = canonical_label_key(padded, scratch);
  CAF_CHECK_EQUAL(made, canonical);
  CAF_CHECK_EQUAL(static_cast<const void*>(made.data()), static_cast<const void*>(scratch.data()));
  auto kept = canonical_label_key(canonical, scratch);  // already canonical: the key itself
  CAF_CHECK_EQUAL(static_cast<const void*>(kept.data()), static_cast<const void*>(canonical.data()));
}

CAF_TEST(keys follow each other in one buffer) {
  auto a = ls({{"__name__", "up"}, {"job", "a"}});
  auto b = ls({{"__name__", "up"}, {"job", "b"}});
  std::string buf = label_key(a) + label_key(b);
  std::string_view in = buf;
  std::string_view k1;
  std::string_view k2;
  CAF_REQUIRE(next_label_key(in, k1).is_ok());
  CAF_REQUIRE(next_label_key(in, k2).is_ok());
  CAF_CHECK(in.empty());
  auto back_a = label_set_from_key(k1);
  auto back_b = label_set_from_key(k2);
  CAF_REQUIRE(back_a.is_ok() && back_b.is_ok());
  CAF_CHECK_EQUAL(*back_a, a);
  CAF_CHECK_EQUAL(*back_b, b);
  // Trailing bytes after a whole key are not part of it.
  CAF_CHECK(!label_set_from_key(buf).is_ok());
}

CAF_TEST(truncated keys are corruption and leave the input alone) {
  auto key = label_key(ls({{"__name__", "up"}, {"job", "api"}}));
  for (size_t n = 0; n < key.size(); ++n) {
    std::string_view in{key.data(), n};
    std::string_view got;
    auto st = next_label_key(in, got);
    CAF_CHECK(!st.is_ok());
    CAF_CHECK_EQUAL(st.error_code(), status::code::corruption);
    CAF_CHECK_EQUAL(in.size(), n);
    CAF_CHECK(!label_set_from_key(std::string_view{key.data(), n}).is_ok());
  }
}

CAF_TEST(huge counts and lengths are rejected) {
  std::string huge_count = "\xff\xff\xff\xff\x0f\x01" "a\x01" "b";
  std::string_view in = huge_count;
  std::string_view got;
  auto st = next_label_key(in, got);
  CAF_CHECK(st.message().find("label count") != std::string::npos);
  std::string huge_len = std::string("\x01\xff\xff\xff\xff\x0f", 6) + "abc";
  in = huge_len;
  CAF_CHECK(!next_label_key(in, got).is_ok());
  std::string overlong(12, '\xff');
  in = overlong;
  CAF_CHECK(!next_label_key(in, got).is_ok());
}

CAF_TEST(non canonical labels are corruption) {
  auto pair = [](std::string n, std::string v) {
    std::string out;
    put_length_prefixed(out, n);
    put_length_prefixed(out, v);
    return out;
  };
  std::string unsorted = "\x02" + pair("b", "1") + pair("a", "1");
  std::string repeated = "\x02" + pair("a", "1") + pair("a", "2");
  std::string empty_value = "\x01" + pair("a", "");
  for (const auto& bad : {unsorted, repeated, empty_value}) {
    std::string_view in = bad;
    std::string_view got;
    CAF_CHECK(!next_label_key(in, got).is_ok());
    CAF_CHECK(!label_set_from_key(bad).is_ok());
  }
}

CAF_TEST(random garbage and flipped bytes never crash) {
  std::mt19937 rng(7);
  auto key = label_key(ls({{"__name__", "http_requests_total"}, {"code", "200"}, {"job", "api"}}));
  for (int i = 0; i < 20000; ++i) {
    std::string buf;
    if (i % 2 == 0) {
      buf = key;
      buf[rng() % buf.size()] ^= static_cast<char>(1 + rng() % 255);
    } else {
      buf.resize(rng() % 40);
      for (auto& c : buf)
        c = static_cast<char>(rng());
    }
    std::string_view in = buf;
    std::string_view got;
    std::string_view in2 = buf;
    std::string_view got2;
    uint64_t hash = 0;
    bool ok2 = next_label_key(in2, got2, hash).is_ok();
    if (next_label_key(in, got).is_ok()) {
      CAF_CHECK_LESS_OR_EQUAL(got.size(), buf.size());
      CAF_CHECK(label_set_from_key(got).is_ok());
      CAF_CHECK(ok2);
      CAF_CHECK_EQUAL(got2, got);
      CAF_CHECK_EQUAL(hash, hash_label_key(got));
    } else {
      CAF_CHECK(!ok2);
    }
  }
}

CAF_TEST(keys compare like their label sets) {
  // Names and values that share prefixes, differ in length or only in
  // their last byte, and sets of different sizes.
  std::vector<std::string> words = {"a", "ab", "abc", "b", "node_cpu_seconds_total", "node_cpu_seconds_totaX",
                                    std::string(130, 'x'), std::string(131, 'x'), "0", "10", "9"};
  std::vector<label_set> sets;
  uint64_t r = 12345;
  auto next = [&r] {
    r = r * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<size_t>(r >> 33);
  };
  for (int i = 0; i < 400; ++i) {
    std::vector<label> ls;
    size_t n = 1 + next() % 4;
    for (size_t k = 0; k < n; ++k)
      ls.push_back({words[next() % 6], words[next() % words.size()]});
    sets.push_back(label_set::from_unsorted(std::move(ls)));
  }
  for (const auto& x : sets)
    for (const auto& y : sets) {
      int want = label_set::compare(x, y);
      int got = compare_label_keys(label_key(x), label_key(y));
      CAF_REQUIRE_EQUAL(got, want);
    }
}

#include "storage/label_key.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace nl::storage {

namespace {

// Walks one key at the front of `in`, checking everything, calling
// fn(name, value) per label; on success advances `in`.
template <class Fn>
status walk(std::string_view& in, Fn&& fn) {
  std::string_view rest = in;
  uint64_t count;
  if (!get_uvarint(rest, count))
    return status::corruption("label key: truncated label count");
  // Each pair takes at least three bytes: two lengths and a non-empty value.
  if (count > rest.size() / 3)
    return status::corruption("label key: label count " + std::to_string(count)
                              + " exceeds the bytes left");
  std::string_view prev;
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view name;
    std::string_view value;
    if (!get_length_prefixed(rest, name) || !get_length_prefixed(rest, value))
      return status::corruption("label key: truncated label");
    // label_set's invariant, checked rather than repaired: bytes that
    // break it were not written by us.
    if (value.empty() || (i > 0 && !(prev < name)))
      return status::corruption("label key: labels not sorted, not unique or with an empty value");
    prev = name;
    fn(name, value);
  }
  in = rest;
  return status::ok();
}

}  // namespace

std::string label_key(const label_set& ls) {
  std::string out;
  append_label_key(out, ls.labels().data(), ls.size());
  return out;
}

status next_label_key(std::string_view& in, std::string_view& key) {
  std::string_view rest = in;
  if (auto st = walk(rest, [](std::string_view, std::string_view) {}); !st)
    return st;
  key = in.substr(0, in.size() - rest.size());
  in = rest;
  return status::ok();
}

status next_label_key(std::string_view& in, std::string_view& key, uint64_t& hash) {
  std::string_view rest = in;
  label_hasher h;
  if (auto st = walk(rest, [&h](std::string_view name, std::string_view value) { h.add(name, value); }); !st)
    return st;
  key = in.substr(0, in.size() - rest.size());
  hash = h.value();
  in = rest;
  return status::ok();
}

result<label_set> label_set_from_key(std::string_view key) {
  std::vector<label> labels;
  // The count leads the key; each label takes at least two bytes, so a
  // bogus count reserves no more than the key could hold.
  std::string_view peek = key;
  uint64_t n = 0;
  if (get_uvarint(peek, n))
    labels.reserve(std::min<uint64_t>(n, peek.size() / 2));
  auto st = walk(key, [&](std::string_view name, std::string_view value) {
    labels.push_back(label{std::string{name}, std::string{value}});
  });
  if (!st)
    return st;
  if (!key.empty())
    return status::corruption("label key: " + std::to_string(key.size()) + " bytes after the labels");
  return label_set{std::move(labels)};
}

namespace {

// label_set::compare, label by label.
int compare_label_by_label(std::string_view a, std::string_view b) {
  uint64_t na = 0;
  uint64_t nb = 0;
  (void)get_uvarint(a, na);
  (void)get_uvarint(b, nb);
  for (uint64_t i = 0; i < na && i < nb; ++i) {
    // Name, then value: the same order in both keys.
    for (int part = 0; part < 2; ++part) {
      std::string_view x;
      std::string_view y;
      (void)get_length_prefixed(a, x);
      (void)get_length_prefixed(b, y);
      if (int c = x.compare(y); c != 0)
        return c < 0 ? -1 : 1;
    }
  }
  if (na == nb)
    return 0;
  return na < nb ? -1 : 1;
}

// Offset of the first byte where a and b differ (their common length if
// one is a prefix of the other), a word at a time.
size_t first_difference(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    uint64_t y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    if (x != y)
      return i + static_cast<size_t>(__builtin_ctzll(x ^ y)) / 8;  // little-endian
  }
  while (i < n && a[i] == b[i])
    ++i;
  return i;
}

}  // namespace

int compare_label_keys(std::string_view a, std::string_view b) {
  // Keys of one metric share long prefixes (name, then the labels that
  // sort first): find the first differing byte, then only the field that
  // holds it needs comparing. Every field that ends before it is equal in
  // both keys, and the first unequal field decides, as in
  // label_set::compare (names and values alternate in the same order).
  const size_t d = first_difference(a, b);
  if (d == a.size() && d == b.size())
    return 0;
  std::string_view ra = a;
  uint64_t na = 0;
  (void)get_uvarint(ra, na);
  size_t pos = a.size() - ra.size();
  if (d < pos)
    return compare_label_by_label(a, b);  // different label counts
  const size_t n = std::min(a.size(), b.size());
  while (true) {
    // The field at pos: a length, then its bytes. Up to d both keys hold
    // the same bytes, so a field header that ends at or before d has the
    // same length in both.
    size_t len;
    size_t body;
    auto c = static_cast<unsigned char>(a[pos]);
    if (c < 0x80) {  // the usual one-byte length
      len = c;
      body = pos + 1;
    } else {
      std::string_view rest = a.substr(pos);
      uint64_t v = 0;
      if (!get_uvarint(rest, v))
        return compare_label_by_label(a, b);  // not for valid keys
      len = static_cast<size_t>(v);
      body = a.size() - rest.size();
    }
    if (body > d || body + len > n) {
      // The lengths differ: compare the two fields as strings.
      std::string_view fa = a.substr(pos);
      std::string_view fb = b.substr(pos);
      std::string_view x;
      std::string_view y;
      if (get_length_prefixed(fa, x) && get_length_prefixed(fb, y))
        if (int r = x.compare(y); r != 0)
          return r < 0 ? -1 : 1;
      return compare_label_by_label(a, b);  // not for valid keys
    }
    if (body + len > d)  // same length, first different byte inside
      return static_cast<unsigned char>(a[d]) < static_cast<unsigned char>(b[d]) ? -1 : 1;
    pos = body + len;
  }
}

size_t canonical_key_size(std::string_view key) {
  std::string_view rest = key;
  uint64_t count = 0;
  (void)get_uvarint(rest, count);
  size_t n = uvarint_length(count);
  for_each_label(key, [&n](std::string_view name, std::string_view value) {
    n += uvarint_length(name.size()) + name.size();
    n += uvarint_length(value.size()) + value.size();
  });
  return n;
}

std::string_view canonical_label_key(std::string_view key, std::string& scratch) {
  if (canonical_key_size(key) == key.size())
    return key;
  std::string_view rest = key;
  uint64_t count = 0;
  (void)get_uvarint(rest, count);
  scratch.clear();
  put_uvarint(scratch, count);
  for_each_label(key, [&scratch](std::string_view name, std::string_view value) {
    append_label_pair(scratch, name, value);
  });
  return scratch;
}

uint64_t hash_label_key(std::string_view key) {
  label_hasher h;
  // Valid by contract; a damaged key just hashes its readable prefix.
  (void)walk(key, [&](std::string_view name, std::string_view value) { h.add(name, value); });
  return h.value();
}

}  // namespace nl::storage

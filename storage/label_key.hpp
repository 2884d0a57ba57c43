#pragma once
// The label key: a label set as one flat byte string,
//
//   n<uvarint> ( name_len<uvarint> name value_len<uvarint> value ){n}
//
// with the labels sorted by name, names unique and values non-empty (the
// label_set invariant). Equal label sets have equal keys, so comparing two
// series is one memcmp instead of a walk over 2n separately allocated
// strings, and a batch can carry many label sets in one buffer. The layout
// is byte for byte the per-series part of a WAL series record
// (storage/FORMAT.md "Series record"), so a new series is logged by copying
// its key behind its ref.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "storage/coding.hpp"
#include "storage/labels.hpp"
#include "storage/status.hpp"

namespace nl::storage {

/// Copies n bytes from src to dst. Label names and values are short: up to
/// 32 bytes this is two overlapping loads and stores with no call, which
/// the per-field memcpy calls of append_label_key cost more than the bytes
/// they moved.
inline void copy_short(char* dst, const char* src, size_t n) {
  if (n >= 8) {
    if (n > 32) {
      std::memcpy(dst, src, n);
    } else if (n > 16) {
      char a[16], b[16];
      std::memcpy(a, src, 16);
      std::memcpy(b, src + n - 16, 16);
      std::memcpy(dst, a, 16);
      std::memcpy(dst + n - 16, b, 16);
    } else {
      uint64_t a, b;
      std::memcpy(&a, src, 8);
      std::memcpy(&b, src + n - 8, 8);
      std::memcpy(dst, &a, 8);
      std::memcpy(dst + n - 8, &b, 8);
    }
  } else if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else {
    for (size_t i = 0; i < n; ++i)
      dst[i] = src[i];
  }
}

/// Appends the key of labels[0..n) to `out`. `Label` is anything with
/// `name` and `value` members viewable as std::string_view (label,
/// protocol::label_ref). REQUIRES: the labels are canonical (sorted, unique
/// names, no empty value); nothing is checked.
template <class Label>
void append_label_key(std::string& out, const Label* labels, size_t n) {
  // One resize to the exact size and raw writes: appending field by field
  // cost more than the copying itself (this runs per remote-write entry).
  auto field_bytes = [](size_t len) { return (len < 0x80 ? 1 : uvarint_length(len)) + len; };
  size_t size = uvarint_length(n);
  for (size_t i = 0; i < n; ++i)
    size += field_bytes(std::string_view{labels[i].name}.size())
            + field_bytes(std::string_view{labels[i].value}.size());
  size_t start = out.size();
  out.resize(start + size);
  char* p = out.data() + start;
  p = encode_uvarint(p, n);
  for (size_t i = 0; i < n; ++i) {
    for (std::string_view s : {std::string_view{labels[i].name}, std::string_view{labels[i].value}}) {
      if (s.size() < 0x80)  // the usual one-byte length, without a call
        *p++ = static_cast<char>(s.size());
      else
        p = encode_uvarint(p, s.size());
      copy_short(p, s.data(), s.size());
      p += s.size();
    }
  }
}

/// The key of a label set.
std::string label_key(const label_set& ls);

/// One label as a key holds it (name_len name value_len value), appended
/// to `out`: the head interns labels in this form (pair_table).
inline void append_label_pair(std::string& out, std::string_view name, std::string_view value) {
  put_length_prefixed(out, name);
  put_length_prefixed(out, value);
}
inline std::string label_pair(std::string_view name, std::string_view value) {
  std::string out;
  append_label_pair(out, name, value);
  return out;
}

/// Takes the key at the front of `in` into `key` and advances `in` past it.
/// corruption (naming what is wrong, `in` unchanged) when the bytes are
/// truncated, a count exceeds them, or the labels are not canonical. Never
/// reads outside `in`; safe on arbitrary bytes.
status next_label_key(std::string_view& in, std::string_view& key);
/// The same, also setting `hash` to hash_label_key(key) from the same walk
/// (a key loaded from a peer is checked and hashed once, not walked twice).
status next_label_key(std::string_view& in, std::string_view& key, uint64_t& hash);

/// The label set of a key; corruption unless `key` is exactly one valid key.
result<label_set> label_set_from_key(std::string_view key);

/// label_set::compare() of the label sets of two keys, without building
/// them. REQUIRES: both keys are valid.
int compare_label_keys(std::string_view a, std::string_view b);

/// Calls fn(name, value) for each label of `key`, in order, without
/// copying. REQUIRES: `key` is valid.
template <class Fn>
void for_each_label(std::string_view key, Fn&& fn) {
  uint64_t n = 0;
  (void)get_uvarint(key, n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view name;
    std::string_view value;
    (void)get_length_prefixed(key, name);
    (void)get_length_prefixed(key, value);
    fn(name, value);
  }
}

/// The size of a valid key's canonical spelling (every varint minimal, as
/// append_label_key writes it).
size_t canonical_key_size(std::string_view key);
/// The valid `key` in its canonical spelling: `key` itself when it is
/// one, else that spelling written to `scratch`. The head compares keys
/// byte by byte with its canonical pairs, so it takes keys from outside
/// through this before it looks for or creates a series
/// (storage/head/head.hpp).
std::string_view canonical_label_key(std::string_view key, std::string& scratch);

/// label_set_from_key(key)->hash() without building the label set.
/// REQUIRES: `key` is valid (came from next_label_key or append_label_key).
uint64_t hash_label_key(std::string_view key);

}  // namespace nl::storage

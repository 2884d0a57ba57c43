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
#include <string>
#include <string_view>

#include "storage/coding.hpp"
#include "storage/labels.hpp"
#include "storage/status.hpp"

namespace nl::storage {

/// Appends the key of labels[0..n) to `out`. `Label` is anything with
/// `name` and `value` members viewable as std::string_view (label,
/// protocol::label_ref). REQUIRES: the labels are canonical (sorted, unique
/// names, no empty value); nothing is checked.
template <class Label>
void append_label_key(std::string& out, const Label* labels, size_t n) {
  put_uvarint(out, n);
  for (size_t i = 0; i < n; ++i) {
    put_length_prefixed(out, labels[i].name);
    put_length_prefixed(out, labels[i].value);
  }
}

/// The key of a label set.
std::string label_key(const label_set& ls);

/// Takes the key at the front of `in` into `key` and advances `in` past it.
/// corruption (naming what is wrong, `in` unchanged) when the bytes are
/// truncated, a count exceeds them, or the labels are not canonical. Never
/// reads outside `in`; safe on arbitrary bytes.
status next_label_key(std::string_view& in, std::string_view& key);

/// The label set of a key; corruption unless `key` is exactly one valid key.
result<label_set> label_set_from_key(std::string_view key);

/// label_set_from_key(key)->hash() without building the label set.
/// REQUIRES: `key` is valid (came from next_label_key or append_label_key).
uint64_t hash_label_key(std::string_view key);

}  // namespace nl::storage

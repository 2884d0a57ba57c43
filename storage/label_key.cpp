#include "storage/label_key.hpp"

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

result<label_set> label_set_from_key(std::string_view key) {
  std::vector<label> labels;
  auto st = walk(key, [&](std::string_view name, std::string_view value) {
    labels.push_back(label{std::string{name}, std::string{value}});
  });
  if (!st)
    return st;
  if (!key.empty())
    return status::corruption("label key: " + std::to_string(key.size()) + " bytes after the labels");
  return label_set{std::move(labels)};
}

uint64_t hash_label_key(std::string_view key) {
  label_hasher h;
  // Valid by contract; a damaged key just hashes its readable prefix.
  (void)walk(key, [&](std::string_view name, std::string_view value) { h.add(name, value); });
  return h.value();
}

}  // namespace nl::storage

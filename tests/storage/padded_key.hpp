#pragma once
// For suites that check keys from outside: a valid label key in a spelling
// the head never writes, every varint (the count, each length) one byte
// longer than it needs (its last byte gets the continuation bit, then a
// 0x00 follows). next_label_key accepts it; canonical_key_size tells it
// apart.
#include <string>

#include "storage/coding.hpp"
#include "storage/labels.hpp"

namespace nl::test {

inline std::string padded_label_key(const storage::label_set& ls) {
  std::string out;
  auto put = [&out](uint64_t v) {
    char buf[storage::max_varint64_bytes];
    char* end = storage::encode_uvarint(buf, v);
    end[-1] = static_cast<char>(end[-1] | 0x80);
    out.append(buf, end);
    out += '\0';
  };
  put(ls.size());
  for (const auto& l : ls.labels()) {
    put(l.name.size());
    out += l.name;
    put(l.value.size());
    out += l.value;
  }
  return out;
}

}  // namespace nl::test

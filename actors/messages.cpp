#include "actors/messages.hpp"

#include "storage/coding.hpp"
#include "storage/label_key.hpp"

namespace nl::actors {

void append_batch::add_sample(int64_t t, uint64_t bits) {
  timestamps.push_back(t);
  value_bits.push_back(bits);
  ends.back() = static_cast<uint32_t>(timestamps.size());
}

caf::error series_records::validate() const {
  std::string_view in = entries;
  uint64_t n = 0;
  while (!in.empty()) {
    uint64_t ref = 0;
    std::string_view key;
    if (!storage::get_uvarint(in, ref))
      return caf::make_error(caf::sec::invalid_argument, "series_records: truncated entry");
    if (auto st = storage::next_label_key(in, key); !st)
      return caf::make_error(caf::sec::invalid_argument, "series_records: " + st.message());
    ++n;
  }
  if (n != count)
    return caf::make_error(caf::sec::invalid_argument, "series_records: " + std::to_string(n)
                                                         + " entries, " + std::to_string(count) + " announced");
  return caf::none;
}

caf::error metadata_records::validate() const {
  std::vector<storage::metadata_record> xs;
  if (auto st = storage::decode_metadata_entries(entries, xs); !st)
    return caf::make_error(caf::sec::invalid_argument, "metadata_records: " + st.message());
  if (xs.size() != count)
    return caf::make_error(caf::sec::invalid_argument, "metadata_records: " + std::to_string(xs.size())
                                                         + " entries, " + std::to_string(count) + " announced");
  return caf::none;
}

caf::error append_batch::validate_and_rehash() {
  auto bad = [](std::string what) {
    return caf::make_error(error_code::bad_input, "append_batch: " + std::move(what));
  };
  if (ends.size() != key_ends.size())
    return bad("series and sample ranges disagree");
  if (timestamps.size() != value_bits.size())
    return bad("timestamps and values disagree");
  if (keys.size() > UINT32_MAX || timestamps.size() > UINT32_MAX)
    return bad("too large");
  uint32_t prev_end = 0;
  for (auto e : ends) {
    if (e < prev_end || e > timestamps.size())
      return bad("sample range out of order or past the end");
    prev_end = e;
  }
  if (prev_end != timestamps.size())
    return bad("samples after the last series");
  hashes.resize(key_ends.size());
  uint32_t begin = 0;
  for (size_t i = 0; i < key_ends.size(); ++i) {
    if (key_ends[i] < begin || key_ends[i] > keys.size())
      return bad("key range out of order or past the end");
    std::string_view in = std::string_view{keys}.substr(begin, key_ends[i] - begin);
    std::string_view key;
    if (auto st = storage::next_label_key(in, key); !st)
      return bad(st.message());
    if (!in.empty() || key.size() < 2)  // trailing bytes, or no labels
      return bad("series " + std::to_string(i) + " is not exactly one non-empty label key");
    hashes[i] = storage::hash_label_key(key);
    begin = key_ends[i];
  }
  if (begin != keys.size())
    return bad("key bytes after the last series");
  return caf::none;
}

}  // namespace nl::actors

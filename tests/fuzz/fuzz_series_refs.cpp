// libFuzzer target: the label keys a cluster peer's link batch numbers
// (link_batch::new_keys), from arbitrary bytes, handed to the receiving
// side of a link session as the gateway hands them. The first byte is how
// many keys the batch announces, the rest the keys. Nothing may crash,
// hang or read outside the input; bad keys must be corruption. A sender
// fed what was numbered must number each distinct key once, in order of
// first appearance (what keeps both sides of a link in step).
#include <cstdint>
#include <map>
#include <string_view>

#include "storage/cluster/series_refs.hpp"
#include "storage/label_key.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nl::storage;
  if (size == 0)
    return 0;
  std::string_view keys{reinterpret_cast<const char*>(data) + 1, size - 1};
  series_ref_receiver receiver;
  auto st = receiver.define(keys, data[0]);
  if (!st && st.error_code() != status::code::corruption)
    __builtin_trap();
  // A sender fed the same keys must give one number per distinct key, in
  // order of first appearance, and the same number every time after.
  series_ref_sender sender;
  std::map<std::string_view, uint32_t> first;
  for (uint32_t id = 0; id < receiver.size(); ++id) {
    auto key = receiver.key(id);
    if (receiver.hash(id) != hash_label_key(key))
      __builtin_trap();
    auto r = sender.assign(receiver.hash(id), key);
    auto [it, inserted] = first.emplace(key, static_cast<uint32_t>(first.size()));
    if (r.is_new != inserted || r.id != it->second)
      __builtin_trap();
  }
  return 0;
}

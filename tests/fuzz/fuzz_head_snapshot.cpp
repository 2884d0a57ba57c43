// libFuzzer target: a head snapshot's bytes (storage/head/head_snapshot.hpp),
// as start-up reads them. The first byte chooses: even, the rest is one
// shard's head state for head::read_state (past the file's checksums,
// which would stop nearly every input before the decoder); odd, the rest
// is a whole snapshot file read by read_head_snapshot for two shards and
// an empty WAL fingerprint. Nothing may crash, hang or read outside the
// bytes. A state the head takes must be usable: selected, written again
// and read back by a fresh head without error, then appended to.
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/file.hpp"
#include "storage/head/head.hpp"
#include "storage/head/head_snapshot.hpp"
#include "storage/label_key.hpp"

namespace {

nl::storage::head_options options(uint64_t shard, uint64_t shards) {
  nl::storage::head_options o;
  o.ref_start = 1 + shard;
  o.ref_stride = shards;
  o.ooo_window_ms = 3600000;
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nl::storage;
  if (size == 0)
    return 0;
  std::string_view in{reinterpret_cast<const char*>(data) + 1, size - 1};
  if (data[0] % 2 == 1) {
    static const std::string path = "/dev/shm/nl-fuzz-head-snapshot-" + std::to_string(::getpid());
    (void)write_whole_file(path, in);
    std::vector<std::shared_ptr<head>> heads = {std::make_shared<head>(options(0, 2)),
                                                std::make_shared<head>(options(1, 2))};
    metadata_store meta;
    (void)read_head_snapshot(path, heads, meta, "");
    return 0;
  }
  head h{options(0, 1)};
  if (!h.read_state(in))
    return 0;
  (void)h.select({}, INT64_MIN, INT64_MAX);
  (void)h.stats();
  std::string again;
  if (!h.write_state(again))
    __builtin_trap();
  head back{options(0, 1)};
  if (!back.read_state(again))
    __builtin_trap();  // what a head read and wrote, a head must read
  // The loaded head goes on: a new series (its ref may fall out of the
  // range a state may hold, so its own state is not read back) and a sample.
  auto labels = label_set::from_unsorted({{"__name__", "fuzz"}});
  auto slot = h.get_or_create(labels.hash(), label_key(labels));
  if (!slot)
    __builtin_trap();
  (void)h.append(slot->ref(), h.max_time() == INT64_MIN ? 0 : h.max_time(), 1.0);
  again.clear();
  if (!h.write_state(again))
    __builtin_trap();
  return 0;
}

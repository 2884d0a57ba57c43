// libFuzzer target: a head snapshot's bytes (storage/head/head_snapshot.hpp),
// as start-up reads them. The first byte chooses, modulo 3: 0, the rest is
// one shard's head state for head::read_state (past the file's checksums,
// which would stop nearly every input before the decoder); 1, the rest
// is a whole snapshot file read by read_head_snapshot for two shards and
// an empty WAL fingerprint; 2, the rest is two WAL fingerprints (the
// snapshot's, a NUL, the current one) for wal_segments_after, which a
// snapshot file's checksum would otherwise keep from odd ones. Nothing may
// crash, hang or read outside the bytes. A state the head takes must be
// usable: selected, written again and read back by a fresh head without
// error, then appended to. A fingerprint always stands for itself with
// nothing to replay, and a segment to replay from is one the current
// fingerprint lists.
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
#include "storage/wal/segment_writer.hpp"

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
  if (data[0] % 3 == 2) {
    auto nul = in.find('\0');
    auto taken = in.substr(0, nul);
    auto current = nul == std::string_view::npos ? std::string_view{} : in.substr(nul + 1);
    auto same = wal_segments_after(taken, taken);
    if (!same || *same != 0)
      __builtin_trap();
    auto from = wal_segments_after(taken, current);
    if (from && *from != 0) {
      auto line = "\n" + wal_segment_name(*from) + " ";
      if (("\n" + std::string{current}).find(line) == std::string::npos)
        __builtin_trap();
    }
    return 0;
  }
  if (data[0] % 3 == 1) {
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

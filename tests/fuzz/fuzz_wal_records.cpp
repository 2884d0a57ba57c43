// libFuzzer target: one WAL record payload from arbitrary bytes, handed to
// the record decoders directly (replay gets them from the segment reader,
// whose CRC32C stops almost every random mutation before a decoder sees
// it; fuzz_wal_segment covers the framing). Every decoder is tried on
// every input, whatever the type byte says. Nothing may crash, hang or
// read outside the record. Metadata entries are also what a cluster peer
// answers a metadata read with: decoded ones go through the merge too.
#include <vector>

#include "storage/metadata/metadata_merge.hpp"
#include "storage/wal/records.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nl::storage;
  std::string_view rec{reinterpret_cast<const char*>(data), size};
  (void)record_type(rec);
  std::vector<series_record> series;
  std::vector<sample_record> samples;
  std::vector<tombstone_record> stones;
  std::vector<metadata_record> metadata;
  (void)decode_series(rec, series);
  (void)decode_samples(rec, samples);
  (void)decode_tombstone_records(rec, stones);
  (void)decode_metadata_records(rec, metadata);
  // As a checkpoint's caller hands them over: entries without a type byte.
  if (decode_metadata_entries(rec, metadata).is_ok()) {
    metadata_store_options opts;
    opts.max_per_family = 2;  // small, so random input reaches the eviction
    (void)merge_metadata({metadata, metadata}, "", -1, 1, opts);
  }
  return 0;
}

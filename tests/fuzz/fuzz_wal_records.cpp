// libFuzzer target: one WAL record payload from arbitrary bytes, handed to
// the record decoders directly (replay gets them from the segment reader,
// whose CRC32C stops almost every random mutation before a decoder sees
// it; fuzz_wal_segment covers the framing). Every decoder is tried on
// every input, whatever the type byte says. Nothing may crash, hang or
// read outside the record.
#include <vector>

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
  (void)decode_metadata_entries(rec, metadata);
  return 0;
}

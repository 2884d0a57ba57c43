// libFuzzer target: a WAL checkpoint directory from arbitrary bytes, read as
// start-up replay reads it. The input is the checkpoint's segments
// 00000001 and 00000002, the first preceded by its length (4 bytes,
// little-endian); an empty second part means the checkpoint has one
// segment. Every record is decoded like replay does. Nothing may crash,
// hang or read outside the files; damage must be corruption.
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "length_prefixed.hpp"
#include "storage/file.hpp"
#include "storage/wal/checkpoint.hpp"
#include "storage/wal/records.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nl::storage;
  static const std::string wal = [] {
    std::string d = "/dev/shm/nl-fuzz-checkpoint-" + std::to_string(::getpid());
    (void)create_dir_if_missing(d);
    (void)create_dir_if_missing(wal_checkpoint_path(d, 7));
    return d;
  }();
  const std::string cp = wal_checkpoint_path(wal, 7);
  std::string_view in{reinterpret_cast<const char*>(data), size};
  auto first = nl::fuzz::take_length_prefixed(in);
  (void)write_whole_file(cp + "/00000001", first);
  if (in.empty())
    (void)::unlink((cp + "/00000002").c_str());
  else
    (void)write_whole_file(cp + "/00000002", in);

  auto latest = latest_wal_checkpoint(wal);
  if (!latest || *latest != std::optional<uint64_t>{7})
    __builtin_trap();  // the harness's own directory is broken
  std::vector<series_record> series;
  std::vector<sample_record> samples;
  std::vector<tombstone_record> stones;
  std::vector<metadata_record> metadata;
  (void)read_wal_checkpoint(wal, 7, [&](std::string_view rec, wal_position) -> status {
    auto type = record_type(rec);
    if (!type)
      return type.error();
    switch (*type) {
      case wal_record_type::series: return decode_series(rec, series);
      case wal_record_type::samples: return decode_samples(rec, samples);
      case wal_record_type::tombstones: return decode_tombstone_records(rec, stones);
      case wal_record_type::metadata: return decode_metadata_records(rec, metadata);
    }
    return status{};
  });
  return 0;
}

// libFuzzer target: a WAL segment from arbitrary bytes, read as start-up
// replay reads it (framing, then series and samples records). Nothing may
// crash, hang or read outside the file; damage must be reported.
#include <unistd.h>

#include <string>

#include "storage/file.hpp"
#include "storage/wal/records.hpp"
#include "storage/wal/segment_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nl::storage;
  static const std::string dir = [] {
    std::string d = "/dev/shm/nl-fuzz-wal-" + std::to_string(::getpid());
    (void)create_dir_if_missing(d);
    return d;
  }();
  (void)write_whole_file(dir + "/00000001", {reinterpret_cast<const char*>(data), size});
  auto r = wal_segment_reader::open(dir);
  if (!r)
    return 0;
  std::vector<series_record> series;
  std::vector<sample_record> samples;
  while ((*r)->next()) {
    auto rec = (*r)->record();
    auto type = record_type(rec);
    if (!type)
      continue;
    if (*type == wal_record_type::series)
      (void)decode_series(rec, series);
    else if (*type == wal_record_type::samples)
      (void)decode_samples(rec, samples);
  }
  return 0;
}

// libFuzzer target: a block directory from arbitrary bytes. The input is
// meta.json, index and chunks, each but the last preceded by its length
// (4 bytes, little-endian); the block is opened, checked and read in every
// way a query or nightlight-tsdb reads it. Nothing may crash, hang or read
// outside the files; errors are fine.
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "length_prefixed.hpp"
#include "storage/block/reader.hpp"
#include "storage/file.hpp"

namespace {

constexpr const char* ulid = "01HZZZZZZZZZZZZZZZZZZZZZZA";  // the seed's

const std::string& dir() {
  static const std::string d = [] {
    std::string base = "/dev/shm/nl-fuzz-block-" + std::to_string(::getpid());
    (void)nl::storage::create_dir_if_missing(base);
    (void)nl::storage::create_dir_if_missing(base + "/" + ulid);
    return base + "/" + ulid;
  }();
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nl::storage;
  std::string_view in{reinterpret_cast<const char*>(data), size};
  auto meta = nl::fuzz::take_length_prefixed(in);
  auto index = nl::fuzz::take_length_prefixed(in);
  (void)write_whole_file(dir() + "/meta.json", meta);
  (void)write_whole_file(dir() + "/index", index);
  (void)write_whole_file(dir() + "/chunks", in);
  auto b = block::open(dir());
  if (!b)
    return 0;
  (void)(*b)->check();
  auto all = (*b)->select({}, INT64_MIN, INT64_MAX);
  if (all) {
    for (const auto& s : *all) {
      std::vector<sample> out;
      (void)decode_chunks(s.chunks, INT64_MIN, INT64_MAX, out);
      out.clear();
      (void)decode_chunks(s.chunks, 1000, 5000, out);  // records cut by the window
    }
  }
  (void)(*b)->series({}, 0, 1000);
  (void)(*b)->label_names({}, INT64_MIN, INT64_MAX);
  (void)(*b)->label_values("job", {}, INT64_MIN, INT64_MAX);
  auto m = matcher::make(match_type::regex, "job", "a|b");
  if (m) {
    (void)(*b)->select({*m}, INT64_MIN, INT64_MAX);
    (void)(*b)->label_names({*m}, 0, 100000);
  }
  return 0;
}

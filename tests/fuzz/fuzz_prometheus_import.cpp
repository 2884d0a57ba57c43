// libFuzzer target: a foreign Prometheus 2.x block from arbitrary bytes,
// imported as `nightlight-tsdb import-prometheus` imports it (meta.json,
// tombstones, index, chunk segment, XOR decoding, conversion and writing
// the Nightlight block). The input is meta.json, index and tombstones,
// each preceded by its length (4 bytes, little-endian), then
// chunks/000001. Nothing may crash, hang or read outside the files; damage
// must be an error.
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "length_prefixed.hpp"
#include "storage/file.hpp"
#include "storage/prometheus/import.hpp"

namespace {

constexpr const char* ulid = "01M91NKVAXHXZFBE0DPAFVX42Y";  // the seeds'

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nl::storage;
  static const std::string base = [] {
    std::string b = "/dev/shm/nl-fuzz-prom-" + std::to_string(::getpid());
    (void)create_dir_if_missing(b);
    (void)create_dir_if_missing(b + "/src");
    (void)create_dir_if_missing(b + "/src/" + ulid);
    (void)create_dir_if_missing(b + "/src/" + ulid + "/chunks");
    return b;
  }();
  const std::string block = base + "/src/" + ulid;
  std::string_view in{reinterpret_cast<const char*>(data), size};
  auto meta = nl::fuzz::take_length_prefixed(in);
  auto index = nl::fuzz::take_length_prefixed(in);
  auto tombstones = nl::fuzz::take_length_prefixed(in);
  (void)write_whole_file(block + "/meta.json", meta);
  (void)write_whole_file(block + "/index", index);
  (void)write_whole_file(block + "/tombstones", tombstones);
  (void)write_whole_file(block + "/chunks/000001", in);
  (void)import_prometheus(block, base + "/out", [](const std::string&) {});
  // Start every run from an empty output directory.
  if (!remove_tree(base + "/out").is_ok())
    __builtin_trap();
  return 0;
}

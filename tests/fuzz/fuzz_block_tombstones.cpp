// libFuzzer target: a block's tombstones file (storage/tombstones.hpp,
// decode_tombstones; storage/FORMAT.md, "tombstones"). The input is read
// twice: as a whole file (header and checksum checks), and as the body of
// a file with a valid header and checksum, so that mutations reach the
// entries' parser behind the CRC. A map the decoder accepts must keep the
// format's rules (ranges non-empty lists, ascending, disjoint and not
// adjacent, mint <= maxt), come back unchanged through encode and decode,
// and, applied to a fixed chunk with without_deleted, leave exactly the
// samples outside its ranges.
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "storage/coding.hpp"
#include "storage/tombstones.hpp"

namespace {

using namespace nl::storage;

std::shared_ptr<const chunk> fixed_chunk() {
  static const std::shared_ptr<const chunk> c = [] {
    xor_appender app;
    for (int64_t t = -3; t <= 60; ++t)
      app.append(t * 1000, static_cast<double>(t));
    return std::shared_ptr<const chunk>(app.cut());
  }();
  return c;
}

void check(const tombstone_map& ts) {
  for (const auto& [id, xs] : ts) {
    if (xs.empty())
      abort();
    for (size_t i = 0; i < xs.size(); ++i) {
      if (xs[i].mint > xs[i].maxt)
        abort();
      // Apart: the previous range ends at least two before this one starts.
      if (i > 0 && (xs[i].mint <= xs[i - 1].maxt
                    || static_cast<uint64_t>(xs[i].mint) - static_cast<uint64_t>(xs[i - 1].maxt) < 2))
        abort();
    }
    auto left = without_deleted(fixed_chunk(), xs);
    if (!left)
      abort();  // the fixed chunk always decodes
    std::vector<sample> kept, all;
    if (*left && !(*left)->decode(INT64_MIN, INT64_MAX, kept).is_ok())
      abort();
    if (!fixed_chunk()->decode(INT64_MIN, INT64_MAX, all).is_ok())
      abort();
    size_t k = 0;
    for (const auto& s : all)
      if (!is_deleted(xs, s.t)) {
        if (k >= kept.size() || kept[k].t != s.t || kept[k].v != s.v)
          abort();
        ++k;
      }
    if (k != kept.size())
      abort();
  }
  auto again = decode_tombstones(encode_tombstones(ts), "re-encoded");
  if (!again || *again != ts)
    abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in{reinterpret_cast<const char*>(data), size};
  if (auto ts = decode_tombstones(in, "input"))
    check(*ts);
  std::string file = std::string{"NLTS\x01\x00\x00\x00", 8};
  file.append(in);
  put_fixed32(file, crc32c(in.data(), in.size()));
  if (auto ts = decode_tombstones(file, "body"))
    check(*ts);
  return 0;
}

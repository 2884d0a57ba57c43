#pragma once
// Tombstones: time ranges deleted from series by the admin API
// (delete_series) but still present in a block's immutable chunks. A block
// carries them in a `tombstones` file next to its index, keyed by the
// block's series numbers; reads drop the samples inside the ranges, and the
// next merge of the block (or clean_tombstones) rewrites it without them.
// Byte layout: storage/FORMAT.md, "Blocks", "tombstones".
//
// The interval helpers are shared with the head, which deletes samples
// physically (storage/head/head.hpp, delete_range) and logs its deletions as WAL
// tombstones records (storage/wal/records.hpp).
//
// Thread-safety: plain values and pure functions; the file functions may
// run on any thread, one writer per block directory.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/status.hpp"
#include "storage/chunk/xor_chunk.hpp"

namespace nl::storage {

/// A deleted time range, ms since epoch, both ends inclusive (as
/// Prometheus' tombstones.Interval).
struct time_interval {
  int64_t mint = 0;
  int64_t maxt = 0;
  bool contains(int64_t t) const { return t >= mint && t <= maxt; }
  bool overlaps(int64_t a, int64_t b) const { return mint <= b && maxt >= a; }
  bool operator==(const time_interval& o) const { return mint == o.mint && maxt == o.maxt; }
};

/// Ranges in ascending order, disjoint and not adjacent (add_interval keeps
/// them so).
using interval_list = std::vector<time_interval>;

/// The deleted ranges of a block, by series number (its position in the
/// block's index, from 0). No entry has an empty list.
using tombstone_map = std::map<uint64_t, interval_list>;

/// Name of the file inside a block directory.
constexpr std::string_view tombstones_file_name = "tombstones";

/// Adds `iv` (REQUIRES: iv.mint <= iv.maxt), merging it with the ranges it
/// overlaps or touches ([1, 5] and [6, 9] become [1, 9]).
void add_interval(interval_list& xs, time_interval iv);

/// Whether some range of `xs` contains t.
bool is_deleted(const interval_list& xs, int64_t t);

/// `c` without its samples inside `deleted`: `c` itself when no range
/// touches it, null when nothing is left, else an XOR chunk of the samples
/// left (so the answer for an XOR chunk is always one). corruption when
/// `c` does not decode.
result<std::shared_ptr<const chunk>> without_deleted(const std::shared_ptr<const chunk>& c,
                                                     const interval_list& deleted);

/// The file's bytes: header, entries, CRC32C (FORMAT.md).
std::string encode_tombstones(const tombstone_map& ts);
/// Parses and verifies file bytes; `path` names the file in errors
/// (corruption: bad magic, version, checksum, order, a truncated entry).
result<tombstone_map> decode_tombstones(std::string_view bytes, const std::string& path);

/// Replaces `<block_dir>/tombstones` crash-safely: written to
/// `tombstones.tmp`, fdatasynced, renamed over the old file, directory
/// fsynced. A crash leaves the old file or the new one, never a mix. An
/// empty map removes the file.
status write_tombstones_file(const std::string& block_dir, const tombstone_map& ts);
/// `<block_dir>/tombstones` decoded; a missing file is an empty map.
result<tombstone_map> read_tombstones_file(const std::string& block_dir);

}  // namespace nl::storage

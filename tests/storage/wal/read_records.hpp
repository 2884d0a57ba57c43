#pragma once
// For WAL suites: reads a WAL directory back in the order start-up
// replays it (storage/wal/replay.cpp), without start-up's repairs.
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/wal/checkpoint.hpp"
#include "storage/wal/segment_reader.hpp"
#include "test_support.hpp"

namespace nl::test {

/// Hands `apply` every record of `wal_dir`: the newest checkpoint's, then
/// those of the segments after it. Returns the segment reader's summary.
template <class F>
storage::wal_replay_result read_wal_records(const std::string& wal_dir, F&& apply) {
  auto ckpt = storage::latest_wal_checkpoint(wal_dir);
  CAF_REQUIRE(ckpt.is_ok());
  uint64_t first = 0;
  if (*ckpt) {
    CAF_REQUIRE(storage::read_wal_checkpoint(wal_dir, **ckpt, [&](std::string_view rec, storage::wal_position) {
                  apply(rec);
                  return storage::status::ok();
                }).is_ok());
    first = **ckpt + 1;
  }
  auto r = storage::wal_segment_reader::open(wal_dir, first);
  CAF_REQUIRE(r.is_ok());
  while ((*r)->next())
    apply((*r)->record());
  return (*r)->summary();
}

}  // namespace nl::test

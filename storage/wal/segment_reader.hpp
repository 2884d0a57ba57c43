#pragma once
// The WAL framing reader: yields the records of all segments in order and,
// at the first damage, stops and says where and what it is. It provides the
// mechanism; the caller (head replay, a WAL check tool) picks the policy:
//
//   clean      every byte was read; nothing to do.
//   torn_tail  the damage is in the LAST segment and no valid fragment
//              follows it: the typical result of a crash in the middle of a
//              write. Every record acknowledged before the crash was yielded.
//              Repair with wal_truncate_at(dir, summary().last_good), which
//              drops summary().tail_bytes bytes, then open the writer.
//   corrupt    damage anywhere else: in an earlier segment, a missing
//              segment number, or damage followed by valid fragments. Records
//              after it exist but cannot be reached safely. This is a hard
//              error; start-up stops with summary().error, which names
//              segment and offset. The operator may run with --wal-repair,
//              which calls wal_repair(dir, summary().last_good).
//   io_error   reading failed; nothing can be concluded.
//
// Typical replay:
//
//   auto r = wal_segment_reader::open(dir);          // check r.is_ok()
//   while ((*r)->next())
//     apply((*r)->record());                         // decode_series() ...
//   const auto& s = (*r)->summary();
//   if (s.state == wal_replay_result::outcome::torn_tail)
//     wal_truncate_at(dir, s.last_good);             // log s.error, tail_bytes
//   else if (s.state != wal_replay_result::outcome::clean)
//     return s.error;                                // refuse to start
//
// Byte layout and reader rules: storage/FORMAT.md, "WAL segments".
// Thread-safety: none; one owner. The segments read must not be written
// while they are read (replay runs before the writer is opened; a checkpoint
// reads only closed segments, see open()).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/file.hpp"
#include "storage/status.hpp"
#include "storage/wal/segment_writer.hpp"

namespace nl::storage {

struct wal_replay_result {
  enum class outcome { clean, torn_tail, corrupt, io_error };
  outcome state = outcome::clean;
  /// End of the last complete record yielded (or the start of the segment
  /// being read when none was yielded from it). Truncating here keeps every
  /// yielded record and nothing else.
  wal_position last_good;
  /// Where the damage was detected (state != clean): segment and offset of
  /// the broken fragment, of the end of file, or {missing segment, 0}.
  wal_position damage;
  /// Records yielded.
  uint64_t records = 0;
  /// torn_tail: bytes after last_good in the last segment (what
  /// wal_truncate_at drops).
  uint64_t tail_bytes = 0;
  /// ok when clean; otherwise a corruption (torn_tail, corrupt) or io_error
  /// status whose message reads "WAL segment 00000003 offset 65536: ...".
  status error;
};

class wal_segment_reader {
 public:
  /// Lists the segments of `dir` with numbers in [first_segment,
  /// last_segment] (defaults: all); fails with io_error when `dir` cannot be
  /// listed. A missing directory (the first start) or one without segments
  /// reads as clean and empty. Segments outside the range are never opened,
  /// so a writer may append to a segment after `last_segment` meanwhile (a
  /// WAL checkpoint reads closed segments that way). Damage in the last
  /// segment of the range is classified as if it were the last of the WAL.
  static result<std::unique_ptr<wal_segment_reader>>
  open(std::string dir, uint64_t first_segment = 0, uint64_t last_segment = UINT64_MAX);

  /// Moves to the next record. False at the end or at the first damage;
  /// summary() is final then, and every later call returns false.
  bool next();

  /// The current record; valid until the next call to next().
  std::string_view record() const { return record_; }

  /// Where the reader is: after next() returned true, the end of the current
  /// record (== summary().last_good).
  wal_position position() const { return summary_.last_good; }

  /// The outcome so far; final once next() has returned false.
  const wal_replay_result& summary() const { return summary_; }

 private:
  wal_segment_reader(std::string dir, std::vector<uint64_t> segments);

  enum class step { record, more, end_of_segment, stop };
  bool open_segment();
  step read_fragment();
  bool load_window();
  step damage(const std::string& what, uint64_t offset);
  result<std::optional<uint64_t>> valid_fragment_from(uint64_t offset);
  void stop_io(const status& st);

  std::string dir_;
  std::vector<uint64_t> segments_;
  size_t next_segment_ = 0;  // index into segments_
  uint64_t segment_ = 0;     // number of the segment being read
  std::optional<readable_file> file_;
  std::string window_;      // whole pages of the current segment
  uint64_t window_start_ = 0;  // file offset of window_[0], page-aligned
  size_t window_len_ = 0;      // valid bytes in window_
  bool window_eof_ = false;    // the file ends inside window_
  size_t pos_ = 0;             // next fragment in window_
  bool in_record_ = false;
  std::string assembled_;  // fragments of a record spanning pages
  std::string_view record_;
  bool done_ = false;
  wal_replay_result summary_;
};

/// Repairs a torn tail: cuts segment `pos.segment` to `pos.offset` bytes and
/// syncs it. Refuses with invalid_argument when a later segment exists (then
/// the damage was not a tail). Returns the number of bytes dropped.
result<uint64_t> wal_truncate_at(const std::string& dir, wal_position pos);

/// The --wal-repair flag: cuts segment `pos.segment` to `pos.offset` bytes
/// and DELETES EVERY LATER SEGMENT. All records after `pos`, including valid
/// ones behind the corruption, are LOST; use it only when an operator chose
/// to start with the data before the corruption point rather than not at
/// all. Returns the number of bytes dropped (truncated plus deleted).
result<uint64_t> wal_repair(const std::string& dir, wal_position pos);

}  // namespace nl::storage

#pragma once
// The WAL framing writer: turns opaque records into CRC-protected fragments
// in 32 KiB pages of numbered segment files (storage/FORMAT.md, "WAL
// segments"). It knows nothing of samples; wal_records.hpp does.
//
// Durability contract. append() only buffers in memory. flush() hands
// everything buffered to the kernel in one write(2): after it returns ok the
// records survive a crash of this process (kill -9), and after sync() (or
// close(), or a segment roll-over) they survive a power loss too. So group
// commit is: append() the records of many requests, flush() once (sync() per
// fsync policy), then acknowledge all of them.
//
// Failure contract. A failed write or sync is returned to the caller and
// leaves the writer broken: every later call returns the same error. A WAL
// whose on-disk state is unknown must not acknowledge anything; the owner
// stops writing and the process restarts, replays and repairs. After a
// failed write the writer also tries to cut the segment back to the end of
// the last successful flush, so that the bytes of the failed write do not
// stay behind as a torn record (which would be corruption, not a tail, once
// a newer segment exists).
//
// One failure is not fatal: a full file system (status no_space, ENOSPC or
// EDQUOT). When write(2) reports it and the cut-back succeeds, the segment
// ends exactly where the last successful flush left it, so the writer
// DISCARDS everything buffered since (those records were never
// acknowledged), stays healthy and returns no_space; later calls may
// succeed once space is back. When creating the next segment reports it,
// the writer stays on the current segment (already flushed and synced) and
// the record that wanted the new segment is not taken. A failed fdatasync
// is fatal whatever its cause: the kernel may have dropped pages that were
// acknowledged.
//
// Thread-safety: none. One owner (the WAL writer actor) calls everything.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/file.hpp"
#include "storage/status.hpp"

namespace nl::storage {

/// A place in the WAL: byte `offset` in segment file `segment`. Positions
/// returned by the writer and reader are record boundaries.
struct wal_position {
  uint64_t segment = 0;  ///< segment number (its file name); 0 = no segment
  uint64_t offset = 0;   ///< bytes from the start of the segment file

  friend bool operator==(const wal_position& a, const wal_position& b) {
    return a.segment == b.segment && a.offset == b.offset;
  }
  friend bool operator!=(const wal_position& a, const wal_position& b) { return !(a == b); }
  friend bool operator<(const wal_position& a, const wal_position& b) {
    return a.segment != b.segment ? a.segment < b.segment : a.offset < b.offset;
  }
};

/// "00000042": the file name of segment 42.
std::string wal_segment_name(uint64_t segment);
/// dir + "/" + wal_segment_name(segment).
std::string wal_segment_path(const std::string& dir, uint64_t segment);
/// Numbers of the segment files in `dir`, ascending. Entries whose name is
/// not exactly 8 decimal digits (checkpoints, temp files) are ignored.
result<std::vector<uint64_t>> list_wal_segments(const std::string& dir);
/// The number a new writer gives its segment: one past the highest
/// segment and the newest checkpoint (which may have replaced every
/// segment up to its number), so no number is reused.
inline uint64_t next_wal_segment(const std::vector<uint64_t>& segments, std::optional<uint64_t> checkpoint) {
  return std::max(segments.empty() ? 0 : segments.back(), checkpoint.value_or(0)) + 1;
}

class wal_segment_writer {
 public:
  /// Creates `dir` (the WAL directory itself, e.g. data_dir + "/wal") if
  /// missing and starts a NEW segment numbered one past the highest existing
  /// segment or complete WAL checkpoint (`checkpoint.N` covers segments up
  /// to N, which it replaced; see storage/wal/checkpoint.hpp), 00000001 in an empty
  /// directory. So numbers are never reused, even after a checkpoint deleted
  /// every segment. It never appends to an existing segment, which may end
  /// in a torn record. Run the replay (and repair the tail) BEFORE opening: a
  /// damaged segment followed by newer segments is no longer a tail (see
  /// wal_segment_reader.hpp).
  ///
  /// `segment_size` (bytes, >= wal_page_size): a record that would make the
  /// current segment larger starts a new segment. Records never span
  /// segments; a record larger than `segment_size` gets a segment of its own.
  /// `create` makes segment files; tests pass fakes that fail on demand.
  static result<std::unique_ptr<wal_segment_writer>>
  open(std::string dir, uint64_t segment_size, file_creator create = create_new_file);

  /// Does NOT flush: bytes still buffered were never acknowledged. Call
  /// close() for an orderly shutdown.
  ~wal_segment_writer();

  wal_segment_writer(const wal_segment_writer&) = delete;
  wal_segment_writer& operator=(const wal_segment_writer&) = delete;

  /// Frames `record` (any size, may be empty) into the buffer. Does I/O only
  /// when the record starts a new segment: then the current segment is
  /// flushed, fdatasynced and closed, and the new file is created and its
  /// directory entry synced.
  status append(std::string_view record);

  /// Appends `records` all or nothing: on success all are buffered, in one
  /// segment (a batch that does not fit starts a new segment; one larger
  /// than `segment_size` gets a segment of its own); on failure none is.
  /// So a batch is never half durable.
  status append_batch(const std::vector<std::string>& records);

  /// Whether append_batch(records) would start a new segment, which flushes
  /// what is buffered first. An owner that acknowledges buffered records
  /// per flush calls flush() itself before such a batch.
  bool needs_new_segment(const std::vector<std::string>& records) const;

  /// Writes all buffered bytes with one write(2) (more only if the kernel
  /// writes short). No-op when nothing is buffered.
  status flush();

  /// flush(), then fdatasync of the current segment.
  status sync();

  /// A second handle on the current segment (writable_file::duplicate)
  /// for an fdatasync on another thread: once its sync() returns ok, every
  /// record flushed before this call survives a power loss. Flushes
  /// nothing. A failed sync through it is as fatal as a failed sync():
  /// report it with broken_by().
  result<std::unique_ptr<writable_file>> sync_handle() const;
  /// Breaks the writer with `st` (a failed sync through sync_handle()):
  /// every later call returns it, and close() syncs nothing more.
  void broken_by(status st) { (void)fail(std::move(st)); }
  /// flush(), fdatasync, close. Later calls fail with invalid_argument.
  status close();

  /// Ends the current segment even if it has room left: flush(), fdatasync,
  /// close, then creates the next segment (syncing the directory), where
  /// later records go. Returns the number of the segment just closed: every
  /// record appended before the call is in a segment <= that number, which
  /// is complete, durable and never written again, so it may be read (and
  /// replaced by a WAL checkpoint, storage/wal/checkpoint.hpp) while this writer
  /// goes on. Errors break the writer as for append().
  result<uint64_t> next_segment();

  /// End of the last appended record (buffered or not): where the next
  /// record starts, padding aside.
  wal_position position() const { return {segment_, segment_offset_}; }
  /// The WAL directory.
  const std::string& dir() const { return dir_; }

  /// Bytes appended but not yet flushed.
  size_t buffered_bytes() const { return buffer_.size(); }

  /// ok, or the error that broke the writer.
  const status& health() const { return broken_; }
  /// Records taken by append()/append_batch() since open(), less those a
  /// full disk made it drop unwritten.
  uint64_t records_taken() const { return records_taken_; }

 private:
  wal_segment_writer(std::string dir, uint64_t segment_size, file_creator create);

  status start_segment(uint64_t segment);
  status roll_segment();
  void encode(std::string_view record);
  status append_records(const std::string_view* records, size_t n);
  /// Where a record of `len` bytes framed at `offset` would end.
  static uint64_t framed_end(uint64_t offset, size_t len);
  /// Where records[0..n) would end if framed from the current position.
  uint64_t batch_end(const std::string_view* records, size_t n) const;
  status fail(status st);

  std::string dir_;
  uint64_t segment_size_;
  file_creator create_;
  std::unique_ptr<writable_file> file_;
  uint64_t segment_ = 0;
  uint64_t segment_offset_ = 0;  // includes buffer_
  uint64_t flushed_offset_ = 0;  // bytes of the segment written successfully
  std::string buffer_;
  status broken_;
  uint64_t records_taken_ = 0;
  uint64_t flushed_records_ = 0;
  bool closed_ = false;
};

}  // namespace nl::storage

#pragma once
// Writes one block: chunks streamed to `chunks` as series arrive, then the
// index and meta.json, all inside `<blocks_dir>/<ulid>.tmp`. finish() syncs
// every file and the directory and only then renames it to
// `<blocks_dir>/<ulid>`: a block is either whole and durable or invisible.
// Byte layout: storage/FORMAT.md, "Blocks".
//
// Thread-safety: none; one owner.
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/block/meta.hpp"
#include "storage/file.hpp"
#include "storage/labels.hpp"
#include "storage/status.hpp"
#include "storage/chunk/chunk.hpp"

namespace nl::storage {

class block_writer {
 public:
  /// Starts a block for samples with min_time <= t < max_time. A leftover
  /// `<ulid>.tmp` is removed first. `create` makes the files (tests inject
  /// failures through it).
  static result<std::unique_ptr<block_writer>> create(std::string blocks_dir, std::string ulid,
                                                      int64_t min_time, int64_t max_time,
                                                      file_creator create = create_new_file);
  /// Removes the temporary directory unless finish() succeeded.
  ~block_writer();
  block_writer(const block_writer&) = delete;
  block_writer& operator=(const block_writer&) = delete;

  /// Adds a series. REQUIRES: label sets strictly ascending over the calls;
  /// chunks in time order, not overlapping. Chunks outside [min_time,
  /// max_time) or samples not strictly increasing in time are
  /// invalid_argument (nothing written); a series without chunks is
  /// skipped. The samples are re-encoded as dense records (encoding 2) of
  /// up to block_format::dense_record_max_samples each.
  status add_series(label_set ls, const std::vector<std::shared_ptr<const chunk>>& chunks);

  /// Compaction provenance (default: level 1, sources = {ulid}).
  void set_compaction(uint32_t level, std::vector<std::string> sources, std::vector<std::string> parents);

  /// Writes the index and meta.json, syncs, renames into place and syncs
  /// `blocks_dir`. Returns the final meta. On failure nothing is visible and
  /// the temporary directory is removed.
  result<block_meta> finish();

  /// `<blocks_dir>/<ulid>`, where finish() puts the block.
  std::string final_dir() const;

 private:
  struct chunk_ref {
    int64_t min_time;
    int64_t max_time;
    uint64_t offset;
  };
  // A series until finish(): its labels are pair numbers in labels_ and
  // its chunks entries of chunk_refs_, both from here to the next series'.
  // Strings and pairs are kept once per block, not once per series: a cut
  // of a million series used to hold every label set here until the end.
  struct series_entry {
    uint64_t first_label;
    uint64_t first_chunk;
  };

  block_writer(std::string blocks_dir, std::string ulid, int64_t min_time, int64_t max_time,
               file_creator create);
  status open_files();
  status flush_chunks(bool force);
  status write_index();
  status write_file(const std::string& name, std::string_view bytes);
  /// Appends one dense record of s[0..n) to chunk_buf_.
  void put_dense_record(const sample* s, size_t n);

  std::string blocks_dir_;
  std::string tmp_dir_;
  file_creator create_;
  block_meta meta_;
  std::unique_ptr<writable_file> chunks_;
  std::string chunk_buf_;
  uint64_t chunks_written_ = 0;  // bytes of `chunks` handed to the file
  /// The number of `name`=`value`, interning both strings.
  uint32_t pair_of(const label& l);
  uint32_t symbol_of(const std::string& s);

  std::vector<series_entry> series_;
  std::vector<uint32_t> labels_;       // pair numbers, series after series
  std::vector<chunk_ref> chunk_refs_;  // series after series
  std::deque<std::string> symbols_;    // by number, in order of arrival
  std::unordered_map<std::string_view, uint32_t> symbol_ids_;  // views of symbols_
  std::vector<uint64_t> pairs_;        // by number: name << 32 | value (symbol numbers)
  std::unordered_map<uint64_t, uint32_t> pair_ids_;
  label_set last_;                     // the last series added, for the order check
  std::vector<sample> samples_;  // scratch: one series' samples
  std::string record_;           // scratch: one record's data
  bool finished_ = false;
};

}  // namespace nl::storage

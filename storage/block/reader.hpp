#pragma once
// An open, immutable block: meta.json parsed, index and chunks mapped
// read-only. Opening verifies meta.json, the file headers and sizes, the
// table of contents and the CRC of every index section; chunk records are
// verified as they are read (and all at once by check()). The symbol table
// and the postings table are decoded at open (16 bytes per symbol and per
// label pair); everything else is read from the mapping on demand.
//
// Thread-safety: immutable after open(); any thread may call anything.
// Holders of the shared_ptr keep the files mapped, even after the
// directory was deleted (retention, compaction).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/block/label_views.hpp"
#include "storage/block/meta.hpp"
#include "storage/file.hpp"
#include "storage/labels.hpp"
#include "storage/matcher.hpp"
#include "storage/index/postings.hpp"
#include "storage/head/series_snapshot.hpp"
#include "storage/status.hpp"
#include "storage/tombstones.hpp"

namespace nl::storage {

class block {
 public:
  /// Opens the block directory `dir`; corruption naming the file and the
  /// problem when anything is damaged or missing.
  static result<std::shared_ptr<const block>> open(const std::string& dir);

  const block_meta& meta() const { return meta_; }
  const std::string& dir() const { return dir_; }
  uint64_t num_series() const { return num_series_; }
  /// Bytes of the block's files.
  uint64_t size_bytes() const;

  // -- reads; mint/maxt inclusive, as the head's ------------------------------

  /// Series matching `ms` with a chunk overlapping [mint, maxt], sorted by
  /// labels, with only those chunks (copied out of the mapping, so they
  /// outlive the block).
  result<std::vector<series_snapshot>> select(const matcher_list& ms, int64_t mint, int64_t maxt) const;
  /// One page of select() (series_snapshot.hpp, page_limits): the next
  /// matching series after `page.after` in label order.
  result<series_page> select_page(const matcher_list& ms, int64_t mint, int64_t maxt,
                                  const page_limits& page) const;
  result<std::vector<label_set>> series(const matcher_list& ms, int64_t mint, int64_t maxt) const;
  /// The same series as views into this block's symbol table, valid while
  /// the block is held (storage/block/label_views.hpp).
  result<label_views> series_views(const matcher_list& ms, int64_t mint, int64_t maxt) const;
  /// Label names (values of `name`) of the series matching `ms` with a
  /// chunk in [mint, maxt]. Without matchers, as Prometheus answers from a
  /// block: every name (value) of a block that overlaps the range, straight
  /// from its postings table, without looking at the series' own times
  /// (unless tombstones may have deleted whole series).
  result<std::vector<std::string>> label_names(const matcher_list& ms, int64_t mint, int64_t maxt) const;
  result<std::vector<std::string>> label_values(std::string_view name, const matcher_list& ms, int64_t mint,
                                                int64_t maxt) const;

  /// Series `id` (0 <= id < num_series(), label order) with its chunks in
  /// [mint, maxt].
  result<series_snapshot> read_series(uint64_t id, int64_t mint, int64_t maxt) const;

  /// Every chunk's CRC and samples, the order of series, of chunks and of
  /// the postings: what `nightlight-tsdb check` runs. ok or the first damage.
  status check() const;

  // -- tombstones (block_tombstones.cpp; FORMAT.md "tombstones") --------------

  /// The deleted ranges read from `<dir>/tombstones` at open (empty without
  /// the file). Reads (select, series, label_*, read_series) drop the
  /// samples inside them, and a series left without any is not returned.
  /// A block's tombstones never change: new ones are written to the file
  /// and the block is opened again (the block set swaps the objects).
  const tombstone_map& tombstones() const { return tombstones_; }
  /// What delete_series adds for [mint, maxt]: every series matching `ms`
  /// with a chunk overlapping the range, with the range clamped to the
  /// series' first and last sample (Prometheus' Block.Delete).
  result<std::vector<std::pair<uint64_t, time_interval>>> deletion_ranges(const matcher_list& ms, int64_t mint,
                                                                           int64_t maxt) const;

 private:
  struct chunk_ref {
    int64_t min_time;
    int64_t max_time;
    uint64_t offset;
  };
  struct posting_entry {
    uint32_t name;
    uint32_t value;
    uint64_t offset;
  };

  block() = default;
  status load_index();
  /// Series `id`'s labels (as label sets into `labels`, or appended to
  /// `views` as one series) and chunk references, each when not null.
  status parse_series(uint64_t id, std::vector<label>* labels, std::vector<chunk_ref>* chunks,
                      label_views* views = nullptr) const;
  /// The record `c` points to as a chunk: an encoding-1 record's XOR
  /// chunk, an encoding-2 record's dense chunk (decoded where its samples
  /// are needed: the query engine, a merge). Verifies the offset, the CRC
  /// and the encoding; an XOR chunk's samples and time range now, a dense
  /// chunk's when it is decoded (timestamps strictly increasing, first and
  /// last equal to the index's min_time and max_time).
  result<std::shared_ptr<const chunk>> read_chunk(const chunk_ref& c) const;
  /// `st` as damage of the record `c` points to (file and offset named).
  status bad_chunk(const chunk_ref& c, const status& st) const;
  result<postings_list> postings_at(uint64_t offset) const;
  result<postings_list> matching(const matcher& m, bool want) const;
  result<postings_list> select_ids(const matcher_list& ms) const;
  /// Ids from `ms` having a chunk in [mint, maxt].
  result<postings_list> live_ids(const matcher_list& ms, int64_t mint, int64_t maxt) const;
  /// Whether the block lies wholly inside [mint, maxt].
  bool covered_by(int64_t mint, int64_t maxt) const {
    return meta_.min_time >= mint && meta_.max_time - 1 <= maxt;
  }
  /// Range of the postings table for label `name`.
  std::pair<size_t, size_t> name_range(std::string_view name) const;

  std::string dir_;
  block_meta meta_;
  std::unique_ptr<mapped_file> index_;
  /// Shared with the dense chunks read from it, which refer to its bytes.
  std::shared_ptr<const mapped_file> chunks_;
  std::vector<std::string_view> symbols_;
  std::vector<posting_entry> postings_table_;
  std::string_view series_body_;
  std::string_view series_offsets_;
  std::string_view postings_body_;
  uint64_t num_series_ = 0;
  tombstone_map tombstones_;
};

}  // namespace nl::storage

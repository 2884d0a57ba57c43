#pragma once
// The in-memory head block: series with their Gorilla chunks, an inverted
// index over their labels, and Prometheus 2.42's per-series append rules.
// The head knows nothing of files: its owner writes the WAL (series record
// for a created series, then samples) and calls append() afterwards.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "storage/chunk/chunk_files.hpp"
#include "storage/chunk/chunk_pages.hpp"
#include "storage/chunk/xor_chunk.hpp"
#include "storage/coding.hpp"
#include "storage/hash_slots.hpp"
#include "storage/head/closed_chunks.hpp"
#include "storage/head/pair_table.hpp"
#include "storage/head/ref_table.hpp"
#include "storage/head/series_snapshot.hpp"
#include "storage/index/label_stats.hpp"
#include "storage/index/postings.hpp"
#include "storage/labels.hpp"
#include "storage/matcher.hpp"
#include "storage/prefetch.hpp"
#include "storage/sample.hpp"
#include "storage/status.hpp"
#include "storage/wal/records.hpp"

namespace nl::storage {

struct head_options {
  /// This head allocates refs ref_start, ref_start + ref_stride, ... so
  /// that shard i of N (ref_start = 1 + i, ref_stride = N) never collides
  /// with another shard. 0 is read as 1 for both.
  uint64_t ref_start = 1;
  uint64_t ref_stride = 1;
  /// Samples older than (newest sample seen - this) are out of bounds, as
  /// Prometheus does with half its 2h chunk range.
  int64_t out_of_bounds_window_ms = 3600000;
  /// A chunk is cut when it holds this many samples (clamped to 1..65535).
  int samples_per_chunk = 120;
  /// Chunks never span a multiple of this (ms since epoch), so that a block
  /// of this length can take whole chunks. 0 disables.
  int64_t chunk_range_ms = 7200000;
  /// Out-of-order window (Prometheus' out_of_order_time_window): a sample
  /// older than its series' newest, or below min_valid_time(), is still
  /// accepted when it is at most this much older than the newest sample
  /// seen. 0 disables (Prometheus 2.42's default behaviour).
  int64_t ooo_window_ms = 0;
  /// Cluster mode only: a sample older than its series' newest (refused as
  /// out_of_order otherwise) is an accepted no-op when the series already
  /// holds that timestamp with identical value bits, and duplicate_sample
  /// when it holds another value there. A client's retry of a write that
  /// some replicas stored is then not a 400. Looked up (the chunks covering
  /// t decoded) only on that rejection path. Off: Prometheus 2.42's rules.
  bool stored_duplicates_ok = false;
};

struct head_stats {
  uint64_t series = 0;             ///< live series
  uint64_t series_created = 0;
  uint64_t series_removed = 0;     ///< by truncate()
  uint64_t samples_appended = 0;  ///< since start
  uint64_t samples = 0;           ///< in memory now (after truncations)
  uint64_t duplicates_ignored = 0; ///< same t, same value bits: accepted no-ops
  uint64_t out_of_bounds = 0;      ///< rejected appends, by reason
  uint64_t out_of_order = 0;
  uint64_t duplicate_sample = 0;
  uint64_t chunks = 0;             ///< chunks in memory, open ones included
  uint64_t chunks_created = 0;     ///< chunks started so far
  uint64_t chunk_bytes = 0;        ///< encoded bytes of the head's chunks (closed ones may be in chunk files)
  uint64_t ooo_appended = 0;       ///< samples accepted out of order
  uint64_t ooo_samples = 0;        ///< out-of-order samples in memory
};

/// Single-threaded: one owner (a head shard actor) calls every member.
/// Times are ms since the Unix epoch; mint/maxt ranges are inclusive.
class head {
  struct mem_series;

 public:
  explicit head(head_options opts = {});
  head(const head&) = delete;
  head& operator=(const head&) = delete;
  ~head();

  /// Closed chunks' bytes go to `files` from now on (the server's heads;
  /// without, they stay in memory), or to memory when a file cannot take
  /// them.
  void use_chunk_files(std::unique_ptr<chunk_files> files) { files_ = std::move(files); }

  // -- series --------------------------------------------------------------

  /// A series as the write path holds it from stage() to append_staged():
  /// the ref plus a direct handle, so no sample needs a second lookup. Valid
  /// until truncate() removes the series, which it never does while the
  /// series has staged samples.
  class series_slot {
   public:
    uint64_t ref() const { return ref_; }
    /// The series was created by this call: its WAL series record is due.
    bool created() const { return created_; }

   private:
    friend class head;
    series_slot(mem_series* s, uint64_t ref, bool created) : s_(s), ref_(ref), created_(created) {}
    mem_series* s_;
    uint64_t ref_;
    bool created_;
  };

  /// get_or_create for the write path: the series whose label key
  /// (storage/label_key.hpp) is `key`, where `hash` == hash_label_key(key),
  /// found with one hash probe and one memcmp; labels are only decoded when
  /// the series is new. corruption (nothing created) if a new key does not
  /// decode to a non-empty label set.
  result<series_slot> get_or_create(uint64_t hash, std::string_view key);

  /// The ref of the series with these labels, without creating it. A series
  /// that does not exist yet accepts any t >= min_valid_time().
  std::optional<uint64_t> find_ref(const label_set& ls) const;

  /// Replay of a WAL series record. If the labels already exist under
  /// another ref (a series re-created after truncation), `ref` becomes an
  /// alias of it so its samples land there too. corruption when `ref` is
  /// already used by other labels, invalid_argument for ref 0. New refs stay
  /// above `ref` afterwards.
  /// `key` is a valid label key (next_label_key accepted it; any spelling
  /// of its varints) and `hash` its hash_label_key(): replay passes a WAL
  /// record's key as it is.
  status create_series_with_ref(uint64_t ref, uint64_t hash, std::string_view key);
  /// The same for a label set (tests, tools).
  status create_series_with_ref(uint64_t ref, const label_set& ls);

  /// Later allocations stay above `floor` (keeping this shard's ref
  /// class). Replay calls it with the largest ref seen in any shard.
  void bump_next_ref(uint64_t floor);

  /// fn(ref) for every series and alias (a replay onto a loaded head
  /// routes records by them).
  template <class Fn>
  void for_each_ref(Fn&& fn) const {
    series_.for_each([&fn](uint64_t ref, const mem_series*) { fn(ref); });
    for (const auto& alias : aliases_)
      fn(alias.first);
  }

  /// The labels of a series (or alias); not_found if unknown.
  result<label_set> labels_of(uint64_t ref) const;

  /// Every live series and alias, e.g. for a WAL checkpoint.
  std::vector<series_record> series_records() const;
  /// The same as series entries (ref, label key) appended to `out`, as a
  /// WAL series record holds them (append_series_entry), in ref order:
  /// the keys' bytes, without a label_set per series. Returns how many.
  uint64_t series_entries(std::string& out) const;

  // -- append --------------------------------------------------------------

  /// Whether append(ref, t, v) would succeed now, without changing
  /// anything. With an out-of-order window, a sample behind its series'
  /// newest (or below min_valid_time()) but inside the window is accepted
  /// and kept apart from the in-order chunks until a cut takes it. Errors
  /// (messages as Prometheus 2.42):
  ///   out_of_bounds "out of bounds"       t below min_valid_time()
  ///   duplicate_sample "duplicate sample for timestamp"  same t, other bits
  ///   out_of_order "out of order sample"  t before the series' last sample
  ///   not_found                           unknown ref
  /// Same t with identical value bits is ok (a retried request).
  status appendable(uint64_t ref, int64_t t, double v) const;

  /// Checks like appendable() and stores the sample (a silent no-op for an
  /// identical duplicate). Rejections are counted in stats().
  status append(uint64_t ref, int64_t t, double v);
  /// The same in two steps, for appending to many series in a row (WAL
  /// replay): slot_of() finds the series (or alias) `ref`, nullopt if
  /// unknown; the slot takes prefetch_series()/prefetch_chunk() and then
  /// append(). Valid until truncate().
  std::optional<series_slot> slot_of(uint64_t ref);
  status append(const series_slot& s, int64_t t, double v) { return append_to(*s.s_, t, v); }

  /// Staging, for an owner that logs samples before appending them (the
  /// WAL answers asynchronously, and later batches must be checked against
  /// samples still waiting for it):
  /// stage() checks like appendable() but also against the series' staged
  /// samples; an accepted sample stays staged (the newest staged one counts
  /// as the series' last sample) until append_staged() appends it, with the
  /// result append() would give, or unstage() forgets it (its WAL write
  /// failed). Every accepted stage() needs exactly one of the two.
  status stage(series_slot& s, int64_t t, double v);
  status append_staged(series_slot& s, int64_t t, double v);
  void unstage(series_slot& s);
  /// Speed hints for appending to many series in a row, where nearly every
  /// series is a cache miss: prefetch_series() fetches the series itself,
  /// prefetch_chunk() (some steps later, once that has arrived) the bytes
  /// its next sample goes to.
  void prefetch_series(const series_slot& s) const {
    for (size_t off = 0; off < sizeof(mem_series); off += 64)
      nl::storage::prefetch(reinterpret_cast<const char*>(s.s_) + off);
  }
  void prefetch_chunk(const series_slot& s) const { s.s_->open.prefetch_tail(); }
  /// The same for lookups: prefetch_lookup(hash) some steps before
  /// get_or_create(hash, key).
  void prefetch_lookup(uint64_t hash) const { by_hash_.prefetch(hash); }
  /// The labels of a slot's series (for messages).
  label_set labels_of(const series_slot& s) const;

  /// Samples before this are out of bounds: the larger of the truncate()
  /// floor and (newest time seen - out_of_bounds_window_ms).
  int64_t min_valid_time() const;

  /// Samples before `t` become out of bounds from now on (the range is
  /// being cut into a block); min_valid_time() never goes down.
  void raise_min_valid_time(int64_t t) { truncated_before_ = std::max(truncated_before_, t); }

  /// Every sample before this is refused whatever its series: below the
  /// cut, with no out-of-order window to take it. Replay drops such WAL
  /// samples before looking their series up (INT64_MIN: none).
  int64_t refuses_all_before() const {
    return opts_.ooo_window_ms > 0 ? std::numeric_limits<int64_t>::min() : truncated_before_;
  }

  /// Lets sharded heads share one out-of-bounds limit: `t` counts as seen
  /// for min_valid_time() (max_time() is unaffected).
  void observe_time(int64_t t);

  // -- read ----------------------------------------------------------------

  /// Series matching `ms` (an empty list matches all) with a chunk
  /// overlapping [mint, maxt], sorted by labels, with only those chunks.
  /// Out-of-order samples come as extra chunks that may overlap the others
  /// (chunks are ordered by min_time; decode_chunks merges them).
  std::vector<series_snapshot> select(const matcher_list& ms, int64_t mint, int64_t maxt) const;
  /// Paged reads (a cut, a snapshot): the refs of the series with data in
  /// [mint, maxt], sorted by labels, listed once; read() then hands them
  /// out a page at a time, so no caller needs every series' labels at once.
  std::vector<uint64_t> sorted_refs(int64_t mint, int64_t maxt) const;
  /// The series of refs[0..n) (unknown refs and series without data there
  /// are skipped) with their data in [mint, maxt], in the order given:
  /// chunks sticking out of the range are re-encoded with only the samples
  /// inside, and only the out-of-order samples numbered up to `ooo_upto`
  /// (see ooo_sequence()) are taken.
  std::vector<series_snapshot> read(const uint64_t* refs, size_t n, int64_t mint, int64_t maxt,
                                    uint64_t ooo_upto) const;
  /// select() under a sample budget: stops and returns false as soon as
  /// the series taken so far hold more than `max_samples` samples in
  /// [mint, maxt] (estimate_samples_in over their chunks), so a query that
  /// may not load them all costs no more than its budget; `out` then holds
  /// a partial answer to drop. True with the whole answer otherwise.
  bool select_within(const matcher_list& ms, int64_t mint, int64_t maxt, uint64_t max_samples,
                     std::vector<series_snapshot>& out) const;
  /// One page of select() (series_snapshot.hpp, page_limits): the next
  /// series after `page.after` in label order, with the chunks select()
  /// gives them.
  series_page select_page(const matcher_list& ms, int64_t mint, int64_t maxt, const page_limits& page) const;
  /// Label sets of the series select() would return.
  std::vector<label_set> series(const matcher_list& ms, int64_t mint, int64_t maxt) const;
  /// Sorted label names / values of `name` over those series.
  std::vector<std::string> label_names(const matcher_list& ms, int64_t mint, int64_t maxt) const;
  std::vector<std::string> label_values(std::string_view name, const matcher_list& ms,
                                        int64_t mint, int64_t maxt) const;

  const head_options& options() const { return opts_; }
  size_t num_series() const { return series_.size(); }
  /// Samples in memory (cheap, unlike stats()).
  uint64_t num_samples() const { return stats_.samples; }
  /// Samples accepted out of order so far (cheap, unlike stats()).
  uint64_t ooo_appended() const { return stats_.ooo_appended; }
  /// Oldest / newest sample in the head; INT64_MAX / INT64_MIN when empty.
  int64_t min_time() const { return min_t_; }
  int64_t max_time() const { return max_t_; }
  head_stats stats() const;

  // -- status (/api/v1/status/tsdb; defined in head_read.cpp) ---------------

  /// The counts and the whole label index (every name with its sorted
  /// values and their series counts) for the TSDB status page; see
  /// storage/index/label_stats.hpp. Costs a copy of every distinct label string.
  head_cardinality cardinality() const;

  // -- garbage -------------------------------------------------------------

  /// Every out-of-order sample gets a sequence number when it is stored;
  /// this is the newest one handed out. A cut notes it, so that truncation
  /// drops only the out-of-order samples the cut's block took.
  uint64_t ooo_sequence() const { return ooo_seq_; }

  /// Drops chunks whose samples are all before `mint`, out-of-order
  /// samples before `mint` numbered up to `ooo_upto`, and series left
  /// without data (or that never got a sample); raises min_valid_time() to
  /// at least `mint` (that range now belongs to blocks; on startup, call it
  /// with the newest block's end before replaying the WAL). Returns the
  /// number of series removed; their refs become unknown.
  size_t truncate(int64_t mint, uint64_t ooo_upto = UINT64_MAX);

  // -- shutdown snapshot (defined in head_snapshot.cpp) ---------------------

  /// Appends everything a WAL replay would rebuild (series with their
  /// chunks, aliases, out-of-order samples, ref counter, time bounds) to
  /// `out`; layout in storage/FORMAT.md, "Head snapshot".
  /// invalid_argument (nothing appended) while a sample is staged.
  status write_state(std::string& out) const;
  /// Rebuilds that state in this head, which must be empty. corruption
  /// when the bytes are damaged (the head is then to be dropped).
  status read_state(std::string_view in);

  // -- deletion (admin API delete_series; defined in head.cpp) --------------

  /// What deleting [mint, maxt] from the series matching `ms` takes: one
  /// entry per series with samples in the range, the range clamped to the
  /// series' oldest and newest sample (Prometheus' Head.Delete), ready for
  /// a WAL tombstones record. Changes nothing.
  std::vector<tombstone_record> deletion_ranges(const matcher_list& ms, int64_t mint, int64_t maxt) const;

  /// For each entry, removes the samples of series `ref` (or its alias)
  /// with mint <= t <= maxt from memory, re-encoding the chunks they were
  /// in; returns how many went (unknown refs are skipped). Samples appended
  /// later, in the range or not, are kept. A series left without samples
  /// stays until truncate().
  uint64_t delete_ranges(const std::vector<tombstone_record>& stones);

 private:
  /// An out-of-order sample: value bits and its sequence number.
  struct ooo_sample {
    int64_t t;
    uint64_t bits;
    uint64_t seq;
  };

  // A series. Allocated with its label pair ids right behind it
  // (new_series()), as uvarints of pairs_ ids in label order: the series'
  // only record of its labels, a byte or two per label.
  struct mem_series {
    explicit mem_series(uint64_t r, uint32_t n) : ref(r), ids_size(n) {}
    uint64_t ref;
    uint32_t staged = 0;     // samples staged and not yet appended
    uint32_t ids_size;       // bytes of pair ids behind the struct
    int64_t staged_t = 0;    // newest staged sample, valid while staged > 0
    uint64_t staged_bits = 0;
    closed_chunks closed;  // time order
    xor_appender open;  // holds the newest sample once there is one
    std::string_view ids() const { return {reinterpret_cast<const char*>(this + 1), ids_size}; }
  };

  /// A series with pair ids `ids`, and its end.
  static mem_series* new_series(uint64_t ref, std::string_view ids);
  static void delete_series(mem_series* s);
  /// Whether `key` (a label key) names the labels of `s`.
  bool has_key(const mem_series& s, std::string_view key) const;
  /// fn(pair id) for each label of `s`, in order.
  template <class Fn>
  static void for_each_id(const mem_series& s, Fn&& fn) {
    std::string_view ids = s.ids();
    uint64_t id = 0;
    while (!ids.empty() && get_uvarint(ids, id))
      fn(static_cast<uint32_t>(id));
  }
  /// fn(pair bytes) for each label of `s`, in order.
  template <class Fn>
  void for_each_pair(const mem_series& s, Fn&& fn) const {
    for_each_id(s, [&](uint32_t id) { fn(pairs_.bytes(id)); });
  }
  /// The label key of `s`, appended to `out`.
  void append_key(const mem_series& s, std::string& out) const;
  /// Label order of two series (label_set::compare).
  int compare_labels(const mem_series& a, const mem_series& b) const;
  /// The same against a label key.
  int compare_labels(const mem_series& a, std::string_view key) const;

  mem_series* find(uint64_t ref);
  const mem_series* find(uint64_t ref) const;
  const mem_series* find_key(std::string_view key, uint64_t hash) const;
  /// A new series under `ref`, indexed. REQUIRES: `key` is a valid label
  /// key (labels sorted, unique, non-empty) in its canonical spelling
  /// (canonical_label_key) and hash == hash_label_key(key).
  mem_series& create(uint64_t ref, std::string_view key, uint64_t hash);
  status check(const mem_series& s, int64_t t, double v) const;
  /// Whether the window takes a sample at t.
  bool ooo_acceptable(int64_t t) const;
  /// Whether a sample at t that passed check() goes out of order.
  bool goes_out_of_order(const mem_series& s, int64_t t) const;
  /// The series' out-of-order samples, or null.
  const std::vector<ooo_sample>* ooo_of(const mem_series& s) const;
  /// Duplicate check against the series' out-of-order samples.
  status check_ooo(const mem_series& s, int64_t t, double v) const;
  /// The out_of_order verdict for t (older than the series' newest, not
  /// taken by the window), or, with stored_duplicates_ok, ok when the
  /// in-order chunks hold t with v's bits and duplicate_sample when they
  /// hold another value there.
  status refuse_older(const mem_series& s, int64_t t, double v) const;
  status append_ooo(mem_series& s, int64_t t, double v);
  /// Appends the out-of-order samples of `s` in [mint, maxt] numbered up
  /// to `upto` to `out` as chunks.
  void ooo_chunks(const mem_series& s, int64_t mint, int64_t maxt,
                  std::vector<std::shared_ptr<const chunk>>& out, uint64_t upto = UINT64_MAX) const;
  status append_to(mem_series& s, int64_t t, double v);
  void cut(mem_series& s);
  /// A closed chunk of `bytes` (in a chunk file, else in pages_, else on
  /// the heap), appended to `s`'s closed chunks.
  void keep_closed(mem_series& s, std::string_view bytes, const xor_chunk::summary& sum);
  label_set materialize(const mem_series& s) const;
  /// A series as select() hands it out: labels, the chunks overlapping
  /// [mint, maxt] (closed ones shared, the open one copied) and its
  /// out-of-order samples there as extra chunks.
  series_snapshot snapshot_of(const mem_series& s, int64_t mint, int64_t maxt) const;
  bool has_data_in(const mem_series& s, int64_t mint, int64_t maxt) const;
  /// Series matching `ms` with data in [mint, maxt], in ref order.
  std::vector<const mem_series*> matching(const matcher_list& ms, int64_t mint,
                                          int64_t maxt) const;
  /// The same, sorted by labels.
  std::vector<const mem_series*> sorted_matching(const matcher_list& ms, int64_t mint,
                                                 int64_t maxt) const;
  postings_list matching_refs(const matcher_list& ms, int64_t mint, int64_t maxt) const;
  bool covers_everything(const matcher_list& ms, int64_t mint, int64_t maxt) const;

  head_options opts_;
  uint64_t next_ref_ = 1;
  postings_index postings_;
  pair_table pairs_;
  // By pair id, the postings list of that live pair, or null (not looked
  // up yet): create() finds a pair's list once, not once per series (two
  // string-keyed map walks). A list is not empty, so not erased, while a
  // series holds its pair; a pair freed has its entry reset.
  std::vector<compact_postings*> list_of_pair_;
  ref_table<mem_series> series_;                            // by ref, owned
  // A series' label hash, for moving it in by_hash_ (growth, removal):
  // hashed pair by pair, as the series keeps no hash (rebuilding its key
  // first was a third of a WAL checkpoint's replay).
  struct hash_of_series {
    const head* h;
    uint64_t operator()(const mem_series& s) const;
    void prefetch(const mem_series& s) const {
      nl::storage::prefetch(&s);      // ids_size
      nl::storage::prefetch(&s + 1);  // the pair ids behind the struct
    }
  };
  hash_slots<mem_series, hash_of_series> by_hash_;          // label hash
  std::unordered_map<uint64_t, uint64_t> aliases_;          // replayed ref -> ref
  // Out-of-order samples by series ref, by time, one per timestamp. Apart
  // from the series so that a head without them pays nothing per series.
  std::unordered_map<uint64_t, std::vector<ooo_sample>> ooo_;
  int64_t min_t_ = std::numeric_limits<int64_t>::max();
  int64_t max_t_ = std::numeric_limits<int64_t>::min();
  int64_t seen_max_t_ = std::numeric_limits<int64_t>::min();
  int64_t truncated_before_ = std::numeric_limits<int64_t>::min();
  head_stats stats_;
  uint64_t closed_bytes_ = 0;
  uint64_t closed_chunks_ = 0;
  uint64_t ooo_seq_ = 0;
  // Where closed chunks live: chunks closed together are truncated
  // together, so their memory goes back a page (or a file) at a time. The
  // objects and, without files, the bytes are in pages_.
  chunk_pages pages_;
  std::unique_ptr<chunk_files> files_;
};

}  // namespace nl::storage

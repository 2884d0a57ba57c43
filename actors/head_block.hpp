#pragma once
// One head shard: owns a storage::head (series whose label hash maps to this
// shard) and is the only code that touches it.
//
// Write path (append): validate every sample against the head *and* against
// samples of earlier batches still waiting for the WAL ("staged"), log the
// new series and the valid samples to the WAL writer, and only when the WAL
// has answered append them to the head and reply. So a reply means "stored
// and in the WAL"; samples never become visible before they are logged, and
// batches of one shard still overlap in the WAL's group commit.
//
// A refused sample does not fail the batch: the reply counts it and names
// the first few (partial write, as remote write 1.0 allows).
#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <unordered_set>
#include <vector>

#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "actors/wal_writer.hpp"
#include "storage/head/head.hpp"

namespace nl::actors {

/// append: store a batch (see above); replies what was accepted/refused, or
///   an error when the WAL failed or timed out (nothing was acknowledged).
/// select: series matching a selector with their chunks in [mint, maxt].
/// series / label_names / label_values: metadata of matching series
///   (the meta_query's selectors are a union; `limit` is not applied here).
/// stats: counts of this shard.
/// cut(mint, maxt): the compactor takes [mint, maxt] for a block: samples
///   up to maxt become out of bounds, then the series with data there are
///   listed, sorted by labels (8 bytes each), and answered as a
///   head_cursor. head_page then hands them out (every chunk lies inside:
///   chunks never span a block boundary; out-of-order samples stored after
///   the cut are left out, the truncation keeps them).
/// read_head: the same for everything the head holds now (a snapshot),
///   without refusing anything: the cursor's [mint, maxt] is the head's
///   time range now, and pages hold only samples inside it.
/// head_page(id, start, count): series [start, start + count) of the
///   listing `id`, as select would answer them; the last page ends the
///   listing. An unknown or ended listing is an error, so a page request
///   after a failed cut or a truncation cannot read the wrong series.
/// truncate(t): the block holding everything before t is durable: drop
///   it from the head (out-of-order samples only if the last cut took
///   them) and end the listing; replies the shard's stats afterwards.
/// series_records: the series held now, for a WAL checkpoint.
/// cardinality: counts and the whole label index of the shard, for
///   /api/v1/status/tsdb (storage::head::cardinality).
/// delete_series: the admin API's deletion in this shard: a WAL tombstones
///   record of the matching series' ranges is written (after the batches
///   already sent to the WAL), then the samples are removed from the head;
///   replies how many went.
using head_block_actor = caf::typed_actor<
  caf::replies_to<append_atom, append_batch>::with<append_result>,
  caf::replies_to<select_atom, select_request>::with<select_result>,
  caf::replies_to<series_atom, meta_query>::with<series_list>,
  caf::replies_to<label_names_atom, meta_query>::with<string_list>,
  caf::replies_to<label_values_atom, meta_query>::with<string_list>,
  caf::replies_to<stats_atom>::with<shard_stats>,
  caf::replies_to<cut_atom, int64_t, int64_t>::with<head_cursor>,
  caf::replies_to<read_head_atom>::with<head_cursor>,
  caf::replies_to<head_page_atom, uint64_t, uint64_t, uint64_t>::with<select_result>,
  caf::replies_to<truncate_atom, int64_t>::with<shard_stats>,
  caf::replies_to<series_records_atom>::with<series_records>,
  caf::replies_to<cardinality_atom>::with<storage::head_cardinality>,
  caf::replies_to<delete_series_atom, series_deletion>::with<uint64_t>>;

struct head_block_options {
  size_t shard = 0;
  /// How long a batch may wait for the WAL writer to start writing it
  /// (wal_batch::deadline). A batch the writer has not started by then is
  /// refused and never written, so its request fails with 503 and none of
  /// its samples can turn up later. One the writer has started is waited
  /// for: only the WAL's answer says whether it is durable.
  std::chrono::milliseconds wal_timeout{25000};
  /// Shared with the rest of the process; must outlive the actor.
  metrics* stats = nullptr;
  /// Cluster mode: how many peer numberings (append_batch::numbering) the
  /// shard remembers series of; 0: none. Twice the nodes: each peer's
  /// link session, and the one it may have just replaced.
  size_t max_numberings = 0;
};

/// A batch whose WAL records are being written: its staged samples (see
/// storage::head::stage) and the answer it is waiting to give, which the
/// WAL's reply or error decides.
struct wal_wait {
  struct sample {
    storage::head::series_slot slot;
    int64_t t;
    double v;
  };
  caf::typed_response_promise<append_result> rp;
  append_result res;
  std::vector<sample> samples;
  /// Refs whose series record this batch carries.
  std::vector<uint64_t> logged_series;
  /// A merged batch (append_batch::part_ends): where each write's staged
  /// samples end in `samples`.
  std::vector<size_t> part_sample_ends;
};

struct head_block_state {
  std::shared_ptr<storage::head> head;
  wal_writer_actor wal;
  head_block_options opts;
  /// Series created in the head whose series record the WAL has not yet
  /// taken. Every batch that writes samples of one of them carries its
  /// series record again (replay takes duplicates), so that a failed or
  /// timed-out first batch cannot leave later, acknowledged samples
  /// referring to a series the WAL never heard of.
  std::unordered_set<uint64_t> unlogged_series;
  /// head::ooo_sequence() when the compactor last cut.
  uint64_t cut_ooo_sequence = 0;
  /// The series a cut or head read hands out in pages (head_page).
  struct listing {
    uint64_t id = 0;
    int64_t mint = 0;
    int64_t maxt = 0;
    uint64_t ooo_upto = 0;  ///< out-of-order samples numbered above are left out
    std::vector<uint64_t> refs;  ///< sorted by labels
  };
  std::optional<listing> pages;
  uint64_t listings = 0;  ///< ids handed out
  /// head->stats().chunks as last added to metrics::head_chunks: 0 until
  /// the compactor's first round, which runs as the process starts (a
  /// count of a replayed head would walk every series before ready).
  uint64_t published_chunks = 0;
  /// Cluster mode: what this shard learnt of a peer link session's series
  /// (append_batch::numbering, from the gateway `sender`): by shard slot,
  /// the ref and label hash of the series it found or created for that
  /// slot's label key (ref 0 while unknown). A later batch naming the slot
  /// with the same hash finds the series by ref, without comparing label
  /// keys (on a peer, that comparison was the most expensive step of
  /// storing a sample). Refs are never reused for other labels, so a
  /// remembered ref is either that series or gone (removed from the head):
  /// then the key is looked up again. At most opts.max_numberings are
  /// kept, the least recently used going first, and one idle for 65536
  /// batches goes.
  struct numbered_series {
    uint64_t ref = 0;
    uint64_t hash = 0;
  };
  struct numbering {
    uint64_t sender = 0;  ///< the gateway's actor id
    uint64_t id = 0;
    uint64_t last_used = 0;
    std::vector<numbered_series> series;
  };
  std::vector<numbering> numberings;
  uint64_t numbered_batches = 0;
  static inline const char* name = "head_block";
};

/// The behaviour; `head` is already replayed from the WAL and is owned by
/// this actor from now on.
head_block_actor::behavior_type head_block(head_block_actor::stateful_pointer<head_block_state> self,
                                           std::shared_ptr<storage::head> head, wal_writer_actor wal,
                                           head_block_options opts);

/// Between the storage's series_snapshot and the message's series_data
/// (the chunks are shared, not copied).
select_result to_select_result(std::vector<storage::series_snapshot> snaps);
/// The answer to a select over its budget (select_request::max_samples):
/// error_code::too_many_samples with Prometheus' text.
caf::error too_many_samples_error();
std::vector<storage::series_snapshot> to_snapshots(select_result r);

}  // namespace nl::actors

#pragma once
// Every message exchanged between Nightlight's actors, in one CAF type-ID
// block. All structs are plain data with an inspect() overload so they can be
// serialised and cross a node boundary later (registered by
// register_message_types()).
//
// Two rules keep them portable:
// - Sample values travel as IEEE-754 *bits* (uint64_t), never as double:
//   CAF 0.17's serializer packs doubles arithmetically (detail::pack754),
//   which loops forever on ±Inf and destroys NaN payloads such as
//   Prometheus' staleness marker.
// - Nothing holds a pointer or a callback. The one shared buffer is
//   chunk_data's immutable chunk: locally it is passed by pointer (a query
//   must not copy every chunk it reads), serialised it is its encoding,
//   first timestamp and bytes.
#include <caf/all.hpp>

#include <cstring>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/errors.hpp"
#include "promql/engine.hpp"
#include "promql/value.hpp"
#include "storage/label_key.hpp"
#include "storage/index/label_stats.hpp"
#include "storage/labels.hpp"
#include "storage/matcher.hpp"
#include "storage/metadata/metric_metadata.hpp"
#include "storage/wal/records.hpp"
#include "storage/chunk/dense_chunk.hpp"
#include "storage/chunk/xor_chunk.hpp"
#include "storage/head/series_snapshot.hpp"

namespace nl::actors {

/// One series selector: all matchers must hold. Matchers travel compiled:
/// within the process the regexes the query's parser compiled are shared
/// by every shard (storage::matcher is immutable, RE2 thread-safe);
/// between nodes they are serialised as type, name and value and compiled
/// once when the message is loaded (see inspect below).
using selector = storage::matcher_list;

/// Samples for ONE head shard, columnar. Series i is the label key
/// keys[key_ends[i-1], key_ends[i]) (storage/label_key.hpp; key_ends[-1] =
/// 0) with label hash hashes[i], and owns the samples [ends[i-1], ends[i])
/// (ends[-1] = 0). Timestamps are ms since epoch. A series may appear more
/// than once; its samples then count in batch order.
///
/// Label sets travel as keys in one buffer, not as label_sets: building a
/// vector and 2n strings per series was most of the frontend's work, and
/// the head finds a series by (hash, key) without decoding it. The hash is
/// computed once, by the sender, which also picked the shard with it.
struct append_batch {
  std::string keys;
  std::vector<uint32_t> key_ends;
  std::vector<uint64_t> hashes;  ///< hash_label_key() of each key
  std::vector<uint32_t> ends;
  std::vector<int64_t> timestamps;
  std::vector<uint64_t> value_bits;  ///< IEEE-754 bits, bit-exact (StaleNaN)
  /// Newest timestamp the sender of this batch has seen over ALL shards
  /// (ms). Shards apply the out-of-bounds window to it, so a sharded head
  /// refuses old samples like Prometheus' single head does.
  int64_t observed_max_t = INT64_MIN;
  /// The remote-write request this batch is one shard's part of (0: none);
  /// the WAL writer decides all parts of one request alike (wal_batch).
  uint64_t write_id = 0;
  /// Cluster mode: the sender's wall clock (ms since the Unix epoch) after
  /// which it no longer waits for the answer (its link's
  /// cluster.request_timeout). A gateway that dequeues the batch later
  /// answers `timeout` at once and stores nothing, so batches that queued
  /// behind a slow node cost a clock read, not an append. Nodes' clocks
  /// must agree (NTP): a skew moves the cut-off by as much.
  int64_t deadline_unix_ms = std::numeric_limits<int64_t>::max();
  /// Cluster mode: a link's batch that merges several writes' parts for
  /// one peer (cluster.write_linger): where each write's series end
  /// (strictly ascending from a peer, the last is num_series(); a shard's
  /// part of it may repeat an end: no series of that write). Each write
  /// is answered on its own (append_result::parts). Empty: one write.
  std::vector<uint32_t> part_ends;
  /// Cluster mode, from this node's gateway to a head shard: the series by
  /// their slot in a peer link session's numbering (one slot each; slots
  /// are dense per shard), so that the shard finds a series it was told of
  /// before by its ref instead of by comparing label keys
  /// (head_block_state::numberings). `numbering` names the numbering
  /// among those of the same gateway; 0 and no slots: none. Ignored
  /// unless there is a slot for every series.
  uint64_t numbering = 0;
  std::vector<uint32_t> numbered_slots;

  size_t num_series() const { return key_ends.size(); }
  size_t num_samples() const { return timestamps.size(); }
  std::string_view key(size_t i) const {
    size_t begin = i == 0 ? 0 : key_ends[i - 1];
    return std::string_view{keys}.substr(begin, key_ends[i] - begin);
  }
  /// Starts a series; its samples follow with add_sample(). `Label` has
  /// `name` and `value` (storage::label, protocol::label_ref); the labels
  /// are canonical and `hash` is their label_set hash.
  template <class Label>
  void add_series(const Label* labels, size_t n, uint64_t hash) {
    storage::append_label_key(keys, labels, n);
    key_ends.push_back(static_cast<uint32_t>(keys.size()));
    hashes.push_back(hash);
    ends.push_back(static_cast<uint32_t>(timestamps.size()));
  }
  void add_series(const storage::label_set& ls) { add_series(ls.labels().data(), ls.size(), ls.hash()); }
  /// Starts a series whose label key is built already.
  void add_series_key(std::string_view key, uint64_t hash) {
    keys.append(key.data(), key.size());
    key_ends.push_back(static_cast<uint32_t>(keys.size()));
    hashes.push_back(hash);
    ends.push_back(static_cast<uint32_t>(timestamps.size()));
  }
  /// Appends a sample to the last series added.
  void add_sample(int64_t t, uint64_t bits);
  /// Room for `series` series, `samples` samples and `key_bytes` of keys.
  void reserve(size_t series, size_t samples, size_t key_bytes) {
    keys.reserve(key_bytes);
    key_ends.reserve(series);
    hashes.reserve(series);
    ends.reserve(series);
    timestamps.reserve(samples);
    value_bits.reserve(samples);
  }
  /// Whether the parts agree (sizes, offsets, every key valid and
  /// non-empty); recomputes `hashes`. Run on every batch loaded from bytes,
  /// so a peer cannot hand a shard offsets past the end or a wrong hash.
  caf::error validate_and_rehash();
};

/// An append_batch as a node link carries it to the peer's gateway
/// (cluster mode): each series by its number in the link's session
/// (storage/cluster/series_refs.hpp). The series this batch numbers come
/// first, as label keys in `new_keys` (numbers first_new, first_new + 1,
/// ...). The gateway refuses a batch of a session it does not know, or
/// whose first_new is not the next number it expects, with
/// stale_series_refs: the link then starts a new session.
///
/// The columns travel as one buffer, so that a batch crosses BASP as one
/// copy rather than one call per element (which cost more than the
/// copying): series i's number ref(i), its samples [end(i-1), end(i))
/// (end(-1) = 0), and the samples' timestamps and IEEE-754 value bits, all
/// little-endian (node links join little-endian hosts only).
struct link_batch {
  uint64_t session = 0;  ///< the sender's link session (random, never 0)
  uint32_t first_new = 0;
  uint32_t new_count = 0;
  std::string new_keys;
  uint32_t num_series = 0;
  uint32_t num_samples = 0;
  /// uint32 refs[num_series], uint32 ends[num_series], int64
  /// timestamps[num_samples], uint64 value_bits[num_samples].
  std::string columns;
  int64_t observed_max_t = INT64_MIN;  ///< as append_batch's
  uint64_t write_id = 0;               ///< as append_batch's
  int64_t deadline_unix_ms = std::numeric_limits<int64_t>::max();  ///< as append_batch's
  std::vector<uint32_t> part_ends;  ///< as append_batch's

  static constexpr size_t column_bytes(size_t series, size_t samples) { return 8 * series + 16 * samples; }
  /// Sets the columns: `b`'s samples, series i numbered refs[i], and
  /// the header fields append_batch shares. REQUIRES: refs.size() ==
  /// b.num_series().
  void set_columns(const std::vector<uint32_t>& refs, const append_batch& b);
  uint32_t ref(size_t i) const { return load<uint32_t>(4 * i); }
  uint32_t end(size_t i) const { return load<uint32_t>(4 * (num_series + i)); }
  /// Where timestamps[j] and value_bits[j] begin (8 bytes each).
  const char* timestamps_at(size_t j) const { return columns.data() + 8 * (size_t{num_series} + j); }
  const char* value_bits_at(size_t j) const {
    return columns.data() + 8 * (size_t{num_series} + num_samples + j);
  }
  /// Whether the parts agree (sizes, sample ranges, every number below
  /// first_new + new_count); the keys are checked when they are numbered.
  /// The accessors above REQUIRE it.
  caf::error validate() const;

 private:
  template <class T>
  T load(size_t offset) const {
    T v;
    std::memcpy(&v, columns.data() + offset, sizeof v);
    return v;
  }
};
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "link_batch columns are little-endian in memory");

/// The answer to an append: what was stored and what was refused. Refused
/// samples are counted; the first few carry a message naming the series.
/// One write's share of a merged batch's append_result. Flat on purpose:
/// a recursive type would let a peer nest replies until the deserialiser
/// runs out of stack.
struct append_part {
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  std::vector<std::string> errors;  ///< at most append_error_examples entries

  /// Adds `r`'s counts and, up to append_error_examples, its errors.
  void add(append_part&& r);
};

struct append_result {
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  std::vector<std::string> errors;  ///< at most append_error_examples entries
  /// For a batch with append_batch::part_ends: the same for each write
  /// merged into it, in order (the fields above sum them).
  std::vector<append_part> parts;

  /// Adds `r`'s counts and, up to append_error_examples, its errors.
  void add(append_result&& r);
};

/// Encoded WAL records (storage/wal/records.hpp) for the WAL writer, in the
/// order they must be written.
struct wal_batch {
  std::vector<std::string> records;
  /// The latest actor-clock time (nanoseconds since the clock's epoch) at
  /// which the WAL writer may still start writing the batch; later it
  /// answers an error instead and writes nothing. So a sender that stops
  /// waiting knows the records never become durable. Meaningful only within
  /// one process (the WAL writer is always local).
  int64_t deadline = std::numeric_limits<int64_t>::max();
  /// append_batch::write_id: the batches of one request (one per shard)
  /// are all written or all refused: the first one the WAL writer sees
  /// decides for the others, so a request answered 503 for a late part
  /// never has another part durable. 0: a batch on its own.
  uint64_t group = 0;
  /// The newest sample timestamp in the records (ms), INT64_MIN when they
  /// hold none: the writer notes it per segment, so that a checkpoint
  /// replaces only segments older than the cut (storage/wal/segment_times.hpp).
  int64_t max_time = std::numeric_limits<int64_t>::min();
};

/// A query over series metadata, shared by /series, /labels and
/// /label/<name>/values. An empty `selectors` list means all series.
struct meta_query {
  std::vector<selector> selectors;  ///< union of the selectors' matches
  int64_t mint = INT64_MIN;         ///< ms since epoch, inclusive
  int64_t maxt = INT64_MAX;         ///< ms since epoch, inclusive
  std::string label_name;           ///< for label values only
  uint64_t limit = 0;               ///< 0 = unlimited
};

/// Label names or values: sorted and distinct, plus whether `limit` cut it.
/// `warnings`: the API's warnings (cluster mode: nodes that did not
/// answer, see actors/cluster/cluster_index.hpp); "truncated" is not one
/// of them, each API words it itself.
struct string_list {
  std::vector<std::string> items;
  bool truncated = false;
  std::vector<std::string> warnings;
};

/// Label sets of matching series, sorted, plus whether `limit` cut it;
/// warnings as in string_list.
struct series_list {
  std::vector<storage::label_set> items;
  bool truncated = false;
  std::vector<std::string> warnings;
};

/// One encoded chunk (storage/chunk/chunk.hpp), immutable and shared with
/// the head that cut it (an open chunk is a frozen copy) or the block read
/// that copied it. Never null in a message. Serialised as its encoding
/// (uint8: 1 XOR, 2 a block's dense record, sent as stored), its first
/// timestamp and its bytes; loading validates them by decoding every
/// sample (xor_chunk::from_bytes, dense_chunk::from_bytes).
struct chunk_data {
  std::shared_ptr<const storage::chunk> chunk;
};

/// Samples of one series in [mint, maxt] as encoded chunks, in time order.
struct series_data {
  storage::label_set labels;
  std::vector<chunk_data> chunks;
};

/// A select: one selector over one time range.
struct select_request {
  selector matchers;
  int64_t mint = INT64_MIN;
  int64_t maxt = INT64_MAX;
  /// The query's fetch budget (10x max_samples_per_query), 0: none. A source
  /// whose answer alone would hold more samples in [mint, maxt] stops
  /// collecting and fails the request with error_code::too_many_samples.
  uint64_t max_samples = 0;
  /// Paging (remote read; storage::page_limits), on when page_series > 0:
  /// the answer is the next page of series sorting after `after` (empty:
  /// from the first); each source (shard, block) takes at most
  /// page_series of them and stops early once their chunks hold
  /// page_bytes bytes (0: no byte limit). max_samples does not apply.
  storage::label_set after = {};
  uint64_t page_series = 0;
  uint64_t page_bytes = 0;
  /// Chosen by the requester, to withdraw the select with fetch_cancel
  /// (the query planner: its query's id); 0: it cannot be withdrawn.
  uint64_t fetch_id = 0;

  bool paged() const { return page_series > 0; }
  storage::page_limits page() const {
    storage::page_limits p;
    p.after = after;
    p.max_series = page_series;
    if (page_bytes > 0)
      p.max_bytes = page_bytes;
    return p;
  }
};

/// Series sorted by labels; warnings as in string_list.
struct select_result {
  std::vector<series_data> series;
  /// Paged selects: series after the last one may follow (ask again with
  /// `after` = its labels). Always false otherwise.
  bool more = false;
  /// Warnings as in string_list (cluster mode: nodes that did not answer).
  std::vector<std::string> warnings;
};

/// Warnings joined for an error message ("w1; w2").
inline std::string join_warnings(const std::vector<std::string>& ws) {
  std::string out;
  for (const auto& w : ws)
    out += (out.empty() ? "" : "; ") + w;
  return out;
}

/// A shard's answer to a cut or a head read: it has listed the series with
/// data in [mint, maxt], sorted by labels, and hands them out in pages
/// (head_page_atom with this id: select_results in label order). One
/// listing per shard at a time; a newer one, a truncation or the last page
/// ends it.
struct head_cursor {
  uint64_t id = 0;
  uint64_t num_series = 0;
  int64_t mint = INT64_MAX;  ///< ms since epoch, inclusive
  int64_t maxt = INT64_MIN;  ///< ms since epoch, inclusive
};

/// Head statistics of one shard (or their sum).
struct shard_stats {
  uint64_t num_series = 0;
  uint64_t num_samples = 0;      ///< in memory now
  int64_t min_time = INT64_MAX;  ///< INT64_MAX when empty
  int64_t max_time = INT64_MIN;  ///< INT64_MIN when empty
};

/// The series a head shard holds now, with their refs: what a WAL
/// checkpoint keeps of the series records. `entries` holds `count` series
/// entries (ref, label key) back to back as a WAL series record does
/// (storage::append_series_entry): a shard of a million series answers
/// with its keys' bytes, not with a million label sets. Loading checks
/// every entry.
struct series_records {
  std::string entries;
  uint64_t count = 0;
  /// Whether `entries` is exactly `count` well-formed entries.
  caf::error validate() const;
};

/// The admin API's delete_series: the series matching any of `selectors`
/// lose their samples with mint <= t <= maxt (ms since epoch, inclusive):
/// the head's at once, the blocks' through tombstones.
struct series_deletion {
  std::vector<selector> selectors;
  int64_t mint = INT64_MIN;
  int64_t maxt = INT64_MAX;
};

/// A PromQL query as the HTTP API received it. Times in ms since epoch;
/// `step` == 0 makes it an instant query at `start`.
struct query_request {
  std::string query;
  int64_t start = 0;
  int64_t end = 0;
  int64_t step = 0;
  int64_t timeout_ms = 0;  ///< 0: the configured query timeout; capped by it
  /// Chosen by the sender, unique among its queries in flight, to withdraw
  /// the query with a query_cancel; 0: the query cannot be cancelled.
  uint64_t id = 0;
  /// query_answer::stats wanted: 0 no, 1 yes, 2 with the reads per step
  /// (Prometheus' `stats` parameter, `stats=all`).
  uint8_t stats = 0;
};

/// Withdraws the query whose query_request::id is `id` (its client went
/// away): the planner stops it and answers it "canceled". Unknown or
/// finished ids are ignored.
struct query_cancel {
  uint64_t id = 0;
};

/// A query's answer, typed: each API (HTTP JSON, gRPC protobuf) encodes it
/// at its own edge. A failed query is answered with an error instead
/// (actors/errors.hpp: bad_input, execution, too_many_samples, timeout,
/// canceled, overloaded, ...).
struct query_answer {
  promql::query_value value;
  std::vector<std::string> warnings;
  /// When the request asked for them (query_request::stats).
  std::optional<promql::query_stats> stats;
};

/// Metric metadata a remote-write request carried, for the metadata actor:
/// received at `seen_ms` (ms since epoch, the server's clock), part of the
/// request `write_id` (append_batch::write_id: its WAL batch is taken or
/// refused together with the request's samples). Families are never empty
/// (the decoder refused such entries).
struct metadata_update {
  std::vector<storage::metric_metadata> entries;
  int64_t seen_ms = 0;
  uint64_t write_id = 0;
};

/// /api/v1/metadata's parameters, as Prometheus reads them: `metric` ""
/// means every family; `limit` < 0 every family, else at most that many;
/// `limit_per_metric` > 0 at most that many descriptions per family.
struct metadata_query {
  std::string metric;
  int64_t limit = -1;
  int64_t limit_per_metric = -1;
};

/// The answer: one entry per (family, description), by family name, then
/// by (type, help, unit); warnings as in string_list.
struct metadata_list {
  std::vector<storage::metric_metadata> items;
  std::vector<std::string> warnings;
};

/// The metadata store's content for a WAL checkpoint, or a cluster node's
/// part of a metadata read (metadata_fetch_atom): `count` metadata record
/// entries back to back (storage::append_metadata_entry), each with its
/// receipt time. Loading checks every entry.
struct metadata_records {
  std::string entries;
  uint64_t count = 0;
  /// Whether `entries` is exactly `count` well-formed entries.
  caf::error validate() const;
};

/// The first exchange on a node link (actors/cluster/): the connecting
/// node's link sends its hello to the peer's gateway, which answers its own
/// or refuses. Nodes talk only if cluster, protocol version and ring agree.
struct cluster_hello {
  std::string cluster;            ///< cluster.name
  uint32_t protocol_version = 0;  ///< cluster_protocol_version of the sender
  std::string node;               ///< the sender's cluster.self
  uint64_t ring_digest = 0;       ///< placement_ring::digest()
  /// The sender's effective cluster.replication_factor and write_quorum:
  /// nodes that disagree would acknowledge with different numbers of copies
  /// and judge missing nodes differently.
  uint32_t replication_factor = 0;
  uint32_t write_quorum = 0;
  /// The sender's cluster.heartbeat_interval and connection_timeout (ms):
  /// both ends of a link need the same, or one side drops a healthy idle
  /// link (or notices a dead one late).
  int64_t heartbeat_interval_ms = 0;
  int64_t connection_timeout_ms = 0;
};

/// How many rejection messages an append_result carries at most.
constexpr size_t append_error_examples = 5;

// --- inspect overloads (CAF 0.17 style) -----------------------------------

/// Loading checks the batch and recomputes the hashes (see
/// append_batch::validate_and_rehash); saving writes them, which keeps one
/// inspect for both directions.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_batch& x) {
  auto check = [&x]() -> caf::error { return x.validate_and_rehash(); };
  return f(caf::meta::type_name("nl::append_batch"), x.keys, x.key_ends, x.hashes, x.ends,
           x.timestamps, x.value_bits, x.observed_max_t, x.write_id, x.deadline_unix_ms, x.part_ends,
           x.numbering, x.numbered_slots, caf::meta::load_callback(check));
}
/// Loaded unchecked: the gateway validates a link batch itself, so that a
/// malformed one is answered bad_input instead of dropped unanswered.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, link_batch& x) {
  return f(caf::meta::type_name("nl::link_batch"), x.session, x.first_new, x.new_count, x.new_keys, x.num_series,
           x.num_samples, x.columns, x.observed_max_t, x.write_id, x.deadline_unix_ms, x.part_ends);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_part& x) {
  return f(caf::meta::type_name("nl::append_part"), x.accepted, x.rejected, x.errors);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_result& x) {
  return f(caf::meta::type_name("nl::append_result"), x.accepted, x.rejected, x.errors, x.parts);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wal_batch& x) {
  return f(caf::meta::type_name("nl::wal_batch"), x.records, x.deadline, x.group, x.max_time);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, meta_query& x) {
  return f(caf::meta::type_name("nl::meta_query"), x.selectors, x.mint, x.maxt, x.label_name, x.limit);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, string_list& x) {
  return f(caf::meta::type_name("nl::string_list"), x.items, x.truncated, x.warnings);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, series_list& x) {
  return f(caf::meta::type_name("nl::series_list"), x.items, x.truncated, x.warnings);
}
template <class Inspector>
typename std::enable_if<Inspector::reads_state, typename Inspector::result_type>::type
inspect(Inspector& f, chunk_data& x) {
  uint8_t encoding = x.chunk ? static_cast<uint8_t>(x.chunk->encoding()) : 0;
  int64_t min_time = x.chunk ? x.chunk->min_time() : 0;
  std::string bytes{x.chunk ? x.chunk->bytes() : std::string_view{}};
  return f(caf::meta::type_name("nl::chunk_data"), encoding, min_time, bytes);
}
template <class Inspector>
typename std::enable_if<Inspector::writes_state, typename Inspector::result_type>::type
inspect(Inspector& f, chunk_data& x) {
  uint8_t encoding = 0;
  int64_t min_time = 0;
  std::string bytes;
  auto load = [&]() -> caf::error {
    if (encoding == static_cast<uint8_t>(storage::chunk_encoding::xor_)) {
      auto c = storage::xor_chunk::from_bytes(bytes);
      if (!c)
        return caf::make_error(error_code::bad_input, c.error().message());
      if (c->min_time() != min_time)
        return caf::make_error(error_code::bad_input, "xor chunk: first timestamp differs from the message's");
      x.chunk = std::make_shared<const storage::xor_chunk>(std::move(*c));
      return caf::none;
    }
    if (encoding == static_cast<uint8_t>(storage::chunk_encoding::dense)) {
      auto c = storage::dense_chunk::from_bytes(bytes, min_time);
      if (!c)
        return caf::make_error(error_code::bad_input, c.error().message());
      x.chunk = std::make_shared<const storage::dense_chunk>(std::move(*c));
      return caf::none;
    }
    return caf::make_error(error_code::bad_input, "chunk: unknown encoding " + std::to_string(encoding));
  };
  return f(caf::meta::type_name("nl::chunk_data"), encoding, min_time, bytes, caf::meta::load_callback(load));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, series_data& x) {
  return f(caf::meta::type_name("nl::series_data"), x.labels, x.chunks);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, select_request& x) {
  return f(caf::meta::type_name("nl::select_request"), x.matchers, x.mint, x.maxt, x.max_samples, x.after,
           x.page_series, x.page_bytes, x.fetch_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, select_result& x) {
  return f(caf::meta::type_name("nl::select_result"), x.series, x.more, x.warnings);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, head_cursor& x) {
  return f(caf::meta::type_name("nl::head_cursor"), x.id, x.num_series, x.mint, x.maxt);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, series_records& x) {
  auto check = [&x]() -> caf::error { return x.validate(); };
  return f(caf::meta::type_name("nl::series_records"), x.entries, x.count, caf::meta::load_callback(check));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_stats& x) {
  return f(caf::meta::type_name("nl::shard_stats"), x.num_series, x.num_samples, x.min_time, x.max_time);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, series_deletion& x) {
  return f(caf::meta::type_name("nl::series_deletion"), x.selectors, x.mint, x.maxt);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_request& x) {
  return f(caf::meta::type_name("nl::query_request"), x.query, x.start, x.end, x.step, x.timeout_ms,
           x.id, x.stats);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_cancel& x) {
  return f(caf::meta::type_name("nl::query_cancel"), x.id);
}

/// A query_answer as it travels: the value flattened into columns, sample
/// values as IEEE-754 bits (see the top of this file). `kind` is the
/// query_value's index; scalars and strings use `t`, `bits` and `text`;
/// vector element i (matrix series i) has labels[i] and, for a vector,
/// times[i]/bits[i], for a matrix the points [ends[i-1], ends[i]).
struct query_answer_columns {
  uint8_t kind = 0;
  int64_t t = 0;
  uint64_t bits = 0;
  std::string text;
  std::vector<storage::label_set> labels;
  std::vector<uint64_t> ends;
  std::vector<int64_t> times;
  std::vector<uint64_t> values;
  std::vector<std::string> warnings;
  /// stats, when present: [total, peak, per_step flag, start, interval,
  /// per-step totals...] and the six times.
  std::vector<int64_t> stats_counts;
  std::vector<double> stats_times;

  static query_answer_columns of(const query_answer& a);
  /// The answer these columns hold; an error when they disagree.
  caf::error to(query_answer& out) &&;
};

template <class Inspector>
typename std::enable_if<Inspector::reads_state, typename Inspector::result_type>::type
inspect(Inspector& f, query_answer& x) {
  auto c = query_answer_columns::of(x);
  return f(caf::meta::type_name("nl::query_answer"), c.kind, c.t, c.bits, c.text, c.labels, c.ends,
           c.times, c.values, c.warnings, c.stats_counts, c.stats_times);
}
template <class Inspector>
typename std::enable_if<Inspector::writes_state, typename Inspector::result_type>::type
inspect(Inspector& f, query_answer& x) {
  query_answer_columns c;
  auto rebuild = [&]() -> caf::error { return std::move(c).to(x); };
  return f(caf::meta::type_name("nl::query_answer"), c.kind, c.t, c.bits, c.text, c.labels, c.ends,
           c.times, c.values, c.warnings, c.stats_counts, c.stats_times, caf::meta::load_callback(rebuild));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metadata_update& x) {
  return f(caf::meta::type_name("nl::metadata_update"), x.entries, x.seen_ms, x.write_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metadata_query& x) {
  return f(caf::meta::type_name("nl::metadata_query"), x.metric, x.limit, x.limit_per_metric);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metadata_list& x) {
  return f(caf::meta::type_name("nl::metadata_list"), x.items, x.warnings);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metadata_records& x) {
  auto check = [&x]() -> caf::error { return x.validate(); };
  return f(caf::meta::type_name("nl::metadata_records"), x.entries, x.count, caf::meta::load_callback(check));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_hello& x) {
  return f(caf::meta::type_name("nl::cluster_hello"), x.cluster, x.protocol_version, x.node, x.ring_digest,
           x.replication_factor, x.write_quorum, x.heartbeat_interval_ms, x.connection_timeout_ms);
}

inline bool operator==(const series_deletion& a, const series_deletion& b) {
  return a.selectors == b.selectors && a.mint == b.mint && a.maxt == b.maxt;
}

inline bool operator==(const append_result& a, const append_result& b) {
  return a.accepted == b.accepted && a.rejected == b.rejected && a.errors == b.errors;
}

}  // namespace nl::actors

namespace nl::storage {

// storage/ stays free of CAF; its types get their inspect overloads here.
/// The type travels as its wire number; loading refuses an unknown one.
template <class Inspector>
typename std::enable_if<Inspector::reads_state, typename Inspector::result_type>::type
inspect(Inspector& f, metric_metadata& x) {
  auto type = static_cast<uint8_t>(x.type);
  return f(caf::meta::type_name("nl::metric_metadata"), x.metric_family_name, type, x.help, x.unit);
}
template <class Inspector>
typename std::enable_if<Inspector::writes_state, typename Inspector::result_type>::type
inspect(Inspector& f, metric_metadata& x) {
  uint8_t type = 0;
  auto check = [&]() -> caf::error {
    auto t = metric_type_of(type);
    if (!t)
      return caf::make_error(nl::actors::error_code::bad_input, "unknown metric type " + std::to_string(type));
    x.type = *t;
    return caf::none;
  };
  return f(caf::meta::type_name("nl::metric_metadata"), x.metric_family_name, type, x.help, x.unit,
           caf::meta::load_callback(check));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, series_record& x) {
  return f(caf::meta::type_name("nl::series_record"), x.ref, x.labels);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, label& x) {
  return f(caf::meta::type_name("nl::label"), x.name, x.value);
}

// /api/v1/status/tsdb (storage/index/label_stats.hpp).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, label_value_counts& x) {
  return f(caf::meta::type_name("nl::label_value_counts"), x.name, x.values, x.series);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, head_cardinality& x) {
  return f(caf::meta::type_name("nl::head_cardinality"), x.num_series, x.num_chunks, x.min_time,
           x.max_time, x.labels);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cardinality_stat& x) {
  return f(caf::meta::type_name("nl::cardinality_stat"), x.name, x.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tsdb_status& x) {
  return f(caf::meta::type_name("nl::tsdb_status"), x.num_series, x.num_label_pairs, x.chunk_count,
           x.min_time, x.max_time, x.series_count_by_metric_name, x.label_value_count_by_label_name,
           x.memory_in_bytes_by_label_name, x.series_count_by_label_value_pair);
}

/// Saving copies the pairs out; loading re-canonicalises them, so bytes from
/// another node cannot break label_set's invariants (sorted, unique, no
/// empty values).
template <class Inspector>
typename std::enable_if<Inspector::reads_state, typename Inspector::result_type>::type
inspect(Inspector& f, label_set& x) {
  auto pairs = x.labels();
  return f(caf::meta::type_name("nl::label_set"), pairs);
}
template <class Inspector>
typename std::enable_if<Inspector::writes_state, typename Inspector::result_type>::type
inspect(Inspector& f, label_set& x) {
  std::vector<label> pairs;
  auto canonicalise = [&]() -> caf::error {
    x = label_set::from_unsorted(std::move(pairs));
    return caf::none;
  };
  return f(caf::meta::type_name("nl::label_set"), pairs, caf::meta::load_callback(canonicalise));
}

/// A matcher as it travels: its type as an integer (0 =, 1 !=, 2 =~,
/// 3 !~), name and value. Loading compiles it (matcher::make): a bad type
/// or regex refuses the message.
template <class Inspector>
typename std::enable_if<Inspector::reads_state, typename Inspector::result_type>::type
inspect(Inspector& f, matcher& x) {
  auto type = static_cast<uint8_t>(x.type());
  auto name = x.name();
  auto value = x.value();
  return f(caf::meta::type_name("nl::matcher"), type, name, value);
}
template <class Inspector>
typename std::enable_if<Inspector::writes_state, typename Inspector::result_type>::type
inspect(Inspector& f, matcher& x) {
  uint8_t type = 0;
  std::string name;
  std::string value;
  auto compile = [&]() -> caf::error {
    if (type > static_cast<uint8_t>(match_type::not_regex))
      return caf::make_error(nl::actors::error_code::bad_input, "unknown matcher type " + std::to_string(type));
    auto m = matcher::make(static_cast<match_type>(type), std::move(name), std::move(value));
    if (!m)
      return caf::make_error(nl::actors::error_code::bad_input, m.error().message());
    x = std::move(*m);
    return caf::none;
  };
  return f(caf::meta::type_name("nl::matcher"), type, name, value, caf::meta::load_callback(compile));
}

}  // namespace nl::storage

// Atoms: CAF predefines many short texts (get, put, ok, flush, ...), and two
// atoms with the same text are the same type, so every text here is
// distinctive.
CAF_BEGIN_TYPE_ID_BLOCK(nightlight, caf::first_custom_type_id)
  CAF_ADD_ATOM(nightlight, nl::actors, append_atom, "nl_append")
  CAF_ADD_ATOM(nightlight, nl::actors, wal_write_atom, "nl_walwr")
  CAF_ADD_ATOM(nightlight, nl::actors, wal_sync_atom, "nl_walsync")
  CAF_ADD_ATOM(nightlight, nl::actors, wal_tick_atom, "nl_waltick")
  CAF_ADD_ATOM(nightlight, nl::actors, wal_commit_atom, "nl_walcmt")
  CAF_ADD_ATOM(nightlight, nl::actors, select_atom, "nl_select")
  CAF_ADD_ATOM(nightlight, nl::actors, label_names_atom, "nl_lnames")
  CAF_ADD_ATOM(nightlight, nl::actors, label_values_atom, "nl_lvalues")
  CAF_ADD_ATOM(nightlight, nl::actors, series_atom, "nl_series")
  CAF_ADD_ATOM(nightlight, nl::actors, stats_atom, "nl_stats")
  CAF_ADD_ATOM(nightlight, nl::actors, query_atom, "nl_query")
  CAF_ADD_ATOM(nightlight, nl::actors, query_run_atom, "nl_qrun")
  CAF_ADD_ATOM(nightlight, nl::actors, query_expire_atom, "nl_qexpire")
  CAF_ADD_ATOM(nightlight, nl::actors, cut_atom, "nl_cut")
  CAF_ADD_ATOM(nightlight, nl::actors, truncate_atom, "nl_trunc")
  CAF_ADD_ATOM(nightlight, nl::actors, series_records_atom, "nl_srecs")
  CAF_ADD_ATOM(nightlight, nl::actors, wal_cut_atom, "nl_walcut")
  CAF_ADD_ATOM(nightlight, nl::actors, compact_tick_atom, "nl_ctick")
  CAF_ADD_ATOM(nightlight, nl::actors, compact_now_atom, "nl_cnow")
  CAF_ADD_TYPE_ID(nightlight, (nl::storage::label))
  CAF_ADD_TYPE_ID(nightlight, (nl::storage::label_set))
  CAF_ADD_TYPE_ID(nightlight, (nl::storage::matcher))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::append_batch))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::append_result))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::wal_batch))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::meta_query))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::string_list))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::series_list))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::chunk_data))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::series_data))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::select_request))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::select_result))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::shard_stats))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::query_request))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::query_answer))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::query_cancel))
  CAF_ADD_TYPE_ID(nightlight, (nl::storage::series_record))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::series_records))
  // /api/v1/status/tsdb: index -> shards (cardinality), frontend -> index.
  CAF_ADD_ATOM(nightlight, nl::actors, cardinality_atom, "nl_card")
  CAF_ADD_ATOM(nightlight, nl::actors, tsdb_status_atom, "nl_tsdbst")
  CAF_ADD_TYPE_ID(nightlight, (nl::storage::head_cardinality))
  CAF_ADD_TYPE_ID(nightlight, (nl::storage::tsdb_status))
  // Admin API: frontend -> network -> compactor -> head shards.
  CAF_ADD_ATOM(nightlight, nl::actors, snapshot_atom, "nl_snap")
  CAF_ADD_ATOM(nightlight, nl::actors, delete_series_atom, "nl_delser")
  CAF_ADD_ATOM(nightlight, nl::actors, clean_tombstones_atom, "nl_cleants")
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::series_deletion))
  // Cuts and snapshots read the head in pages: compactor -> head shards.
  CAF_ADD_ATOM(nightlight, nl::actors, read_head_atom, "nl_hread")
  CAF_ADD_ATOM(nightlight, nl::actors, head_page_atom, "nl_hpage")
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::head_cursor))
  // Metric metadata: network -> metadata actor (remote write, /api/v1/metadata),
  // compactor -> metadata actor (checkpoints).
  CAF_ADD_ATOM(nightlight, nl::actors, metadata_put_atom, "nl_mdput")
  CAF_ADD_ATOM(nightlight, nl::actors, metadata_atom, "nl_mdget")
  CAF_ADD_ATOM(nightlight, nl::actors, metadata_records_atom, "nl_mdrecs")
  CAF_ADD_TYPE_ID(nightlight, (nl::storage::metric_metadata))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::metadata_update))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::metadata_query))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::metadata_list))
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::metadata_records))
  // /federate: network -> a federation worker.
  CAF_ADD_ATOM(nightlight, nl::actors, federate_atom, "nl_fed")
  // Remote read: the HTTP connection -> its reader (more frames wanted).
  CAF_ADD_ATOM(nightlight, nl::actors, read_more_atom, "nl_rdmore")
  // Cluster mode: node links (actors/cluster/).
  CAF_ADD_ATOM(nightlight, nl::actors, hello_atom, "nl_hello")
  CAF_ADD_ATOM(nightlight, nl::actors, link_tick_atom, "nl_ltick")
  CAF_ADD_ATOM(nightlight, nl::actors, link_flush_atom, "nl_lflush")
  CAF_ADD_ATOM(nightlight, nl::actors, link_connect_atom, "nl_lconn")
  CAF_ADD_ATOM(nightlight, nl::actors, link_start_atom, "nl_lstart")
  CAF_ADD_ATOM(nightlight, nl::actors, link_accept_atom, "nl_laccept")
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::cluster_hello))
  // Cluster reads: the planner withdraws a query's fetches (index ->
  // links -> peers' gateways).
  CAF_ADD_ATOM(nightlight, nl::actors, fetch_cancel_atom, "nl_fcancel")
  // Cluster metadata reads: cluster index -> every node (links -> peers'
  // gateways) -> metadata actor.
  CAF_ADD_ATOM(nightlight, nl::actors, metadata_fetch_atom, "nl_mdfetch")
  // Node links number series per session: link -> peer's gateway.
  CAF_ADD_TYPE_ID(nightlight, (nl::actors::link_batch))
CAF_END_TYPE_ID_BLOCK(nightlight)

namespace nl::actors {

/// Registers every type of the block (serialisation, remote typed handles)
/// and the renderer of our error codes (actors/errors.hpp).
inline void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::nightlight>();
  cfg.add_error_category(error_category, render_error);
}

}  // namespace nl::actors

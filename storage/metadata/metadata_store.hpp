#pragma once
// The metric metadata Nightlight keeps for /api/v1/metadata: per metric
// family, the distinct descriptions (type, help, unit) that remote-write
// senders reported, each with the newest time it was received.
//
// Why per family and not per series: remote write 1.0 carries metadata per
// family (prometheus.MetricMetadata has no labels), and /api/v1/metadata
// answers per family. Why a set of descriptions and not the latest one:
// Prometheus lists every distinct description its targets expose (two
// versions of an exporter may word a help text differently), and a sender
// sends all of them every metadata_config.send_interval (1m by default).
//
// What is kept, so that it never grows without bound:
// - A description not received for `superseded_after_ms` while another of
//   its family was received later is dropped: the target that exposed it
//   is gone or changed (a live one is resent every send_interval).
// - At most `max_per_family` descriptions per family; past it the least
//   recently received goes.
// - At most `max_bytes` in all (approximate: strings plus a fixed cost per
//   family and description); past it the least recently received
//   families go until 90% of it is used.
// - expire_before(t) drops families received last before t (the server
//   uses now - retention: their samples are gone too).
//
// Durability (the owner's protocol, storage/FORMAT.md "Metadata record"):
// receive() says which records must be logged to the WAL; once they are,
// apply() them. A description already held is only re-logged when its
// logged receipt time is `relog_after_ms` old, so a sender resending
// everything every minute costs the WAL one record per description every
// relog_after_ms, not every minute; after a restart receipt times are at
// most that stale. relog_after_ms < superseded_after_ms keeps a restart
// from dropping a description that was live.
//
// Thread-safety: none; one owner (the metadata actor; replay before it).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "storage/metadata/metric_metadata.hpp"
#include "storage/wal/records.hpp"

namespace nl::storage {

struct metadata_store_options {
  uint64_t max_bytes = uint64_t{64} << 20;
  size_t max_per_family = 16;
  int64_t superseded_after_ms = 60 * 60 * 1000;
  int64_t relog_after_ms = 10 * 60 * 1000;
};

class metadata_store {
 public:
  /// Approximate memory of one family and one description beyond their
  /// strings (map node, vector slot, string headers, times).
  static constexpr uint64_t family_overhead = 96;
  static constexpr uint64_t description_overhead = 96;

  explicit metadata_store(metadata_store_options opts = {});

  /// `entries` arrived at `seen_ms`. The descriptions held already count as
  /// received now (in memory); returns what must be logged and then
  /// apply()ed: every description not held and every one whose logged
  /// time is relog_after_ms before seen_ms, each once. REQUIRES: no empty
  /// metric_family_name.
  std::vector<metadata_record> receive(const std::vector<metric_metadata>& entries, int64_t seen_ms);

  /// A logged (or replayed) record: the description is held with receipt
  /// time max(held, r.seen_ms), logged at r.seen_ms; then the limits above
  /// are applied.
  void apply(const metadata_record& r);

  /// /api/v1/metadata: the families (only `metric` when it is not empty),
  /// by name, each with its descriptions ordered by (type, help, unit).
  /// `limit` < 0: every family, else at most `limit`; `limit_per_metric`
  /// > 0: at most that many descriptions per family (Prometheus' rules).
  std::vector<metric_metadata> list(std::string_view metric, int64_t limit, int64_t limit_per_metric) const;

  /// Drops the families last received before `t` (ms); returns how many.
  size_t expire_before(int64_t t);

  /// Every description with its receipt time, appended to `out` as
  /// metadata record entries back to back (append_metadata_entry), family
  /// by family: what a WAL checkpoint keeps. `metric` and `limit` select
  /// families as in list() (a cluster node's part of a metadata read:
  /// storage/metadata/metadata_merge.hpp). Returns the number of entries.
  uint64_t entries(std::string& out, std::string_view metric = {}, int64_t limit = -1) const;

  size_t num_families() const { return families_.size(); }
  size_t num_descriptions() const { return descriptions_; }
  /// The approximate memory counted against max_bytes.
  uint64_t bytes() const { return bytes_; }
  /// Families and descriptions dropped by the limits (not by
  /// expire_before) since the store was created.
  uint64_t evicted() const { return evicted_; }

 private:
  struct description {
    metric_type type = metric_type::unknown;
    std::string help;
    std::string unit;
    int64_t seen_ms = 0;    ///< newest receipt, in memory
    int64_t logged_ms = 0;  ///< newest receipt in the WAL
  };
  struct family {
    std::vector<description> descriptions;  ///< ordered by (type, help, unit)
    int64_t newest_ms = 0;                  ///< max of their seen_ms
  };
  using family_map = std::map<std::string, family, std::less<>>;

  static uint64_t cost(const description& d) { return description_overhead + d.help.size() + d.unit.size(); }
  /// The description of `f` equal to `m`'s, or null.
  static description* find(family& f, const metric_metadata& m);
  /// Drops superseded descriptions, then the oldest beyond max_per_family.
  void settle(family& f);
  void erase_family(family_map::iterator it);
  /// Evicts the least recently received families while over max_bytes.
  void enforce_max_bytes();
  /// Calls fn(name, family) for the families list() and entries() answer:
  /// only `metric` when it is not empty, else by name, at most `limit`
  /// (< 0: all).
  template <class Fn>
  void for_families(std::string_view metric, int64_t limit, Fn fn) const;

  metadata_store_options opts_;
  family_map families_;
  size_t descriptions_ = 0;
  uint64_t bytes_ = 0;
  uint64_t evicted_ = 0;
};

}  // namespace nl::storage

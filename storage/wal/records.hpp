#pragma once
// The content of WAL records: series definitions, samples, deletions and
// metric metadata. Framing (pages, fragments, CRC) lives in wal_segment_*;
// this layer knows nothing of files.
// Byte layout: storage/FORMAT.md#wal-records.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/labels.hpp"
#include "storage/metadata/metric_metadata.hpp"
#include "storage/status.hpp"

namespace nl::storage {

/// A series is created: `ref` names it in later sample records. Refs are
/// unique across all head shards for the lifetime of the WAL.
struct series_record {
  uint64_t ref = 0;
  label_set labels;
};

/// A series record's entry as its bytes hold it: the label key (a view
/// into the record, valid as long as its bytes) and hash_label_key(key).
/// Replay creates series from keys, as the write path does, without
/// building label sets.
struct series_key_record {
  uint64_t ref = 0;
  std::string_view key;
  uint64_t hash = 0;
};

/// One sample of the series `ref`. Values are stored bit-exactly (StaleNaN
/// included).
struct sample_record {
  uint64_t ref = 0;
  int64_t t = 0;
  double v = 0;
};

/// The samples of series `ref` (or an alias of it) with mint <= t <= maxt
/// were deleted (admin API delete_series). Applies to the samples logged
/// before the record only: samples logged after it stay.
struct tombstone_record {
  uint64_t ref = 0;
  int64_t mint = 0;
  int64_t maxt = 0;  ///< >= mint
};

/// A metric family's metadata as received at `seen_ms` (ms since epoch,
/// the receiver's clock): the metadata store keeps the newest per family
/// and description (storage/metadata/metadata_store.hpp).
struct metadata_record {
  int64_t seen_ms = 0;
  metric_metadata metadata;  ///< metric_family_name is never empty
};

enum class wal_record_type : uint8_t { series = 1, samples = 2, tombstones = 3, metadata = 4 };

/// Appends an encoded record to `out` (one record per call).
void encode_series(const std::vector<series_record>& series, std::string& out);
void encode_samples(const std::vector<sample_record>& samples, std::string& out);
/// REQUIRES: mint <= maxt in every entry.
void encode_tombstone_records(const std::vector<tombstone_record>& stones, std::string& out);
/// REQUIRES: no empty metric_family_name.
void encode_metadata_records(const std::vector<metadata_record>& entries, std::string& out);
/// Appends one entry of a metadata record (the bytes after the type byte
/// are entries back to back), for records built piecewise.
void append_metadata_entry(std::string& out, const metadata_record& entry);

/// Builds a samples record one sample at a time: the same bytes as
/// encode_samples() of the same samples, without a vector of them first.
class samples_record_writer {
 public:
  /// Appends the record type byte to `out`, reserving room for `expected`
  /// samples; `out` must outlive the writer.
  samples_record_writer(std::string& out, size_t expected);
  void add(uint64_t ref, int64_t t, uint64_t value_bits);
  size_t size() const { return count_; }

 private:
  std::string& out_;
  uint64_t base_ref_ = 0;
  uint64_t base_t_ = 0;
  size_t count_ = 0;
};

/// Builds a series record piecewise: start `out` with the series type byte
/// (wal_record_type::series), then append one entry per series. The
/// per-series layout is the label key's (storage/label_key.hpp), so a key
/// is copied as it is. REQUIRES: `label_key` is valid.
void append_series_entry(std::string& out, uint64_t ref, std::string_view label_key);

/// Type of an encoded record, or corruption for an unknown type byte.
result<wal_record_type> record_type(std::string_view rec);
/// Decode one record into `out`, which is cleared first (its capacity is
/// kept, so replay can reuse one vector). Damaged or foreign bytes give
/// corruption naming the byte offset, with `out` empty; they never crash,
/// and counts are checked against the bytes left before anything is
/// reserved. Decoded label sets satisfy label_set's invariant (sorted,
/// unique names, no empty value); a record that breaks it is corruption.
status decode_series(std::string_view rec, std::vector<series_record>& out);
/// The same checks; the keys are views into `rec`.
status decode_series_keys(std::string_view rec, std::vector<series_key_record>& out);
status decode_samples(std::string_view rec, std::vector<sample_record>& out);
status decode_tombstone_records(std::string_view rec, std::vector<tombstone_record>& out);
/// An empty family name or a type above max_metric_type is corruption.
status decode_metadata_records(std::string_view rec, std::vector<metadata_record>& out);
/// The metadata entries `entries` holds back to back (a metadata record
/// without its type byte), appended to `out`; corruption as above.
status decode_metadata_entries(std::string_view entries, std::vector<metadata_record>& out);

}  // namespace nl::storage

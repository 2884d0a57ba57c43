#pragma once
// Remote write 1.0 request decoding (prometheus.WriteRequest) with the
// receiver-side validation of shared/spec/prometheus-api.md §1.5/§1.6.
//
// The decoder is a hand-written protobuf walker: no libprotobuf objects, no
// per-label allocation. The result is columnar and points into the decoded
// body, which the batch keeps alive (see write_batch).
//
// Policy: partial writes. Invalid series are left out of the batch and
// described in write_report; everything valid is kept. A malformed protobuf
// structure fails the whole request.
//
// Server flow for POST /api/v1/write:
//   auto b = decode_remote_write(body, now_ms, settings, max_decoded_bytes);
//   !b && b.error().error_code() == limit_exceeded  -> 413, message as body
//   !b                                              -> 400, message as body
//   otherwise store b->series (group by hash_labels) and b->metadata, then
//   b->report.any_rejected() ? 400 with b->report.summary() : 204.
// Out-of-order / duplicate / too-old checks belong to the head, not here.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/labels.hpp"
#include "storage/metadata/metric_metadata.hpp"
#include "storage/sample.hpp"
#include "storage/status.hpp"

namespace nl::protocol {

/// Receiver limits and switches. Every violation rejects the series (400).
struct write_settings {
  /// Longest accepted label name, bytes.
  size_t max_label_name_length = 1024;
  /// Longest accepted label value, bytes (long values are usually a bug in
  /// the sender, e.g. a whole URL with query string or an error message).
  size_t max_label_value_length = 4096;
  /// Longest accepted metadata help text, bytes (a metadata entry's family
  /// name and unit take max_label_value_length).
  size_t max_help_length = 64 * 1024;
  /// Most labels per series, counting __name__ (after dropping empty values).
  size_t max_labels_per_series = 64;
  /// false: legacy names, metric `[a-zA-Z_:][a-zA-Z0-9_:]*`, label
  /// `[a-zA-Z_][a-zA-Z0-9_]*` (what PromQL 2.42 can select). true: any
  /// non-empty valid UTF-8 (Prometheus 3.x behaviour).
  bool allow_utf8_names = false;
  /// Drop NaN and ±Inf sample values (counted in write_report). The
  /// staleness marker is never dropped.
  bool drop_non_finite = false;
  /// Samples more than this far ahead of `now_ms` are rejected; negative
  /// disables the check. Default 10 minutes, as Prometheus 3.x.
  int64_t max_future_ms = 10 * 60 * 1000;
  /// How many rejections are described in detail (the rest are only counted).
  size_t max_reported_rejections = 10;
};

/// A label of the request; both views point into write_batch::body.
struct label_ref {
  std::string_view name;
  std::string_view value;
};

/// One accepted TimeSeries entry. Prometheus sends one sample per entry and
/// repeats the full label set, so a batch can hold the same series many
/// times. The hash is not computed here: the caller computes hash_labels()
/// once, where it needs it (to pick the shard).
struct series_entry {
  uint32_t labels_begin = 0;   ///< index into write_batch::labels
  uint32_t labels_count = 0;   ///< sorted by name, unique, no empty values
  uint32_t samples_begin = 0;  ///< index into write_batch::samples
  uint32_t samples_count = 0;  ///< >= 1, in request order
};

using storage::metric_type;
/// One MetricMetadata entry (owning: it outlives the request).
using metadata_entry = storage::metric_metadata;

enum class reject_reason : uint8_t {
  missing_metric_name,   ///< no __name__ label
  invalid_metric_name,   ///< __name__ value breaks the name syntax
  invalid_label_name,    ///< empty or breaks the name syntax
  duplicate_label_name,
  invalid_utf8,          ///< in a name or a value
  label_name_too_long,
  label_value_too_long,
  too_many_labels,
  native_histogram,      ///< histograms are not supported yet
  too_far_in_future,     ///< some samples only; the rest of the series is kept
  invalid_metadata,      ///< a MetricMetadata entry (no samples involved)
  count_                 ///< number of reasons
};

std::string_view to_string(reject_reason r);

struct rejection {
  reject_reason reason;
  std::string series;   ///< Prometheus text form, e.g. up{job="a"}
  std::string message;  ///< one line, e.g. duplicate label name "job"
};

/// What happened to the request. Anything rejected means HTTP 400 (after the
/// valid rest has been stored); otherwise 204.
struct write_report {
  size_t series_accepted = 0;      ///< TimeSeries entries with >= 1 stored sample
  size_t samples_accepted = 0;
  size_t series_rejected = 0;      ///< entries rejected as a whole
  size_t samples_rejected = 0;     ///< samples of rejected entries + future samples
  /// samples_rejected split by the reason of each rejection.
  std::array<size_t, static_cast<size_t>(reject_reason::count_)> samples_rejected_by{};
  size_t non_finite_dropped = 0;   ///< drop_non_finite only; not a rejection
  size_t exemplars_ignored = 0;    ///< exemplars are not stored
  size_t histograms_rejected = 0;  ///< native histogram samples
  /// MetricMetadata entries left out: empty or invalid family name,
  /// invalid UTF-8, longer than the limits.
  size_t metadata_rejected = 0;
  /// The first max_reported_rejections rejections in request order.
  std::vector<rejection> rejections;
  /// Rejections not described in `rejections`.
  size_t rejections_omitted = 0;

  bool any_rejected() const { return series_rejected > 0 || samples_rejected > 0 || metadata_rejected > 0; }
  /// One-line 400 body, e.g. `2 series rejected, 3 samples rejected: up{a="b"}:
  /// duplicate label name "a"; x: too far in the future` (empty if nothing
  /// was rejected).
  std::string summary() const;
};

/// The decoded request. Movable; cheap to share across threads as
/// shared_ptr<const write_batch> (read-only). Memory: typically ~1.5x the
/// decoded body; at worst (a body of empty Sample messages) ~8x.
struct write_batch {
  /// The decoded protobuf; every string_view in `labels` points into it.
  /// Shared so per-shard slices of a batch can keep it alive.
  std::shared_ptr<const std::string> body;
  std::vector<series_entry> series;
  std::vector<label_ref> labels;
  std::vector<storage::sample> samples;
  /// The valid MetricMetadata entries, in request order.
  std::vector<metadata_entry> metadata;
  write_report report;

  const label_ref* labels_of(const series_entry& s) const { return labels.data() + s.labels_begin; }
  const storage::sample* samples_of(const series_entry& s) const {
    return samples.data() + s.samples_begin;
  }
};

/// Hash of already sorted, unique labels; identical to label_set::hash() of
/// the same pairs (so it can pick the shard without building a label_set).
uint64_t hash_labels(const label_ref* labels, size_t n);

/// Decodes and validates an uncompressed WriteRequest. `now_ms` is the
/// receiver clock (ms since epoch) for the future-timestamp check.
/// Errors: corruption "protobuf: ..." for malformed structure (HTTP 400).
/// Thread-safe (no shared state).
storage::result<write_batch> decode_write_request(std::shared_ptr<const std::string> body,
                                                  int64_t now_ms, const write_settings& settings);

/// snappy_decode + decode_write_request: a remote write HTTP body as it
/// arrives. Errors: limit_exceeded (413) from the snappy preamble,
/// corruption "snappy: ..." / "protobuf: ..." (400).
storage::result<write_batch> decode_remote_write(std::string_view compressed, int64_t now_ms,
                                                 const write_settings& settings,
                                                 size_t max_decoded_bytes);

// -- encoding (tests, benchmarks, load generators) ---------------------------

/// One TimeSeries to encode; labels are written in the given order.
struct write_series {
  std::vector<storage::label> labels;
  std::vector<storage::sample> samples;
};

/// Canonical protobuf encoding of a WriteRequest (not compressed), byte for
/// byte what libprotobuf produces for the same message.
std::string encode_write_request(const std::vector<write_series>& series,
                                 const std::vector<metadata_entry>& metadata = {});

}  // namespace nl::protocol

#pragma once
// The dense sample encoding of block chunk records (record encoding 2).
// Byte layout: storage/FORMAT.md, "Chunks (dense)".
//
// Timestamps are deltas of deltas; the first timestamp is not stored, the
// caller passes it (a block's index holds each record's first and last
// timestamp). Values are stored as integers whenever that is exact: every
// value is m / 10^p for integers m ("decimal": gauges rounded to cents,
// counts), or the previous value plus k / 10^p in float arithmetic ("sum":
// counters accumulating decimal increments onto any float), or else the
// bit patterns themselves ("bits"). The integers are stored as they are,
// as deltas or as deltas of deltas, in a per-record range code
// (packed_ints.hpp). Values a kind cannot represent (NaNs such as the
// staleness marker, ±Inf, -0.0, ...) are exceptions with their raw bits;
// when no integer kind pays, the values are a Gorilla XOR bit stream. The
// encoder checks every value by decoding it, so decoding is bit-exact.
//
// Thread-safety: all functions may be called concurrently.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/chunk/chunk.hpp"
#include "storage/sample.hpp"
#include "storage/status.hpp"

namespace nl::storage {

/// At most this many samples per dense chunk (the XOR chunk's limit too).
constexpr size_t dense_chunk_max_samples = 65535;

/// Appends the dense encoding of s[0..n) to `out`; s[0].t is not stored.
/// Timestamps may be any int64 sequence (the block writer passes strictly
/// increasing ones). REQUIRES: 1 <= n <= dense_chunk_max_samples.
void encode_dense_chunk(const sample* s, size_t n, std::string& out);

/// Appends the samples of `data` (one whole dense chunk, nothing after it)
/// to `out`, the first at time `t0`. corruption on truncated, malformed or
/// trailing bytes; `out` then holds what it held before. Never reads
/// outside `data`.
status decode_dense_chunk(std::string_view data, int64_t t0, std::vector<sample>& out);

/// The sample count in the first bytes of `data`, or 0 when malformed.
size_t dense_chunk_samples(std::string_view data);

/// One dense chunk as a chunk (chunk.hpp), decoded where the samples are
/// needed. A block read hands its dense records out as these, so a query
/// decodes each record once, straight into samples. The bytes are either
/// a copy of the chunk's own or, for a block's record, the block's mapped
/// file itself, kept mapped by the chunk (no copy per read; the pages are
/// the page cache's, not the query's heap).
class dense_chunk final : public chunk {
 public:
  /// A block's record whose CRC matched, with the first and last
  /// timestamps from the block's index; invalid_argument when the sample
  /// count is malformed. The rest is checked whenever it is decoded:
  /// corruption when the bytes do not decode, the timestamps do not
  /// strictly increase or the last one is not `max_t`. With an `owner`
  /// the chunk refers to `data` instead of copying it: `data` must stay
  /// valid and unchanged as long as `owner` lives (the chunk keeps it).
  static result<dense_chunk> of_record(std::string_view data, int64_t min_t, int64_t max_t,
                                       std::shared_ptr<const void> owner = nullptr);
  /// Bytes from outside (network), checked now by decoding every sample:
  /// corruption when malformed or when the timestamps do not strictly
  /// increase; the last timestamp becomes max_time().
  static result<dense_chunk> from_bytes(std::string_view data, int64_t min_t);

  uint16_t num_samples() const override { return num_samples_; }
  std::string_view bytes() const override { return bytes_; }
  /// Decodes the whole record (the encoding has no random access), checks
  /// it, and appends its samples in [mint, maxt].
  status decode(int64_t mint, int64_t maxt, std::vector<sample>& out) const override;

 private:
  dense_chunk(std::string_view bytes, std::shared_ptr<const void> owner, int64_t min_t, int64_t max_t,
              uint16_t n)
    : chunk(chunk_encoding::dense, min_t, max_t), owner_(std::move(owner)), bytes_(bytes), num_samples_(n) {}
  /// Owns a copy of `bytes` (on the heap, so moving the chunk keeps
  /// bytes_ valid).
  static dense_chunk copied(std::string_view bytes, int64_t min_t, int64_t max_t, uint16_t n);

  std::shared_ptr<const void> owner_;  ///< keeps bytes_ valid
  std::string_view bytes_;
  uint16_t num_samples_;
};

}  // namespace nl::storage

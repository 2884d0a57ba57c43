#pragma once
// The encoded samples of one series as reads hand them out: an XOR chunk
// (xor_chunk.hpp: the head, remote read, imported Prometheus blocks) or a
// dense record of a block (dense_chunk.hpp), decoded where the samples are
// needed, with one entry point (decode_chunks) for both. A block's dense
// record is handed out as it is stored, so a query decodes it once instead
// of having it re-encoded as XOR chunks that are decoded again.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "storage/sample.hpp"
#include "storage/status.hpp"

namespace nl::storage {

/// How a chunk's bytes encode its samples. The numbers are the `encoding`
/// byte of block chunk records (storage/FORMAT.md, "Blocks", "chunks") and
/// of cluster messages (actors/messages.hpp, chunk_data).
enum class chunk_encoding : uint8_t { xor_ = 1, dense = 2 };

/// An immutable, encoded run of samples of one series and its time range
/// (inclusive, ms). Shared as std::shared_ptr<const chunk>; safe to read
/// from any thread.
class chunk {
 public:
  virtual ~chunk() = default;

  chunk_encoding encoding() const { return encoding_; }
  int64_t min_time() const { return min_t_; }
  int64_t max_time() const { return max_t_; }
  bool overlaps(int64_t mint, int64_t maxt) const { return min_t_ <= maxt && max_t_ >= mint; }
  virtual uint16_t num_samples() const = 0;
  /// The encoded bytes (without the dense encoding's first timestamp,
  /// which is min_time()).
  virtual std::string_view bytes() const = 0;
  /// Appends the samples with mint <= t <= maxt to `out`, growing it at
  /// most once. corruption on malformed bytes (`out` then ends with the
  /// samples decoded before the fault, or holds what it held before).
  virtual status decode(int64_t mint, int64_t maxt, std::vector<sample>& out) const = 0;

 protected:
  chunk(chunk_encoding e, int64_t min_t, int64_t max_t) : min_t_(min_t), max_t_(max_t), encoding_(e) {}
  chunk(const chunk&) = default;
  chunk& operator=(const chunk&) = default;

 private:
  int64_t min_t_;
  int64_t max_t_;
  chunk_encoding encoding_;
};

/// About how many of `c`'s samples lie in [mint, maxt], from its header
/// alone: all of them when the chunk lies inside, else a share of them
/// proportional to the part of its time span inside (samples taken as
/// evenly spaced), at least one when the spans meet. Sample budgets are
/// checked with it while series are fetched, before anything is decoded.
uint64_t estimate_samples_in(const chunk& c, int64_t mint, int64_t maxt);

/// Appends the samples with mint <= t <= maxt of one series' chunks
/// (ordered by min_time) to `out`, reserving room for them first. Chunks
/// may overlap (out-of-order data, overlapping blocks): their samples are
/// merged so that `out` stays strictly increasing in t, and of samples
/// with equal timestamps the one from the earlier chunk is kept.
/// corruption on malformed bytes.
status decode_chunks(const std::vector<std::shared_ptr<const chunk>>& chunks, int64_t mint, int64_t maxt,
                     std::vector<sample>& out);

}  // namespace nl::storage

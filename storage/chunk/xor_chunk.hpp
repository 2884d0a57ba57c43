#pragma once
// Gorilla-style XOR chunk, bit-compatible with Prometheus' chunkenc XOR chunk
// (remote read type XOR = 1), so its bytes can be served as they are.
// Byte layout: storage/FORMAT.md#chunks-xor.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "storage/chunk/bitstream.hpp"
#include "storage/chunk/chunk.hpp"
#include "storage/chunk/chunk_block.hpp"
#include "storage/chunk/chunk_pages.hpp"
#include "storage/prefetch.hpp"
#include "storage/sample.hpp"
#include "storage/status.hpp"

namespace nl::storage {

class xor_iterator;

/// An immutable, encoded chunk plus its time range (inclusive, ms). Shared
/// between the head and queries as std::shared_ptr<const xor_chunk>; safe to
/// read from any thread. Its bytes are an exact-size copy on the heap or,
/// for the head's closed chunks, in a chunk_block (chunk_pages, chunk_files)
/// that it holds a reference to.
class xor_chunk final : public chunk {
 public:
  /// What decoding a chunk's bytes tells about it.
  struct summary {
    int64_t min_t;
    int64_t max_t;
    double last_v;
    uint16_t samples;
  };

  /// Copies already-encoded bytes whose range and last value are known
  /// (e.g. from the appender). REQUIRES: bytes are a valid chunk with that
  /// range, ending with a sample (max_t, last_v).
  xor_chunk(std::string_view bytes, int64_t min_t, int64_t max_t, double last_v);
  xor_chunk(const std::vector<uint8_t>& bytes, int64_t min_t, int64_t max_t, double last_v)
    : xor_chunk(std::string_view{reinterpret_cast<const char*>(bytes.data()), bytes.size()}, min_t, max_t,
                last_v) {}
  /// Takes `size` bytes at `data` held by one reference to `owner`, which
  /// the chunk gives back when it is destroyed.
  xor_chunk(const uint8_t* data, size_t size, chunk_block* owner, const summary& s);
  xor_chunk(const xor_chunk& other);
  xor_chunk(xor_chunk&& other) noexcept;
  xor_chunk& operator=(const xor_chunk&) = delete;
  xor_chunk& operator=(xor_chunk&&) = delete;
  ~xor_chunk() override;

  /// Checks bytes from outside (disk, network) by decoding every sample:
  /// corruption when truncated or malformed, invalid_argument when empty.
  static result<summary> check(std::string_view bytes);
  /// The sample count in the bytes' header (0 when shorter than it),
  /// without decoding.
  static uint16_t header_count(std::string_view bytes);
  /// check(), then a heap copy.
  static result<xor_chunk> from_bytes(std::string_view bytes);
  /// `c` moved into `pages` (object and control block).
  static std::shared_ptr<const xor_chunk> share_in(chunk_pages& pages, xor_chunk&& c);

  std::string_view bytes() const override { return {reinterpret_cast<const char*>(data_), size_}; }
  uint16_t num_samples() const override;
  /// The value of the sample at max_time(), bit-exact: an instant selector
  /// whose lookup time is at or after max_time() needs no decoding.
  double last_value() const { return last_v_; }
  /// The iterator borrows this chunk's bytes: keep the chunk alive.
  xor_iterator iterator() const;
  /// Appends the samples with mint <= t <= maxt to `out` in one pass,
  /// growing `out` at most once. corruption on malformed bytes (`out` then
  /// ends with the samples decoded before the fault).
  status decode(int64_t mint, int64_t maxt, std::vector<sample>& out) const override;

 private:
  static status decode_bytes(std::string_view bytes, int64_t mint, int64_t maxt, std::vector<sample>& out);

  // samples_ and size_ fit in chunk's tail padding: the object is 56
  // bytes. samples_ answers num_samples() without touching the bytes
  // (truncation counts every chunk it drops; bytes in a chunk file would
  // fault back in) and is checked against the bytes' header when they are
  // decoded, so a page of a chunk file the kernel lost reads as damage,
  // not as an empty chunk.
  uint16_t samples_;
  uint32_t size_;
  const uint8_t* data_;
  chunk_block* owner_;  // holds data_; nullptr: data_ is from new[]
  double last_v_;
};

/// `c` as XOR chunks, for where Prometheus' XOR bytes are needed (remote
/// read's streamed chunks): `c` itself when it is one, else its samples
/// re-encoded in chunks of `samples_per_chunk` counted from its first
/// sample, of which those overlapping [mint, maxt] are appended to `out`.
/// corruption when `c` does not decode.
status append_as_xor(const std::shared_ptr<const chunk>& c, int64_t mint, int64_t maxt, size_t samples_per_chunk,
                     std::vector<std::shared_ptr<const xor_chunk>>& out);

/// Encodes samples into an open chunk. No per-sample allocation beyond the
/// geometric growth of one byte buffer. Single-threaded.
class xor_appender {
 public:
  /// Enough for the header, the first sample and a few more.
  static constexpr size_t initial_reserve = 128;
  /// `reserve` bytes are allocated up front (a regular 120-sample chunk
  /// needs ~150-250).
  explicit xor_appender(size_t reserve = initial_reserve);

  /// What an appender carries beyond its bytes: the state after the last
  /// sample. A head snapshot stores it beside the open chunk's bytes, so
  /// that a restart continues the chunk without decoding it.
  struct state {
    int64_t first_t;
    int64_t t;
    uint64_t t_delta;
    uint64_t value_bits;
    uint8_t leading;    // 0xff: no leading/trailing window yet
    uint8_t trailing;
    uint8_t free_bits;  // unused (zero) low bits of the last byte, 0..7
  };
  /// REQUIRES: !empty().
  state saved_state() const;
  /// Continues the chunk `bytes` from `s` (saved_state() of the appender
  /// that wrote them) as that appender would, in this appender's buffer.
  /// corruption (this appender unchanged) when `s` cannot be the state
  /// after those bytes as far as that shows without decoding them (no
  /// samples, a count of one with a step, times out of order, an
  /// impossible window, bits set after the last one).
  status restore(std::string_view bytes, const state& s);

  /// Encodes (t, v) after the previous sample. Any int64 step (even
  /// negative) round-trips, as in Prometheus; ordering is the caller's job.
  /// The caller cuts the chunk before 65535 samples.
  void append(int64_t t, double v);

  uint16_t num_samples() const { return count_; }
  bool empty() const { return count_ == 0; }
  /// Valid when !empty().
  int64_t min_time() const { return first_t_; }
  int64_t max_time() const { return t_; }
  double last_value() const { return v_; }
  /// Speed hint: fetch the bytes the next append() writes into the cache.
  void prefetch_tail() const {
    if (!w_.buffer().empty())
      nl::storage::prefetch_for_write(w_.buffer().data() + w_.buffer().size() - 1);
  }
  std::string_view bytes() const { return w_.bytes(); }
  size_t capacity() const { return w_.buffer().capacity(); }

  /// A frozen copy of the samples so far (the bytes are copied).
  std::shared_ptr<const xor_chunk> snapshot() const;
  /// The encoded chunk as a heap copy; the appender starts an empty chunk
  /// in the same buffer. REQUIRES: !empty().
  std::shared_ptr<const xor_chunk> cut();
  /// Empties the chunk, keeping the buffer: a series' chunks have similar
  /// sizes, and a buffer grown again from nothing for every chunk, in step
  /// with every other series, leaves the allocator's small size classes
  /// with slabs pinned by a few survivors (chunk_pages.hpp).
  void reset();

 private:
  void write_value(double v);

  // The small fields go into the writer's tail padding: an appender is
  // 64 bytes, not 72, in every series of the head.
  [[no_unique_address]] bit_writer w_;
  uint16_t count_ = 0;
  uint8_t leading_ = 0xff;  // 0xff: no leading/trailing window yet
  uint8_t trailing_ = 0;
  int64_t first_t_ = 0;
  int64_t t_ = 0;
  uint64_t t_delta_ = 0;
  double v_ = 0;
};

/// What an XOR decoder carries from one sample to the next.
struct xor_decode_state {
  int64_t t = 0;
  uint64_t t_delta = 0;
  uint64_t value_bits = 0;
  uint8_t leading = 0;
  uint8_t trailing = 0;
};

/// Decodes a chunk sample by sample. Stops with error() set on truncated or
/// malformed bytes; never reads outside the given bytes.
class xor_iterator {
 public:
  /// `bytes` must outlive the iterator.
  explicit xor_iterator(std::string_view bytes);

  /// Advances to the next sample; false at the end or on error.
  bool next();
  /// The current sample; valid after next() returned true.
  sample at() const { return {st_.t, float_from_bits(st_.value_bits)}; }
  /// ok, or corruption describing where decoding failed.
  const status& error() const { return err_; }
  uint16_t num_samples() const { return total_; }

 private:
  friend class xor_chunk;  // decode() continues from an iterator's state
  bool fail(const char* what);

  bit_reader r_;
  status err_;
  uint16_t total_ = 0;
  uint16_t read_ = 0;
  xor_decode_state st_;
};

}  // namespace nl::storage

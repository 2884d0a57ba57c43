#include "storage/chunk/packed_ints.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "storage/coding.hpp"

// ints(n), n known to the reader (storage/FORMAT.md, "Chunks (dense)"):
//   base <varint>  head <uvarint> = max << 1 | (nexc > 0)
//   [nexc <uvarint>]     only when head bit 0 is set; 1 <= nexc <= n
//   codes: n offsets s_i = x_i - base (mod 2^64), exceptions' s_i = 0, in
//     the truncated binary code of [0, max]: w = bit length of max,
//     u = 2^w - max - 1; s < u takes w-1 bits holding s; any other s
//     takes w bits holding s if s < 2^(w-1), else s + u. Bits LSB first
//     (bit k of the codes is bit k%8 of byte k/8); a reader takes the low
//     w-1 bits y, and if y >= u the w-bit code c: s = c - u if its top bit
//     is set, else c. The last byte is padded with zeros.
//   nexc × (gap <uvarint> | x <varint>): x_i at i = previous i + 1 + gap
//     (the first: gap)
// Arithmetic wraps modulo 2^64, so any int64 sequence round-trips; max is
// below 2^63 (wider offsets are exceptions).

namespace nl::storage {

namespace {

int bit_length(uint64_t u) { return u == 0 ? 0 : 64 - __builtin_clzll(u); }

uint64_t offset_of(int64_t x, int64_t base) { return static_cast<uint64_t>(x) - static_cast<uint64_t>(base); }

// The code of [0, max]: offsets below `u` take w - 1 bits, the others w.
struct code_shape {
  int w;
  uint64_t u;
};

code_shape shape_of(uint64_t max) {
  int w = bit_length(max);
  // 2^w - max - 1 modulo 2^64 is ~max for w == 64.
  uint64_t u = w == 64 ? ~max : (uint64_t{1} << w) - max - 1;
  return {w, u};
}

size_t code_bits(size_t shorts, size_t longs, const code_shape& c) {
  return c.w == 0 ? 0 : shorts * static_cast<size_t>(c.w - 1) + longs * static_cast<size_t>(c.w);
}

// Little-endian bit appender.
class bit_sink {
 public:
  explicit bit_sink(std::string& out) : out_(out) {}
  void put(uint64_t code, int len) {
    if (len == 0)
      return;
    acc_ |= code << fill_;
    if (fill_ + len >= 64) {
      char buf[8];
      encode_fixed64(buf, acc_);
      out_.append(buf, 8);
      acc_ = fill_ == 0 ? 0 : code >> (64 - fill_);
      fill_ = fill_ + len - 64;
    } else {
      fill_ += len;
    }
  }
  void finish() {
    for (int i = 0; i < fill_; i += 8)
      out_.push_back(static_cast<char>(acc_ >> i));
  }

 private:
  std::string& out_;
  uint64_t acc_ = 0;
  int fill_ = 0;
};

void put_code(bit_sink& sink, uint64_t s, const code_shape& c) {
  if (c.w == 0)
    return;
  if (s < c.u)
    sink.put(s, c.w - 1);
  else
    sink.put(s >> (c.w - 1) ? s + c.u : s, c.w);
}

uint64_t load_le64(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  if constexpr (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
    w = __builtin_bswap64(w);
  return w;
}

// `len` (<= 64) bits at bit `pos`, or false past `size` bytes.
bool read_bits(const uint8_t* p, size_t size, size_t& pos, int len, uint64_t& out) {
  if (static_cast<size_t>(len) > size * 8 - std::min(size * 8, pos))
    return false;
  uint64_t v = 0;
  for (int got = 0; got < len;) {
    int off = static_cast<int>(pos & 7);
    int take = std::min(8 - off, len - got);
    uint64_t piece = (static_cast<uint64_t>(p[pos >> 3]) >> off) & ((uint64_t{1} << take) - 1);
    v |= piece << got;
    got += take;
    pos += static_cast<size_t>(take);
  }
  out = v;
  return true;
}

// Decodes n codes of shape c from `in` into out (plus base); returns the
// bytes used, or SIZE_MAX when `in` is too short.
size_t get_codes(std::string_view in, size_t n, const code_shape& c, int64_t base, int64_t* out) {
  const auto b = static_cast<uint64_t>(base);
  if (c.w == 0) {
    std::fill(out, out + n, base);
    return 0;
  }
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  const size_t size = in.size();
  size_t pos = 0;
  size_t i = 0;
  if (c.u == 0 && c.w <= 57) {
    // Fixed width (max = 2^w - 1): code i starts at bit i * w, so the codes
    // decode independently of each other (no chain through the loads). One
    // 8-byte load holds at least 57 bits from any bit position; code i's
    // load stays inside `in` while (i * w) / 8 + 8 <= size.
    const auto w = static_cast<size_t>(c.w);
    const uint64_t mask = (uint64_t{1} << w) - 1;
    const size_t fast = size < 8 ? 0 : std::min(n, ((size - 7) * 8 + w - 1) / w);
    for (size_t bit = 0; i < fast; ++i, bit += w)
      out[i] = static_cast<int64_t>(b + ((load_le64(in.data() + (bit >> 3)) >> (bit & 7)) & mask));
    pos = fast * w;
  } else if (c.w <= 57) {
    // One 8-byte load holds at least 57 bits from any bit position.
    const int short_len = c.w - 1;
    const uint64_t low = (uint64_t{1} << short_len) - 1;
    const uint64_t mask = low << 1 | 1;
    const uint64_t u = c.u;
    for (; i < n && (pos >> 3) + 8 <= size; ++i) {
      uint64_t word = load_le64(in.data() + (pos >> 3)) >> (pos & 7);
      uint64_t is_long = (word & low) >= u;
      uint64_t code = word & (mask >> (1 - is_long));       // w or w-1 bits
      uint64_t s = code - (u & (0 - (code >> short_len)));  // minus u when the top bit is set
      pos += static_cast<size_t>(short_len) + is_long;
      out[i] = static_cast<int64_t>(b + s);
    }
  }
  for (; i < n; ++i) {
    size_t at = pos;
    uint64_t y = 0;
    if (!read_bits(p, size, pos, c.w - 1, y))
      return SIZE_MAX;
    if (y >= c.u) {
      pos = at;
      if (!read_bits(p, size, pos, c.w, y))
        return SIZE_MAX;
      if (y >> (c.w - 1))
        y -= c.u;
    }
    out[i] = static_cast<int64_t>(b + y);
  }
  return (pos + 7) / 8;
}

// What a (base, max) choice costs: codes, header and exceptions, the
// exceptions' gaps estimated at one byte each (two when sparse).
size_t header_bytes(int64_t base, uint64_t max, size_t nexc) {
  return varint_length(base) + uvarint_length(max << 1) + (nexc ? uvarint_length(nexc) : 0);
}

size_t estimate(size_t n, int64_t base, uint64_t max, size_t shorts, size_t longs, size_t nexc,
                size_t exc_value_bytes) {
  size_t gaps = nexc == 0 ? 0 : nexc * (n / nexc >= 128 ? 2 : 1);
  return header_bytes(base, max, nexc) + (code_bits(shorts, longs, shape_of(max)) + 7) / 8 + exc_value_bytes
         + gaps;
}

constexpr uint64_t max_limit = (uint64_t{1} << 63) - 1;

// A fixed-width layout is chosen when it is at most 1/fixed_width_slack
// larger than the smallest truncated-binary one: records decode about
// twice as fast with it (bench/dense_chunk_bench: 5.6 -> 2.9 ns/sample)
// for ~3% more bytes, and queries spent most of their decoding time in
// the truncated code's chain.
constexpr size_t fixed_width_slack = 8;

}  // namespace

packed_plan plan_packed_ints(const int64_t* x, size_t n) {
  packed_plan plan;
  if (n == 0)
    return plan;
  // All equal (regular timestamps' deltas of deltas): base and no codes,
  // which is what the search below finds, without its sort.
  if (std::all_of(x + 1, x + n, [v = x[0]](int64_t y) { return y == v; })) {
    plan.base = x[0];
    plan.bytes = header_bytes(plan.base, 0, 0);
    return plan;
  }
  // One sort serves every candidate: for a base b = sorted[r0], the
  // offsets of sorted[r0..n) ascend and the values below b (wrapped to
  // huge offsets) are exceptions.
  thread_local std::vector<int64_t> sorted;
  thread_local std::vector<size_t> value_bytes;  // prefix sums of varint sizes
  sorted.assign(x, x + n);
  std::sort(sorted.begin(), sorted.end());
  value_bytes.resize(n + 1);
  value_bytes[0] = 0;
  for (size_t i = 0; i < n; ++i)
    value_bytes[i + 1] = value_bytes[i] + varint_length(sorted[i]);
  size_t best = SIZE_MAX;
  // The best fixed-width layout (max = 2^w - 1), decoded without a chain
  // from one code to the next; preferred unless it costs an eighth more.
  packed_plan fixed;
  size_t best_fixed = SIZE_MAX;
  // A layout is weighed once: the same base, or the same end for a base,
  // gives the same bytes again, and only a smaller size replaces the best.
  // (Short sequences repeat many: n / 64 is rank 0 below 64 values, and
  // the drops below mostly end where the widest width does.)
  size_t tried_r0[4];
  size_t num_tried_r0 = 0;
  thread_local std::vector<size_t> tried_ends;
  thread_local std::vector<uint64_t> offsets;
  // Base candidates: the minimum, and a few low order statistics so that
  // rare low outliers (a counter reset, a step back) become exceptions.
  for (size_t rank : {size_t{0}, size_t{1}, size_t{2}, n / 64}) {
    if (rank >= n)
      continue;
    const int64_t base = sorted[rank];
    const size_t r0 = static_cast<size_t>(std::lower_bound(sorted.begin(), sorted.end(), base) - sorted.begin());
    if (std::find(tried_r0, tried_r0 + num_tried_r0, r0) != tried_r0 + num_tried_r0)
      continue;
    tried_r0[num_tried_r0++] = r0;
    tried_ends.clear();
    // The offsets from this base of sorted[r0..n), ascending.
    offsets.resize(n - r0);
    for (size_t i = r0; i < n; ++i)
      offsets[i - r0] = offset_of(sorted[i], base);
    auto count_below = [&](uint64_t limit) {  // offsets < limit
      return static_cast<size_t>(std::lower_bound(offsets.begin(), offsets.end(), limit) - offsets.begin());
    };
    // Codes for sorted[r0, end), end > r0. `fixed_end`: where the
    // fixed-width layout of that width ends, when the caller knows it.
    auto consider = [&](size_t end, size_t fixed_end = SIZE_MAX) {
      if (std::find(tried_ends.begin(), tried_ends.end(), end) != tried_ends.end())
        return;
      tried_ends.push_back(end);
      uint64_t max = offsets[end - 1 - r0];
      if (max > max_limit)
        return;
      auto c = shape_of(max);
      size_t shorts = count_below(c.u);
      size_t in = end - r0;
      size_t nexc = n - in;
      size_t exc_bytes = value_bytes[r0] + (value_bytes[n] - value_bytes[end]);
      size_t bytes = estimate(n, base, max, shorts, in - shorts, nexc, exc_bytes);
      if (bytes < best) {
        best = bytes;
        plan.base = base;
        plan.max = max;
      }
      // The same width with max = 2^w - 1: every code w bits, which may
      // take offsets up to 2^w - 1 out of the exceptions.
      const uint64_t fixed_max = c.w == 0 ? 0 : max_limit >> (63 - c.w);
      if (fixed_end == SIZE_MAX)
        fixed_end = r0 + count_below(fixed_max + 1);
      const size_t fixed_bytes =
        estimate(n, base, fixed_max, 0, fixed_end - r0, n - (fixed_end - r0),
                 value_bytes[r0] + (value_bytes[n] - value_bytes[fixed_end]));
      if (fixed_bytes < best_fixed) {
        best_fixed = fixed_bytes;
        fixed.base = base;
        fixed.max = fixed_max;
      }
    };
    // Every bit width below 63, and the top few values as exceptions. A
    // width that takes no more values than a narrower one gives the same
    // layout again, so only the widths that take more are weighed: the bit
    // lengths of the offsets present, each the smallest width taking the
    // next value. (The offsets ascend: each width's end is found by
    // walking on from the last.)
    for (size_t taken = r0; taken < n;) {
      int w = bit_length(offsets[taken - r0]);
      if (w >= 63)
        break;
      // Every offset below 2^w: the fixed-width layout takes the same.
      const uint64_t limit = uint64_t{1} << w;
      size_t end = taken;
      while (end < n && offsets[end - r0] < limit)
        ++end;
      consider(end, end);
      taken = end;
    }
    for (size_t drop : {size_t{0}, size_t{1}, size_t{2}, n / 64, n / 16})
      if (drop < n && n - drop > r0)
        consider(n - drop);
  }
  if (best_fixed <= best + best / fixed_width_slack)
    plan = fixed;
  // The exact size of the chosen layout.
  auto c = shape_of(plan.max);
  size_t shorts = 0, longs = 0, nexc = 0, exc_bytes = 0, next = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t s = offset_of(x[i], plan.base);
    if (s > plan.max) {
      exc_bytes += uvarint_length(i - next) + varint_length(x[i]);
      next = i + 1;
      ++nexc;
      s = 0;
    }
    (s < c.u ? shorts : longs) += 1;
  }
  plan.bytes = header_bytes(plan.base, plan.max, nexc) + (code_bits(shorts, longs, c) + 7) / 8 + exc_bytes;
  return plan;
}

void put_packed_ints(std::string& out, const int64_t* x, size_t n, const packed_plan& plan) {
  if (n == 0)
    return;
  size_t nexc = 0;
  for (size_t i = 0; i < n; ++i)
    nexc += offset_of(x[i], plan.base) > plan.max;
  put_varint(out, plan.base);
  put_uvarint(out, plan.max << 1 | (nexc ? 1 : 0));
  if (nexc)
    put_uvarint(out, nexc);
  const auto c = shape_of(plan.max);
  bit_sink sink(out);
  for (size_t i = 0; i < n; ++i) {
    uint64_t s = offset_of(x[i], plan.base);
    put_code(sink, s > plan.max ? 0 : s, c);
  }
  sink.finish();
  size_t next = 0;
  for (size_t i = 0; i < n; ++i)
    if (offset_of(x[i], plan.base) > plan.max) {
      put_uvarint(out, i - next);
      put_varint(out, x[i]);
      next = i + 1;
    }
}

bool get_packed_ints(std::string_view& in, size_t n, int64_t* out) {
  if (n == 0)
    return true;
  int64_t base = 0;
  uint64_t head = 0, nexc = 0;
  if (!get_varint(in, base) || !get_uvarint(in, head))
    return false;
  const uint64_t max = head >> 1;
  if ((head & 1) && (!get_uvarint(in, nexc) || nexc == 0 || nexc > n))
    return false;
  size_t used = get_codes(in, n, shape_of(max), base, out);
  if (used == SIZE_MAX)
    return false;
  in.remove_prefix(used);
  size_t next = 0;
  for (uint64_t e = 0; e < nexc; ++e) {
    uint64_t gap = 0;
    int64_t v = 0;
    if (!get_uvarint(in, gap) || !get_varint(in, v) || gap >= n - next)
      return false;
    next += static_cast<size_t>(gap);
    out[next++] = v;
  }
  return true;
}

}  // namespace nl::storage

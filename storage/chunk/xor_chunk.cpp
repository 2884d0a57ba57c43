#include "storage/chunk/xor_chunk.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

// Layout (Prometheus chunkenc XOR, bits MSB-first; see storage/FORMAT.md, "Chunks (XOR)"):
//   u16 big-endian sample count
//   sample 0: varint(t0) (zigzag), 64 value bits
//   sample 1: uvarint(t1 - t0), value delta
//   sample n: delta-of-delta in buckets '0' | '10'+14 | '110'+17 | '1110'+20
//             | '1111'+64 bits, then value delta
//   value delta: '0' if equal bits, else '1' then '0'+bits inside the
//             previous leading/trailing window, or '1'+5 bits leading
//             (capped at 31)+6 bits significant count (64 written as 0)+bits.
// Timestamp arithmetic is done on uint64 so that any int64 step wraps the
// way Go's does instead of being undefined behaviour.

namespace nl::storage {

namespace {

constexpr size_t header_size = 2;

uint16_t read_count(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Whether dod fits the n-bit bucket: -(2^(n-1)-1) <= dod <= 2^(n-1).
bool fits(int64_t dod, int n) {
  int64_t half = int64_t{1} << (n - 1);
  return dod >= -(half - 1) && dod <= half;
}

status decode_fault(const char* what, size_t sample_index) {
  return status::corruption(std::string("xor chunk: ") + what + " in sample " +
                            std::to_string(sample_index));
}

// Takes a new leading/trailing window (5 bits leading zeros, 6 bits
// significant count with 64 written as 0). Returns the fault, or nullptr.
inline const char* set_window(xor_decode_state& s, uint64_t leading, uint64_t sig) {
  if (sig == 0)
    sig = 64;
  if (leading + sig > 64)
    return "value window wider than 64 bits";
  s.leading = static_cast<uint8_t>(leading);
  s.trailing = static_cast<uint8_t>(64 - leading - sig);
  return nullptr;
}

// Reads the significant bits of a changed value and applies them.
inline const char* read_value_bits(bit_reader& r, xor_decode_state& s) {
  int sig = 64 - s.leading - s.trailing;
  uint64_t bits;
  if (!r.read_bits(sig, bits))
    return "truncated value";
  // sig == 64 only with trailing 0, so the shift is always < 64.
  s.value_bits ^= bits << s.trailing;
  return nullptr;
}

// Reads a value delta (after the timestamp) onto s.value_bits. Returns the
// fault, or nullptr.
inline const char* read_value_delta(bit_reader& r, xor_decode_state& s) {
  bool changed;
  if (!r.read_bit(changed))
    return "truncated value";
  if (!changed)
    return nullptr;
  bool new_window;
  if (!r.read_bit(new_window))
    return "truncated value";
  if (new_window) {
    uint64_t leading, sig;
    if (!r.read_bits(5, leading) || !r.read_bits(6, sig))
      return "truncated value";
    if (const char* what = set_window(s, leading, sig))
      return what;
  }
  return read_value_bits(r, s);
}

constexpr int bucket_bits[] = {0, 14, 17, 20, 64};

// Adds a delta of delta read as the n-bit two's complement-like raw value.
inline void add_dod(xor_decode_state& s, uint64_t raw, int n) {
  if (n > 0 && n < 64 && raw > (uint64_t{1} << (n - 1)))
    raw -= uint64_t{1} << n;  // negative values come back as large ones
  s.t_delta += raw;
  s.t = static_cast<int64_t>(static_cast<uint64_t>(s.t) + s.t_delta);
}

// Takes the third or a later sample out of `w`, the next bits as peeked
// (at least 57 valid). Handles the common shapes with that one load and no
// bounds checks: a delta of delta in the 0/14/17/20-bit buckets, then a
// value that is unchanged, or changed within the previous window or a
// valid new one, as long as its bits end inside `w` (a regular step and a
// counter's few changed mantissa bits use ~3 + 20-40 bits). Returns false
// with nothing consumed for everything else: the bounded bit-by-bit path
// then reads the sample and reports any fault.
[[gnu::always_inline]] inline bool take_later_sample(uint64_t w, bit_reader& r,
                                                     xor_decode_state& s) {
  constexpr int valid = 57;
  uint64_t t_delta = s.t_delta;
  int used;
  if (static_cast<int64_t>(w) >= 0) {
    used = 1;  // '0': the same step as before
  } else {
    int ones = std::min(4, __builtin_clzll(~w | 1));  // >= 1: the top bit is set
    if (ones == 4)
      return false;  // the 64-bit bucket
    int n = 11 + 3 * ones;  // '10' 14, '110' 17, '1110' 20 bits
    used = ones + 1;
    uint64_t raw = (w << used) >> (64 - n);
    if (raw > (uint64_t{1} << (n - 1)))
      raw -= uint64_t{1} << n;
    t_delta += raw;
    used += n;
  }
  uint64_t bits = s.value_bits;
  int leading = s.leading;
  int trailing = s.trailing;
  if (((w << used) >> 63) == 0) {
    ++used;  // value unchanged
  } else {
    if ((w << (used + 1)) >> 63) {
      int lead = static_cast<int>((w << (used + 2)) >> 59);
      int sig = static_cast<int>((w << (used + 7)) >> 58);
      if (sig == 0)
        sig = 64;
      if (lead + sig > 64)
        return false;
      leading = lead;
      trailing = 64 - lead - sig;
      used += 13;
    } else {
      used += 2;
    }
    int sig = 64 - leading - trailing;
    if (used + sig > valid)
      return false;
    bits ^= ((w << used) >> (64 - sig)) << trailing;
    used += sig;
  }
  s.t_delta = t_delta;
  s.t = static_cast<int64_t>(static_cast<uint64_t>(s.t) + t_delta);
  s.value_bits = bits;
  s.leading = static_cast<uint8_t>(leading);
  s.trailing = static_cast<uint8_t>(trailing);
  r.skip(used);
  return true;
}

// Reads the third or a later sample: delta of delta, then value. Always
// inlined: in xor_chunk::decode's loop the state then stays in registers.
[[gnu::always_inline]] inline const char* read_later_sample(bit_reader& r, xor_decode_state& s) {
  uint64_t w;
  if (r.peek(w) && take_later_sample(w, r, s))
    return nullptr;
  // Up to four prefix bits select the delta-of-delta bucket.
  int ones = 0;
  for (; ones < 4; ++ones) {
    bool bit;
    if (!r.read_bit(bit))
      return "truncated timestamp";
    if (!bit)
      break;
  }
  int n = bucket_bits[ones];
  uint64_t raw = 0;
  if (n > 0 && !r.read_bits(n, raw))
    return "truncated timestamp";
  add_dod(s, raw, n);
  return read_value_delta(r, s);
}

}  // namespace

// -- xor_chunk --------------------------------------------------------------

namespace {

const uint8_t* heap_copy(std::string_view bytes) {
  if (bytes.empty())
    return nullptr;
  auto* to = new uint8_t[bytes.size()];
  std::memcpy(to, bytes.data(), bytes.size());
  return to;
}

}  // namespace

// A head holds one per closed chunk.
static_assert(sizeof(xor_chunk) <= 56);

xor_chunk::xor_chunk(std::string_view bytes, int64_t min_t, int64_t max_t, double last_v)
  : chunk(chunk_encoding::xor_, min_t, max_t),
    samples_(header_count(bytes)),
    size_(static_cast<uint32_t>(bytes.size())),
    data_(heap_copy(bytes)),
    owner_(nullptr),
    last_v_(last_v) {}

xor_chunk::xor_chunk(const uint8_t* data, size_t size, chunk_block* owner, const summary& s)
  : chunk(chunk_encoding::xor_, s.min_t, s.max_t),
    samples_(s.samples),
    size_(static_cast<uint32_t>(size)),
    data_(data),
    owner_(owner),
    last_v_(s.last_v) {}

xor_chunk::xor_chunk(const xor_chunk& other)
  : chunk(other),
    samples_(other.samples_),
    size_(other.size_),
    data_(heap_copy(other.bytes())),
    owner_(nullptr),
    last_v_(other.last_v_) {}

xor_chunk::xor_chunk(xor_chunk&& other) noexcept
  : chunk(other),
    samples_(std::exchange(other.samples_, 0)),
    size_(std::exchange(other.size_, 0)),
    data_(std::exchange(other.data_, nullptr)),
    owner_(std::exchange(other.owner_, nullptr)),
    last_v_(other.last_v_) {}

xor_chunk::~xor_chunk() {
  if (data_ == nullptr)
    return;
  if (owner_ != nullptr)
    owner_->unref();
  else
    delete[] data_;
}

std::shared_ptr<const xor_chunk> xor_chunk::share_in(chunk_pages& pages, xor_chunk&& c) {
  return std::allocate_shared<const xor_chunk>(chunk_page_allocator<xor_chunk>{pages}, std::move(c));
}

result<xor_chunk::summary> xor_chunk::check(std::string_view bytes) {
  // decode()'s fast loop (chunks from blocks, imports and peers come
  // through here); the range and last value come from the samples.
  thread_local std::vector<sample> scratch;
  scratch.clear();
  if (auto st = decode_bytes(bytes, INT64_MIN, INT64_MAX, scratch); !st)
    return st;
  if (scratch.empty())
    return status::invalid_argument("xor chunk: no samples");
  return summary{scratch.front().t, scratch.back().t, scratch.back().v, static_cast<uint16_t>(scratch.size())};
}

result<xor_chunk> xor_chunk::from_bytes(std::string_view bytes) {
  auto s = check(bytes);
  if (!s)
    return s.error();
  return xor_chunk{bytes, s->min_t, s->max_t, s->last_v};
}

uint16_t xor_chunk::header_count(std::string_view bytes) {
  return bytes.size() < header_size ? 0 : read_count(reinterpret_cast<const uint8_t*>(bytes.data()));
}

uint16_t xor_chunk::num_samples() const { return samples_; }

xor_iterator xor_chunk::iterator() const { return xor_iterator{bytes()}; }

status xor_chunk::decode(int64_t mint, int64_t maxt, std::vector<sample>& out) const {
  if (!overlaps(mint, maxt))
    return status::ok();
  if (size_ >= header_size && read_count(data_) != samples_)
    return status::corruption("xor chunk: header counts " + std::to_string(read_count(data_)) + " samples, "
                              + std::to_string(samples_) + " were written");
  return decode_bytes(bytes(), mint, maxt, out);
}

status xor_chunk::decode_bytes(std::string_view bytes, int64_t mint, int64_t maxt, std::vector<sample>& out) {
  xor_iterator it{bytes};
  // The first two samples have encodings of their own: the iterator reads
  // them.
  while (it.read_ < 2) {
    if (!it.next())
      return it.error();
    sample s = it.at();
    if (s.t > maxt)
      return status::ok();
    if (s.t >= mint)
      out.push_back(s);
  }
  // The rest in a tight loop, writing into room made up front (trimmed
  // afterwards). The fast loop works on copies of the reader and state
  // that never escape it, so they live in registers; a sample it cannot
  // take goes through the bounded path, then the fast loop resumes.
  bit_reader r = it.r_;
  xor_decode_state st = it.st_;
  size_t n = out.size();
  out.resize(n + (it.total_ - it.read_));
  sample* dst = out.data();
  for (size_t i = it.read_; i < it.total_; ++i) {
    {
      bit_reader fast_r = r;
      xor_decode_state fast_st = st;
      uint64_t w;
      for (; i < it.total_ && fast_r.peek(w) && take_later_sample(w, fast_r, fast_st); ++i) {
        if (fast_st.t > maxt) {
          out.resize(n);
          return status::ok();
        }
        if (fast_st.t >= mint)
          dst[n++] = {fast_st.t, float_from_bits(fast_st.value_bits)};
      }
      r = fast_r;
      st = fast_st;
      if (i == it.total_)
        break;
    }
    if (const char* what = read_later_sample(r, st)) {
      out.resize(n);
      return decode_fault(what, i);
    }
    if (st.t > maxt)
      break;
    if (st.t >= mint)
      dst[n++] = {st.t, float_from_bits(st.value_bits)};
  }
  out.resize(n);
  return status::ok();
}

status append_as_xor(const std::shared_ptr<const chunk>& c, int64_t mint, int64_t maxt, size_t samples_per_chunk,
                     std::vector<std::shared_ptr<const xor_chunk>>& out) {
  if (c->encoding() == chunk_encoding::xor_) {
    out.push_back(std::static_pointer_cast<const xor_chunk>(c));
    return status::ok();
  }
  thread_local std::vector<sample> decoded;
  decoded.clear();
  if (auto st = c->decode(INT64_MIN, INT64_MAX, decoded); !st)
    return st;
  xor_appender app(1024);
  for (size_t i = 0; i < decoded.size(); i += samples_per_chunk) {
    size_t end = std::min(decoded.size(), i + samples_per_chunk);
    if (decoded[i].t > maxt || decoded[end - 1].t < mint)
      continue;
    for (size_t k = i; k < end; ++k)
      app.append(decoded[k].t, decoded[k].v);
    out.push_back(app.cut());
  }
  return status::ok();
}

// -- xor_appender -----------------------------------------------------------

xor_appender::xor_appender(size_t reserve) : w_(header_size, reserve) {}

xor_appender::state xor_appender::saved_state() const {
  return {first_t_, t_, t_delta_, float_bits(v_), leading_, trailing_, static_cast<uint8_t>(w_.free_bits())};
}

status xor_appender::restore(std::string_view bytes, const state& s) {
  const uint16_t count = xor_chunk::header_count(bytes);
  auto bad = [](const std::string& what) { return status::corruption("xor chunk: appender state " + what); };
  if (count == 0 || bytes.size() <= header_size)
    return bad("for a chunk without samples");
  // One sample: no step, no value window yet. Two: the step is the span.
  if (s.t < s.first_t || (count == 1 && (s.t != s.first_t || s.t_delta != 0))
      || (count == 2 && s.t_delta != static_cast<uint64_t>(s.t) - static_cast<uint64_t>(s.first_t)))
    return bad("with times that do not fit its " + std::to_string(count) + " samples");
  if (s.leading != 0xff && (count == 1 || s.leading > 31 || s.leading + s.trailing > 63))
    return bad("with an impossible value window");
  if (s.free_bits > 7 || (static_cast<uint8_t>(bytes.back()) & ((1u << s.free_bits) - 1)) != 0)
    return bad("with bits set after the last sample");
  // Room to go on as a fresh chunk would, not just the bytes so far.
  w_.buffer().reserve(std::max(initial_reserve, bytes.size() + 16));
  w_.assign(bytes, s.free_bits);
  count_ = count;
  leading_ = s.leading;
  trailing_ = s.trailing;
  first_t_ = s.first_t;
  t_ = s.t;
  t_delta_ = s.t_delta;
  v_ = float_from_bits(s.value_bits);
  return status::ok();
}

void xor_appender::append(int64_t t, double v) {
  uint64_t t_delta = 0;
  if (count_ == 0) {
    w_.write_varint(t);
    w_.write_bits(float_bits(v), 64);
    first_t_ = t;
  } else if (count_ == 1) {
    t_delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(t_);
    w_.write_uvarint(t_delta);
    write_value(v);
  } else {
    t_delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(t_);
    auto dod = static_cast<int64_t>(t_delta - t_delta_);
    if (dod == 0) {
      w_.write_bit(false);
    } else if (fits(dod, 14)) {
      w_.write_bits(0b10, 2);
      w_.write_bits(static_cast<uint64_t>(dod), 14);
    } else if (fits(dod, 17)) {
      w_.write_bits(0b110, 3);
      w_.write_bits(static_cast<uint64_t>(dod), 17);
    } else if (fits(dod, 20)) {
      w_.write_bits(0b1110, 4);
      w_.write_bits(static_cast<uint64_t>(dod), 20);
    } else {
      w_.write_bits(0b1111, 4);
      w_.write_bits(static_cast<uint64_t>(dod), 64);
    }
    write_value(v);
  }
  t_ = t;
  v_ = v;
  t_delta_ = t_delta;
  ++count_;
  auto& buf = w_.buffer();
  buf[0] = static_cast<uint8_t>(count_ >> 8);
  buf[1] = static_cast<uint8_t>(count_);
}

void xor_appender::write_value(double v) {
  uint64_t delta = float_bits(v) ^ float_bits(v_);
  if (delta == 0) {
    w_.write_bit(false);
    return;
  }
  w_.write_bit(true);
  auto leading = static_cast<uint8_t>(__builtin_clzll(delta));
  auto trailing = static_cast<uint8_t>(__builtin_ctzll(delta));
  // Five bits hold the leading count; more zeros are then sent as
  // significant bits, exactly as Prometheus does.
  if (leading >= 32)
    leading = 31;
  if (leading_ != 0xff && leading >= leading_ && trailing >= trailing_) {
    w_.write_bit(false);
    w_.write_bits(delta >> trailing_, 64 - leading_ - trailing_);
    return;
  }
  leading_ = leading;
  trailing_ = trailing;
  w_.write_bit(true);
  w_.write_bits(leading, 5);
  int sig = 64 - leading - trailing;  // 1..64; 64 is written as 0
  w_.write_bits(static_cast<uint64_t>(sig), 6);
  w_.write_bits(delta >> trailing, sig);
}

std::shared_ptr<const xor_chunk> xor_appender::snapshot() const {
  return std::make_shared<const xor_chunk>(bytes(), first_t_, t_, v_);
}

std::shared_ptr<const xor_chunk> xor_appender::cut() {
  auto out = std::make_shared<const xor_chunk>(bytes(), first_t_, t_, v_);
  reset();
  return out;
}

void xor_appender::reset() {
  w_.restart(header_size);
  count_ = 0;
  leading_ = 0xff;
  trailing_ = 0;
  t_delta_ = 0;
}

// -- xor_iterator -----------------------------------------------------------

xor_iterator::xor_iterator(std::string_view bytes) {
  if (bytes.size() < header_size) {
    err_ = status::corruption("xor chunk: shorter than its header");
    return;
  }
  total_ = read_count(reinterpret_cast<const uint8_t*>(bytes.data()));
  r_ = bit_reader{bytes.substr(header_size)};
}

bool xor_iterator::fail(const char* what) {
  err_ = decode_fault(what, read_);
  return false;
}

bool xor_iterator::next() {
  if (!err_ || read_ == total_)
    return false;
  if (read_ == 0) {
    int64_t t;
    uint64_t bits;
    if (!r_.read_varint(t))
      return fail("bad first timestamp");
    if (!r_.read_bits(64, bits))
      return fail("truncated first value");
    st_.t = t;
    st_.value_bits = bits;
  } else if (read_ == 1) {
    if (!r_.read_uvarint(st_.t_delta))
      return fail("bad timestamp delta");
    st_.t = static_cast<int64_t>(static_cast<uint64_t>(st_.t) + st_.t_delta);
    if (const char* what = read_value_delta(r_, st_))
      return fail(what);
  } else if (const char* what = read_later_sample(r_, st_)) {
    return fail(what);
  }
  ++read_;
  return true;
}

}  // namespace nl::storage

#include "storage/xor_chunk.hpp"

#include <algorithm>

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

}  // namespace

// -- xor_chunk --------------------------------------------------------------

result<xor_chunk> xor_chunk::from_bytes(std::string_view bytes) {
  xor_iterator it{bytes};
  int64_t mint = 0;
  int64_t maxt = 0;
  bool first = true;
  while (it.next()) {
    if (first)
      mint = it.at().t;
    first = false;
    maxt = it.at().t;
  }
  if (!it.error())
    return it.error();
  if (first)
    return status::invalid_argument("xor chunk: no samples");
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  return xor_chunk{std::move(copy), mint, maxt};
}

uint16_t xor_chunk::num_samples() const {
  return bytes_.size() < header_size ? 0 : read_count(bytes_.data());
}

xor_iterator xor_chunk::iterator() const { return xor_iterator{bytes()}; }

status xor_chunk::decode(int64_t mint, int64_t maxt, std::vector<sample>& out) const {
  if (!overlaps(mint, maxt))
    return status::ok();
  xor_iterator it{bytes()};
  out.reserve(out.size() + it.num_samples());
  // next() is defined in this file, so the loop below gets it inlined.
  while (it.next()) {
    sample s = it.at();
    if (s.t > maxt)
      break;
    if (s.t >= mint)
      out.push_back(s);
  }
  return it.error();
}

status decode_chunks(const std::vector<std::shared_ptr<const xor_chunk>>& chunks, int64_t mint,
                     int64_t maxt, std::vector<sample>& out) {
  size_t total = out.size();
  for (const auto& c : chunks)
    if (c->overlaps(mint, maxt))
      total += c->num_samples();
  out.reserve(total);
  for (const auto& c : chunks) {
    size_t before = out.size();
    if (auto st = c->decode(mint, maxt, out); !st)
      return st;
    if (before > 0) {
      int64_t last = out[before - 1].t;
      auto first_new = out.begin() + static_cast<std::ptrdiff_t>(before);
      out.erase(first_new, std::find_if(first_new, out.end(),
                                        [last](const sample& x) { return x.t > last; }));
    }
  }
  return status::ok();
}

// -- xor_appender -----------------------------------------------------------

xor_appender::xor_appender(size_t reserve) : w_(header_size, reserve) {}

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
  const auto& buf = w_.buffer();
  return std::make_shared<const xor_chunk>(std::vector<uint8_t>(buf.begin(), buf.end()),
                                           first_t_, t_);
}

std::shared_ptr<const xor_chunk> xor_appender::cut() {
  auto out = snapshot();
  // Keep the (already grown) buffer for the next chunk: it will need about
  // as much again, and reusing it avoids a round of reallocations.
  w_.reset(header_size);
  count_ = 0;
  leading_ = 0xff;
  trailing_ = 0;
  t_delta_ = 0;
  return out;
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
  err_ = status::corruption(std::string("xor chunk: ") + what + " in sample " +
                            std::to_string(read_));
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
    t_ = t;
    v_ = float_from_bits(bits);
    ++read_;
    return true;
  }
  if (read_ == 1) {
    if (!r_.read_uvarint(t_delta_))
      return fail("bad timestamp delta");
    t_ = static_cast<int64_t>(static_cast<uint64_t>(t_) + t_delta_);
    return read_value();
  }
  // Up to four prefix bits select the delta-of-delta bucket.
  int ones = 0;
  for (; ones < 4; ++ones) {
    bool bit;
    if (!r_.read_bit(bit))
      return fail("truncated timestamp");
    if (!bit)
      break;
  }
  static constexpr int bucket_bits[] = {0, 14, 17, 20, 64};
  int n = bucket_bits[ones];
  int64_t dod = 0;
  if (n > 0) {
    uint64_t raw;
    if (!r_.read_bits(n, raw))
      return fail("truncated timestamp");
    if (n < 64 && raw > (uint64_t{1} << (n - 1)))
      raw -= uint64_t{1} << n;  // negative values come back as large ones
    dod = static_cast<int64_t>(raw);
  }
  t_delta_ += static_cast<uint64_t>(dod);
  t_ = static_cast<int64_t>(static_cast<uint64_t>(t_) + t_delta_);
  return read_value();
}

bool xor_iterator::read_value() {
  bool changed;
  if (!r_.read_bit(changed))
    return fail("truncated value");
  if (changed) {
    bool new_window;
    if (!r_.read_bit(new_window))
      return fail("truncated value");
    if (new_window) {
      uint64_t leading, sig;
      if (!r_.read_bits(5, leading) || !r_.read_bits(6, sig))
        return fail("truncated value");
      if (sig == 0)
        sig = 64;
      if (leading + sig > 64)
        return fail("value window wider than 64 bits");
      leading_ = static_cast<uint8_t>(leading);
      trailing_ = static_cast<uint8_t>(64 - leading - sig);
    }
    int sig = 64 - leading_ - trailing_;
    uint64_t bits;
    if (!r_.read_bits(sig, bits))
      return fail("truncated value");
    // sig == 64 only with trailing 0, so the shift is always < 64.
    v_ = float_from_bits(float_bits(v_) ^ (bits << trailing_));
  }
  ++read_;
  return true;
}

}  // namespace nl::storage

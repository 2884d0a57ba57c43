#include "storage/chunk/dense_values.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "storage/chunk/bitstream.hpp"
#include "storage/chunk/packed_ints.hpp"
#include "storage/coding.hpp"

// Value section (storage/FORMAT.md, "Chunks (dense)"); ints(k): packed_ints.cpp.
//   head <1b>       bits 0-1 kind, bits 2-3 transform t of x, bits 4-7 p
//   kind 0 xor:     Gorilla value bits (FORMAT.md "Chunks (XOR)"), byte-padded
//   kind 1 decimal: x, exceptions         v_i = x_i / 10^p
//   kind 2 sum:     start <8b>, x, exc.   v_i = a_i + x_i / 10^p, a_0 = start,
//                   a_i+1 = v_i (after a non-finite exception: a_i)
//   kind 3 bits:    x                     v_i = the double whose bits are x_i
//   x by t: 0 ints(n) | 1 x0 <varint> ints(n-1) of deltas
//           | 2 x0 <varint> [x1 - x0 <varint>] ints(n-2) of deltas of deltas
//   exceptions: nexc <uvarint>, nexc × (gap <uvarint> | bits <8b>)
// Integers wrap modulo 2^64. Floats: one IEEE-754 division and (sum) one
// addition per value, rounded to nearest; the encoder decodes every value
// it writes and makes each mismatch an exception, so decoding is bit-exact.

namespace nl::storage {

namespace {

enum value_kind : uint8_t { kind_xor = 0, kind_decimal = 1, kind_sum = 2, kind_bits = 3 };

// The exponent has 4 bits; powers of ten up to 10^22 are exact doubles.
constexpr int max_p = 15;
constexpr double pow10[max_p + 1] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
constexpr double two53 = 9007199254740992.0;

// The decoder's arithmetic, which the encoder checks every value with.
inline double decimal_value(int64_t m, int p) { return static_cast<double>(m) / pow10[p]; }
inline double sum_step(double prev, int64_t k, int p) { return prev + static_cast<double>(k) / pow10[p]; }

inline uint64_t u64(int64_t v) { return static_cast<uint64_t>(v); }
inline int64_t i64(uint64_t v) { return static_cast<int64_t>(v); }

// -- encoding: which integers represent the values ---------------------------

// std::nearbyint in the default rounding mode (to nearest, ties to even),
// inline: on baseline x86-64 nearbyint is a libm call, and the exponent
// search below rounds once per value and exponent tried.
inline double round_to_even(double x) {
  constexpr double magic = 6755399441055744.0;  // 1.5 * 2^52: its neighbours are 1 apart
  if (std::fabs(x) < 2251799813685248.0)        // 2^51: x + magic stays in [2^52, 2^53)
    return (x + magic) - magic;
  return std::nearbyint(x);
}

// The integers m with v == f(m, p) are sought among the three nearest
// `scaled`: x (v, or its difference to the previous value) brought to
// exponent p; `added` is the magnitude at which f adds (0: f only
// divides). `err` bounds how far the roundings of the decoder's arithmetic
// and of `scaled` can put scaled from such an m, with at least a factor of
// two to spare. Below 1/2 only the nearest integer can be m, and only when
// it is within err: otherwise no division is tried. This only skips tests
// that would fail, so the exponent found is the same as without it.
template <class Decode>
int find_exponent(double v, double x, double added, Decode f, int64_t& m) {
  constexpr double unit = 0x1p-50;  // 8 times the unit roundoff 2^-53
  for (int p = 0; p <= max_p; ++p) {
    double scaled = x * pow10[p];
    if (!(std::fabs(scaled) < two53))
      return -1;
    const double r = round_to_even(scaled);
    const double err = unit * (std::fabs(scaled) + added * pow10[p]);
    if (err < 0.5 && std::fabs(scaled - r) > err)
      continue;
    auto c = static_cast<int64_t>(r);
    for (int64_t cand : {c, c - 1, c + 1})
      if (float_bits(f(cand, p)) == float_bits(v)) {
        m = cand;
        return p;
      }
  }
  return -1;
}

// The smallest p with v == decimal_value(m, p), |m| < 2^53; -1 if none.
// Error: m / 10^p and v * 10^p round once each, |scaled - m| <= 2^-52 |m|.
int decimal_exponent(double v, int64_t& m) {
  if (!std::isfinite(v))
    return -1;
  return find_exponent(v, v, 0, [](int64_t cand, int p) { return decimal_value(cand, p); }, m);
}

// The smallest p with v == sum_step(prev, k, p), |k| < 2^53; -1 if none.
// Error: k / 10^p, the addition, v - prev and the scaling round once each;
// the addition's error is relative to |v|, so |scaled - k| <= 2^-53
// (3 |scaled| + |v| 10^p) to first order.
int sum_exponent(double prev, double v, int64_t& k) {
  double diff = v - prev;
  if (!std::isfinite(diff))
    return -1;
  return find_exponent(v, diff, std::fabs(v), [prev](int64_t cand, int p) { return sum_step(prev, cand, p); }, k);
}

// m * 10^e when that stays below 2^53 in magnitude.
bool scale_up(int64_t m, int e, int64_t& out) {
  constexpr int64_t limit = INT64_C(900719925474099);  // 2^53 / 10
  for (; e > 0; --e) {
    if (m > limit || m < -limit)
      return false;
    m *= 10;
  }
  out = m;
  return true;
}

struct exception_value {
  size_t pos;
  uint64_t bits;
};

// Per value: the smallest exponent of a kind (-1 = none) and its integer
// at that exponent.
struct value_analysis {
  std::vector<int8_t> p;
  std::vector<int64_t> m;
};

struct encode_scratch {
  value_analysis decimal;  // kind_decimal's analysis
  value_analysis sum;      // kind_sum's
  std::vector<int64_t> x;  // a candidate's integers
  std::vector<int64_t> y;  // a transform of x
  std::vector<exception_value> exc;
  std::string xor_bytes;
};

// y = transform t of x[0..n); returns how many leading y are varints.
size_t apply_transform(const int64_t* x, size_t n, int t, int64_t* y) {
  std::copy(x, x + n, y);
  for (int k = 0; k < t; ++k)
    for (size_t i = n; i-- > static_cast<size_t>(k) + 1;)
      y[i] = i64(u64(y[i]) - u64(y[i - 1]));
  return std::min<size_t>(static_cast<size_t>(t), n);
}

// Estimated bits of ints(n) of y: codes for the range between the i-th
// smallest and the j-th largest value (i, j <= 2), the rest exceptions.
// A candidate whose bits, with the log2 at its floor (an integer, no libm
// call), already exceed `bound` or a better candidate is not weighed: the
// result is exact when it is at most `bound`, and above `bound` otherwise.
double estimate_ints(const int64_t* y, size_t n, double bound) {
  if (n == 0)
    return 0;
  int64_t lo[3] = {INT64_MAX, INT64_MAX, INT64_MAX};
  int64_t hi[3] = {INT64_MIN, INT64_MIN, INT64_MIN};
  // The three smallest and largest, without branches (the values are
  // unpredictable, and this runs for every candidate of every record).
  for (size_t i = 0; i < n; ++i) {
    const int64_t v = y[i];
    lo[2] = std::max(lo[1], std::min(v, lo[2]));
    lo[1] = std::max(lo[0], std::min(v, lo[1]));
    lo[0] = std::min(v, lo[0]);
    hi[2] = std::min(hi[1], std::max(v, hi[2]));
    hi[1] = std::min(hi[0], std::max(v, hi[1]));
    hi[0] = std::max(v, hi[0]);
  }
  double best = HUGE_VAL;
  for (size_t i = 0; i < 3; ++i)
    for (size_t j = 0; j < 3; ++j) {
      if (i + j >= n)
        continue;
      uint64_t range = u64(hi[j]) - u64(lo[i]);
      // Codes, base, max and the exceptions (gap, value: ~6 bytes each).
      const double count = static_cast<double>(n - i - j);
      const double rest = 8 * static_cast<double>(varint_length(lo[i]) + varint_length(i64(range)))
                          + static_cast<double>(i + j) * 48 + (i + j ? 8 : 0);
      // log2(range + 1) >= floor(log2(range)); the same sum with it is a
      // lower bound of `bits`, rounding included (each step is monotone).
      const double floor_log2 = range == 0 ? 0 : 63 - __builtin_clzll(range);
      if (count * floor_log2 + rest > std::min(best, bound))
        continue;
      double bits = count * std::log2(static_cast<double>(range) + 1) + rest;
      best = std::min(best, bits);
    }
  return best;
}

// Estimated bits of x in its best transform, which goes to `t`. Exact when
// at most `bound`; otherwise above it, and `t` is unspecified. The bounds
// passed on have a bit to spare for the rounding of the additions after.
double estimate_x(const std::vector<int64_t>& x, size_t n, std::vector<int64_t>& y, int& t,
                  double bound = HUGE_VAL) {
  y.resize(n);
  double best = HUGE_VAL;
  for (int k = 0; k < 3; ++k) {
    size_t first = apply_transform(x.data(), n, k, y.data());
    double prefix = 0;
    for (size_t i = 0; i < first; ++i)
      prefix += 8 * static_cast<double>(varint_length(y[i]));
    double bits = estimate_ints(y.data() + first, n - first, std::min(best, bound) - prefix + 1);
    for (size_t i = 0; i < first; ++i)
      bits += 8 * static_cast<double>(varint_length(y[i]));
    if (bits < best) {
      best = bits;
      t = k;
    }
  }
  return best;
}

// The integers of kind decimal or sum at exponent p, from that kind's
// analysis `a`, into sc.x; the values they miss into sc.exc.
void build_integers(const sample* s, size_t n, value_kind kind, int p, double start, const value_analysis& a,
                    encode_scratch& sc) {
  sc.x.resize(n);
  sc.exc.clear();
  double prev = start;
  size_t first_ok = n;
  for (size_t i = 0; i < n; ++i) {
    const double v = s[i].v;
    const uint64_t bits = float_bits(v);
    int64_t x = 0;
    bool ok = false;
    if (a.p[i] >= 0 && a.p[i] <= p && scale_up(a.m[i], p - a.p[i], x))
      ok = float_bits(kind == kind_decimal ? decimal_value(x, p) : sum_step(prev, x, p)) == bits;
    if (ok) {
      sc.x[i] = x;
      first_ok = std::min(first_ok, i);
    } else {
      sc.exc.push_back({i, bits});
      // Any integer will do; continuing the line keeps deltas and deltas of
      // deltas as they were.
      sc.x[i] = i >= 2 ? i64(2 * u64(sc.x[i - 1]) - u64(sc.x[i - 2])) : i > 0 ? sc.x[i - 1] : 0;
    }
    if (kind == kind_sum && std::isfinite(v))
      prev = v;
  }
  for (size_t i = 0; i < first_ok && first_ok < n; ++i)
    sc.x[i] = sc.x[first_ok];
}

// The exponents worth trying: the largest any value needs, and the
// smallest that leave at most 1% or 10% of the representable values as
// exceptions. Empty when no value is representable.
int exponent_candidates(const std::vector<int8_t>& ps, size_t n, int out[3]) {
  size_t count[max_p + 1] = {};
  size_t fit = 0;
  int top = -1;
  for (size_t i = 0; i < n; ++i)
    if (ps[i] >= 0) {
      count[ps[i]] += 1;
      ++fit;
      top = std::max<int>(top, ps[i]);
    }
  if (fit == 0)
    return 0;
  int k = 0;
  out[k++] = top;
  size_t covered = 0;
  bool p90 = false, p99 = false;
  for (int p = 0; p < top; ++p) {
    covered += count[p];
    if (!p90 && covered * 10 >= fit * 9) {
      p90 = true;
      out[k++] = p;
    }
    if (!p99 && covered * 100 >= fit * 99) {
      p99 = true;
      if (out[k - 1] != p)
        out[k++] = p;
    }
  }
  return k;
}

// Head, start, x in transform t (exactly planned) and exceptions.
void put_integers(std::string& out, value_kind kind, int p, int t, double start, size_t n, encode_scratch& sc) {
  sc.y.resize(n);
  size_t first = apply_transform(sc.x.data(), n, t, sc.y.data());
  out.push_back(static_cast<char>(kind | t << 2 | p << 4));
  if (kind == kind_sum)
    put_fixed64(out, float_bits(start));
  for (size_t i = 0; i < first; ++i)
    put_varint(out, sc.y[i]);
  auto plan = plan_packed_ints(sc.y.data() + first, n - first);
  put_packed_ints(out, sc.y.data() + first, n - first, plan);
  if (kind == kind_bits)
    return;
  put_uvarint(out, sc.exc.size());
  size_t next = 0;
  for (const auto& e : sc.exc) {
    put_uvarint(out, e.pos - next);
    put_fixed64(out, e.bits);
    next = e.pos + 1;
  }
}

void put_xor_values(const sample* s, size_t n, std::string& out) {
  bit_writer w;
  uint64_t prev = float_bits(s[0].v);
  w.write_bits(prev, 64);
  uint8_t leading = 0xff;  // no window yet
  uint8_t trailing = 0;
  for (size_t i = 1; i < n; ++i) {
    uint64_t bits = float_bits(s[i].v);
    uint64_t x = bits ^ prev;
    prev = bits;
    if (x == 0) {
      w.write_bit(false);
      continue;
    }
    w.write_bit(true);
    int lz = std::min(31, __builtin_clzll(x));
    int tz = __builtin_ctzll(x);
    if (leading != 0xff && lz >= leading && tz >= trailing) {
      w.write_bit(false);
      w.write_bits(x >> trailing, 64 - leading - trailing);
    } else {
      leading = static_cast<uint8_t>(lz);
      trailing = static_cast<uint8_t>(tz);
      int sig = 64 - lz - tz;
      w.write_bit(true);
      w.write_bits(static_cast<uint64_t>(lz), 5);
      w.write_bits(static_cast<uint64_t>(sig & 63), 6);
      w.write_bits(x >> tz, sig);
    }
  }
  out.push_back(static_cast<char>(kind_xor));
  out.append(w.bytes());
}

// -- decoding ---------------------------------------------------------------------

bool get_transform(std::string_view& in, size_t n, int t, int64_t* x) {
  const size_t first = std::min<size_t>(static_cast<size_t>(t), n);
  for (size_t i = 0; i < first; ++i)
    if (!get_varint(in, x[i]))
      return false;
  if (!get_packed_ints(in, n - first, x + first))
    return false;
  for (int k = t; k-- > 0;)
    for (size_t i = static_cast<size_t>(k) + 1; i < n; ++i)
      x[i] = i64(u64(x[i]) + u64(x[i - 1]));
  return true;
}

const char* get_xor_values(std::string_view in, size_t n, sample* s) {
  bit_reader r(in);
  uint64_t bits;
  if (!r.read_bits(64, bits))
    return "truncated values";
  s[0].v = float_from_bits(bits);
  int leading = 0, trailing = 0;
  bool have_window = false;
  for (size_t i = 1; i < n; ++i) {
    bool changed;
    if (!r.read_bit(changed))
      return "truncated values";
    if (changed) {
      bool window;
      if (!r.read_bit(window))
        return "truncated values";
      if (window) {
        uint64_t lz, sig;
        if (!r.read_bits(5, lz) || !r.read_bits(6, sig))
          return "truncated values";
        if (sig == 0)
          sig = 64;
        if (lz + sig > 64)
          return "value window wider than 64 bits";
        leading = static_cast<int>(lz);
        trailing = static_cast<int>(64 - lz - sig);
        have_window = true;
      } else if (!have_window) {
        return "value without a window";
      }
      uint64_t x;
      if (!r.read_bits(64 - leading - trailing, x))
        return "truncated values";
      bits ^= x << trailing;
    }
    s[i].v = float_from_bits(bits);
  }
  if (r.remaining_bits() >= 8)
    return "bytes after the last value";
  return nullptr;
}

}  // namespace

void put_dense_values(const sample* s, size_t n, std::string& out) {
  thread_local encode_scratch sc;
  // The cheapest integer kind by estimate: bits always fits; decimal and
  // sum where the values allow.
  value_kind best_kind = kind_bits;
  int best_p = 0, best_t = 0;
  double best_start = 0;
  sc.x.resize(n);
  for (size_t i = 0; i < n; ++i)
    sc.x[i] = i64(float_bits(s[i].v));
  double best = estimate_x(sc.x, n, sc.y, best_t);
  double start = 0;  // sum starts from the first finite value
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(s[i].v)) {
      start = s[i].v;
      break;
    }
  for (value_kind kind : {kind_decimal, kind_sum}) {
    value_analysis& a = kind == kind_decimal ? sc.decimal : sc.sum;
    a.p.resize(n);
    a.m.resize(n);
    // A kind that fits no exponent for most of the first 16 values is not
    // tried further: that analysis is the slow case, and such values end
    // up as bits or xor anyway.
    double prev = start;
    size_t failed = 0;
    bool hopeless = false;
    for (size_t i = 0; i < n && !hopeless; ++i) {
      int64_t m = 0;
      int p = kind == kind_decimal ? decimal_exponent(s[i].v, m) : sum_exponent(prev, s[i].v, m);
      a.p[i] = static_cast<int8_t>(p);
      a.m[i] = m;
      if (kind == kind_sum && std::isfinite(s[i].v))
        prev = s[i].v;
      failed += p < 0;
      hopeless = i == 15 && failed > 8;
    }
    if (hopeless)
      continue;
    int ps[3];
    int np = exponent_candidates(a.p, n, ps);
    for (int k = 0; k < np; ++k) {
      build_integers(s, n, kind, ps[k], start, a, sc);
      int t = 0;
      // Summed in the order it always was: a different rounding could
      // break a near tie differently.
      const double extra = 72 * static_cast<double>(sc.exc.size()) + (kind == kind_sum ? 64 : 0);
      double bits = estimate_x(sc.x, n, sc.y, t, best - extra + 1) + 72 * static_cast<double>(sc.exc.size())
                    + (kind == kind_sum ? 64 : 0);
      if (bits <= best) {  // integers of values before their bit patterns
        best = bits;
        best_kind = kind;
        best_p = ps[k];
        best_t = t;
        best_start = start;
      }
    }
  }
  // Rebuild the winner, exactly planned.
  const size_t mark = out.size();
  if (best_kind == kind_bits) {
    sc.exc.clear();
    for (size_t i = 0; i < n; ++i)
      sc.x[i] = i64(float_bits(s[i].v));
  } else {
    build_integers(s, n, best_kind, best_p, best_start, best_kind == kind_decimal ? sc.decimal : sc.sum, sc);
  }
  put_integers(out, best_kind, best_p, best_t, best_start, n, sc);
  // Values that integers describe poorly (random floats, values changing
  // sign or scale) may be smaller as XOR.
  if (best > 20 * static_cast<double>(n)) {
    sc.xor_bytes.clear();
    put_xor_values(s, n, sc.xor_bytes);
    if (sc.xor_bytes.size() < out.size() - mark) {
      out.resize(mark);
      out.append(sc.xor_bytes);
    }
  }
}

const char* get_dense_values(std::string_view in, size_t n, sample* s) {
  if (in.empty())
    return "truncated values";
  const auto head = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  const int kind = head & 3;
  const int t = (head >> 2) & 3;
  const int p = head >> 4;
  if (kind == kind_xor)
    return head != kind_xor ? "bad value head" : get_xor_values(in, n, s);
  if (t > 2 || (kind == kind_bits && p != 0))
    return "bad value head";
  uint64_t start = 0;
  if (kind == kind_sum && !get_fixed64(in, start))
    return "truncated values";
  thread_local std::vector<int64_t> x;
  x.resize(n);
  if (!get_transform(in, n, t, x.data()))
    return "malformed values";
  if (kind == kind_bits) {
    if (!in.empty())
      return "bytes after the last value";
    for (size_t i = 0; i < n; ++i)
      s[i].v = float_from_bits(u64(x[i]));
    return nullptr;
  }
  uint64_t nexc = 0;
  if (!get_uvarint(in, nexc) || nexc > n)
    return "malformed exceptions";
  thread_local std::vector<exception_value> exc;
  exc.resize(nexc);
  size_t next = 0;
  for (auto& e : exc) {
    uint64_t gap = 0;
    if (!get_uvarint(in, gap) || gap >= n - next || !get_fixed64(in, e.bits))
      return "malformed exceptions";
    e.pos = next + gap;
    next = e.pos + 1;
  }
  if (!in.empty())
    return "bytes after the last value";
  const double scale = pow10[p];
  if (kind == kind_decimal) {
    if (p == 0)
      for (size_t i = 0; i < n; ++i)
        s[i].v = static_cast<double>(x[i]);
    else
      for (size_t i = 0; i < n; ++i)
        s[i].v = static_cast<double>(x[i]) / scale;
    for (const auto& e : exc)
      s[e.pos].v = float_from_bits(e.bits);
    return nullptr;
  }
  // Sum: exceptions in order, between runs of additions.
  double prev = float_from_bits(start);
  size_t i = 0;
  for (const auto& e : exc) {
    for (; i < e.pos; ++i) {
      prev = prev + static_cast<double>(x[i]) / scale;
      s[i].v = prev;
    }
    double v = float_from_bits(e.bits);
    s[i++].v = v;
    if (std::isfinite(v))
      prev = v;
  }
  for (; i < n; ++i) {
    prev = prev + static_cast<double>(x[i]) / scale;
    s[i].v = prev;
  }
  return nullptr;
}

}  // namespace nl::storage

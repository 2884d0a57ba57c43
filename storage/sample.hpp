#pragma once
// One float sample and the staleness-marker NaN.
#include <cstdint>
#include <cstring>

namespace nl::storage {

/// Milliseconds since the Unix epoch (may be negative) and an IEEE-754 value.
struct sample {
  int64_t t = 0;
  double v = 0;
};

/// Prometheus' staleness marker: a signalling NaN with this exact bit pattern.
/// Compare bits, never with std::isnan alone, and never let it pass through an
/// arithmetic operation (that could quiet it).
constexpr uint64_t stale_nan_bits = 0x7ff0000000000002ULL;
/// The "ordinary" NaN Prometheus produces.
constexpr uint64_t normal_nan_bits = 0x7ff8000000000001ULL;

inline uint64_t float_bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
inline double float_from_bits(uint64_t b) {
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}
inline bool is_stale_nan(double v) { return float_bits(v) == stale_nan_bits; }
inline double stale_nan() { return float_from_bits(stale_nan_bits); }

}  // namespace nl::storage

#include "storage/chunk/dense_chunk.hpp"

#include <vector>

#include "storage/chunk/dense_values.hpp"
#include "storage/chunk/packed_ints.hpp"
#include "storage/coding.hpp"

// A dense chunk (storage/FORMAT.md, "Chunks (dense)"):
//   n <uvarint>                  1..65535 samples
//   [t1 - t0 <varint>]           when n >= 2 (t0 is the caller's)
//   [ints(n-2)]                  when n >= 3: t_i - 2 t_i-1 + t_i-2 (packed_ints.cpp)
//   value section                to the end (dense_values.cpp)
// Timestamp arithmetic wraps modulo 2^64, so any int64 sequence
// round-trips.

namespace nl::storage {

namespace {

inline uint64_t u64(int64_t v) { return static_cast<uint64_t>(v); }
inline int64_t i64(uint64_t v) { return static_cast<int64_t>(v); }

const char* decode_into(std::string_view in, int64_t t0, size_t n, sample* s) {
  s[0].t = t0;
  if (n >= 2) {
    int64_t d = 0;
    if (!get_varint(in, d))
      return "truncated timestamps";
    thread_local std::vector<int64_t> dod;
    dod.resize(n - 2);
    if (!get_packed_ints(in, n - 2, dod.data()))
      return "malformed timestamps";
    uint64_t t = u64(t0) + u64(d);
    uint64_t delta = u64(d);
    s[1].t = i64(t);
    for (size_t i = 2; i < n; ++i) {
      delta += u64(dod[i - 2]);
      t += delta;
      s[i].t = i64(t);
    }
  }
  return get_dense_values(in, n, s);
}

}  // namespace

void encode_dense_chunk(const sample* s, size_t n, std::string& out) {
  thread_local std::vector<int64_t> dod;
  put_uvarint(out, n);
  if (n >= 2) {
    put_varint(out, i64(u64(s[1].t) - u64(s[0].t)));
    dod.resize(n - 2);
    for (size_t i = 2; i < n; ++i)
      dod[i - 2] = i64(u64(s[i].t) - 2 * u64(s[i - 1].t) + u64(s[i - 2].t));
    auto plan = plan_packed_ints(dod.data(), n - 2);
    put_packed_ints(out, dod.data(), n - 2, plan);
  }
  put_dense_values(s, n, out);
}

size_t dense_chunk_samples(std::string_view data) {
  uint64_t n = 0;
  if (!get_uvarint(data, n) || n == 0 || n > dense_chunk_max_samples)
    return 0;
  return static_cast<size_t>(n);
}

status decode_dense_chunk(std::string_view data, int64_t t0, std::vector<sample>& out) {
  uint64_t n = 0;
  if (!get_uvarint(data, n) || n == 0 || n > dense_chunk_max_samples)
    return status::corruption("dense chunk: bad sample count");
  const size_t old = out.size();
  out.resize(old + n);
  if (const char* what = decode_into(data, t0, static_cast<size_t>(n), out.data() + old)) {
    out.resize(old);
    return status::corruption(std::string{"dense chunk: "} + what);
  }
  return status::ok();
}

}  // namespace nl::storage

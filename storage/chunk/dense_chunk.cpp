#include "storage/chunk/dense_chunk.hpp"

#include <algorithm>
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

// Sets `increasing` to whether the timestamps strictly increase: checked
// while they are summed up, where it costs next to nothing, instead of in
// a pass of its own.
const char* decode_into(std::string_view in, int64_t t0, size_t n, sample* s, bool& increasing) {
  s[0].t = t0;
  increasing = true;
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
    bool up = i64(t) > t0;
    for (size_t i = 2; i < n; ++i) {
      const int64_t before = i64(t);
      delta += u64(dod[i - 2]);
      t += delta;
      s[i].t = i64(t);
      up &= i64(t) > before;
    }
    increasing = up;
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

namespace {

status decode_appending(std::string_view data, int64_t t0, std::vector<sample>& out, bool& increasing) {
  uint64_t n = 0;
  if (!get_uvarint(data, n) || n == 0 || n > dense_chunk_max_samples)
    return status::corruption("dense chunk: bad sample count");
  const size_t old = out.size();
  out.resize(old + n);
  if (const char* what = decode_into(data, t0, static_cast<size_t>(n), out.data() + old, increasing)) {
    out.resize(old);
    return status::corruption(std::string{"dense chunk: "} + what);
  }
  return status::ok();
}

// Where the timestamps of s[0..n) first fail to increase (n when they do not).
size_t first_not_increasing(const sample* s, size_t n) {
  for (size_t i = 1; i < n; ++i)
    if (s[i].t <= s[i - 1].t)
      return i;
  return n;
}

}  // namespace

status decode_dense_chunk(std::string_view data, int64_t t0, std::vector<sample>& out) {
  bool increasing;
  return decode_appending(data, t0, out, increasing);
}

dense_chunk dense_chunk::copied(std::string_view bytes, int64_t min_t, int64_t max_t, uint16_t n) {
  auto copy = std::make_shared<const std::string>(bytes);
  std::string_view view = *copy;
  return dense_chunk{view, std::move(copy), min_t, max_t, n};
}

result<dense_chunk> dense_chunk::of_record(std::string_view data, int64_t min_t, int64_t max_t,
                                           std::shared_ptr<const void> owner) {
  size_t n = dense_chunk_samples(data);
  if (n == 0)
    return status::invalid_argument("dense chunk: bad sample count");
  if (!owner)
    return copied(data, min_t, max_t, static_cast<uint16_t>(n));
  return dense_chunk{data, std::move(owner), min_t, max_t, static_cast<uint16_t>(n)};
}

result<dense_chunk> dense_chunk::from_bytes(std::string_view data, int64_t min_t) {
  std::vector<sample> s;
  bool increasing;
  if (auto st = decode_appending(data, min_t, s, increasing); !st)
    return st;
  if (!increasing)
    return status::corruption("dense chunk: timestamps not increasing at sample "
                              + std::to_string(first_not_increasing(s.data(), s.size())));
  return copied(data, min_t, s.back().t, static_cast<uint16_t>(s.size()));
}

status dense_chunk::decode(int64_t mint, int64_t maxt, std::vector<sample>& out) const {
  if (!overlaps(mint, maxt))
    return status::ok();
  const size_t old = out.size();
  bool increasing;
  if (auto st = decode_appending(bytes_, min_time(), out, increasing); !st)
    return st;
  sample* s = out.data() + old;
  const size_t n = out.size() - old;
  auto fault = [&](const std::string& what) {
    out.resize(old);
    return status::corruption("dense chunk: " + what);
  };
  if (!increasing)
    return fault("timestamps not increasing at sample " + std::to_string(first_not_increasing(s, n)));
  if (s[n - 1].t != max_time())
    return fault("time range differs from the index (last timestamp " + std::to_string(s[n - 1].t)
                 + ", index " + std::to_string(max_time()) + ")");
  if (min_time() >= mint && max_time() <= maxt)
    return status::ok();  // the usual case: the window holds the whole record
  sample* lo = std::lower_bound(s, s + n, mint, [](const sample& a, int64_t t) { return a.t < t; });
  sample* hi = std::upper_bound(lo, s + n, maxt, [](int64_t t, const sample& a) { return t < a.t; });
  std::copy(lo, hi, s);
  out.resize(old + static_cast<size_t>(hi - lo));
  return status::ok();
}

}  // namespace nl::storage

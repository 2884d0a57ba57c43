#pragma once
// Patched frame-of-reference integer sequences: the building block of the
// dense chunk encoding (storage/FORMAT.md, "Chunks (dense)", `ints(n)`).
//
// A sequence of n int64 values is stored as a base, a largest offset M and
// n offsets (value - base) in [0, M], each in the truncated binary code of
// that range (w - 1 or w bits, w = bit length of M: a range that is not a
// power of two costs no more than its log2 on average), plus an exception
// list for the few values that do not fit (outliers: a missed scrape, a
// counter reset). The writer picks base and M that minimise the size, but
// prefers M = 2^w - 1 (every code w bits) unless that costs more than an
// eighth: such codes decode independently of each other. The reader
// decodes an offset with one unaligned 8-byte load and no branch, then
// patches the exceptions.
//
// Thread-safety: all functions are pure and may be called concurrently.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nl::storage {

/// How put_packed_ints stores a sequence (chosen by plan_packed_ints).
struct packed_plan {
  int64_t base = 0;
  uint64_t max = 0;    ///< largest offset stored in the codes; larger ones are exceptions
  size_t bytes = 0;    ///< exact encoded size
};

/// Chooses base and max for x[0..n) and computes the encoded size. n == 0
/// encodes as nothing (0 bytes).
packed_plan plan_packed_ints(const int64_t* x, size_t n);

/// Appends ints(n) of x[0..n) laid out by `plan` (from plan_packed_ints on
/// the same values).
void put_packed_ints(std::string& out, const int64_t* x, size_t n, const packed_plan& plan);

/// Reads ints(n) from the front of `in` into out[0..n) and advances `in`.
/// False, with `in` unspecified, on truncated or malformed bytes; never
/// reads outside `in`.
bool get_packed_ints(std::string_view& in, size_t n, int64_t* out);

}  // namespace nl::storage

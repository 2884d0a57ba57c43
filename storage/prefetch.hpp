#pragma once
// Cache prefetch hints that the compiler keeps.
//
// GCC 12 takes __builtin_prefetch for an instruction without side effects.
// A function whose only effect is a prefetch (hash_slots::prefetch, say)
// is then found "pure" after inlining, and a pure function's call whose
// result is unused is deleted as dead code: the server binary held none of
// the head's lookup prefetches, though the source asked for them. An asm
// statement marked volatile is never deleted, whatever the function around
// it turns into.

namespace nl::storage {

/// Starts loading the cache line holding `p` for reading. Any address will
/// do: the instruction only hints, nothing is read.
inline void prefetch(const void* p) {
#if defined(__x86_64__)
  asm volatile("prefetcht0 (%0)" : : "r"(p));
#elif defined(__aarch64__)
  asm volatile("prfm pldl1keep, [%0]" : : "r"(p));
#else
  __builtin_prefetch(p);
  asm volatile("");  // keeps this function, and so the hint, from being deleted
#endif
}

/// The same for a line about to be written. On x86-64 without PRFCHW (the
/// baseline this is built for) that is the read hint.
inline void prefetch_for_write(const void* p) {
#if defined(__x86_64__)
  asm volatile("prefetcht0 (%0)" : : "r"(p));
#elif defined(__aarch64__)
  asm volatile("prfm pstl1keep, [%0]" : : "r"(p));
#else
  __builtin_prefetch(p, 1);
  asm volatile("");
#endif
}

}  // namespace nl::storage

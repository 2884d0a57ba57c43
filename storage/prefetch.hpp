#pragma once
// A cache prefetch hint that the compiler keeps.
//
// GCC 12 takes __builtin_prefetch for an instruction without side effects.
// A function whose only effect is a prefetch (hash_slots::prefetch, say)
// is then found "pure" after inlining, and a pure function's call whose
// result is unused is deleted as dead code: the server binary held none of
// the head's lookup prefetches, though the source asked for them. An asm
// statement marked volatile is never deleted, whatever the function around
// it turns into.

namespace nl::storage {

/// Starts loading the cache line holding `p` (any address: nothing is read).
inline void prefetch(const void* p) {
#if defined(__x86_64__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#elif defined(__aarch64__)
  asm volatile("prfm pldl1keep, %a0" : : "p"(p));
#else
  __builtin_prefetch(p);
#endif
}

}  // namespace nl::storage

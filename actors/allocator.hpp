#pragma once
// The process' allocator, seen from the actors. The server links jemalloc
// (actors/CMakeLists.txt); other programs (tests, tools) keep the system
// malloc, and then these calls do nothing.
//
// jemalloc (5.3 defaults) gives freed pages back to the system only when
// an arena is used again, after dirty_decay_ms (10 s): an arena whose
// thread went quiet keeps what it freed. A cut frees a block's worth of
// head at once, in the threads that truncated the shards, so the
// compactor asks for a purge when the round is over.
#include <cstdint>

namespace nl::actors {

/// Whether the allocator is jemalloc (it answers mallctl).
bool allocator_is_jemalloc();

/// Returns every arena's unused pages to the system now (jemalloc's
/// "arena.<all>.purge"); false when the allocator has no such call.
bool release_free_memory();

/// Bytes the application holds ("stats.allocated") and the allocator's
/// resident pages ("stats.resident"), after refreshing jemalloc's stats
/// epoch; 0 without jemalloc.
struct allocator_bytes {
  uint64_t allocated = 0;
  uint64_t resident = 0;
};
allocator_bytes allocator_usage();

}  // namespace nl::actors

#pragma once
// Data parallelism for the evaluator: a job split into parts runs on the
// calling thread and on a few long-lived helper threads shared by every
// query of the process. Starting and joining threads on every call costs
// ~0.1 ms here (fresh stack pages and a malloc arena per new thread), paid
// by every selector over 256+ series.
#include <cstddef>
#include <functional>

namespace nl::promql {

/// Calls fn(part) once for every part in [0, parts) and returns when all
/// calls have returned. The calling thread takes parts too, so the call
/// completes even when every helper is busy with other queries' parts.
/// fn must not throw. Helpers (one fewer than the cores, at least one) are
/// started on first use and live as long as the process.
void run_parts(size_t parts, const std::function<void(size_t)>& fn);

/// How much nicer than the rest of the process query threads run.
/// Evaluation is CPU-bound and may use every core; at nice 10 a thread
/// weighs about a tenth of a nice-0 one in Linux's scheduler, so under
/// contention the threads that ingest keep most of the CPU, while idle
/// CPU still goes to queries in full.
constexpr int query_thread_nice = 10;

/// Lowers the calling thread's priority by query_thread_nice (Linux
/// only; capped at 19; a refusal is ignored). The helpers call it when they
/// start; so do query workers that run on a thread of their own. Never
/// call it on a thread shared with other work (CAF's scheduler threads).
void lower_query_thread_priority();

}  // namespace nl::promql

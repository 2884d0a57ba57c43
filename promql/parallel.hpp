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

}  // namespace nl::promql

#pragma once
// The errors actors answer each other with. Every failure that reaches a
// client is one of these codes plus a message, so the HTTP and gRPC layers
// answer with the status the cause deserves instead of guessing from text:
// bad input 400, overload and storage trouble 503 with Retry-After,
// timeouts 503, bugs 500. Registered with CAF under the
// category "nightlight", so the codes cross nodes unchanged.
#include <caf/all.hpp>

#include <cstdint>
#include <string>

namespace nl::actors {

enum class error_code : uint8_t {
  /// The request can never succeed as it is (bad matcher, bad batch).
  bad_input = 1,
  /// A budget or queue is full; retry later.
  overloaded,
  /// The file system is full; writes resume once space is freed.
  disk_full,
  /// The WAL could not start a write before its deadline; nothing written.
  wal_deadline,
  /// The WAL failed for good; the process stops.
  wal_failed,
  /// A deadline passed (query, metadata fetch).
  timeout,
  /// A query would load more samples than allowed.
  too_many_samples,
  /// Shutting down, or a needed actor is gone.
  unavailable,
  /// A bug or an unexpected storage state (damaged block read).
  internal,
  /// A query's evaluation failed for a reason of its own (e.g. two
  /// series with one label set after an aggregation).
  execution,
  /// A query was withdrawn: its client went away (query_cancel).
  canceled,
  /// A node link's batch named series by numbers of a session the peer
  /// does not know (storage/cluster/series_refs.hpp); the link starts a
  /// new session and the write is retried (503).
  stale_series_refs,
};

/// The last code, for range checks.
constexpr error_code last_error_code = error_code::stale_series_refs;

/// "bad_input", "overloaded", ...
const char* to_string(error_code c);

/// The code of `err` if it is one of ours; sec::request_timeout counts as
/// timeout, a dead receiver as unavailable, anything else as internal.
error_code code_of(const caf::error& err);

/// The message given to make_error(code, "message"), else CAF's rendering.
std::string message_of(const caf::error& err);

/// For actor_system_config::add_error_category: renders our errors as
/// "nightlight: <code> (<message>)".
std::string render_error(uint8_t code, caf::atom_value category, const caf::message& context);

/// The category atom the codes are registered under.
constexpr caf::atom_value error_category = caf::atom("nightlight");

}  // namespace nl::actors

CAF_ERROR_CODE_ENUM(nl::actors::error_code, "nightlight")

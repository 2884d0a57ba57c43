#pragma once
// Snappy *block* format (what remote write and remote read bodies use), with
// the decoded size checked from the preamble before anything is allocated.
// The framing format ("\xff\x06\x00\x00sNaPpY" streams) is not accepted.
#include <cstddef>
#include <string>
#include <string_view>

#include <snappy.h>

#include "storage/status.hpp"

namespace nl::protocol {

/// Default ceiling for a decoded request body: 32 MiB, as Prometheus' own
/// receiver. A 500-sample remote-write request decodes to ~50-150 KiB.
inline constexpr size_t default_max_decoded_bytes = size_t{32} << 20;

/// Decodes the snappy block `in` into `out` (replacing its contents).
/// Errors (out is then unspecified):
/// - limit_exceeded "snappy: decoded length N exceeds limit M" when the
///   preamble announces more than `max_decoded` bytes (map to HTTP 413);
/// - corruption "snappy: corrupt input" for anything else that is not a
///   valid block (map to HTTP 400).
/// Thread-safe; no allocation beyond `out` happens before the size check.
storage::status snappy_decode(std::string_view in, std::string& out,
                              size_t max_decoded = default_max_decoded_bytes);

/// Snappy block encoding of `in` (responses, tests, the client library).
/// Inline so protocol/client can use it without linking nl_protocol.
inline std::string snappy_encode(std::string_view in) {
  std::string out;
  snappy::Compress(in.data(), in.size(), &out);
  return out;
}

}  // namespace nl::protocol

#pragma once
// ULIDs name blocks, as in Prometheus: 26 characters of Crockford base32,
// a 48-bit millisecond timestamp then 80 random bits, so that names sort by
// creation time.
#include <cstdint>
#include <string>
#include <string_view>

namespace nl::storage {

/// A new ULID for creation time `ms` (ms since the epoch).
std::string make_ulid(int64_t ms);
/// A new ULID for now.
std::string make_ulid();
/// Whether `s` has the shape of a ULID (26 Crockford base32 characters,
/// the first at most '7').
bool is_ulid(std::string_view s);

}  // namespace nl::storage

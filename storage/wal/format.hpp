#pragma once
// Constants of the WAL segment framing. The byte layout, the rules for
// readers and a worked example are in storage/FORMAT.md, section
// "WAL segments"; change both together.
//
// A segment is a sequence of 32 KiB pages. A page holds fragments:
//   crc32c <4b, LE> | len <2b, LE> | type <1b> | data <len bytes>
// crc32c covers type + data. A fragment never crosses a page; a page tail
// shorter than a header is zero padding.
#include <cstddef>
#include <cstdint>

namespace nl::storage {

constexpr size_t wal_page_size = 32 * 1024;
constexpr size_t wal_fragment_header_size = 7;  // crc32c<4> len<2> type<1>

/// Low 7 bits of the type byte.
enum class wal_fragment_type : uint8_t {
  zero = 0,    ///< never written; a zero header means a zero-filled region
  full = 1,    ///< the whole record
  first = 2,   ///< first fragment of a record
  middle = 3,  ///< neither first nor last
  last = 4,    ///< last fragment of a record
};

/// Type bit reserved for future fragment types: a reader that does not know
/// the type may skip a fragment that has this bit set (after checking its
/// CRC); an unknown type without it is corruption.
constexpr uint8_t wal_fragment_skippable = 0x80;

/// Segment files are named by 8 decimal digits: wal/00000001, 00000002, ...
constexpr size_t wal_segment_name_digits = 8;
/// Default segment size (the `wal_segment_size_mb` setting), as Prometheus.
constexpr uint64_t wal_default_segment_size = 128ULL * 1024 * 1024;

}  // namespace nl::storage

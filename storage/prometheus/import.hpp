#pragma once
// Imports Prometheus 2.x TSDB blocks into Nightlight blocks, so that users
// leaving Prometheus keep their history. Every block directory (a ULID
// name) under the Prometheus data dir becomes one new Nightlight block
// (new ULID, level 1, same [minTime, maxTime) as the Prometheus meta.json)
// with every sample kept bit for bit (the block writer stores them in
// Nightlight's own chunk encoding). What is read and what is
// refused: storage/FORMAT.md, "Appendix: Prometheus blocks read by the
// importer".
//
// The Prometheus data dir is only read, never modified. The Nightlight
// server must NOT be running on the target data dir while importing: the
// new blocks appear under its feet and its compactor would race with them.
// Importing the same data twice writes the blocks twice; the overlapping
// blocks are merged later by the compactor, which drops identical samples.
//
// Thread-safety: none needed; a plain function for the CLI.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "storage/status.hpp"

namespace nl::storage {

struct prometheus_import_stats {
  /// Prometheus blocks imported (each into one Nightlight block).
  uint64_t blocks = 0;
  /// Series written, summed over the blocks (a series in two blocks counts
  /// twice; one with only skipped or deleted data not at all).
  uint64_t series = 0;
  uint64_t samples = 0;
  /// XOR chunks written.
  uint64_t chunks = 0;
  /// Chunks not imported: native histogram chunks (encodings 2 and 3).
  uint64_t skipped_chunks = 0;
  /// ULIDs of the Nightlight blocks written, in import order.
  std::vector<std::string> imported_ulids;
};

/// Imports every Prometheus block directory in `prom_data_dir` (wal/,
/// chunks_head/, lock, queries.active and other non-ULID entries are
/// ignored; `prom_data_dir` may also be a single block directory) into
/// `blocks_dir`, the `blocks/` folder of a Nightlight data dir (created if
/// missing). `log` receives one human-readable line per block and per
/// notable event. Every source block is opened and its headers, table of
/// contents, symbols and tombstones checked before anything is written;
/// damage found later (a series entry, a chunk) stops the import with an
/// error naming the file and offset, and the blocks finished before stay
/// imported (each block is written atomically). Errors: not_found when
/// there is no block, invalid_argument for what is not supported (index v1,
/// XOR2 chunks, `blocks_dir` inside `prom_data_dir`), corruption for
/// damage, io_error when writing fails.
result<prometheus_import_stats> import_prometheus(const std::string& prom_data_dir, const std::string& blocks_dir,
                                                  const std::function<void(const std::string&)>& log);

}  // namespace nl::storage

#pragma once
// Start-up of the blocks directory: what a crash or a damaged disk left
// behind is cleaned up before the blocks are handed to queries.
#include <memory>
#include <string>
#include <vector>

#include "storage/block/reader.hpp"
#include "storage/status.hpp"

namespace nl::storage {

struct opened_blocks {
  std::vector<std::shared_ptr<const block>> blocks;
  /// One line per event worth logging: leftovers removed, superseded
  /// parents deleted.
  std::vector<std::string> notes;
  /// One line per damaged block moved aside to `<name>.corrupted`.
  std::vector<std::string> corrupted;
};

/// Opens every block in `blocks_dir` (created if missing):
/// - `<ulid>.tmp` (a write that never finished) and `<ulid>.deleted` (a
///   deletion that never finished) are removed;
/// - a block that does not open (storage/block/reader.hpp says why) is
///   renamed to `<ulid>.corrupted` and reported, and the rest still open;
/// - a block listed as a parent by another block (a merge finished but its
///   parents were not deleted yet) is deleted.
/// io_error only when the directory itself cannot be read or changed.
result<opened_blocks> open_blocks(const std::string& blocks_dir);

}  // namespace nl::storage

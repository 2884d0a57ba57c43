#pragma once
// What a DIR argument of nightlight-tsdb holds, found without changing
// anything: its block directories, leftovers next to them and its WAL.
// Layout: storage/FORMAT.md, "Blocks" ("Directory layout") and "WAL
// checkpoints" ("Files").
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "storage/block/reader.hpp"
#include "storage/status.hpp"

namespace nl::storage::tool {

struct data_layout {
  /// The block directories (paths), sorted by name: a single block when DIR
  /// is one.
  std::vector<std::string> block_dirs;
  /// One line per entry of `blocks/` that is not read: "NAME: why".
  std::vector<std::string> leftovers;
  /// `DIR/wal` when it exists, else empty.
  std::string wal_dir;
  /// `DIR/LOCK` is held: a server runs on DIR right now.
  bool in_use = false;
};

/// Finds what DIR holds: a single block (`DIR/meta.json`), a data directory
/// (`DIR/blocks`, `DIR/wal`) or a blocks directory (ULID-named entries).
/// invalid_argument when DIR is none of these or does not exist; io_error
/// when it cannot be listed.
result<data_layout> locate(const std::string& dir);

/// The blocks of a layout that open, sorted by min_time then ULID.
struct open_result {
  std::vector<std::shared_ptr<const block>> blocks;
  /// "ULID: message" for each block that does not open.
  std::vector<std::string> failed;
  /// Block directories that vanished between listing and opening (a
  /// running server merged or deleted them).
  std::vector<std::string> vanished;
};

/// Opens every block of `layout` with block::open (read-only).
open_result open_layout_blocks(const data_layout& layout);

/// ULIDs of the blocks that another block lists as a parent: a merge
/// finished but its inputs were not deleted yet. The server deletes them at
/// start-up; their data is in the merged block.
std::vector<std::string> superseded(const std::vector<std::shared_ptr<const block>>& blocks);

/// The blocks a reader uses: `blocks` without the superseded ones; a note
/// per block dropped and per failure goes to `err`. Sets `*damaged` when a
/// block did not open.
std::vector<std::shared_ptr<const block>> usable_blocks(const open_result& opened, std::ostream& err,
                                                        bool* damaged);

/// Whether another process holds `dir`/LOCK, as a running server does
/// (flock LOCK_EX for its lifetime). Never creates the file.
bool lock_held(const std::string& dir);

/// The last path component.
std::string base_name(const std::string& path);

}  // namespace nl::storage::tool

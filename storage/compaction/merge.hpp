#pragma once
// Merging blocks into one (compaction): series joined by labels, their
// chunks put in time order; where chunks overlap (blocks from an
// out-of-order window or a restart) the samples are merged, a timestamp
// present twice kept once (the first block's sample wins), and re-encoded.
// Plain storage code: the compactor actor decides when and what.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/block/meta.hpp"
#include "storage/block/reader.hpp"
#include "storage/file.hpp"
#include "storage/status.hpp"
#include "storage/chunk/xor_chunk.hpp"

namespace nl::storage {

/// Chunks of one series from several sources, each list in time order,
/// turned into one list in time order without overlaps: chunks that
/// overlap nothing are kept as they are, the others decoded, merged
/// (duplicate timestamps: the earlier list wins) and re-encoded as XOR
/// chunks of at most `samples_per_chunk` samples (so XOR chunks in, XOR
/// chunks out). The chunks are taken from `sources`, not copied: a copy
/// of a chunk pointer is an atomic count, and a cut passes every series of
/// the head through here.
result<std::vector<std::shared_ptr<const chunk>>>
merge_chunks(std::vector<std::vector<std::shared_ptr<const chunk>>>&& sources, int samples_per_chunk = 120);

/// Writes `<blocks_dir>/<ulid>` with every series of `parents` over their
/// whole time range (min of mins to max of maxes), level one above the
/// highest parent, sources the union of theirs. Parents are read, never
/// changed; the caller removes them once this returned ok.
result<block_meta> merge_blocks(const std::vector<std::shared_ptr<const block>>& parents,
                                const std::string& blocks_dir, const std::string& ulid,
                                file_creator create = create_new_file);

}  // namespace nl::storage

#pragma once
// Constants of the block files. Byte layout: storage/FORMAT.md, "Blocks".
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nl::storage::block_format {

/// Every block file starts with 4 magic bytes, a version byte and 3 zero
/// bytes.
constexpr std::string_view index_magic = "NLIX";
constexpr std::string_view chunks_magic = "NLCK";
constexpr uint8_t version = 1;
constexpr size_t file_header_size = 8;

/// A chunk record: encoding <1b>, len <uvarint>, data, crc32c <4b>.
/// Encoding 1: one Prometheus XOR chunk (FORMAT.md, "Chunks (XOR)"); read
/// only, blocks written before encoding 2 existed.
constexpr uint8_t encoding_xor = 1;
/// Encoding 2: a dense chunk (FORMAT.md, "Chunks (dense)"), what the writer
/// uses for every record.
constexpr uint8_t encoding_dense = 2;

/// A dense record holds up to this many samples of one series: all of a
/// block's samples of a series when they are this few, else records of
/// equal multiples of xor_chunk_samples (the last one shorter).
constexpr size_t dense_record_max_samples = 1080;
/// Remote read serves a dense record as XOR chunks of this many samples
/// (the last one shorter); stats.numChunks counts these, as Prometheus
/// would count the block's chunks.
constexpr size_t xor_chunk_samples = 120;

/// The index ends with the table of contents: five section offsets <8b>
/// and the CRC32C of those 40 bytes <4b>.
constexpr size_t toc_size = 5 * 8 + 4;
/// A section: len <8b>, body, crc32c(body) <4b>.
constexpr size_t section_overhead = 8 + 4;

/// Names inside a block directory.
constexpr std::string_view meta_file = "meta.json";
constexpr std::string_view index_file = "index";
constexpr std::string_view chunks_file = "chunks";

}  // namespace nl::storage::block_format

#pragma once
// The value section of a dense chunk (storage/FORMAT.md, "Chunks (dense)"):
// one head byte naming the kind, then the kind's data. Used by
// dense_chunk.cpp; the sample count is known from the record.
//
// Kinds: decimal (v = m / 10^p), sum (v = previous v + k / 10^p), bits
// (the IEEE-754 bit patterns as integers) and xor (Gorilla). The writer
// tries them and keeps the smallest; values an integer kind cannot
// represent exactly are exceptions stored as raw bits.
//
// Thread-safety: all functions may be called concurrently.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/sample.hpp"

namespace nl::storage {

/// Appends the value section of s[0..n).v to `out`. REQUIRES: n >= 1.
void put_dense_values(const sample* s, size_t n, std::string& out);

/// Reads the value section, which must fill `in` exactly, into s[0..n).v.
/// Returns nullptr, or what is wrong with the bytes.
const char* get_dense_values(std::string_view in, size_t n, sample* s);

}  // namespace nl::storage

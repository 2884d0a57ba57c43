#pragma once
// For WAL suites: appends encoded records to a WAL directory through the
// real segment writer, one flush per record.
#include <memory>
#include <string>
#include <vector>

#include "storage/wal/records.hpp"
#include "storage/wal/segment_writer.hpp"
#include "test_support.hpp"

namespace nl::test {

struct wal_record_writer {
  std::unique_ptr<storage::wal_segment_writer> w;
  explicit wal_record_writer(const std::string& dir, uint64_t segment_size = 64 * 1024) {
    auto r = storage::wal_segment_writer::open(dir, segment_size);
    CAF_REQUIRE(r.is_ok());
    w = std::move(*r);
  }
  void put(const std::string& rec) {
    CAF_REQUIRE(w->append(rec).is_ok());
    CAF_REQUIRE(w->flush().is_ok());
  }
  void series(const std::vector<storage::series_record>& s) {
    std::string rec;
    storage::encode_series(s, rec);
    put(rec);
  }
  void samples(const std::vector<storage::sample_record>& s) {
    std::string rec;
    storage::encode_samples(s, rec);
    put(rec);
  }
  void tombstones(const std::vector<storage::tombstone_record>& s) {
    std::string rec;
    storage::encode_tombstone_records(s, rec);
    put(rec);
  }
  void metadata(const std::vector<storage::metadata_record>& s) {
    std::string rec;
    storage::encode_metadata_records(s, rec);
    put(rec);
  }
  uint64_t next_segment() {
    auto n = w->next_segment();
    CAF_REQUIRE(n.is_ok());
    return *n;
  }
  void close() { CAF_REQUIRE(w->close().is_ok()); }
};

}  // namespace nl::test

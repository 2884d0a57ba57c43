#pragma once
// An in-memory segment file for WAL writer tests: counts write(2)-level
// appends and syncs, and fails on demand.
#include <filesystem>
#include <memory>
#include <string>

#include "storage/file.hpp"
#include "storage/wal/segment_writer.hpp"

namespace nl::test {

struct fake_wal_disk {
  std::string bytes;      // everything appended to any segment
  int appends = 0;        // calls of writable_file::append (one per flush)
  int syncs = 0;
  int segments = 0;       // segment files created
  bool fail_appends = false;
  bool disk_full = false;  // failed appends report ENOSPC, else EIO
};

class fake_wal_file : public storage::writable_file {
 public:
  explicit fake_wal_file(std::shared_ptr<fake_wal_disk> d) : d_(std::move(d)), start_(d_->bytes.size()) {
    d_->segments += 1;
  }
  storage::status append(std::string_view data) override {
    if (d_->fail_appends)
      return d_->disk_full ? storage::status::no_space("write: No space left on device (injected)")
                           : storage::status::io_error("write: injected failure");
    d_->appends += 1;
    d_->bytes.append(data);
    return storage::status::ok();
  }
  storage::status sync() override {
    d_->syncs += 1;
    return storage::status::ok();
  }
  storage::status truncate(uint64_t size) override {
    d_->bytes.resize(start_ + size);
    return storage::status::ok();
  }
  storage::status close() override { return storage::status::ok(); }

 private:
  std::shared_ptr<fake_wal_disk> d_;
  size_t start_;  // where this segment begins in d_->bytes
};

/// A segment writer whose files are fakes sharing `disk`. The directory must
/// exist (the writer lists it); a temp dir is made per call and removed
/// with the writer.
inline std::shared_ptr<storage::wal_segment_writer> fake_wal_writer(std::shared_ptr<fake_wal_disk> disk) {
  char tmpl[] = "/tmp/nl-actors-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    return nullptr;
  std::string dir = tmpl;
  auto w = storage::wal_segment_writer::open(dir, 1 << 20, [disk](const std::string&) {
    return storage::result<std::unique_ptr<storage::writable_file>>(
      std::unique_ptr<storage::writable_file>(new fake_wal_file(disk)));
  });
  if (!w) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return nullptr;
  }
  // The directory lives as long as the writer and goes with it, so test
  // runs leave nothing behind in /tmp.
  return std::shared_ptr<storage::wal_segment_writer>(w->release(),
                                                      [dir](storage::wal_segment_writer* p) {
                                                        delete p;
                                                        std::error_code ec;
                                                        std::filesystem::remove_all(dir, ec);
                                                      });
}

}  // namespace nl::test

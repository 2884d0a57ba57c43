// Segment framing (storage/FORMAT.md, "WAL segments"):
//
//   segment  := page*                         (the last page may be short)
//   page     := fragment* padding?            (32768 bytes)
//   fragment := crc32c<4,LE> len<2,LE> type<1> data<len>
//   padding  := zero bytes, only when fewer than 7 bytes are left in a page
//   record   := full | first middle* last     (all in one segment)
//
// crc32c covers type and data. The writer fills a page with as much of the
// record as fits and continues on the next page, so a reader can always
// resynchronise at a page boundary.
#include "storage/wal/segment_writer.hpp"

#include <algorithm>
#include <cstdio>

#include "storage/coding.hpp"
#include "storage/wal/checkpoint.hpp"
#include "storage/wal/format.hpp"

namespace nl::storage {

std::string wal_segment_name(uint64_t segment) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08llu", static_cast<unsigned long long>(segment));
  return buf;
}

std::string wal_segment_path(const std::string& dir, uint64_t segment) {
  return dir + "/" + wal_segment_name(segment);
}

result<std::vector<uint64_t>> list_wal_segments(const std::string& dir) {
  auto names = list_dir(dir);
  if (!names)
    return names.error();
  std::vector<uint64_t> segments;
  for (const auto& name : *names) {
    if (name.size() != wal_segment_name_digits
        || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    segments.push_back(std::stoull(name));
  }
  std::sort(segments.begin(), segments.end());
  return segments;
}

namespace {

constexpr uint64_t max_segment_number = 99999999;

}  // namespace

wal_segment_writer::wal_segment_writer(std::string dir, uint64_t segment_size,
                                       file_creator create)
    : dir_(std::move(dir)), segment_size_(segment_size), create_(std::move(create)) {}

wal_segment_writer::~wal_segment_writer() = default;

result<std::unique_ptr<wal_segment_writer>>
wal_segment_writer::open(std::string dir, uint64_t segment_size, file_creator create) {
  if (segment_size < wal_page_size)
    return status::invalid_argument("WAL segment size " + std::to_string(segment_size)
                                    + " is below the page size "
                                    + std::to_string(wal_page_size));
  if (auto st = create_dir_if_missing(dir); !st)
    return st;
  auto segments = list_wal_segments(dir);
  if (!segments)
    return segments.error();
  auto checkpoint = latest_wal_checkpoint(dir);
  if (!checkpoint)
    return checkpoint.error();
  uint64_t next = next_wal_segment(*segments, *checkpoint);
  std::unique_ptr<wal_segment_writer> w{
    new wal_segment_writer(std::move(dir), segment_size, std::move(create))};
  if (auto st = w->start_segment(next); !st)
    return st;
  return w;
}

status wal_segment_writer::start_segment(uint64_t segment) {
  if (segment > max_segment_number)
    return fail(status::limit_exceeded("WAL segment numbers exhausted in " + dir_));
  auto f = create_(wal_segment_path(dir_, segment));
  if (!f)
    return fail(f.error());
  // The file's directory entry must be durable before any record in it is
  // acknowledged, or a power loss could drop the whole segment.
  if (auto st = sync_dir(dir_); !st)
    return fail(st);
  file_ = std::move(*f);
  segment_ = segment;
  segment_offset_ = 0;
  flushed_offset_ = 0;
  return status::ok();
}

status wal_segment_writer::roll_segment() {
  // A finished segment is synced whatever the fsync policy: it will not be
  // touched again, and replay treats damage in it as hard corruption.
  if (auto st = flush(); !st)
    return st;
  if (auto st = file_->sync(); !st)
    return fail(st);
  if (segment_ + 1 > max_segment_number)
    return fail(status::limit_exceeded("WAL segment numbers exhausted in " + dir_));
  // The next file is made before the current one is closed: when the disk
  // is full the writer simply stays on the current segment.
  auto f = create_(wal_segment_path(dir_, segment_ + 1));
  if (!f)
    return f.error().error_code() == status::code::no_space ? f.error() : fail(f.error());
  if (auto st = sync_dir(dir_); !st)
    return fail(st);
  if (auto st = file_->close(); !st)
    return fail(st);
  file_ = std::move(*f);
  segment_ += 1;
  segment_offset_ = 0;
  flushed_offset_ = 0;
  return status::ok();
}

result<uint64_t> wal_segment_writer::next_segment() {
  if (!broken_.is_ok())
    return broken_;
  if (closed_)
    return status::invalid_argument("next_segment of closed WAL");
  uint64_t closed = segment_;
  if (auto st = roll_segment(); !st)
    return st;
  return closed;
}

status wal_segment_writer::fail(status st) {
  if (broken_.is_ok())
    broken_ = st;
  return st;
}

void wal_segment_writer::encode(std::string_view record) {
  bool first = true;
  for (;;) {
    size_t page_left = wal_page_size - segment_offset_ % wal_page_size;
    if (page_left < wal_fragment_header_size) {
      buffer_.append(page_left, '\0');
      segment_offset_ += page_left;
      continue;
    }
    size_t n = std::min(record.size(), page_left - wal_fragment_header_size);
    bool last = n == record.size();
    auto type = first ? (last ? wal_fragment_type::full : wal_fragment_type::first)
                      : (last ? wal_fragment_type::last : wal_fragment_type::middle);
    char header[wal_fragment_header_size];
    header[6] = static_cast<char>(type);
    uint32_t crc = crc32c_extend(crc32c(&header[6], 1), record.data(), n);
    encode_fixed32(header, crc);
    header[4] = static_cast<char>(n & 0xff);
    header[5] = static_cast<char>(n >> 8);
    buffer_.append(header, sizeof header);
    buffer_.append(record.data(), n);
    segment_offset_ += sizeof header + n;
    if (last)
      return;
    record.remove_prefix(n);
    first = false;
  }
}

uint64_t wal_segment_writer::framed_end(uint64_t offset, size_t len) {
  // The arithmetic twin of encode().
  for (;;) {
    uint64_t page_left = wal_page_size - offset % wal_page_size;
    if (page_left < wal_fragment_header_size) {
      offset += page_left;
      continue;
    }
    uint64_t n = std::min<uint64_t>(len, page_left - wal_fragment_header_size);
    offset += wal_fragment_header_size + n;
    len -= n;
    if (len == 0)
      return offset;
  }
}

uint64_t wal_segment_writer::batch_end(const std::string_view* records, size_t n) const {
  uint64_t end = segment_offset_;
  for (size_t i = 0; i < n; ++i)
    end = framed_end(end, records[i].size());
  return end;
}

bool wal_segment_writer::needs_new_segment(const std::vector<std::string>& records) const {
  std::vector<std::string_view> views(records.begin(), records.end());
  return batch_end(views.data(), views.size()) > segment_size_ && segment_offset_ > 0;
}

status wal_segment_writer::append(std::string_view record) {
  return append_records(&record, 1);
}

status wal_segment_writer::append_batch(const std::vector<std::string>& records) {
  std::vector<std::string_view> views(records.begin(), records.end());
  return append_records(views.data(), views.size());
}

status wal_segment_writer::append_records(const std::string_view* records, size_t n) {
  if (!broken_.is_ok())
    return broken_;
  if (closed_)
    return status::invalid_argument("append to closed WAL");
  // Does not fit: start a new segment first, so every segment holds whole
  // batches (and so whole records).
  if (batch_end(records, n) > segment_size_ && segment_offset_ > 0)
    if (auto st = roll_segment(); !st)
      return st;
  for (size_t i = 0; i < n; ++i)
    encode(records[i]);
  records_taken_ += n;
  return status::ok();
}

status wal_segment_writer::flush() {
  if (!broken_.is_ok())
    return broken_;
  if (closed_)
    return status::invalid_argument("flush of closed WAL");
  if (buffer_.empty())
    return status::ok();
  if (auto st = file_->append(buffer_); !st) {
    // Part of the buffer may have reached the file. Those bytes were never
    // acknowledged; removing them keeps the segment ending on a record
    // boundary. If that fails too, replay will see a torn tail.
    if (auto cut = file_->truncate(flushed_offset_); !cut)
      return fail(status::io_error(st.message() + "; then " + cut.message()));
    if (st.error_code() == status::code::no_space) {
      // The segment is whole again: drop what was buffered and go on.
      buffer_.clear();
      segment_offset_ = flushed_offset_;
      records_taken_ = flushed_records_;
      return st;
    }
    return fail(st);
  }
  flushed_offset_ = segment_offset_;
  flushed_records_ = records_taken_;
  buffer_.clear();
  return status::ok();
}

status wal_segment_writer::sync() {
  if (auto st = flush(); !st)
    return st;
  if (auto st = file_->sync(); !st)
    return fail(st);
  return status::ok();
}

result<std::unique_ptr<writable_file>> wal_segment_writer::sync_handle() const {
  if (!broken_.is_ok())
    return broken_;
  if (closed_)
    return status::invalid_argument("sync_handle of closed WAL");
  return file_->duplicate();
}

status wal_segment_writer::close() {
  if (auto st = sync(); !st)
    return st;
  closed_ = true;
  if (auto st = file_->close(); !st)
    return fail(st);
  return status::ok();
}

}  // namespace nl::storage

// Reads the framing written by wal_segment_writer.cpp (grammar there and in
// storage/FORMAT.md, "WAL segments"). The reader is strict: the first byte it
// cannot explain stops it. Whether that is a harmless torn tail or real
// corruption is decided once, at the stop, by looking for any valid fragment
// behind the damage (a torn write leaves nothing valid behind it).
#include "storage/wal/segment_reader.hpp"

#include <algorithm>

#include "storage/coding.hpp"
#include "storage/wal/format.hpp"

namespace nl::storage {

namespace {

// Whole pages per read: fewer system calls than one page at a time, and
// page-aligned windows keep every fragment inside one window.
constexpr size_t window_capacity = 16 * wal_page_size;

std::string where(uint64_t segment, uint64_t offset) {
  return "WAL segment " + wal_segment_name(segment) + " offset " + std::to_string(offset) + ": ";
}

size_t fragment_len(const char* header) {
  return static_cast<unsigned char>(header[4]) | static_cast<size_t>(static_cast<unsigned char>(header[5])) << 8;
}

bool fragment_crc_ok(const char* header, size_t len) {
  return crc32c(header + 6, 1 + len) == decode_fixed32(header);
}

}  // namespace

wal_segment_reader::wal_segment_reader(std::string dir, std::vector<uint64_t> segments)
    : dir_(std::move(dir)), segments_(std::move(segments)) {
  if (!segments_.empty())
    summary_.last_good = {segments_.front(), 0};
}

result<std::unique_ptr<wal_segment_reader>>
wal_segment_reader::open(std::string dir, uint64_t first_segment, uint64_t last_segment) {
  auto exists = path_exists(dir);
  if (!exists)
    return exists.error();
  if (!*exists)
    return std::unique_ptr<wal_segment_reader>{new wal_segment_reader(std::move(dir), {})};
  auto segments = list_wal_segments(dir);
  if (!segments)
    return segments.error();
  segments->erase(std::upper_bound(segments->begin(), segments->end(), last_segment),
                  segments->end());
  segments->erase(segments->begin(),
                  std::lower_bound(segments->begin(), segments->end(), first_segment));
  return std::unique_ptr<wal_segment_reader>{
    new wal_segment_reader(std::move(dir), std::move(*segments))};
}

bool wal_segment_reader::next() {
  while (!done_) {
    if (!file_) {
      if (next_segment_ == segments_.size()) {
        done_ = true;
        break;
      }
      if (!open_segment())
        break;
    }
    switch (read_fragment()) {
      case step::record:
        ++summary_.records;
        return true;
      case step::more:
        break;
      case step::end_of_segment:
        file_.reset();
        break;
      case step::stop:
        done_ = true;
        break;
    }
  }
  record_ = {};
  return false;
}

bool wal_segment_reader::open_segment() {
  uint64_t seg = segments_[next_segment_];
  if (next_segment_ > 0 && seg != segment_ + 1) {
    // A hole means lost records between two intact segments: never a tail.
    summary_.state = wal_replay_result::outcome::corrupt;
    summary_.damage = {segment_ + 1, 0};
    summary_.error = status::corruption(where(segment_ + 1, 0) + "segment is missing (next is "
                                        + wal_segment_name(seg) + ")");
    done_ = true;
    return false;
  }
  auto f = readable_file::open(wal_segment_path(dir_, seg));
  if (!f) {
    stop_io(f.error());
    return false;
  }
  file_.emplace(std::move(*f));
  segment_ = seg;
  ++next_segment_;
  window_start_ = 0;
  window_len_ = 0;
  window_eof_ = false;
  pos_ = 0;
  in_record_ = false;
  summary_.last_good = {seg, 0};
  return true;
}

bool wal_segment_reader::load_window() {
  window_start_ += window_len_;
  window_.resize(window_capacity);
  auto n = file_->read(window_start_, window_.data(), window_capacity);
  if (!n) {
    stop_io(n.error());
    return false;
  }
  window_len_ = *n;
  window_eof_ = *n < window_capacity;
  pos_ = 0;
  return true;
}

wal_segment_reader::step wal_segment_reader::read_fragment() {
  uint64_t off = window_start_ + pos_;
  if (pos_ == window_len_) {
    if (!window_eof_)
      return load_window() ? step::more : step::stop;
    if (in_record_)
      return damage("end of segment inside a record (no last fragment)", off);
    return step::end_of_segment;
  }
  const char* p = window_.data() + pos_;
  size_t avail = window_len_ - pos_;
  size_t page_left = wal_page_size - off % wal_page_size;
  if (page_left < wal_fragment_header_size) {
    size_t n = std::min(page_left, avail);
    if (std::any_of(p, p + n, [](char c) { return c != 0; }))
      return damage("non-zero bytes in page padding", off);
    pos_ += n;
    return step::more;
  }
  if (avail < wal_fragment_header_size)
    return damage("truncated fragment header", off);
  size_t len = fragment_len(p);
  auto type = static_cast<uint8_t>(p[6]);
  if (type == 0 && len == 0 && decode_fixed32(p) == 0)
    return damage("zero-filled region", off);
  if (wal_fragment_header_size + len > page_left)
    return damage("fragment length " + std::to_string(len) + " overruns its page", off);
  if (wal_fragment_header_size + len > avail)
    return damage("truncated fragment (" + std::to_string(len) + " bytes declared, "
                    + std::to_string(avail - wal_fragment_header_size) + " present)",
                  off);
  if (!fragment_crc_ok(p, len))
    return damage("checksum mismatch", off);
  std::string_view data{p + wal_fragment_header_size, len};
  // Past this fragment; after damage the reader stops, so pos_ no longer
  // matters on those paths.
  pos_ += wal_fragment_header_size + len;
  if (type & wal_fragment_skippable)
    return step::more;
  switch (static_cast<wal_fragment_type>(type)) {
    case wal_fragment_type::full:
      if (in_record_)
        return damage("full fragment inside a record (previous record has no last fragment)", off);
      record_ = data;
      break;
    case wal_fragment_type::first:
      if (in_record_)
        return damage("first fragment inside a record (previous record has no last fragment)",
                      off);
      in_record_ = true;
      assembled_.assign(data.data(), data.size());
      return step::more;
    case wal_fragment_type::middle:
      if (!in_record_)
        return damage("middle fragment without first", off);
      assembled_.append(data.data(), data.size());
      return step::more;
    case wal_fragment_type::last:
      if (!in_record_)
        return damage("last fragment without first", off);
      assembled_.append(data.data(), data.size());
      in_record_ = false;
      record_ = assembled_;
      break;
    default:
      return damage("unknown fragment type " + std::to_string(type)
                      + " (written by a newer version?)",
                    off);
  }
  summary_.last_good = {segment_, off + wal_fragment_header_size + len};
  return step::record;
}

wal_segment_reader::step wal_segment_reader::damage(const std::string& what, uint64_t offset) {
  summary_.damage = {segment_, offset};
  auto msg = where(segment_, offset) + what;
  if (next_segment_ == segments_.size()) {
    auto found = valid_fragment_from(offset);
    if (!found) {
      stop_io(found.error());
      return step::stop;
    }
    if (!*found) {
      auto size = file_->size();
      if (!size) {
        stop_io(size.error());
        return step::stop;
      }
      summary_.state = wal_replay_result::outcome::torn_tail;
      summary_.tail_bytes = *size - summary_.last_good.offset;
      summary_.error = status::corruption(msg + " (torn tail: " + std::to_string(summary_.tail_bytes)
                                          + " bytes after offset "
                                          + std::to_string(summary_.last_good.offset) + ")");
      return step::stop;
    }
    msg += "; a valid fragment follows at offset " + std::to_string(**found);
  }
  summary_.state = wal_replay_result::outcome::corrupt;
  summary_.error = status::corruption(std::move(msg));
  return step::stop;
}

result<std::optional<uint64_t>> wal_segment_reader::valid_fragment_from(uint64_t offset) {
  // In the damaged page the next fragment boundary is unknown (the length
  // field may be what broke), so every byte offset is tried; random bytes
  // pass with probability ~2^-32 each. Every later page starts with a
  // fragment, so checking page starts finds any later valid data unless the
  // start of each such page is damaged too, and keeps the scan of a long
  // garbage tail linear.
  std::string page(wal_page_size, '\0');
  uint64_t page_start = offset - offset % wal_page_size;
  size_t from = offset % wal_page_size;
  size_t to = wal_page_size;  // candidates in [from, to) of this page
  for (;; page_start += wal_page_size) {
    auto n = file_->read(page_start, page.data(), wal_page_size);
    if (!n)
      return n.error();
    for (size_t i = from; i < to && i + wal_fragment_header_size <= *n; ++i) {
      const char* p = page.data() + i;
      size_t len = fragment_len(p);
      if (p[6] != 0 && i + wal_fragment_header_size + len <= *n && fragment_crc_ok(p, len))
        return std::optional<uint64_t>{page_start + i};
    }
    if (*n < wal_page_size)
      return std::optional<uint64_t>{};
    from = 0;
    to = 1;
  }
}

void wal_segment_reader::stop_io(const status& st) {
  summary_.state = wal_replay_result::outcome::io_error;
  summary_.error = st;
  done_ = true;
}

// -- repair -------------------------------------------------------------------------

result<uint64_t> wal_truncate_at(const std::string& dir, wal_position pos) {
  auto segments = list_wal_segments(dir);
  if (!segments)
    return segments.error();
  if (!std::binary_search(segments->begin(), segments->end(), pos.segment))
    return status::not_found("WAL segment " + wal_segment_path(dir, pos.segment) + " does not exist");
  if (segments->back() != pos.segment)
    return status::invalid_argument("WAL segment " + wal_segment_name(pos.segment)
                                     + " is not the last one; only a tail may be truncated");
  auto path = wal_segment_path(dir, pos.segment);
  auto size = file_size(path);
  if (!size)
    return size.error();
  if (pos.offset > *size)
    return status::invalid_argument(where(pos.segment, pos.offset) + "beyond the end of the file");
  if (auto st = truncate_file(path, pos.offset); !st)
    return st;
  return *size - pos.offset;
}

result<uint64_t> wal_repair(const std::string& dir, wal_position pos) {
  auto segments = list_wal_segments(dir);
  if (!segments)
    return segments.error();
  if (segments->empty() && pos.segment == 0)
    return uint64_t{0};
  if (!std::binary_search(segments->begin(), segments->end(), pos.segment))
    return status::not_found("WAL segment " + wal_segment_path(dir, pos.segment) + " does not exist");
  auto path = wal_segment_path(dir, pos.segment);
  auto size = file_size(path);
  if (!size)
    return size.error();
  if (pos.offset > *size)
    return status::invalid_argument(where(pos.segment, pos.offset) + "beyond the end of the file");
  // Newest first, then the truncation: a crash half-way leaves a WAL that
  // still reads as damaged (and can be repaired again), never one with a
  // silent hole where the damaged records were.
  uint64_t dropped = 0;
  for (auto it = segments->rbegin(); it != segments->rend() && *it > pos.segment; ++it) {
    auto later = wal_segment_path(dir, *it);
    auto later_size = file_size(later);
    if (!later_size)
      return later_size.error();
    if (auto st = remove_file(later); !st)
      return st;
    dropped += *later_size;
  }
  if (auto st = sync_dir(dir); !st)
    return st;
  if (auto st = truncate_file(path, pos.offset); !st)
    return st;
  return dropped + (*size - pos.offset);
}

}  // namespace nl::storage

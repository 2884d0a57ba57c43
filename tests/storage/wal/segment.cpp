#define CAF_SUITE storage.wal.segment
#include "test_support.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "storage/coding.hpp"
#include "storage/file.hpp"
#include "storage/wal/format.hpp"
#include "storage/wal/segment_reader.hpp"
#include "storage/wal/segment_writer.hpp"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace nl::storage;
using outcome = wal_replay_result::outcome;

namespace {

constexpr uint64_t small_segment = 64 * 1024;

using nl::test::temp_dir;

struct replay {
  std::vector<std::string> records;
  std::vector<wal_position> ends;
  wal_replay_result summary;
};

replay read_all(const std::string& dir) {
  replay r;
  auto reader = wal_segment_reader::open(dir);
  if (!reader) {
    r.summary.state = outcome::io_error;
    r.summary.error = reader.error();
    return r;
  }
  while ((*reader)->next()) {
    r.records.emplace_back((*reader)->record());
    r.ends.push_back((*reader)->position());
  }
  r.summary = (*reader)->summary();
  return r;
}

/// Record `i` of a test: distinct content, so a reordering or a mix-up of
/// fragments shows.
std::string make_record(size_t i, size_t size) {
  std::string s(size, '\0');
  uint64_t x = i * 0x9E3779B97F4A7C15ull + 1;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return s;
}

/// Writes `records`, flushing after each, closes, and returns the writer's
/// end position after every record.
std::vector<wal_position> write_all(const std::string& dir, const std::vector<std::string>& records,
                                    uint64_t segment_size = small_segment) {
  std::vector<wal_position> ends;
  auto w = wal_segment_writer::open(dir, segment_size);
  CAF_REQUIRE(w.is_ok());
  for (const auto& r : records) {
    CAF_REQUIRE((*w)->append(r).is_ok());
    CAF_REQUIRE((*w)->flush().is_ok());
    ends.push_back((*w)->position());
  }
  CAF_REQUIRE((*w)->close().is_ok());
  return ends;
}

std::string fragment(uint8_t type, std::string_view data) {
  std::string f(wal_fragment_header_size, '\0');
  f[4] = static_cast<char>(data.size() & 0xff);
  f[5] = static_cast<char>(data.size() >> 8);
  f[6] = static_cast<char>(type);
  f.append(data.data(), data.size());
  encode_fixed32(f.data(), crc32c(f.data() + 6, 1 + data.size()));
  return f;
}

std::string segment_file(const temp_dir& d, uint64_t n) { return wal_segment_path(d.wal(), n); }

void flip_byte(const std::string& path, uint64_t offset) {
  auto data = read_whole_file(path);
  CAF_REQUIRE(data.is_ok());
  CAF_REQUIRE(offset < data->size());
  (*data)[offset] ^= 0x20;
  CAF_REQUIRE(write_whole_file(path, *data).is_ok());
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

CAF_TEST(empty wal directory reads as clean and the writer starts at segment 1) {
  temp_dir d;
  CAF_REQUIRE(create_dir_if_missing(d.wal()).is_ok());
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_CHECK(r.records.empty());
  CAF_CHECK_EQUAL(r.summary.last_good.segment, 0u);
  auto w = wal_segment_writer::open(d.wal(), small_segment);
  CAF_REQUIRE(w.is_ok());
  CAF_CHECK_EQUAL((*w)->position().segment, 1u);
  CAF_CHECK_EQUAL((*w)->position().offset, 0u);
  CAF_CHECK((*w)->close().is_ok());
  // An empty segment is a valid, empty WAL too.
  r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_CHECK(r.records.empty());
}

// The handle the WAL writer's syncer fdatasyncs: a second descriptor of
// the current segment that syncs while the writer goes on, and after the
// writer has closed the segment; the records are all there. A writer whose
// files have no second handle (the fakes) says so.
CAF_TEST(a sync handle syncs the segment on its own descriptor) {
  temp_dir d;
  auto w = wal_segment_writer::open(d.wal(), small_segment);
  CAF_REQUIRE(w.is_ok());
  CAF_REQUIRE((*w)->append("first").is_ok());
  CAF_REQUIRE((*w)->flush().is_ok());
  auto h = (*w)->sync_handle();
  CAF_REQUIRE(h.is_ok());
  CAF_CHECK((*h)->sync().is_ok());
  CAF_REQUIRE((*w)->append("second").is_ok());
  CAF_REQUIRE((*w)->close().is_ok());
  CAF_CHECK((*h)->sync().is_ok());  // its own descriptor outlives the writer's
  CAF_CHECK((*h)->close().is_ok());
  CAF_CHECK(!(*w)->sync_handle().is_ok());  // closed
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_CHECK_EQUAL(r.records, (std::vector<std::string>{"first", "second"}));
  struct no_dup : writable_file {
    status append(std::string_view) override { return status::ok(); }
    status sync() override { return status::ok(); }
    status truncate(uint64_t) override { return status::ok(); }
    status close() override { return status::ok(); }
  };
  temp_dir e;
  auto fake = wal_segment_writer::open(e.wal(), small_segment, [](const std::string&) {
    return result<std::unique_ptr<writable_file>>(std::unique_ptr<writable_file>(new no_dup));
  });
  CAF_REQUIRE(fake.is_ok());
  CAF_CHECK(!(*fake)->sync_handle().is_ok());
}

CAF_TEST(missing wal directory reads as empty and is created by the writer) {
  temp_dir d;
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_CHECK(r.records.empty());
  // A path that cannot be a directory is an error, not an empty WAL.
  CAF_REQUIRE(write_whole_file(d.path + "/file", "x").is_ok());
  auto bad = wal_segment_reader::open(d.path + "/file");
  CAF_CHECK(!bad.is_ok());
  auto w = wal_segment_writer::open(d.wal(), small_segment);
  CAF_REQUIRE(w.is_ok());
  CAF_CHECK(std::filesystem::exists(segment_file(d, 1)));
  CAF_CHECK((*w)->close().is_ok());
}

CAF_TEST(segment size below a page is rejected) {
  temp_dir d;
  auto w = wal_segment_writer::open(d.wal(), wal_page_size - 1);
  CAF_CHECK(!w.is_ok());
  CAF_CHECK(w.error().error_code() == status::code::invalid_argument);
}

CAF_TEST(records of every awkward size round trip across pages and segments) {
  temp_dir d;
  const size_t page = wal_page_size;
  const size_t hdr = wal_fragment_header_size;
  std::vector<size_t> sizes = {0,        1,        page - hdr,     page - hdr - 1, page - hdr + 1,
                               page - 6, page - 3, page,           page + 1,       3 * page + 5,
                               100,      0,        small_segment + 1, 7,           2 * small_segment + 11,
                               5};
  std::vector<std::string> records;
  for (size_t i = 0; i < sizes.size(); ++i)
    records.push_back(make_record(i, sizes[i]));
  auto ends = write_all(d.wal(), records);
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_CHECK_EQUAL(r.summary.error.message(), "");
  CAF_REQUIRE_EQUAL(r.records.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    CAF_CHECK_EQUAL(r.records[i].size(), records[i].size());
    CAF_CHECK(r.records[i] == records[i]);
    CAF_CHECK(r.ends[i] == ends[i]);
  }
  CAF_CHECK(r.summary.last_good == ends.back());
  CAF_CHECK_EQUAL(r.summary.records, records.size());
  // Oversized records got segments of their own; no segment holds part of
  // a record, so every segment but those is within the size limit.
  auto segments = list_wal_segments(d.wal());
  CAF_REQUIRE(segments.is_ok());
  CAF_CHECK_GREATER(segments->size(), 3u);
  for (auto s : *segments) {
    auto size = file_size(segment_file(d, s));
    CAF_REQUIRE(size.is_ok());
    size_t in_segment = 0;
    for (auto& e : ends)
      in_segment += e.segment == s;
    CAF_CHECK(*size <= small_segment || in_segment == 1);
  }
}

CAF_TEST(many small records with one flush roll over segments in order) {
  temp_dir d;
  std::vector<std::string> records;
  auto w = wal_segment_writer::open(d.wal(), small_segment);
  CAF_REQUIRE(w.is_ok());
  for (size_t i = 0; i < 20000; ++i) {
    records.push_back(make_record(i, i % 37));
    CAF_REQUIRE((*w)->append(records.back()).is_ok());
  }
  CAF_CHECK_GREATER((*w)->position().segment, 5u);
  CAF_CHECK((*w)->flush().is_ok());
  CAF_CHECK_EQUAL((*w)->buffered_bytes(), 0u);
  auto end = (*w)->position();
  CAF_CHECK((*w)->close().is_ok());
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_REQUIRE_EQUAL(r.records.size(), records.size());
  CAF_CHECK(r.records == records);
  CAF_CHECK(r.summary.last_good == end);
  auto segments = list_wal_segments(d.wal());
  CAF_REQUIRE(segments.is_ok());
  for (size_t i = 0; i < segments->size(); ++i)
    CAF_CHECK_EQUAL((*segments)[i], i + 1);
}

CAF_TEST(page tail shorter than a header is zero padding) {
  temp_dir d;
  // Leaves exactly 3 bytes in the first page, so the next record must start
  // on the next page.
  auto first = make_record(1, wal_page_size - wal_fragment_header_size - 3);
  auto second = make_record(2, 10);
  auto ends = write_all(d.wal(), {first, second});
  CAF_CHECK_EQUAL(ends[0].offset, wal_page_size - 3);
  CAF_CHECK_EQUAL(ends[1].offset, wal_page_size + wal_fragment_header_size + 10);
  auto data = read_whole_file(segment_file(d, 1));
  CAF_REQUIRE(data.is_ok());
  CAF_CHECK_EQUAL(data->substr(wal_page_size - 3, 3), std::string(3, '\0'));
  CAF_CHECK_EQUAL(static_cast<int>((*data)[wal_page_size + 6]),
                  static_cast<int>(wal_fragment_type::full));
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_REQUIRE_EQUAL(r.records.size(), 2u);
  CAF_CHECK(r.records[1] == second);
  // Non-zero padding is damage.
  flip_byte(segment_file(d, 1), wal_page_size - 2);
  r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::corrupt);
  CAF_CHECK(contains(r.summary.error.message(), "padding"));
}

CAF_TEST(reopening starts a new segment and never appends to an old one) {
  temp_dir d;
  write_all(d.wal(), {make_record(1, 10)});
  auto size_before = file_size(segment_file(d, 1));
  write_all(d.wal(), {make_record(2, 20)});
  CAF_CHECK(std::filesystem::exists(segment_file(d, 2)));
  auto size_after = file_size(segment_file(d, 1));
  CAF_REQUIRE(size_before.is_ok() && size_after.is_ok());
  CAF_CHECK_EQUAL(*size_after, *size_before);
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_REQUIRE_EQUAL(r.records.size(), 2u);
  CAF_CHECK(r.records[1] == make_record(2, 20));
  CAF_CHECK_EQUAL(r.summary.last_good.segment, 2u);
}

CAF_TEST(segment listing ignores files that are not segments) {
  temp_dir d;
  write_all(d.wal(), {make_record(1, 10)});
  for (auto name : {"checkpoint.00000001", "00000002.tmp", "1234567", "123456789", "0000000a"})
    CAF_REQUIRE(write_whole_file(d.wal() + "/" + name, "junk").is_ok());
  auto segments = list_wal_segments(d.wal());
  CAF_REQUIRE(segments.is_ok());
  CAF_CHECK_EQUAL(segments->size(), 1u);
  CAF_CHECK_EQUAL(wal_segment_name(42), "00000042");
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_CHECK_EQUAL(r.records.size(), 1u);
}

CAF_TEST(torn last record at every byte offset is a repairable tail) {
  temp_dir d;
  // The last record starts 100 bytes before a page end and spans into the
  // next page: a first and a last fragment, both torn at every byte.
  std::vector<std::string> records;
  records.push_back(make_record(0, 5000));
  records.push_back(make_record(1, wal_page_size - 5000 - 2 * wal_fragment_header_size - 100));
  records.push_back(make_record(2, 300));
  auto ends = write_all(d.wal(), records);
  CAF_REQUIRE_EQUAL(ends[1].offset, wal_page_size - 100);
  const uint64_t start = ends[1].offset;
  const uint64_t full = ends[2].offset;
  auto path = segment_file(d, 1);
  auto original = read_whole_file(path);
  CAF_REQUIRE(original.is_ok());
  size_t failures = 0;
  for (uint64_t cut = full - 1; cut >= start && failures < 5; --cut) {
    std::filesystem::resize_file(path, cut);
    auto r = read_all(d.wal());
    bool ok = r.records.size() == 2 && r.records[1] == records[1];
    if (cut == start)
      ok = ok && r.summary.state == outcome::clean;
    else
      ok = ok && r.summary.state == outcome::torn_tail && r.summary.tail_bytes == cut - start
           && r.summary.last_good == ends[1] && r.summary.damage.segment == 1;
    if (!ok) {
      ++failures;
      CAF_ERROR("cut at " << cut << ": " << r.records.size() << " records, state "
                          << static_cast<int>(r.summary.state) << ", "
                          << r.summary.error.message());
    }
  }
  CAF_CHECK_EQUAL(failures, 0u);
  // Repair the last tear, then the WAL is clean and the writer continues in
  // a new segment.
  CAF_REQUIRE(write_whole_file(path, original->substr(0, full - 1)).is_ok());
  auto r = read_all(d.wal());
  CAF_REQUIRE(r.summary.state == outcome::torn_tail);
  CAF_CHECK(contains(r.summary.error.message(), "WAL segment 00000001 offset"));
  auto dropped = wal_truncate_at(d.wal(), r.summary.last_good);
  CAF_REQUIRE(dropped.is_ok());
  CAF_CHECK_EQUAL(*dropped, full - 1 - start);
  CAF_CHECK(read_all(d.wal()).summary.state == outcome::clean);
  write_all(d.wal(), {make_record(3, 40)});
  r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_REQUIRE_EQUAL(r.records.size(), 3u);
  CAF_CHECK(r.records[2] == make_record(3, 40));
}

CAF_TEST(torn record spanning many pages is a tail at sampled offsets) {
  temp_dir d;
  std::vector<std::string> records = {make_record(0, 100), make_record(1, 3 * wal_page_size + 77)};
  auto ends = write_all(d.wal(), records, 4 * small_segment);
  auto path = segment_file(d, 1);
  size_t failures = 0;
  for (uint64_t cut = ends[1].offset - 1; cut > ends[0].offset && failures < 5;
       cut = cut > 997 ? cut - 997 : 0) {
    std::filesystem::resize_file(path, cut);
    auto r = read_all(d.wal());
    if (r.records.size() != 1 || r.summary.state != outcome::torn_tail
        || r.summary.tail_bytes != cut - ends[0].offset) {
      ++failures;
      CAF_ERROR("cut at " << cut << ": " << r.summary.error.message());
    }
  }
  CAF_CHECK_EQUAL(failures, 0u);
}

CAF_TEST(zero filled tail is torn but a zero page before valid records is corruption) {
  temp_dir d;
  std::vector<std::string> records;
  for (size_t i = 0; i < 6; ++i)
    records.push_back(make_record(i, 20000));
  auto ends = write_all(d.wal(), records, 4 * small_segment);
  auto path = segment_file(d, 1);
  auto original = read_whole_file(path);
  CAF_REQUIRE(original.is_ok());
  // A file extended with zeros (the size reached disk, the data did not).
  CAF_REQUIRE(write_whole_file(path, *original + std::string(wal_page_size, '\0')).is_ok());
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::torn_tail);
  CAF_CHECK_EQUAL(r.summary.tail_bytes, wal_page_size);
  CAF_CHECK_EQUAL(r.records.size(), records.size());
  CAF_CHECK(contains(r.summary.error.message(), "zero-filled region"));
  // Page 1 zeroed, with records 3..5 intact behind it.
  auto zeroed = *original;
  std::fill(zeroed.begin() + wal_page_size, zeroed.begin() + 2 * wal_page_size, '\0');
  CAF_REQUIRE(write_whole_file(path, zeroed).is_ok());
  r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::corrupt);
  CAF_CHECK_EQUAL(r.summary.damage.segment, 1u);
  CAF_CHECK_EQUAL(r.summary.damage.offset, wal_page_size);
  CAF_CHECK(contains(r.summary.error.message(), "zero-filled region"));
  CAF_CHECK(contains(r.summary.error.message(), "valid fragment follows"));
  CAF_CHECK_EQUAL(r.records.size(), 1u);
  CAF_CHECK(r.summary.last_good == ends[0]);
}

CAF_TEST(flipped byte in an earlier segment is a hard error and repair cuts there) {
  temp_dir d;
  std::vector<std::string> records;
  for (size_t i = 0; i < 30; ++i)
    records.push_back(make_record(i, 5000));
  auto ends = write_all(d.wal(), records);
  CAF_REQUIRE_GREATER(ends.back().segment, 2u);
  // Record 5 lies in segment 1; flip a byte in the middle of its data.
  CAF_REQUIRE_EQUAL(ends[5].segment, 1u);
  uint64_t record_start = ends[4].offset;
  flip_byte(segment_file(d, 1), record_start + 2000);
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::corrupt);
  CAF_CHECK_EQUAL(r.summary.damage.segment, 1u);
  CAF_CHECK_EQUAL(r.summary.damage.offset, record_start);
  CAF_CHECK(contains(r.summary.error.message(),
                     "WAL segment 00000001 offset " + std::to_string(record_start)));
  CAF_CHECK(contains(r.summary.error.message(), "checksum mismatch"));
  CAF_CHECK(r.summary.error.error_code() == status::code::corruption);
  CAF_CHECK_EQUAL(r.records.size(), 5u);
  CAF_CHECK(r.summary.last_good == ends[4]);
  // Not a tail: the tail repair refuses.
  CAF_CHECK(!wal_truncate_at(d.wal(), r.summary.last_good).is_ok());
  auto dropped = wal_repair(d.wal(), r.summary.last_good);
  CAF_REQUIRE(dropped.is_ok());
  CAF_CHECK_GREATER(*dropped, 25u * 5000);
  auto after = read_all(d.wal());
  CAF_CHECK(after.summary.state == outcome::clean);
  CAF_CHECK_EQUAL(after.records.size(), 5u);
  auto segments = list_wal_segments(d.wal());
  CAF_CHECK_EQUAL(segments->size(), 1u);
}

CAF_TEST(flipped byte in the last segment is corruption when records follow) {
  temp_dir d;
  std::vector<std::string> records;
  for (size_t i = 0; i < 5; ++i)
    records.push_back(make_record(i, 50));
  auto ends = write_all(d.wal(), records);
  // Damage record 2 of 5: records 3 and 4 behind it are acknowledged data.
  flip_byte(segment_file(d, 1), ends[1].offset + 20);
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::corrupt);
  CAF_CHECK_EQUAL(r.summary.damage.offset, ends[1].offset);
  CAF_CHECK_EQUAL(r.records.size(), 2u);
  // Damage the last record only: that is a tail.
  flip_byte(segment_file(d, 1), ends[1].offset + 20);
  flip_byte(segment_file(d, 1), ends[3].offset + 20);
  r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::torn_tail);
  CAF_CHECK_EQUAL(r.records.size(), 4u);
  CAF_CHECK_EQUAL(r.summary.tail_bytes, ends[4].offset - ends[3].offset);
}

CAF_TEST(impossible length is reported at the fragment) {
  temp_dir d;
  auto ends = write_all(d.wal(), {make_record(0, 10), make_record(1, 10), make_record(2, 10)});
  auto path = segment_file(d, 1);
  auto data = *read_whole_file(path);
  data[ends[0].offset + 4] = '\xff';
  data[ends[0].offset + 5] = '\xff';
  CAF_REQUIRE(write_whole_file(path, data).is_ok());
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::corrupt);
  CAF_CHECK(contains(r.summary.error.message(), "overruns its page"));
  CAF_CHECK_EQUAL(r.summary.damage.offset, ends[0].offset);
}

CAF_TEST(fragment sequence errors are detected) {
  temp_dir d;
  CAF_REQUIRE(create_dir_if_missing(d.wal()).is_ok());
  auto path = segment_file(d, 1);
  auto full = fragment(1, "full");
  auto first = fragment(2, "first");
  auto middle = fragment(3, "middle");
  auto last = fragment(4, "last");
  struct layout {
    std::string bytes;
    const char* expect;
    size_t records;
  };
  std::vector<layout> cases = {
    {full + middle + full, "middle fragment without first", 1},
    {full + last + full, "last fragment without first", 1},
    {first + full + full, "full fragment inside a record", 0},
    {first + middle + first + last + full, "first fragment inside a record", 0},
    {full + fragment(9, "future") + full, "unknown fragment type 9", 1},
  };
  for (const auto& c : cases) {
    CAF_REQUIRE(write_whole_file(path, c.bytes).is_ok());
    auto r = read_all(d.wal());
    CAF_CHECK(r.summary.state == outcome::corrupt);
    CAF_CHECK_EQUAL(r.records.size(), c.records);
    if (!contains(r.summary.error.message(), c.expect))
      CAF_ERROR("expected '" << c.expect << "', got " << r.summary.error.message());
  }
  // An unknown type at the very end is still not a tail: it carries a valid
  // checksum, so a newer writer made it on purpose.
  CAF_REQUIRE(write_whole_file(path, full + fragment(9, "future")).is_ok());
  CAF_CHECK(read_all(d.wal()).summary.state == outcome::corrupt);
  // A record cut after its first fragment at the end of the last segment is
  // a torn tail.
  CAF_REQUIRE(write_whole_file(path, full + first + middle).is_ok());
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::torn_tail);
  CAF_CHECK_EQUAL(r.summary.tail_bytes, first.size() + middle.size());
  CAF_CHECK(contains(r.summary.error.message(), "end of segment inside a record"));
}

CAF_TEST(incomplete record at the end of an earlier segment is corruption) {
  temp_dir d;
  CAF_REQUIRE(create_dir_if_missing(d.wal()).is_ok());
  CAF_REQUIRE(write_whole_file(segment_file(d, 1), fragment(1, "a") + fragment(2, "b")).is_ok());
  CAF_REQUIRE(write_whole_file(segment_file(d, 2), fragment(1, "c")).is_ok());
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::corrupt);
  CAF_CHECK_EQUAL(r.summary.damage.segment, 1u);
  CAF_CHECK_EQUAL(r.records.size(), 1u);
}

CAF_TEST(skippable fragment types are ignored by this reader) {
  temp_dir d;
  CAF_REQUIRE(create_dir_if_missing(d.wal()).is_ok());
  auto bytes = fragment(1, "a") + fragment(wal_fragment_skippable | 9, "future metadata")
               + fragment(2, "b") + fragment(wal_fragment_skippable | 1, "x") + fragment(4, "c");
  CAF_REQUIRE(write_whole_file(segment_file(d, 1), bytes).is_ok());
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_REQUIRE_EQUAL(r.records.size(), 2u);
  CAF_CHECK_EQUAL(r.records[0], "a");
  CAF_CHECK_EQUAL(r.records[1], "bc");
  // Its checksum is still verified.
  bytes[fragment(1, "a").size() + 10] ^= 1;
  bytes += fragment(1, "d");
  CAF_REQUIRE(write_whole_file(segment_file(d, 1), bytes).is_ok());
  CAF_CHECK(read_all(d.wal()).summary.state == outcome::corrupt);
}

CAF_TEST(missing segment is corruption and repair drops what follows it) {
  temp_dir d;
  std::vector<std::string> records;
  for (size_t i = 0; i < 40; ++i)
    records.push_back(make_record(i, 5000));
  auto ends = write_all(d.wal(), records);
  CAF_REQUIRE_GREATER(ends.back().segment, 3u);
  CAF_REQUIRE(remove_file(segment_file(d, 2)).is_ok());
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::corrupt);
  CAF_CHECK_EQUAL(r.summary.damage.segment, 2u);
  CAF_CHECK_EQUAL(r.summary.damage.offset, 0u);
  CAF_CHECK(contains(r.summary.error.message(), "segment is missing"));
  CAF_CHECK_EQUAL(r.summary.last_good.segment, 1u);
  CAF_REQUIRE(wal_repair(d.wal(), r.summary.last_good).is_ok());
  auto after = read_all(d.wal());
  CAF_CHECK(after.summary.state == outcome::clean);
  CAF_CHECK_EQUAL(after.records.size(), r.records.size());
}

CAF_TEST(reading can start at a later segment and stop at an earlier one) {
  temp_dir d;
  std::vector<std::string> records;
  for (size_t i = 0; i < 40; ++i)
    records.push_back(make_record(i, 5000));
  auto ends = write_all(d.wal(), records);
  auto reader = wal_segment_reader::open(d.wal(), 2);
  CAF_REQUIRE(reader.is_ok());
  size_t n = 0;
  while ((*reader)->next())
    ++n;
  size_t in_later = 0;
  for (auto& e : ends)
    in_later += e.segment >= 2;
  CAF_CHECK_EQUAL(n, in_later);
  CAF_CHECK((*reader)->summary().state == outcome::clean);
  // And stop at an earlier one: later segments are not opened.
  CAF_REQUIRE(write_whole_file(segment_file(d, ends.back().segment + 1), "not a segment").is_ok());
  auto bounded = wal_segment_reader::open(d.wal(), 2, ends.back().segment);
  CAF_REQUIRE(bounded.is_ok());
  n = 0;
  while ((*bounded)->next())
    ++n;
  CAF_CHECK_EQUAL(n, in_later);
  CAF_CHECK((*bounded)->summary().state == outcome::clean);
  bounded = wal_segment_reader::open(d.wal(), 0, 1);
  CAF_REQUIRE(bounded.is_ok());
  n = 0;
  while ((*bounded)->next())
    ++n;
  CAF_CHECK_EQUAL(n, records.size() - in_later);
}

namespace {

/// Faults a failing_file injects, shared with the test that sets them.
struct faults {
  size_t write_budget = size_t{1} << 30;  ///< bytes until writes fail
  bool disk_full = true;  ///< a write beyond the budget is ENOSPC, else EIO
  bool fail_sync = false;
  bool fail_truncate = false;
};

/// Passes calls through to a real file until a fault is due. A write that
/// exceeds the budget puts part of its bytes in the file, like a real short
/// write followed by ENOSPC (or EIO).
class failing_file final : public writable_file {
 public:
  failing_file(std::unique_ptr<writable_file> real, faults* f) : real_(std::move(real)), f_(f) {}
  status append(std::string_view data) override {
    if (data.size() > f_->write_budget) {
      (void) real_->append(data.substr(0, f_->write_budget));
      f_->write_budget = 0;
      return f_->disk_full ? status::no_space("write: No space left on device")
                           : status::io_error("write: Input/output error");
    }
    f_->write_budget -= data.size();
    return real_->append(data);
  }
  status sync() override {
    return f_->fail_sync ? status::io_error("fdatasync: Input/output error") : real_->sync();
  }
  status truncate(uint64_t size) override {
    return f_->fail_truncate ? status::io_error("ftruncate: Input/output error")
                             : real_->truncate(size);
  }
  status close() override { return real_->close(); }

 private:
  std::unique_ptr<writable_file> real_;
  faults* f_;
};

file_creator failing_creator(faults* f) {
  return [f](const std::string& path) -> result<std::unique_ptr<writable_file>> {
    auto file = create_new_file(path);
    if (!file)
      return file.error();
    return std::unique_ptr<writable_file>{new failing_file(std::move(*file), f)};
  };
}

}  // namespace

CAF_TEST(next_segment closes the segment and returns its number) {
  temp_dir d;
  auto w = wal_segment_writer::open(d.wal(), small_segment);
  CAF_REQUIRE(w.is_ok());
  CAF_REQUIRE((*w)->append(make_record(0, 100)).is_ok());  // buffered only
  auto closed = (*w)->next_segment();
  CAF_REQUIRE(closed.is_ok());
  CAF_CHECK_EQUAL(*closed, 1u);
  CAF_CHECK_EQUAL((*w)->position().segment, 2u);
  CAF_CHECK_EQUAL((*w)->position().offset, 0u);
  CAF_CHECK_EQUAL((*w)->buffered_bytes(), 0u);
  // Everything appended before the call is in segments <= 1, readable while
  // the writer goes on with segment 2.
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_REQUIRE_EQUAL(r.records.size(), 1u);
  CAF_CHECK(r.records[0] == make_record(0, 100));
  CAF_CHECK_EQUAL(r.ends[0].segment, 1u);
  // An empty segment can be closed too.
  closed = (*w)->next_segment();
  CAF_REQUIRE(closed.is_ok());
  CAF_CHECK_EQUAL(*closed, 2u);
  CAF_REQUIRE((*w)->append(make_record(1, 10)).is_ok());
  CAF_REQUIRE((*w)->close().is_ok());
  r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_REQUIRE_EQUAL(r.records.size(), 2u);
  CAF_CHECK_EQUAL(r.ends[1].segment, 3u);
  CAF_CHECK((*w)->next_segment().error().error_code() == status::code::invalid_argument);
}

CAF_TEST(failed sync in next_segment breaks the writer) {
  temp_dir d;
  faults f;
  auto w = wal_segment_writer::open(d.wal(), small_segment, failing_creator(&f));
  CAF_REQUIRE(w.is_ok());
  CAF_REQUIRE((*w)->append(make_record(0, 10)).is_ok());
  f.fail_sync = true;
  auto closed = (*w)->next_segment();
  CAF_CHECK(closed.error().error_code() == status::code::io_error);
  f.fail_sync = false;
  CAF_CHECK(!(*w)->next_segment().is_ok());
  CAF_CHECK(!(*w)->append(make_record(1, 10)).is_ok());
}

CAF_TEST(writer numbering continues after the newest checkpoint) {
  temp_dir d;
  write_all(d.wal(), {make_record(0, 10)});
  // A checkpoint that replaced segments up to 7 (they are gone) and an
  // unfinished one, which does not count.
  CAF_REQUIRE(create_dir_if_missing(d.wal() + "/checkpoint.00000007").is_ok());
  CAF_REQUIRE(create_dir_if_missing(d.wal() + "/checkpoint.00000009.tmp").is_ok());
  CAF_REQUIRE(remove_file(segment_file(d, 1)).is_ok());
  auto w = wal_segment_writer::open(d.wal(), small_segment);
  CAF_REQUIRE(w.is_ok());
  CAF_CHECK_EQUAL((*w)->position().segment, 8u);
  CAF_REQUIRE((*w)->close().is_ok());
  // Segments newer than the checkpoint still decide when they are higher.
  write_all(d.wal(), {make_record(1, 10)});
  CAF_CHECK(std::filesystem::exists(segment_file(d, 9)));
}

CAF_TEST(failed write is reported and breaks the writer for good) {
  temp_dir d;
  faults f;
  f.write_budget = 1000;
  f.disk_full = false;
  auto w = wal_segment_writer::open(d.wal(), small_segment, failing_creator(&f));
  CAF_REQUIRE(w.is_ok());
  CAF_CHECK((*w)->append(make_record(0, 500)).is_ok());
  CAF_CHECK((*w)->flush().is_ok());
  CAF_CHECK((*w)->append(make_record(1, 800)).is_ok());
  auto st = (*w)->flush();
  CAF_CHECK(st.error_code() == status::code::io_error);
  CAF_CHECK(contains(st.message(), "Input/output error"));
  // Even when writes work again, nothing more is accepted.
  f.write_budget = 1 << 20;
  CAF_CHECK(!(*w)->append(make_record(2, 10)).is_ok());
  CAF_CHECK(!(*w)->flush().is_ok());
  CAF_CHECK(!(*w)->sync().is_ok());
  CAF_CHECK(!(*w)->close().is_ok());
  CAF_CHECK(!(*w)->health().is_ok());
  // The partial write was cut away: the segment ends after the first record,
  // so a later segment (a restarted writer) does not turn it into corruption.
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_CHECK_EQUAL(r.records.size(), 1u);
  write_all(d.wal(), {make_record(3, 10)});
  r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_CHECK_EQUAL(r.records.size(), 2u);
}

CAF_TEST(a full disk drops the unflushed records and the writer goes on) {
  temp_dir d;
  faults f;
  f.write_budget = 1000;
  auto w = wal_segment_writer::open(d.wal(), small_segment, failing_creator(&f));
  CAF_REQUIRE(w.is_ok());
  CAF_CHECK((*w)->append(make_record(0, 500)).is_ok());
  CAF_CHECK((*w)->flush().is_ok());
  auto before = (*w)->position();
  CAF_CHECK((*w)->append(make_record(1, 800)).is_ok());
  CAF_CHECK((*w)->append(make_record(2, 300)).is_ok());
  auto st = (*w)->flush();
  CAF_CHECK(st.error_code() == status::code::no_space);
  CAF_CHECK(contains(st.message(), "No space left"));
  CAF_CHECK((*w)->health().is_ok());
  CAF_CHECK_EQUAL((*w)->buffered_bytes(), 0u);
  CAF_CHECK((*w)->position() == before);
  // Still full: refused again, still healthy.
  CAF_CHECK((*w)->append(make_record(3, 100)).is_ok());
  CAF_CHECK((*w)->flush().error_code() == status::code::no_space);
  // Space is back: later records go on right after the last flushed one.
  f.write_budget = 1 << 20;
  CAF_CHECK((*w)->append(make_record(4, 900)).is_ok());
  CAF_CHECK((*w)->sync().is_ok());
  CAF_CHECK((*w)->close().is_ok());
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_REQUIRE_EQUAL(r.records.size(), 2u);
  CAF_CHECK(r.records[0] == make_record(0, 500));
  CAF_CHECK(r.records[1] == make_record(4, 900));
}

CAF_TEST(a full disk when the next segment is due keeps the current one) {
  temp_dir d;
  bool full = false;
  auto creator = [&](const std::string& path) -> result<std::unique_ptr<writable_file>> {
    if (full)
      return status::no_space("create " + path + ": No space left on device");
    return create_new_file(path);
  };
  auto w = wal_segment_writer::open(d.wal(), small_segment, creator);
  CAF_REQUIRE(w.is_ok());
  CAF_CHECK((*w)->append(make_record(0, 40000)).is_ok());
  full = true;
  std::vector<std::string> batch{make_record(1, 20000), make_record(2, 20000)};
  CAF_CHECK((*w)->needs_new_segment(batch));
  auto st = (*w)->append_batch(batch);
  CAF_CHECK(st.error_code() == status::code::no_space);
  CAF_CHECK((*w)->health().is_ok());
  CAF_CHECK_EQUAL((*w)->position().segment, 1u);
  CAF_CHECK((*w)->next_segment().error().error_code() == status::code::no_space);
  CAF_CHECK((*w)->health().is_ok());
  // A small record still fits in segment 1.
  CAF_CHECK((*w)->append(make_record(3, 100)).is_ok());
  full = false;
  CAF_CHECK((*w)->append_batch(batch).is_ok());
  CAF_CHECK_EQUAL((*w)->position().segment, 2u);
  CAF_CHECK((*w)->close().is_ok());
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_REQUIRE_EQUAL(r.records.size(), 4u);
  CAF_CHECK(r.records[0] == make_record(0, 40000));
  CAF_CHECK(r.records[1] == make_record(3, 100));
  CAF_CHECK(r.records[2] == make_record(1, 20000));
  CAF_CHECK(r.records[3] == make_record(2, 20000));
  CAF_CHECK_EQUAL(r.ends[1].segment, 1u);
  CAF_CHECK_EQUAL(r.ends[2].segment, 2u);
  CAF_CHECK_EQUAL(r.ends[3].segment, 2u);
}

CAF_TEST(a batch is never split across segments) {
  temp_dir d;
  auto w = wal_segment_writer::open(d.wal(), small_segment);
  CAF_REQUIRE(w.is_ok());
  CAF_CHECK((*w)->append(make_record(0, 30000)).is_ok());
  // Each record alone would fit in segment 1; together they do not.
  std::vector<std::string> batch{make_record(1, 20000), make_record(2, 20000)};
  CAF_CHECK(!(*w)->needs_new_segment({make_record(1, 20000)}));
  CAF_CHECK((*w)->needs_new_segment(batch));
  CAF_CHECK((*w)->append_batch(batch).is_ok());
  CAF_CHECK((*w)->close().is_ok());
  auto r = read_all(d.wal());
  CAF_REQUIRE_EQUAL(r.records.size(), 3u);
  CAF_CHECK_EQUAL(r.ends[0].segment, 1u);
  CAF_CHECK_EQUAL(r.ends[1].segment, 2u);
  CAF_CHECK_EQUAL(r.ends[2].segment, 2u);
}

CAF_TEST(failed write whose cleanup fails leaves a repairable tail) {
  temp_dir d;
  faults f;
  f.write_budget = 1000;
  f.fail_truncate = true;
  auto w = wal_segment_writer::open(d.wal(), small_segment, failing_creator(&f));
  CAF_REQUIRE(w.is_ok());
  CAF_CHECK((*w)->append(make_record(0, 500)).is_ok());
  CAF_CHECK((*w)->flush().is_ok());
  CAF_CHECK((*w)->append(make_record(1, 800)).is_ok());
  auto st = (*w)->flush();
  // Full disk, but the segment could not be cut back: fatal.
  CAF_CHECK(contains(st.message(), "No space left"));
  CAF_CHECK(contains(st.message(), "ftruncate"));
  CAF_CHECK(!(*w)->health().is_ok());
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::torn_tail);
  CAF_CHECK_EQUAL(r.records.size(), 1u);
}

CAF_TEST(failed sync breaks the writer) {
  temp_dir d;
  faults f;
  auto w = wal_segment_writer::open(d.wal(), small_segment, failing_creator(&f));
  CAF_REQUIRE(w.is_ok());
  CAF_CHECK((*w)->append(make_record(0, 10)).is_ok());
  CAF_CHECK((*w)->sync().is_ok());
  f.fail_sync = true;
  CAF_CHECK((*w)->append(make_record(1, 10)).is_ok());
  CAF_CHECK(!(*w)->sync().is_ok());
  f.fail_sync = false;
  CAF_CHECK(!(*w)->append(make_record(2, 10)).is_ok());
  // A roll-over syncs the old segment; its failure is reported by append.
  auto w2 = wal_segment_writer::open(d.wal(), small_segment, failing_creator(&f));
  CAF_REQUIRE(w2.is_ok());
  CAF_CHECK((*w2)->append(make_record(3, 40000)).is_ok());
  f.fail_sync = true;
  CAF_CHECK(!(*w2)->append(make_record(4, 40000)).is_ok());
  CAF_CHECK(!(*w2)->health().is_ok());
}

CAF_TEST(failed segment creation is reported) {
  temp_dir d;
  int calls = 0;
  auto creator = [&](const std::string& path) -> result<std::unique_ptr<writable_file>> {
    if (++calls > 1)
      return status::io_error("create " + path + ": Too many open files");
    return create_new_file(path);
  };
  auto w = wal_segment_writer::open(d.wal(), small_segment, creator);
  CAF_REQUIRE(w.is_ok());
  CAF_CHECK((*w)->append(make_record(0, 40000)).is_ok());
  auto st = (*w)->append(make_record(1, 40000));
  CAF_CHECK(st.error_code() == status::code::io_error);
  CAF_CHECK(!(*w)->append(make_record(2, 10)).is_ok());
  // The first record was flushed by the roll-over before the failure.
  auto r = read_all(d.wal());
  CAF_CHECK(r.summary.state == outcome::clean);
  CAF_CHECK_EQUAL(r.records.size(), 1u);
}

CAF_TEST(wal_truncate_at and wal_repair validate their position) {
  temp_dir d;
  auto ends = write_all(d.wal(), {make_record(0, 100)});
  CAF_CHECK(wal_truncate_at(d.wal(), {7, 0}).error().error_code() == status::code::not_found);
  CAF_CHECK(wal_truncate_at(d.wal(), {1, ends[0].offset + 1}).error().error_code()
            == status::code::invalid_argument);
  CAF_CHECK(wal_repair(d.wal(), {7, 0}).error().error_code() == status::code::not_found);
  auto n = wal_truncate_at(d.wal(), ends[0]);
  CAF_REQUIRE(n.is_ok());
  CAF_CHECK_EQUAL(*n, 0u);
}

CAF_TEST(framing matches the worked example in FORMAT.md) {
  temp_dir d;
  auto ends = write_all(d.wal(), {make_record(0, 1000), make_record(1, 40000), make_record(2, 10)},
                        4 * small_segment);
  CAF_CHECK_EQUAL(ends[0].offset, 1007u);
  CAF_CHECK_EQUAL(ends[1].offset, 41021u);
  CAF_CHECK_EQUAL(ends[2].offset, 41038u);
  auto data = *read_whole_file(segment_file(d, 1));
  auto header = [&](size_t off) {
    return std::make_pair(static_cast<int>(static_cast<uint8_t>(data[off + 6])),
                          decode_fixed32(data.data() + off + 4) & 0xffff);
  };
  CAF_CHECK(header(0) == std::make_pair(1, 1000u));
  CAF_CHECK(header(1007) == std::make_pair(2, 31754u));
  CAF_CHECK(header(32768) == std::make_pair(4, 8246u));
  CAF_CHECK(header(41021) == std::make_pair(1, 10u));
  // The one-fragment example: the samples record of "WAL records".
  temp_dir d2;
  std::string record = "\x02\x05\xd0\x0f" + std::string(8, '\0') + "\xf0\x3f"
                       + "\x02\x1e\x02" + std::string(5, '\0') + "\xf0\x7f";
  CAF_REQUIRE_EQUAL(record.size(), 24u);
  write_all(d2.wal(), {record});
  auto bytes = *read_whole_file(wal_segment_path(d2.wal(), 1));
  CAF_CHECK_EQUAL(bytes.substr(0, 7), std::string("\x74\xec\xd9\x09\x18\x00\x01", 7));
  CAF_CHECK_EQUAL(bytes.substr(7), record);
}

CAF_TEST(records acknowledged before kill -9 all survive) {
  // A child process appends and flushes records and acknowledges each one
  // through a pipe only after flush() returned; the parent kills it at an
  // arbitrary moment and replays.
  for (uint64_t kill_after : {300u, 1500u, 4000u}) {
    temp_dir d;
    int fds[2];
    CAF_REQUIRE(::pipe(fds) == 0);
    auto pid = ::fork();
    CAF_REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      auto w = wal_segment_writer::open(d.wal(), small_segment);
      if (!w)
        ::_exit(2);
      for (uint64_t i = 0; i < 1000000; ++i) {
        if (!(*w)->append(make_record(i, (i * 37) % 3000)) || !(*w)->flush())
          ::_exit(3);
        if (::write(fds[1], &i, sizeof i) != sizeof i)
          ::_exit(4);
      }
      ::_exit(0);
    }
    ::close(fds[1]);
    uint64_t acked = 0;
    bool any = false;
    auto read_ack = [&] {
      uint64_t i;
      if (::read(fds[0], &i, sizeof i) != sizeof i)
        return false;
      acked = i;
      any = true;
      return true;
    };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while ((!any || acked < kill_after) && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, 1000) > 0 && !read_ack())
        break;
    }
    ::kill(pid, SIGKILL);
    int wstatus = 0;
    ::waitpid(pid, &wstatus, 0);
    while (read_ack()) {
      // acknowledgements already in the pipe count too
    }
    ::close(fds[0]);
    CAF_REQUIRE(any);
    CAF_CHECK(WIFSIGNALED(wstatus));
    auto r = read_all(d.wal());
    CAF_MESSAGE("killed after " << acked + 1 << " acks: " << r.records.size() << " records, "
                << r.summary.error.message());
    CAF_CHECK(r.summary.state == outcome::clean || r.summary.state == outcome::torn_tail);
    CAF_REQUIRE_GREATER_OR_EQUAL(r.records.size(), acked + 1);
    size_t wrong = 0;
    for (uint64_t i = 0; i < r.records.size(); ++i)
      wrong += r.records[i] != make_record(i, (i * 37) % 3000);
    CAF_CHECK_EQUAL(wrong, 0u);
  }
}

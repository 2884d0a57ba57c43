#define CAF_SUITE storage.block.block
#include "test_support.hpp"

#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "storage/block/format.hpp"
#include "storage/block/reader.hpp"
#include "storage/block/writer.hpp"
#include "storage/chunk/dense_chunk.hpp"
#include "storage/coding.hpp"
#include "storage/file.hpp"
#include "storage/head/head.hpp"
#include "storage/label_key.hpp"

using namespace nl::storage;

namespace {

matcher m(match_type t, std::string name, std::string value) {
  auto r = matcher::make(t, std::move(name), std::move(value));
  CAF_REQUIRE(r.is_ok());
  return *r;
}

label_set ls(std::vector<label> l) { return label_set::from_unsorted(std::move(l)); }

using dir_guard = nl::test::temp_dir;

// The samples of `s` in [mint, maxt]: what a query of that window reads
// (the chunks of a read may hold samples outside it).
std::vector<sample> samples_of(const series_snapshot& s, int64_t mint = INT64_MIN, int64_t maxt = INT64_MAX) {
  std::vector<sample> out;
  CAF_CHECK(decode_chunks(s.chunks, mint, maxt, out).is_ok());
  return out;
}

bool same_samples(const std::vector<sample>& a, const std::vector<sample>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].t != b[i].t || float_bits(a[i].v) != float_bits(b[i].v))
      return false;
  return true;
}

// A head with `n` series over jobs/instances, samples every 15 s in
// [0, 2h) and some irregular values (stale markers, NaN, repeats).
std::unique_ptr<head> make_head(size_t n, uint32_t seed) {
  head_options o;
  o.chunk_range_ms = 7200000;
  o.out_of_bounds_window_ms = INT64_MAX / 2;
  auto h = std::make_unique<head>(o);
  std::mt19937 rng{seed};
  for (size_t i = 0; i < n; ++i) {
    auto labels = ls({{"__name__", i % 3 == 0 ? "up" : i % 3 == 1 ? "http_requests_total" : "mem"},
                      {"job", "job" + std::to_string(i % 4)},
                      {"instance", "host" + std::to_string(i)},
                      {"env", i % 5 == 0 ? "" : i % 2 ? "prod" : "dev"}});
    auto slot = h->get_or_create(labels.hash(), label_key(labels));
    CAF_REQUIRE(slot.is_ok());
    double v = 0;
    for (int64_t t = static_cast<int64_t>(i % 7) * 1000; t < 7200000; t += 15000) {
      switch (rng() % 10) {
        case 0: v = stale_nan(); break;
        case 1: break;
        default: v = static_cast<double>(rng() % 1000) / 8;
      }
      CAF_REQUIRE(h->append(slot->ref(), t, v).is_ok());
    }
  }
  return h;
}

std::shared_ptr<const block> write_head(const head& h, const std::string& dir, const std::string& ulid) {
  auto w = block_writer::create(dir, ulid, 0, 7200000);
  CAF_REQUIRE(w.is_ok());
  for (auto& s : h.select({}, 0, 7199999))
    CAF_REQUIRE((*w)->add_series(s.labels, s.chunks).is_ok());
  auto meta = (*w)->finish();
  CAF_REQUIRE(meta.is_ok());
  CAF_CHECK_EQUAL(meta->num_series, h.num_series());
  auto b = block::open(dir + "/" + ulid);
  CAF_REQUIRE(b.is_ok());
  return *b;
}

std::string hex(std::string_view bytes) {
  std::string out;
  char buf[4];
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(bytes[i]));
    out += buf;
    out += (i % 16 == 15 || i + 1 == bytes.size()) ? "\n" : " ";
  }
  return out;
}

void flip_byte(const std::string& path, uint64_t offset) {
  auto bytes = read_whole_file(path);
  CAF_REQUIRE(bytes.is_ok());
  CAF_REQUIRE(offset < bytes->size());
  (*bytes)[offset] = static_cast<char>((*bytes)[offset] ^ 0x40);
  CAF_REQUIRE(write_whole_file(path, *bytes).is_ok());
}

constexpr const char* ulid_a = "01HZZZZZZZZZZZZZZZZZZZZZZA";

// The files of a golden text (hex dumps of chunks and index, then
// meta.json as it is) written to `dir`.
void write_golden_block(const std::string& text, const std::string& dir) {
  CAF_REQUIRE(create_dir_if_missing(dir).is_ok());
  auto unhex = [](const std::string& h) {
    std::string out;
    std::istringstream in{h};
    std::string byte;
    while (in >> byte)
      out.push_back(static_cast<char>(std::stoi(byte, nullptr, 16)));
    return out;
  };
  auto chunks_at = text.find("# chunks\n");
  auto index_at = text.find("# index\n");
  auto meta_at = text.find("# meta.json\n");
  CAF_REQUIRE(chunks_at == 0 && index_at != std::string::npos && meta_at != std::string::npos);
  CAF_REQUIRE(write_whole_file(dir + "/chunks", unhex(text.substr(9, index_at - 9))).is_ok());
  CAF_REQUIRE(write_whole_file(dir + "/index", unhex(text.substr(index_at + 8, meta_at - index_at - 8))).is_ok());
  CAF_REQUIRE(write_whole_file(dir + "/meta.json", text.substr(meta_at + 12)).is_ok());
}

// Replaces the data of the chunk record at `offset` (same length) and
// fixes its CRC, as a writer with a bug would leave it.
void rewrite_record(const std::string& path, uint64_t offset, uint8_t encoding, const std::string& data) {
  auto bytes = read_whole_file(path);
  CAF_REQUIRE(bytes.is_ok());
  std::string_view in = std::string_view{*bytes}.substr(offset + 1);
  std::string_view old;
  CAF_REQUIRE(get_length_prefixed(in, old));
  CAF_REQUIRE_EQUAL(old.size(), data.size());
  size_t data_at = static_cast<size_t>(old.data() - bytes->data());
  (*bytes)[offset] = static_cast<char>(encoding);
  bytes->replace(data_at, data.size(), data);
  char e = static_cast<char>(encoding);
  char crc[4];
  encode_fixed32(crc, crc32c_extend(crc32c(&e, 1), data.data(), data.size()));
  bytes->replace(data_at + data.size(), 4, crc, 4);
  CAF_REQUIRE(write_whole_file(path, *bytes).is_ok());
}

// Writes block ulid_a for [0, 2h) in `dir` with `series`, in label order;
// what was there goes first.
void write_block(const std::string& dir,
                 const std::vector<std::pair<label_set, std::vector<std::shared_ptr<const chunk>>>>& series) {
  (void)remove_tree(dir + "/" + ulid_a);
  auto w = block_writer::create(dir, ulid_a, 0, 7200000);
  CAF_REQUIRE(w.is_ok());
  for (const auto& [labels, chunks] : series)
    CAF_REQUIRE((*w)->add_series(labels, chunks).is_ok());
  CAF_REQUIRE((*w)->finish().is_ok());
}

// The body of index section `i` (0 symbols, 1 series, 2 series offsets,
// 3 postings, 4 postings table) within `index`, found through the table of
// contents.
std::pair<size_t, size_t> index_section(const std::string& index, int i) {
  const size_t toc = index.size() - block_format::toc_size;
  const size_t at = static_cast<size_t>(decode_fixed64(index.data() + toc + 8 * static_cast<size_t>(i)));
  const size_t len = static_cast<size_t>(decode_fixed64(index.data() + at));
  return {at + 8, len};
}

// Overwrites index section `i`'s body from byte `pos` with `value` and
// fixes the section's CRC, as a writer with a bug would leave it (the
// section keeps its length, so nothing else moves).
void rewrite_index_bytes(const std::string& path, int i, size_t pos, std::string_view value) {
  auto bytes = read_whole_file(path);
  CAF_REQUIRE(bytes.is_ok());
  auto [body, len] = index_section(*bytes, i);
  CAF_REQUIRE(pos + value.size() <= len);
  bytes->replace(body + pos, value.size(), value);
  char crc[4];
  encode_fixed32(crc, crc32c(bytes->data() + body, len));
  bytes->replace(body + len, 4, crc, 4);
  CAF_REQUIRE(write_whole_file(path, *bytes).is_ok());
}

}  // namespace

CAF_TEST(a block answers every read exactly like the head it was cut from) {
  dir_guard d;
  auto h = make_head(60, 1);
  auto b = write_head(*h, d.path, ulid_a);
  CAF_CHECK(b->check().is_ok());
  CAF_CHECK_EQUAL(b->meta().num_series, 60u);
  std::vector<matcher_list> selectors = {
    {},
    {m(match_type::equal, "__name__", "up")},
    {m(match_type::equal, "__name__", "up"), m(match_type::not_equal, "job", "job1")},
    {m(match_type::regex, "instance", "host1.*")},
    {m(match_type::regex, "job", "job1|job3")},
    {m(match_type::not_regex, "env", "prod")},
    {m(match_type::equal, "env", "")},
    {m(match_type::regex, "env", "dev|")},
    {m(match_type::equal, "nonexistent", "x")},
    {m(match_type::not_equal, "nonexistent", "x"), m(match_type::equal, "job", "job2")},
  };
  std::vector<std::pair<int64_t, int64_t>> ranges = {{0, 7199999}, {100000, 200000}, {-5000, 3000}, {7199999, 9999999}};
  for (const auto& ms : selectors) {
    for (auto [mint, maxt] : ranges) {
      auto want = h->select(ms, mint, maxt);
      auto got = b->select(ms, mint, maxt);
      CAF_REQUIRE(got.is_ok());
      CAF_REQUIRE_EQUAL(got->size(), want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        CAF_CHECK_EQUAL((*got)[i].labels, want[i].labels);
        CAF_CHECK(same_samples(samples_of((*got)[i], mint, maxt), samples_of(want[i], mint, maxt)));
      }
      auto series = b->series(ms, mint, maxt);
      CAF_REQUIRE(series.is_ok());
      CAF_CHECK_EQUAL(*series, h->series(ms, mint, maxt));
      // Without matchers a block answers from its index for any range its
      // own [min_time, max_time) overlaps (every range here), as
      // Prometheus does; with matchers, by the series' chunks.
      auto [lo, hi] = ms.empty() ? std::pair{INT64_MIN, INT64_MAX} : std::pair{mint, maxt};
      auto names = b->label_names(ms, mint, maxt);
      CAF_REQUIRE(names.is_ok());
      CAF_CHECK_EQUAL(*names, h->label_names(ms, lo, hi));
      for (const char* name : {"job", "env", "instance", "nope"}) {
        auto values = b->label_values(name, ms, mint, maxt);
        CAF_REQUIRE(values.is_ok());
        CAF_CHECK_EQUAL(*values, h->label_values(name, ms, lo, hi));
      }
    }
  }
}

CAF_TEST(chunks read from a block stay valid after the block and its files are gone) {
  // Dense records are handed out as views of the block's mapped chunks
  // file, which each chunk keeps mapped: closing the block and deleting
  // its directory (what retention and compaction do while a query still
  // holds its data) must not change what the chunks decode to.
  dir_guard d;
  auto h = make_head(30, 5);
  auto b = write_head(*h, d.path, ulid_a);
  auto read = b->select({}, 0, 7199999);
  CAF_REQUIRE(read.is_ok());
  CAF_REQUIRE(!read->empty());
  CAF_CHECK_EQUAL(read->front().chunks.front()->encoding(), chunk_encoding::dense);
  b.reset();
  CAF_REQUIRE(remove_tree(d.path + "/" + ulid_a).is_ok());
  auto want = h->select({}, 0, 7199999);
  CAF_REQUIRE_EQUAL(read->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    CAF_CHECK(same_samples(samples_of((*read)[i]), samples_of(want[i])));
}

CAF_TEST(a block still held by a query selects after its directory is gone) {
  // A query takes its blocks from the block set before it reads them;
  // compaction and retention may drop them from the set and delete their
  // directory meanwhile. Every file is mapped at open, so the held block
  // still answers, and a matcher select (postings, symbols) too.
  dir_guard d;
  auto h = make_head(30, 6);
  auto held = write_head(*h, d.path, ulid_a);
  CAF_REQUIRE(remove_tree(d.path + "/" + ulid_a).is_ok());
  CAF_REQUIRE(!*path_exists(d.path + "/" + ulid_a));
  for (const auto& ms : {std::vector<matcher>{}, std::vector<matcher>{m(match_type::equal, "job", "job1")}}) {
    auto read = held->select(ms, 0, 7199999);
    CAF_REQUIRE(read.is_ok());
    auto want = h->select(ms, 0, 7199999);
    CAF_REQUIRE(!want.empty());
    CAF_REQUIRE_EQUAL(read->size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      CAF_CHECK_EQUAL((*read)[i].labels, want[i].labels);
      CAF_CHECK(same_samples(samples_of((*read)[i]), samples_of(want[i])));
    }
  }
}

CAF_TEST(paged selects of a block and its head add up to one select) {
  dir_guard d;
  auto h = make_head(60, 3);
  auto b = write_head(*h, d.path, ulid_a);
  std::vector<matcher_list> selectors = {
    {m(match_type::regex, "__name__", ".+")},
    {m(match_type::equal, "__name__", "up"), m(match_type::not_equal, "job", "job1")},
    {m(match_type::equal, "nonexistent", "x")},
  };
  // Pages by series count, and by bytes (every series' chunks are larger
  // than 100 bytes: one series a page).
  std::vector<std::pair<size_t, size_t>> limits = {{7, SIZE_MAX}, {1000, 100}, {1, SIZE_MAX}};
  for (const auto& ms : selectors) {
    for (auto [mint, maxt] : {std::pair<int64_t, int64_t>{0, 7199999}, {100000, 200000}}) {
      auto whole = h->select(ms, mint, maxt);
      for (auto [max_series, max_bytes] : limits) {
        page_limits page;
        page.max_series = max_series;
        page.max_bytes = max_bytes;
        std::vector<series_snapshot> from_head, from_block, merged;
        size_t pages = 0;
        for (;;) {
          auto hp = h->select_page(ms, mint, maxt, page);
          auto bp = b->select_page(ms, mint, maxt, page);
          CAF_REQUIRE(bp.is_ok());
          CAF_CHECK_LESS_OR_EQUAL(hp.series.size(), max_series);
          CAF_CHECK_EQUAL(hp.series.size(), bp->series.size());
          CAF_CHECK_EQUAL(hp.more, bp->more);
          for (auto& s : hp.series)
            from_head.push_back(s);
          for (auto& s : bp->series)
            from_block.push_back(s);
          // Both sources as the index merges them: the same series twice,
          // joined.
          auto m = merge_pages({std::move(hp), std::move(*bp)});
          for (auto& s : m.series)
            merged.push_back(std::move(s));
          ++pages;
          if (!m.more)
            break;
          CAF_REQUIRE(!merged.empty());
          page.after = merged.back().labels;
        }
        CAF_MESSAGE(whole.size() << " series in " << pages << " pages of " << max_series << " series / "
                                  << max_bytes << " bytes");
        CAF_REQUIRE_EQUAL(from_head.size(), whole.size());
        CAF_REQUIRE_EQUAL(from_block.size(), whole.size());
        CAF_REQUIRE_EQUAL(merged.size(), whole.size());
        for (size_t i = 0; i < whole.size(); ++i) {
          CAF_CHECK_EQUAL(from_head[i].labels, whole[i].labels);
          CAF_CHECK_EQUAL(from_block[i].labels, whole[i].labels);
          CAF_CHECK_EQUAL(merged[i].labels, whole[i].labels);
          CAF_CHECK(same_samples(samples_of(from_head[i], mint, maxt), samples_of(whole[i], mint, maxt)));
          CAF_CHECK(same_samples(samples_of(from_block[i], mint, maxt), samples_of(whole[i], mint, maxt)));
          CAF_CHECK(same_samples(samples_of(merged[i], mint, maxt), samples_of(whole[i], mint, maxt)));
        }
        if (!whole.empty() && max_series < whole.size())
          CAF_CHECK_GREATER(pages, 1u);
      }
    }
  }
}

CAF_TEST(the writer refuses what would make a wrong block) {
  dir_guard d;
  auto w = block_writer::create(d.path, ulid_a, 1000, 2000);
  CAF_REQUIRE(w.is_ok());
  xor_appender a;
  a.append(1500, 1);
  a.append(2500, 2);
  auto outside = a.cut();
  CAF_CHECK_EQUAL((*w)->add_series(ls({{"a", "1"}}), {outside}).error_code(), status::code::invalid_argument);
  a.append(1100, 1);
  auto c1 = a.cut();
  CAF_CHECK((*w)->add_series(ls({{"a", "2"}}), {c1}).is_ok());
  CAF_CHECK_EQUAL((*w)->add_series(ls({{"a", "1"}}), {c1}).error_code(), status::code::invalid_argument);
  CAF_CHECK_EQUAL((*w)->add_series(ls({{"a", "3"}}), {c1, c1}).error_code(), status::code::invalid_argument);
  // Nothing is visible until finish(); an abandoned writer leaves nothing.
  CAF_CHECK(!*path_exists(d.path + "/" + ulid_a));
  w->reset();
  CAF_CHECK(!*path_exists(d.path + "/" + std::string{ulid_a} + ".tmp"));
}

// A disk that holds `budget` bytes in all: the write that would pass it
// fails with ENOSPC's message, as a full disk does.
struct full_disk {
  std::shared_ptr<uint64_t> left;
  struct file final : writable_file {
    std::unique_ptr<writable_file> f;
    std::shared_ptr<uint64_t> left;
    status append(std::string_view data) override {
      if (data.size() > *left)
        return status::io_error("write: No space left on device");
      *left -= data.size();
      return f->append(data);
    }
    status sync() override { return f->sync(); }
    status truncate(uint64_t size) override { return f->truncate(size); }
    status close() override { return f->close(); }
  };
  file_creator creator() {
    auto l = left;
    return [l](const std::string& path) -> result<std::unique_ptr<writable_file>> {
      auto f = create_new_file(path);
      if (!f)
        return f.error();
      auto out = std::make_unique<file>();
      out->f = std::move(*f);
      out->left = l;
      return std::unique_ptr<writable_file>(std::move(out));
    };
  }
};

CAF_TEST(a full disk leaves no block behind) {
  dir_guard d;
  auto h = make_head(200, 2);
  uint64_t whole = 0;
  for (uint64_t budget : {uint64_t{0}, uint64_t{100}, uint64_t{20000}, uint64_t{60000}, uint64_t{1} << 30}) {
    full_disk disk{std::make_shared<uint64_t>(budget)};
    auto w = block_writer::create(d.path, ulid_a, 0, 7200000, disk.creator());
    CAF_REQUIRE(w.is_ok());
    for (auto& s : h->select({}, 0, 7199999))
      CAF_REQUIRE((*w)->add_series(s.labels, s.chunks).is_ok());
    auto meta = (*w)->finish();
    CAF_CHECK(!*path_exists(d.path + "/" + std::string{ulid_a} + ".tmp"));
    if (budget == uint64_t{1} << 30) {
      CAF_REQUIRE(meta.is_ok());
      whole = meta->chunks_bytes + meta->index_bytes;
      CAF_CHECK(*path_exists(d.path + "/" + ulid_a));
      continue;
    }
    CAF_CHECK(!meta.is_ok());
    CAF_CHECK(meta.error().message().find("No space left") != std::string::npos);
    CAF_CHECK(!*path_exists(d.path + "/" + ulid_a));
  }
  // The budgets above fail in the chunks, the index and meta.json.
  CAF_CHECK(whole > 60000);
}

CAF_TEST(damage is found at open or by check) {
  dir_guard d;
  auto h = make_head(10, 3);
  auto dir = d.path + "/" + ulid_a;
  auto fresh = [&] {
    (void)remove_tree(dir);
    write_head(*h, d.path, ulid_a);
  };
  auto open_error = [&] {
    auto b = block::open(dir);
    return b.is_ok() ? std::string{} : b.error().message();
  };
  // A flipped byte anywhere in the index is caught at open.
  fresh();
  auto index_size = *file_size(dir + "/index");
  for (uint64_t off : {uint64_t{5}, uint64_t{20}, index_size / 2, index_size - 30, index_size - 2}) {
    fresh();
    flip_byte(dir + "/index", off);
    CAF_CHECK(!open_error().empty());
  }
  fresh();
  CAF_REQUIRE(truncate_file(dir + "/index", index_size - 10).is_ok());
  CAF_CHECK(open_error().find("index") != std::string::npos);
  fresh();
  CAF_REQUIRE(remove_file(dir + "/chunks").is_ok());
  CAF_CHECK(open_error().find("chunks") != std::string::npos);
  fresh();
  CAF_REQUIRE(remove_file(dir + "/meta.json").is_ok());
  CAF_CHECK(open_error().find("meta.json") != std::string::npos);
  fresh();
  flip_byte(dir + "/meta.json", 40);
  CAF_CHECK(open_error().find("meta.json") != std::string::npos);
  // A flipped chunk byte: the block opens, check() and reads of it fail.
  fresh();
  flip_byte(dir + "/chunks", *file_size(dir + "/chunks") / 2);
  auto b = block::open(dir);
  CAF_REQUIRE(b.is_ok());
  auto st = (*b)->check();
  CAF_CHECK(!st.is_ok());
  CAF_CHECK(st.message().find("checksum mismatch") != std::string::npos);
  CAF_CHECK(!(*b)->select({}, 0, 7199999).is_ok());
}

CAF_TEST(check finds chunk offsets that do not increase and empty postings) {
  // up{job="b"} (series 1) has 1200 samples: two records, so two chunk
  // references, the second's offset a delta at the end of its entry.
  dir_guard d;
  auto dir = d.path + "/" + ulid_a;
  auto fresh = [&] {
    xor_appender a;
    a.append(1000, 1);
    auto one = a.cut();
    std::vector<std::shared_ptr<const chunk>> many;
    for (int64_t i = 0; i < 1200; ++i) {
      a.append(1000 * (i + 1), static_cast<double>(i));
      if (i % 120 == 119)
        many.push_back(a.cut());
    }
    write_block(d.path,
                {{ls({{"__name__", "up"}, {"job", "a"}}), {one}}, {ls({{"__name__", "up"}, {"job", "b"}}), many}});
  };
  auto check_error = [&] {
    auto b = block::open(dir);
    CAF_REQUIRE(b.is_ok());  // the CRCs hold: only check() looks this deep
    auto st = (*b)->check();
    return st.is_ok() ? std::string{} : st.message();
  };
  fresh();
  CAF_REQUIRE_EQUAL(check_error(), "");
  // The delta (the first record's size) is the entry's last uvarint: it
  // ends at the last byte and starts after the previous byte below 0x80.
  // Spelt as 0 in as many bytes.
  auto index = read_whole_file(dir + "/index");
  CAF_REQUIRE(index.is_ok());
  auto [series_body, series_len] = index_section(*index, 1);
  const char* entry_end = index->data() + series_body + series_len;
  CAF_REQUIRE_LESS(static_cast<uint8_t>(entry_end[-1]), 0x80u);
  CAF_REQUIRE_NOT_EQUAL(entry_end[-1], '\0');
  size_t k = 0;
  while (static_cast<uint8_t>(entry_end[-2 - static_cast<std::ptrdiff_t>(k)]) >= 0x80)
    ++k;
  std::string zero(k, '\x80');
  zero.push_back('\0');
  rewrite_index_bytes(dir + "/index", 1, series_len - 1 - k, zero);
  CAF_CHECK_NOT_EQUAL(check_error().find("chunk offsets do not increase"), std::string::npos);
  // The first postings list's count (one byte) set to 0.
  fresh();
  rewrite_index_bytes(dir + "/index", 3, 0, std::string_view{"\x00", 1});
  CAF_CHECK_NOT_EQUAL(check_error().find("are empty"), std::string::npos);
}

CAF_TEST(a dense record that decodes wrongly fails check and reads) {
  // One series, one record of 3 samples at offset 8.
  dir_guard d;
  auto dir = d.path + "/" + ulid_a;
  auto fresh = [&] {
    xor_appender a;
    for (int64_t t : {1000, 2000, 3000})
      a.append(t, static_cast<double>(t) / 100);
    write_block(d.path, {{ls({{"__name__", "up"}}), {a.cut()}}});
  };
  auto record = [](std::vector<sample> s) {
    std::string out;
    encode_dense_chunk(s.data(), s.size(), out);
    return out;
  };
  // A read fails at once (offset, CRC, encoding, sample count) or hands
  // the record out to be checked where it is decoded.
  auto failure = [&] {
    auto b = block::open(dir);
    CAF_REQUIRE(b.is_ok());
    auto sel = (*b)->select({}, 0, 7199999);
    if (sel.is_ok()) {
      CAF_REQUIRE_EQUAL(sel->size(), 1u);
      std::vector<sample> out;
      auto decoded = decode_chunks((*sel)[0].chunks, 0, 7199999, out);
      CAF_CHECK(!decoded.is_ok());
      CAF_CHECK(out.empty());
    }
    auto st = (*b)->check();
    return st.is_ok() ? std::string{} : st.message();
  };
  fresh();
  {
    auto b = block::open(dir);
    CAF_REQUIRE(b.is_ok());
    CAF_CHECK((*b)->check().is_ok());
  }
  auto good = record({{1000, 10}, {2000, 20}, {3000, 30}});
  // Valid CRC, but the data is not a dense chunk.
  rewrite_record(dir + "/chunks", 8, block_format::encoding_dense, std::string(good.size(), '\xff'));
  CAF_CHECK(failure().find("dense chunk") != std::string::npos);
  // An encoding nobody defined.
  fresh();
  rewrite_record(dir + "/chunks", 8, 3, good);
  CAF_CHECK(failure().find("unknown encoding 3") != std::string::npos);
  // A record whose last timestamp is not the index's max_time.
  fresh();
  auto shifted = record({{1000, 10}, {2001, 20}, {3001, 30}});
  rewrite_record(dir + "/chunks", 8, block_format::encoding_dense, shifted);
  CAF_CHECK(failure().find("time range differs") != std::string::npos);
  // Timestamps that do not increase, though first and last agree.
  fresh();
  auto repeated = record({{1000, 10}, {1000, 20}, {3000, 30}});
  rewrite_record(dir + "/chunks", 8, block_format::encoding_dense, repeated);
  CAF_CHECK(failure().find("not increasing") != std::string::npos);
  // The same data as XOR (encoding 1) does not decode as XOR.
  fresh();
  rewrite_record(dir + "/chunks", 8, block_format::encoding_xor, good);
  CAF_CHECK(!failure().empty());
}

CAF_TEST(records hold a series whole or in multiples of the chunks a read serves) {
  dir_guard d;
  auto w = block_writer::create(d.path, ulid_a, 0, 100'000'000);
  CAF_REQUIRE(w.is_ok());
  // 1 sample, exactly the record limit, one more, and 2500 samples (three
  // records of 840, 840 and 820: whole 120-sample chunks but the last).
  std::vector<size_t> sizes = {1, block_format::dense_record_max_samples, block_format::dense_record_max_samples + 1,
                               2500};
  std::map<std::string, std::vector<sample>> want;
  for (size_t k = 0; k < sizes.size(); ++k) {
    std::vector<sample> s;
    xor_appender a;
    std::vector<std::shared_ptr<const chunk>> chunks;
    for (size_t i = 0; i < sizes[k]; ++i) {
      if (a.num_samples() == 100)  // chunk size of the input does not matter
        chunks.push_back(a.cut());
      s.push_back({static_cast<int64_t>(i) * 15000 + 7, i % 97 == 3 ? stale_nan() : static_cast<double>(i) / 4});
      a.append(s.back().t, s.back().v);
    }
    chunks.push_back(a.cut());
    auto name = "s" + std::to_string(k);
    CAF_REQUIRE((*w)->add_series(ls({{"__name__", name}}), chunks).is_ok());
    want[name] = s;
  }
  auto meta = (*w)->finish();
  CAF_REQUIRE(meta.is_ok());
  uint64_t chunks = 0;
  for (auto n : sizes)
    chunks += (n + 119) / 120;
  CAF_CHECK_EQUAL(meta->num_chunks, chunks);
  auto b = block::open(d.path + "/" + ulid_a);
  CAF_REQUIRE(b.is_ok());
  CAF_CHECK((*b)->check().is_ok());
  auto all = (*b)->select({}, INT64_MIN, INT64_MAX);
  CAF_REQUIRE(all.is_ok());
  CAF_REQUIRE_EQUAL(all->size(), sizes.size());
  // A read hands out the records; as XOR chunks (remote read) they are
  // the ones numChunks counts.
  uint64_t served = 0;
  for (const auto& s : *all) {
    CAF_CHECK(same_samples(samples_of(s), want[std::string{s.labels.get("__name__")}]));
    for (const auto& c : s.chunks) {
      CAF_CHECK(c->encoding() == chunk_encoding::dense);
      CAF_CHECK(c->num_samples() <= block_format::dense_record_max_samples);
      std::vector<std::shared_ptr<const xor_chunk>> pieces;
      CAF_REQUIRE(append_as_xor(c, INT64_MIN, INT64_MAX, block_format::xor_chunk_samples, pieces).is_ok());
      for (const auto& p : pieces)
        CAF_CHECK(p->num_samples() <= 120);
      served += pieces.size();
    }
  }
  CAF_CHECK_EQUAL(served, chunks);
  // A narrow range gets only the record that overlaps it, and as XOR
  // chunks only the one of 120 samples that does.
  const int64_t mint = 15000 * 1000, maxt = 15000 * 1010;
  auto some = (*b)->select({m(match_type::equal, "__name__", "s3")}, mint, maxt);
  CAF_REQUIRE(some.is_ok());
  CAF_REQUIRE_EQUAL(some->size(), 1u);
  CAF_REQUIRE_EQUAL((*some)[0].chunks.size(), 1u);
  CAF_CHECK_EQUAL((*some)[0].chunks[0]->num_samples(), 840u);
  std::vector<std::shared_ptr<const xor_chunk>> pieces;
  CAF_REQUIRE(append_as_xor((*some)[0].chunks[0], mint, maxt, block_format::xor_chunk_samples, pieces).is_ok());
  CAF_REQUIRE_EQUAL(pieces.size(), 1u);
  CAF_CHECK_EQUAL(pieces[0]->min_time(), 960 * 15000 + 7);
  CAF_CHECK(same_samples(samples_of((*some)[0], mint, maxt),
                         std::vector<sample>(want["s3"].begin() + 1000, want["s3"].begin() + 1010)));
  // Samples out of order are refused.
  auto w2 = block_writer::create(d.path, "01HZZZZZZZZZZZZZZZZZZZZZZB", 0, 100'000'000);
  CAF_REQUIRE(w2.is_ok());
  xor_appender a;
  a.append(5000, 1);
  a.append(4000, 2);
  CAF_CHECK_EQUAL((*w2)->add_series(ls({{"a", "1"}}), {a.cut()}).error_code(), status::code::invalid_argument);
}

CAF_TEST(a block written with encoding 1 still reads) {
  // tests/testdata/block_golden_xor.txt: the golden block as written before
  // encoding 2 (XOR records); FORMAT.md's worked example of that time.
  dir_guard d;
  auto text = read_whole_file(std::string{NL_TEST_DATA_DIR} + "/block_golden_xor.txt");
  CAF_REQUIRE(text.is_ok());
  auto dir = d.path + "/" + ulid_a;
  write_golden_block(*text, dir);
  auto b = block::open(dir);
  CAF_REQUIRE(b.is_ok());
  CAF_CHECK((*b)->check().is_ok());
  CAF_CHECK_EQUAL((*b)->meta().num_chunks, 3u);
  auto all = (*b)->select({}, 0, 7199999);
  CAF_REQUIRE(all.is_ok());
  CAF_REQUIRE_EQUAL(all->size(), 2u);
  CAF_CHECK(same_samples(samples_of((*all)[0]), {{1000, 1.0}, {16000, 2.0}}));
  CAF_CHECK(same_samples(samples_of((*all)[1]), {{1000, 0.5}, {30000, 3.0}}));
  CAF_CHECK_EQUAL((*all)[1].chunks.size(), 2u);
  // Its chunk bytes are served as they are.
  CAF_CHECK_EQUAL((*all)[0].chunks[0]->bytes().size(), 17u);
  // Reads of a part get only the chunk that overlaps it.
  auto only = (*b)->select({m(match_type::equal, "job", "b")}, 20000, 40000);
  CAF_REQUIRE(only.is_ok());
  CAF_REQUIRE_EQUAL(only->size(), 1u);
  CAF_CHECK_EQUAL((*only)[0].chunks.size(), 1u);
}

CAF_TEST(golden bytes of a small block) {
  // Pins the encoder against storage/FORMAT.md, "Blocks" and "Chunks
  // (dense)": a change of format must change this file, the decoder and
  // FORMAT.md together. Blocks of encoding 1 are pinned by
  // block_golden_xor.txt (the test above).
  dir_guard d;
  auto w = block_writer::create(d.path, ulid_a, 0, 7200000);
  CAF_REQUIRE(w.is_ok());
  xor_appender a;
  a.append(1000, 1);
  a.append(16000, 2);
  auto c1 = a.cut();
  a.append(1000, 0.5);
  auto c2 = a.cut();
  a.append(30000, 3);
  auto c3 = a.cut();
  CAF_REQUIRE((*w)->add_series(ls({{"__name__", "up"}, {"job", "a"}}), {c1}).is_ok());
  CAF_REQUIRE((*w)->add_series(ls({{"__name__", "up"}, {"job", "b"}}), {c2, c3}).is_ok());
  CAF_REQUIRE((*w)->finish().is_ok());
  auto dir = d.path + "/" + ulid_a;
  std::string got = "# chunks\n" + hex(*read_whole_file(dir + "/chunks")) + "# index\n"
                    + hex(*read_whole_file(dir + "/index")) + "# meta.json\n" + *read_whole_file(dir + "/meta.json");
  std::string path = std::string{NL_TEST_DATA_DIR} + "/block_golden.txt";
  if (std::getenv("NL_UPDATE_GOLDEN")) {
    std::ofstream{path} << got;
  }
  auto want = read_whole_file(path);
  CAF_REQUIRE(want.is_ok());
  CAF_CHECK_EQUAL(got, *want);
  auto b = block::open(dir);
  CAF_REQUIRE(b.is_ok());
  CAF_CHECK((*b)->check().is_ok());
}

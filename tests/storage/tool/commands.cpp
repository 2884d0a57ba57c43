#define CAF_SUITE storage.tool.commands
#include "test_support.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "promql/parser.hpp"
#include "storage/block/writer.hpp"
#include "storage/file.hpp"
#include "storage/tool/commands.hpp"
#include "storage/wal/records.hpp"
#include "storage/wal/segment_writer.hpp"
#include "storage/chunk/xor_chunk.hpp"

using namespace nl::storage;
namespace tool = nl::storage::tool;

namespace {

label_set ls(std::vector<label> l) { return label_set::from_unsorted(std::move(l)); }

struct series_data {
  label_set labels;
  std::vector<sample> samples;
};

constexpr const char* ulid_a = "01HZZZZZZZZZZZZZZZZZZZZZZA";
constexpr const char* ulid_b = "01HZZZZZZZZZZZZZZZZZZZZZZB";

// A data directory (blocks/, wal/) in a temp dir, removed at the end.
struct data_dir : nl::test::temp_dir {
  data_dir() {
    CAF_REQUIRE(create_dir_if_missing(path + "/blocks").is_ok());
    CAF_REQUIRE(create_dir_if_missing(path + "/wal").is_ok());
  }

  std::string block(const std::string& ulid) const { return path + "/blocks/" + ulid; }

  // One block holding `series` (sorted by labels here), one chunk each.
  void add_block(const std::string& ulid, int64_t mint, int64_t maxt, std::vector<series_data> series) {
    std::sort(series.begin(), series.end(), [](const auto& a, const auto& b) { return a.labels < b.labels; });
    auto w = block_writer::create(path + "/blocks", ulid, mint, maxt);
    CAF_REQUIRE(w.is_ok());
    for (const auto& s : series) {
      xor_appender app;
      for (const auto& smp : s.samples)
        app.append(smp.t, smp.v);
      CAF_REQUIRE((*w)->add_series(s.labels, {app.cut()}).is_ok());
    }
    CAF_REQUIRE((*w)->finish().is_ok());
  }

  // One WAL segment with a series record of `series` and one samples
  // record.
  void write_wal(const std::vector<series_record>& series, const std::vector<sample_record>& samples) {
    auto w = wal_segment_writer::open(path + "/wal", 1 << 20);
    CAF_REQUIRE(w.is_ok());
    std::string rec;
    encode_series(series, rec);
    CAF_REQUIRE((*w)->append(rec).is_ok());
    rec.clear();
    encode_samples(samples, rec);
    CAF_REQUIRE((*w)->append(rec).is_ok());
    CAF_REQUIRE((*w)->close().is_ok());
  }
};

void flip_byte(const std::string& path, uint64_t offset) {
  auto bytes = read_whole_file(path);
  CAF_REQUIRE(bytes.is_ok());
  CAF_REQUIRE(offset < bytes->size());
  (*bytes)[offset] = static_cast<char>((*bytes)[offset] ^ 0x40);
  CAF_REQUIRE(write_whole_file(path, *bytes).is_ok());
}

struct run_result {
  int rc;
  std::string out;
  std::string err;
};

run_result run_check(const std::string& dir) {
  std::ostringstream out, err;
  int rc = tool::check(dir, out, err);
  return {rc, out.str(), err.str()};
}

run_result run_dump(const std::string& dir, const tool::dump_options& o = {}) {
  std::ostringstream out, err;
  int rc = tool::dump(dir, o, out, err);
  return {rc, out.str(), err.str()};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The tiny fixture: a block [0, 60000) with two series and a WAL whose
// series continue after it (and repeat some of the block's range, which
// start-up, and so dump, skips).
void tiny_fixture(data_dir& d) {
  auto a = ls({{"__name__", "up"}, {"job", "a"}});
  auto b = ls({{"__name__", "up"}, {"job", "b"}});
  d.add_block(ulid_a, 0, 60000,
              {{a, {{1000, 1}, {2000, 0.1}, {3000, stale_nan()}}}, {b, {{1000, 1e6}}}});
  d.write_wal({{1, a}, {2, b}}, {{1, 3000, stale_nan()},
                                 {1, 60000, 2},
                                 {2, 59000, 5},
                                 {2, 60000, -std::numeric_limits<double>::infinity()},
                                 {1, 61000, std::numeric_limits<double>::infinity()}});
}

matcher_list selector(const std::string& text) {
  auto r = nl::promql::parse_metric_selector(text);
  CAF_REQUIRE(r.ok());
  return r.matchers;
}

int64_t ms(std::string_view text) {
  auto t = tool::parse_time(text);
  CAF_REQUIRE(t.is_ok());
  return *t;
}

std::vector<std::string> line_with(const std::string& text, const std::string& start) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, start.size(), start) == 0) {
      std::istringstream words(line);
      std::vector<std::string> out;
      std::string w;
      while (words >> w)
        out.push_back(w);
      return out;
    }
  return {};
}

}  // namespace

CAF_TEST(check passes an intact data directory) {
  data_dir d;
  tiny_fixture(d);
  d.add_block(ulid_b, 60000, 120000, {{ls({{"__name__", "up"}, {"job", "a"}}), {{60000, 2}}}});
  auto r = run_check(d.path);
  CAF_MESSAGE(r.out);
  CAF_CHECK_EQUAL(r.rc, tool::exit_ok);
  CAF_CHECK(contains(r.out, std::string{"block "} + ulid_a + " [1970-01-01T00:00:00.000Z, "
                                                             "1970-01-01T00:01:00.000Z) level 1: 2 series, 2 chunks, "
                                                             "4 samples: ok"));
  CAF_CHECK(contains(r.out, "wal: segments 00000001-00000001: 2 records, 2 series, 5 samples"));
  CAF_CHECK(contains(r.out, "summary: 2 blocks ok, 0 damaged (5 samples, 2 series); WAL ok (5 samples, 2 series); "
                            "0 warnings: intact"));
  CAF_CHECK(r.err.empty());
}

CAF_TEST(check names the block whose chunk has a flipped byte) {
  data_dir d;
  tiny_fixture(d);
  d.add_block(ulid_b, 60000, 120000, {{ls({{"__name__", "up"}, {"job", "a"}}), {{60000, 2}}}});
  flip_byte(d.block(ulid_b) + "/chunks", 12);  // inside the first record's data
  auto r = run_check(d.path);
  CAF_MESSAGE(r.out);
  CAF_CHECK_EQUAL(r.rc, tool::exit_failed);
  auto damaged = std::string{"block "} + ulid_b + ": DAMAGED: ";
  CAF_CHECK(contains(r.out, damaged));
  CAF_CHECK(contains(r.out.substr(r.out.find(damaged)), "checksum"));
  CAF_CHECK(contains(r.out, "1 blocks ok, 1 damaged"));
  CAF_CHECK(contains(r.out, ": DAMAGED\n"));
  // Read-only: the damaged block is where it was, not moved aside.
  CAF_CHECK(*path_exists(d.block(ulid_b)));
}

CAF_TEST(check reports a truncated index) {
  data_dir d;
  tiny_fixture(d);
  auto index = d.block(ulid_a) + "/index";
  auto size = file_size(index);
  CAF_REQUIRE(size.is_ok());
  CAF_REQUIRE(truncate_file(index, *size - 10).is_ok());
  auto r = run_check(d.path);
  CAF_CHECK_EQUAL(r.rc, tool::exit_failed);
  CAF_CHECK(contains(r.out, std::string{"block "} + ulid_a + ": DAMAGED: " + index + ": size"));
  CAF_CHECK(contains(r.out, "0 blocks ok, 1 damaged"));
}

CAF_TEST(check reports a missing meta json) {
  data_dir d;
  tiny_fixture(d);
  CAF_REQUIRE(remove_file(d.block(ulid_a) + "/meta.json").is_ok());
  auto r = run_check(d.path);
  CAF_CHECK_EQUAL(r.rc, tool::exit_failed);
  CAF_CHECK(contains(r.out, std::string{"block "} + ulid_a + ": DAMAGED: " + d.block(ulid_a) + "/meta.json"));
}

CAF_TEST(check accepts a single block directory) {
  data_dir d;
  tiny_fixture(d);
  auto r = run_check(d.block(ulid_a));
  CAF_CHECK_EQUAL(r.rc, tool::exit_ok);
  CAF_CHECK(contains(r.out, "summary: 1 blocks ok, 0 damaged (4 samples, 2 series); no WAL"));
  flip_byte(d.block(ulid_a) + "/chunks", 12);
  CAF_CHECK_EQUAL(run_check(d.block(ulid_a)).rc, tool::exit_failed);
}

CAF_TEST(check reports damage inside the WAL) {
  data_dir d;
  tiny_fixture(d);
  // A second segment makes damage in the first one corruption, not a tail.
  auto w = wal_segment_writer::open(d.path + "/wal", 1 << 20);
  CAF_REQUIRE(w.is_ok());
  std::string rec;
  encode_samples({{1, 62000, 3}}, rec);
  CAF_REQUIRE((*w)->append(rec).is_ok());
  CAF_REQUIRE((*w)->close().is_ok());
  flip_byte(wal_segment_path(d.path + "/wal", 1), 20);
  auto r = run_check(d.path);
  CAF_MESSAGE(r.out);
  CAF_CHECK_EQUAL(r.rc, tool::exit_failed);
  CAF_CHECK(contains(r.out, "wal: segments 00000001-00000002: 0 records, 0 series, 0 samples: DAMAGED\n"
                            "wal: DAMAGED: WAL segment 00000001 offset 0: checksum mismatch\n"));
  CAF_CHECK(contains(r.out, "WAL DAMAGED"));
}

CAF_TEST(check notes leftovers and warns about overlapping blocks) {
  data_dir d;
  tiny_fixture(d);
  d.add_block(ulid_b, 30000, 90000, {{ls({{"__name__", "up"}, {"job", "c"}}), {{30000, 2}}}});
  CAF_REQUIRE(create_dir_if_missing(d.path + "/blocks/01HZZZZZZZZZZZZZZZZZZZZZZC.tmp").is_ok());
  auto r = run_check(d.path);
  CAF_MESSAGE(r.out);
  CAF_CHECK_EQUAL(r.rc, tool::exit_ok);
  CAF_CHECK(contains(r.out, "note: blocks/01HZZZZZZZZZZZZZZZZZZZZZZC.tmp: an unfinished block write"));
  CAF_CHECK(contains(r.out, std::string{"warning: blocks "} + ulid_a + " and " + ulid_b
                              + " overlap in [1970-01-01T00:00:30.000Z, 1970-01-01T00:01:00.000Z)"));
  CAF_CHECK(contains(r.out, "1 warning: intact"));
  CAF_CHECK(*path_exists(d.path + "/blocks/01HZZZZZZZZZZZZZZZZZZZZZZC.tmp"));
}

CAF_TEST(check refuses what is not a data directory) {
  data_dir d;
  auto r = run_check(d.path + "/nonexistent");
  CAF_CHECK_EQUAL(r.rc, tool::exit_failed);
  CAF_CHECK(contains(r.err, "not a directory"));
}

CAF_TEST(analyze counts series and churn per block and ranks metrics) {
  data_dir d;
  std::vector<series_data> first, second;
  for (int i = 0; i < 5; ++i)
    first.push_back({ls({{"__name__", "http_requests_total"}, {"instance", "i" + std::to_string(i)}}),
                     {{1000, 1}, {2000, 2}}});
  for (int i = 1; i < 6; ++i)
    second.push_back({ls({{"__name__", "http_requests_total"}, {"instance", "i" + std::to_string(i)}}),
                      {{61000, 1}}});
  first.push_back({ls({{"__name__", "up"}, {"job", "a"}}), {{1000, 1}}});
  first.push_back({ls({{"__name__", "up"}, {"job", "b"}}), {{1000, 1}}});
  second.push_back({ls({{"__name__", "up"}, {"job", "a"}}), {{61000, 1}}});
  d.add_block(ulid_a, 0, 60000, first);
  d.add_block(ulid_b, 60000, 120000, second);
  d.write_wal({{1, ls({{"__name__", "up"}, {"job", "a"}})}, {2, ls({{"__name__", "up"}, {"job", "new"}})}},
              {{1, 120000, 1}, {2, 120000, 1}, {2, 121000, 1}});
  std::ostringstream out, err;
  tool::analyze_options o;
  o.limit = 2;
  CAF_CHECK_EQUAL(tool::analyze(d.path, o, out, err), tool::exit_ok);
  auto text = out.str();
  CAF_MESSAGE(text);
  // series, chunks, samples, new, gone
  auto tail = [](std::vector<std::string> words) {
    return words.size() >= 5 ? std::vector<std::string>(words.end() - 5, words.end()) : words;
  };
  CAF_CHECK_EQUAL(tail(line_with(text, ulid_a)), (std::vector<std::string>{"7", "7", "12", "7", "0"}));
  CAF_CHECK_EQUAL(tail(line_with(text, ulid_b)), (std::vector<std::string>{"6", "6", "6", "1", "2"}));
  CAF_CHECK_EQUAL(tail(line_with(text, "head (from the WAL)")),
                  (std::vector<std::string>{"2", "2", "3", "1", "5"}));
  CAF_CHECK(contains(text, "Total: 9 series, 15 chunks, 21 samples\n"));
  CAF_CHECK(contains(text, "Highest cardinality metric names (series):\n6 http_requests_total\n3 up\n\n"));
  CAF_CHECK(contains(text, "Highest cardinality labels (distinct values):\n6 instance\n3 job\n\n"));
  CAF_CHECK(contains(text, "Most common label pairs (series):\n6 __name__=http_requests_total\n3 __name__=up\n"));
}

CAF_TEST(dump prints blocks and WAL once each in series and time order) {
  data_dir d;
  tiny_fixture(d);
  auto r = run_dump(d.path);
  CAF_CHECK_EQUAL(r.rc, tool::exit_ok);
  CAF_CHECK_EQUAL(r.out, "up{job=\"a\"} 1 1000\n"
                         "up{job=\"a\"} 0.1 2000\n"
                         "up{job=\"a\"} NaN 3000\n"
                         "up{job=\"a\"} 2 60000\n"
                         "up{job=\"a\"} +Inf 61000\n"
                         "up{job=\"b\"} 1e+06 1000\n"
                         "up{job=\"b\"} -Inf 60000\n");
  CAF_CHECK(r.err.empty());
}

CAF_TEST(dump selects series and a time range) {
  data_dir d;
  tiny_fixture(d);
  tool::dump_options o;
  o.selectors.push_back(selector("up{job=\"b\"}"));
  CAF_CHECK_EQUAL(run_dump(d.path, o).out, "up{job=\"b\"} 1e+06 1000\nup{job=\"b\"} -Inf 60000\n");
  o.selectors = {selector("{__name__=~\"u.\", job!=\"b\"}")};
  o.min_time = ms("1970-01-01T00:00:02Z");
  o.max_time = 60000;
  CAF_CHECK_EQUAL(run_dump(d.path, o).out, "up{job=\"a\"} 0.1 2000\n"
                                           "up{job=\"a\"} NaN 3000\n"
                                           "up{job=\"a\"} 2 60000\n");
  o.selectors = {selector("up{job=\"a\"}"), selector("up{job=\"b\"}")};
  o.min_time = 60000;
  o.max_time = 60000;
  CAF_CHECK_EQUAL(run_dump(d.path, o).out, "up{job=\"a\"} 2 60000\nup{job=\"b\"} -Inf 60000\n");
  o.selectors = {selector("nothing")};
  o.min_time = INT64_MIN;
  o.max_time = INT64_MAX;
  CAF_CHECK_EQUAL(run_dump(d.path, o).out, "");
}

CAF_TEST(dump skips a damaged block and says so) {
  data_dir d;
  tiny_fixture(d);
  CAF_REQUIRE(remove_file(d.block(ulid_a) + "/meta.json").is_ok());
  auto r = run_dump(d.path);
  CAF_CHECK_EQUAL(r.rc, tool::exit_failed);
  CAF_CHECK(contains(r.err, std::string{"error: skipping damaged block "} + ulid_a));
  // Without the block the WAL's older samples are no longer below its end.
  CAF_CHECK(contains(r.out, "up{job=\"b\"} 5 59000\n"));
}

CAF_TEST(times and values are read and printed as documented) {
  CAF_CHECK_EQUAL(ms("1700000000123"), 1700000000123);
  CAF_CHECK_EQUAL(ms("-5"), -5);
  CAF_CHECK_EQUAL(ms("2024-05-01T10:00:00Z"), 1714557600000);
  CAF_CHECK_EQUAL(ms("2024-05-01T12:00:00.25+02:00"), 1714557600250);
  CAF_CHECK_EQUAL(ms("1969-12-31T23:59:59.999Z"), -1);
  CAF_CHECK(!tool::parse_time("2024-02-30T00:00:00Z"));
  CAF_CHECK(!tool::parse_time("2024-05-01 10:00:00Z"));
  CAF_CHECK(!tool::parse_time("12s"));
  CAF_CHECK(!tool::parse_time(""));
  CAF_CHECK_EQUAL(tool::format_time(1714557600250), "2024-05-01T10:00:00.250Z");
  CAF_CHECK_EQUAL(tool::format_time(-1), "1969-12-31T23:59:59.999Z");
  CAF_CHECK_EQUAL(tool::format_value(0.1), "0.1");
  CAF_CHECK_EQUAL(tool::format_value(1e6), "1e+06");
  CAF_CHECK_EQUAL(tool::format_value(123456), "123456");
  CAF_CHECK_EQUAL(tool::format_value(1.5e-7), "1.5e-07");
  CAF_CHECK_EQUAL(tool::format_value(stale_nan()), "NaN");
  CAF_CHECK_EQUAL(tool::format_value(-std::numeric_limits<double>::infinity()), "-Inf");
}

CAF_TEST(import prometheus writes blocks that check finds sound) {
  data_dir d;
  auto target = d.path + "/imported";
  std::ostringstream out, err;
  auto prom = std::string{NL_TEST_DATA_DIR} + "/prometheus_block";
  CAF_CHECK_EQUAL(tool::import_prometheus(prom, target, out, err), tool::exit_ok);
  CAF_MESSAGE(out.str() << err.str());
  CAF_CHECK(contains(out.str(), "\nimported "));
  auto names = list_dir(target + "/blocks");
  CAF_REQUIRE(names.is_ok());
  CAF_CHECK(!names->empty());
  CAF_CHECK(contains(out.str(), "imported " + std::to_string(names->size()) + " blocks: "));
  CAF_CHECK_EQUAL(run_check(target).rc, tool::exit_ok);
  std::ostringstream out2, err2;
  CAF_CHECK_EQUAL(tool::import_prometheus(d.path + "/no-such-dir", d.path + "/other", out2, err2),
                  tool::exit_failed);
  CAF_CHECK(contains(err2.str(), "nightlight-tsdb import-prometheus: "));
}

CAF_TEST(import prometheus refuses a data dir a server holds) {
  data_dir d;
  int fd = ::open((d.path + "/LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  CAF_REQUIRE(fd >= 0);
  CAF_REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  std::ostringstream out, err;
  CAF_CHECK_EQUAL(tool::import_prometheus(std::string{NL_TEST_DATA_DIR} + "/prometheus_block", d.path, out, err),
                  tool::exit_failed);
  CAF_CHECK(contains(err.str(), "LOCK is held"));
  // check still runs, and says a server is using the directory.
  tiny_fixture(d);
  auto r = run_check(d.path);
  CAF_CHECK_EQUAL(r.rc, tool::exit_ok);
  CAF_CHECK(contains(r.out, "note: a server holds " + d.path + "/LOCK"));
  ::close(fd);
  CAF_CHECK(*list_dir(d.path + "/blocks") == std::vector<std::string>{ulid_a});
}

#define CAF_SUITE storage.prometheus.import
#include "test_support.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "storage/block/reader.hpp"
#include "storage/block/ulid.hpp"
#include "storage/coding.hpp"
#include "storage/file.hpp"
#include "storage/prometheus/import.hpp"

// The data: tests/testdata/prometheus_block/, two blocks written by
// promtool 2.42 from input.om, with tombstones written by Prometheus 2.42
// (README.md there says how).

using namespace nl::storage;
namespace fs = std::filesystem;

namespace {

const std::string data_dir = std::string{NL_TEST_DATA_DIR} + "/prometheus_block";
const std::string block1 = "01M91NKVAXHXZFBE0DPAFVX42Y";  // [1700002800000, 1700006390001)
const std::string block2 = "01M91NKVDNECVP6Z0JB200XXP2";  // [1700006400000, 1700009990001)

using dir_guard = nl::test::temp_dir;

using series_map = std::map<std::string, std::vector<sample>>;

// -- the expected samples: input.om minus the deleted ranges ------------------

// `name{a="b",...}` (label values without escapes, as in input.om).
label_set parse_labels(const std::string& text) {
  std::vector<label> out;
  auto brace = text.find('{');
  out.push_back({"__name__", text.substr(0, brace)});
  if (brace == std::string::npos)
    return label_set::from_unsorted(out);
  size_t i = brace + 1;
  while (text[i] != '}') {
    auto eq = text.find('=', i);
    auto close = text.find('"', eq + 2);
    out.push_back({text.substr(i, eq - i), text.substr(eq + 2, close - eq - 2)});
    i = close + 1;
    if (text[i] == ',')
      ++i;
  }
  return label_set::from_unsorted(out);
}

// Values as Go's strconv.ParseFloat reads them (NaN is math.NaN()'s bits),
// timestamps as Prometheus' OpenMetrics parser turns seconds into ms.
series_map read_openmetrics(const std::string& path) {
  series_map out;
  std::ifstream in{path};
  CAF_REQUIRE(in.good());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    auto close = line.find('}');
    auto labels_end = close == std::string::npos ? line.find(' ') : close + 1;
    std::istringstream rest{line.substr(labels_end)};
    std::string value;
    std::string ts;
    rest >> value >> ts;
    double v = value == "NaN" ? float_from_bits(normal_nan_bits) : std::strtod(value.c_str(), nullptr);
    auto t = static_cast<int64_t>(std::strtod(ts.c_str(), nullptr) * 1000);
    out[parse_labels(line.substr(0, labels_end)).to_string()].push_back({t, v});
  }
  return out;
}

// What the two delete_series calls removed (README.md), inclusive.
bool deleted(const std::string& series, int64_t t) {
  if (series == "temp{room=\"lab\"}")
    return t >= 1700008000000 && t <= 1700008300000;
  if (series == "req_total{code=\"500\", job=\"api\"}")
    return t >= 1700000000000 && t <= 1700006399999;
  return false;
}

series_map expected_in(const series_map& all, int64_t mint, int64_t maxt_excl) {
  series_map out;
  for (const auto& [name, samples] : all)
    for (const auto& s : samples)
      if (s.t >= mint && s.t < maxt_excl && !deleted(name, s.t))
        out[name].push_back(s);
  return out;
}

// -- reading back ---------------------------------------------------------------

series_map read_block(const block& b) {
  series_map out;
  for (uint64_t id = 0; id < b.num_series(); ++id) {
    auto s = b.read_series(id, INT64_MIN, INT64_MAX);
    CAF_REQUIRE(s.is_ok());
    std::vector<sample> samples;
    CAF_REQUIRE(decode_chunks(s->chunks, INT64_MIN, INT64_MAX, samples).is_ok());
    out[s->labels.to_string()] = std::move(samples);
  }
  return out;
}

// Bit-exact comparison with a message naming the first difference.
std::string diff(const series_map& want, const series_map& got) {
  for (const auto& [name, w] : want) {
    auto it = got.find(name);
    if (it == got.end())
      return "missing series " + name;
    const auto& g = it->second;
    for (size_t i = 0; i < std::max(w.size(), g.size()); ++i) {
      if (i >= w.size() || i >= g.size())
        return name + ": " + std::to_string(g.size()) + " samples, want " + std::to_string(w.size());
      if (w[i].t != g[i].t || float_bits(w[i].v) != float_bits(g[i].v))
        return name + " sample " + std::to_string(i) + ": got (" + std::to_string(g[i].t) + ", "
               + std::to_string(g[i].v) + "), want (" + std::to_string(w[i].t) + ", " + std::to_string(w[i].v)
               + ")";
    }
  }
  for (const auto& [name, g] : got)
    if (!want.count(name))
      return "unexpected series " + name;
  return "";
}

size_t count_samples(const series_map& m) {
  size_t n = 0;
  for (const auto& [name, s] : m)
    n += s.size();
  return n;
}

// A copy of the test data (tests must not touch the committed files).
std::string copy_data(const std::string& dir) {
  auto prom = dir + "/prom";
  fs::copy(data_dir, prom, fs::copy_options::recursive);
  return prom;
}

std::string import_error(const std::string& prom, const std::string& blocks) {
  auto r = import_prometheus(prom, blocks, nullptr);
  CAF_REQUIRE(!r.is_ok());
  CAF_MESSAGE("refused: " << r.error().message());
  return r.error().message();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

void flip_byte(const std::string& path, size_t offset) {
  auto bytes = read_whole_file(path);
  CAF_REQUIRE(bytes.is_ok() && offset < bytes->size());
  (*bytes)[offset] ^= 0x20;
  CAF_REQUIRE(write_whole_file(path, *bytes).is_ok());
}

// The encoding byte of the chunk record at `offset` in a Prometheus
// segment file, with its CRC (big-endian, over encoding + data) redone.
void set_chunk_encoding(const std::string& path, size_t offset, uint8_t enc) {
  auto bytes = read_whole_file(path);
  CAF_REQUIRE(bytes.is_ok());
  std::string_view in{*bytes};
  in.remove_prefix(offset);
  uint64_t len = 0;
  CAF_REQUIRE(get_uvarint(in, len));
  size_t enc_at = static_cast<size_t>(in.data() - bytes->data());
  (*bytes)[enc_at] = static_cast<char>(enc);
  uint32_t crc = crc32c(bytes->data() + enc_at, 1 + len);
  for (int i = 0; i < 4; ++i)
    (*bytes)[enc_at + 1 + len + i] = static_cast<char>(crc >> (24 - 8 * i));
  CAF_REQUIRE(write_whole_file(path, *bytes).is_ok());
}

std::vector<std::string> block_dirs(const std::string& blocks) {
  std::vector<std::string> out;
  auto names = list_dir(blocks);
  if (!names)
    return out;
  for (auto& n : *names)
    out.push_back(n);
  std::sort(out.begin(), out.end());
  return out;
}

std::map<std::string, std::string> snapshot_tree(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      out[e.path().string()] = *read_whole_file(e.path().string());
  return out;
}

}  // namespace

CAF_TEST(every sample of the OpenMetrics input arrives bit for bit) {
  dir_guard d;
  auto prom = copy_data(d.path);
  // What a live Prometheus data dir also holds is left alone.
  CAF_REQUIRE(create_dir_if_missing(prom + "/wal").is_ok());
  CAF_REQUIRE(write_whole_file(prom + "/wal/00000000", "junk").is_ok());
  CAF_REQUIRE(create_dir_if_missing(prom + "/chunks_head").is_ok());
  CAF_REQUIRE(write_whole_file(prom + "/lock", "").is_ok());
  CAF_REQUIRE(write_whole_file(prom + "/queries.active", std::string(100, ' ')).is_ok());
  CAF_REQUIRE(create_dir_if_missing(prom + "/01M91NKVAXHXZFBE0DPAFVX42Z.tmp-for-creation").is_ok());
  auto before = snapshot_tree(prom);

  std::vector<std::string> lines;
  auto r = import_prometheus(prom, d.path + "/nl/blocks", [&](const std::string& l) { lines.push_back(l); });
  CAF_REQUIRE(r.is_ok());
  for (const auto& l : lines)
    CAF_MESSAGE(l);
  auto all = read_openmetrics(data_dir + "/input.om");
  CAF_CHECK_EQUAL(count_samples(all), 1332u);
  auto want1 = expected_in(all, 1700002800000, 1700006390001);
  auto want2 = expected_in(all, 1700006400000, 1700009990001);
  CAF_CHECK_EQUAL(want1.size(), 4u);  // req_total{code="500"} is deleted from the first block
  CAF_CHECK_EQUAL(r->blocks, 2u);
  CAF_CHECK_EQUAL(r->series, 9u);
  CAF_CHECK_EQUAL(r->samples, count_samples(want1) + count_samples(want2));
  CAF_CHECK_EQUAL(r->samples, 1332u - 60u - 10u);
  CAF_CHECK_EQUAL(r->skipped_chunks, 0u);
  CAF_CHECK(r->chunks >= 9u);
  CAF_REQUIRE_EQUAL(r->imported_ulids.size(), 2u);
  CAF_CHECK(r->imported_ulids[0] != r->imported_ulids[1]);
  CAF_CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) { return contains(l, "/wal"); }));

  const int64_t ranges[2][2] = {{1700002800000, 1700006390001}, {1700006400000, 1700009990001}};
  const series_map* wants[2] = {&want1, &want2};
  for (size_t i = 0; i < 2; ++i) {
    auto b = block::open(d.path + "/nl/blocks/" + r->imported_ulids[i]);
    CAF_REQUIRE(b.is_ok());
    CAF_CHECK((*b)->check().is_ok());
    CAF_CHECK_EQUAL((*b)->meta().min_time, ranges[i][0]);
    CAF_CHECK_EQUAL((*b)->meta().max_time, ranges[i][1]);
    CAF_CHECK_EQUAL((*b)->meta().level, 1u);
    CAF_CHECK_EQUAL((*b)->meta().ulid, r->imported_ulids[i]);
    auto got = read_block(**b);
    auto problem = diff(*wants[i], got);
    CAF_CHECK_EQUAL(problem, "");
  }
  // Spot checks of the odd values, so that a shared mistake in the
  // expectation cannot hide them.
  auto b1 = block::open(d.path + "/nl/blocks/" + r->imported_ulids[0]);
  CAF_REQUIRE(b1.is_ok());
  auto got = read_block(**b1);
  const auto& temp = got["temp{room=\"lab\"}"];
  CAF_REQUIRE(temp.size() > 12);
  CAF_CHECK_EQUAL(temp[5].t, 1700002800000 + 5 * 30000);
  CAF_CHECK_EQUAL(float_bits(temp[5].v), normal_nan_bits);
  CAF_CHECK_EQUAL(float_bits(temp[6].v), float_bits(std::numeric_limits<double>::infinity()));
  CAF_CHECK_EQUAL(float_bits(temp[7].v), float_bits(-std::numeric_limits<double>::infinity()));
  CAF_CHECK_EQUAL(float_bits(temp[8].v), float_bits(0.1));
  CAF_CHECK_EQUAL(float_bits(temp[9].v), float_bits(-0.0));
  CAF_CHECK_EQUAL(float_bits(temp[11].v), 1u);  // 5e-324, the smallest subnormal
  CAF_CHECK_EQUAL(got["up{job=\"api\"}"].front().t, 1700002800250);
  CAF_CHECK_EQUAL(got.count("build_info{name=\"n\xc3\xa4" "cht\", version=\"1.2.3 (beta)\"}"), 1u);

  // The Prometheus directory is untouched.
  CAF_CHECK(snapshot_tree(prom) == before);
}

CAF_TEST(a single block directory can be imported) {
  dir_guard d;
  auto prom = copy_data(d.path);
  auto r = import_prometheus(prom + "/" + block2, d.path + "/blocks", nullptr);
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK_EQUAL(r->blocks, 1u);
  CAF_CHECK_EQUAL(r->series, 5u);
  CAF_CHECK_EQUAL(r->samples, 666u - 10u);
  CAF_CHECK_EQUAL(block_dirs(d.path + "/blocks"), r->imported_ulids);
}

CAF_TEST(importing twice writes the blocks twice) {
  dir_guard d;
  auto prom = copy_data(d.path);
  auto r1 = import_prometheus(prom, d.path + "/blocks", nullptr);
  auto r2 = import_prometheus(prom, d.path + "/blocks", nullptr);
  CAF_REQUIRE(r1.is_ok() && r2.is_ok());
  auto dirs = block_dirs(d.path + "/blocks");
  CAF_CHECK_EQUAL(dirs.size(), 4u);
  for (const auto& u : dirs)
    CAF_CHECK(is_ulid(u));
}

CAF_TEST(histogram chunks are skipped and counted) {
  dir_guard d;
  auto prom = copy_data(d.path);
  // The first record of the first block is the first series' chunk:
  // build_info, 6 samples. Pretend it is a native histogram chunk.
  set_chunk_encoding(prom + "/" + block1 + "/chunks/000001", 8, 2);
  auto r = import_prometheus(prom, d.path + "/blocks", nullptr);
  CAF_REQUIRE(r.is_ok());
  CAF_CHECK_EQUAL(r->skipped_chunks, 1u);
  CAF_CHECK_EQUAL(r->series, 8u);
  CAF_CHECK_EQUAL(r->samples, 1332u - 60u - 10u - 6u);
  auto b = block::open(d.path + "/blocks/" + r->imported_ulids[0]);
  CAF_REQUIRE(b.is_ok());
  CAF_CHECK_EQUAL(read_block(**b).count("build_info{name=\"n\xc3\xa4" "cht\", version=\"1.2.3 (beta)\"}"), 0u);
}

CAF_TEST(an XOR2 chunk is refused) {
  dir_guard d;
  auto prom = copy_data(d.path);
  set_chunk_encoding(prom + "/" + block1 + "/chunks/000001", 8, 4);
  auto msg = import_error(prom, d.path + "/blocks");
  CAF_CHECK(contains(msg, "XOR2"));
  CAF_CHECK(contains(msg, block1 + "/chunks/000001 at offset 8"));
  CAF_CHECK(block_dirs(d.path + "/blocks").empty());
}

CAF_TEST(a flipped byte in the series section is refused naming the index) {
  dir_guard d;
  auto prom = copy_data(d.path);
  // The series section starts at 119 in both blocks (TOC entry 2), its
  // first entry at the next multiple of 16.
  flip_byte(prom + "/" + block1 + "/index", 128 + 3);
  auto msg = import_error(prom, d.path + "/blocks");
  CAF_CHECK(contains(msg, block1 + "/index"));
  CAF_CHECK(contains(msg, "series entry checksum mismatch at offset 128"));
  // The damaged block is the oldest, so nothing was written.
  CAF_CHECK(block_dirs(d.path + "/blocks").empty());
}

CAF_TEST(a flipped byte in the symbol table or the TOC is refused before anything is written) {
  for (size_t offset : {size_t{12}, size_t{934 - 10}}) {
    dir_guard d;
    auto prom = copy_data(d.path);
    flip_byte(prom + "/" + block2 + "/index", offset);
    auto msg = import_error(prom, d.path + "/blocks");
    CAF_CHECK(contains(msg, block2 + "/index"));
    CAF_CHECK(contains(msg, "checksum mismatch"));
    CAF_CHECK(block_dirs(d.path + "/blocks").empty());
  }
}

CAF_TEST(a flipped byte in a chunk is refused naming the segment file) {
  dir_guard d;
  auto prom = copy_data(d.path);
  flip_byte(prom + "/" + block2 + "/chunks/000001", 300);
  auto msg = import_error(prom, d.path + "/blocks");
  CAF_CHECK(contains(msg, block2 + "/chunks/000001: chunk at offset "));
  CAF_CHECK(contains(msg, "checksum mismatch"));
}

CAF_TEST(truncated files are refused) {
  {
    dir_guard d;
    auto prom = copy_data(d.path);
    auto path = prom + "/" + block1 + "/index";
    CAF_REQUIRE(truncate_file(path, 500).is_ok());
    auto msg = import_error(prom, d.path + "/blocks");
    CAF_CHECK(contains(msg, path));
  }
  {
    dir_guard d;
    auto prom = copy_data(d.path);
    auto path = prom + "/" + block1 + "/index";
    CAF_REQUIRE(truncate_file(path, 30).is_ok());
    auto msg = import_error(prom, d.path + "/blocks");
    CAF_CHECK(contains(msg, path));
    CAF_CHECK(contains(msg, "too short"));
  }
  {
    dir_guard d;
    auto prom = copy_data(d.path);
    auto path = prom + "/" + block1 + "/chunks/000001";
    CAF_REQUIRE(truncate_file(path, 1000).is_ok());
    auto msg = import_error(prom, d.path + "/blocks");
    CAF_CHECK(contains(msg, path + ": chunk at offset "));
  }
}

CAF_TEST(damaged tombstones and meta json are refused naming the file) {
  {
    dir_guard d;
    auto prom = copy_data(d.path);
    flip_byte(prom + "/" + block1 + "/tombstones", 8);
    auto msg = import_error(prom, d.path + "/blocks");
    CAF_CHECK(contains(msg, block1 + "/tombstones"));
    CAF_CHECK(contains(msg, "checksum mismatch"));
  }
  {
    dir_guard d;
    auto prom = copy_data(d.path);
    CAF_REQUIRE(write_whole_file(prom + "/" + block2 + "/meta.json", "{\"version\": 1, \"ulid\": ").is_ok());
    auto msg = import_error(prom, d.path + "/blocks");
    CAF_CHECK(contains(msg, block2 + "/meta.json"));
  }
  {
    dir_guard d;
    auto prom = copy_data(d.path);
    CAF_REQUIRE(remove_file(prom + "/" + block2 + "/meta.json").is_ok());
    auto msg = import_error(prom, d.path + "/blocks");
    CAF_CHECK(contains(msg, block2));
    CAF_CHECK(contains(msg, "no meta.json"));
  }
}

CAF_TEST(a chunk outside the time range of its block is refused) {
  dir_guard d;
  auto prom = copy_data(d.path);
  auto path = prom + "/" + block1 + "/meta.json";
  auto text = read_whole_file(path);
  CAF_REQUIRE(text.is_ok());
  auto at = text->find("1700006390001");
  CAF_REQUIRE(at != std::string::npos);
  text->replace(at, 13, "1700006000000");
  CAF_REQUIRE(write_whole_file(path, *text).is_ok());
  auto msg = import_error(prom, d.path + "/blocks");
  CAF_CHECK(contains(msg, block1 + "/index: series "));
  CAF_CHECK(contains(msg, "outside the block's range [1700002800000, 1700006000000)"));
  CAF_CHECK(block_dirs(d.path + "/blocks").empty());
}

CAF_TEST(an index in format v1 is refused) {
  dir_guard d;
  auto prom = copy_data(d.path);
  auto path = prom + "/" + block1 + "/index";
  auto bytes = read_whole_file(path);
  CAF_REQUIRE(bytes.is_ok());
  (*bytes)[4] = 1;
  CAF_REQUIRE(write_whole_file(path, *bytes).is_ok());
  auto r = import_prometheus(prom, d.path + "/blocks", nullptr);
  CAF_REQUIRE(!r.is_ok());
  CAF_CHECK_EQUAL(r.error().error_code(), status::code::invalid_argument);
  CAF_CHECK(contains(r.error().message(), path));
  CAF_CHECK(contains(r.error().message(), "format v1"));
}

CAF_TEST(a directory without blocks or the Prometheus dir itself as target is refused) {
  dir_guard d;
  CAF_REQUIRE(create_dir_if_missing(d.path + "/empty").is_ok());
  CAF_REQUIRE(create_dir_if_missing(d.path + "/empty/wal").is_ok());
  auto r = import_prometheus(d.path + "/empty", d.path + "/blocks", nullptr);
  CAF_REQUIRE(!r.is_ok());
  CAF_CHECK_EQUAL(r.error().error_code(), status::code::not_found);
  auto prom = copy_data(d.path);
  auto msg = import_error(prom, prom + "/blocks");
  CAF_CHECK(contains(msg, "refusing"));
  CAF_CHECK(!*path_exists(prom + "/blocks"));
}

#define CAF_SUITE storage.block.open_blocks
#include "test_support.hpp"

#include <algorithm>
#include <filesystem>

#include "storage/block/open_blocks.hpp"
#include "storage/block/writer.hpp"
#include "storage/chunk/xor_chunk.hpp"
#include "storage/file.hpp"
#include "storage/labels.hpp"

using namespace nl::storage;
namespace fs = std::filesystem;

namespace {

constexpr int64_t hour = 3600000;
constexpr const char* ulid_a = "01HZZZZZZZZZZZZZZZZZZZZZZA";
constexpr const char* ulid_b = "01HZZZZZZZZZZZZZZZZZZZZZZB";
constexpr const char* ulid_c = "01HZZZZZZZZZZZZZZZZZZZZZZC";

// A block of one series with one sample at `t`, in [from, to); a merge
// when `parents` are given.
void write_block(const std::string& dir, const std::string& ulid, int64_t from, int64_t to, int64_t t,
                 std::vector<std::string> parents = {}) {
  auto w = block_writer::create(dir, ulid, from, to);
  CAF_REQUIRE(w.is_ok());
  xor_appender a;
  a.append(t, 1);
  CAF_REQUIRE((*w)->add_series(label_set::from_unsorted({{"__name__", "up"}}), {a.cut()}).is_ok());
  if (!parents.empty())
    (*w)->set_compaction(2, parents, parents);
  CAF_REQUIRE((*w)->finish().is_ok());
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

bool any_note(const opened_blocks& o, const std::string& part) {
  return std::any_of(o.notes.begin(), o.notes.end(), [&](const std::string& n) { return n.find(part) != n.npos; });
}

}  // namespace

CAF_TEST(parents of a finished merge are deleted and the merged block is served) {
  nl::test::temp_dir d;
  write_block(d.path, ulid_a, 0, 2 * hour, 1000);
  write_block(d.path, ulid_b, 2 * hour, 4 * hour, 2 * hour + 1000);
  // The merge was durable, the crash came before its parents went.
  write_block(d.path, ulid_c, 0, 4 * hour, 1000, {ulid_a, ulid_b});
  auto o = open_blocks(d.path);
  CAF_REQUIRE(o.is_ok());
  CAF_REQUIRE_EQUAL(o->blocks.size(), 1u);
  CAF_CHECK_EQUAL(o->blocks[0]->meta().ulid, ulid_c);
  CAF_CHECK(o->corrupted.empty());
  CAF_CHECK(any_note(*o, std::string{"deleted "} + ulid_a));
  CAF_CHECK(any_note(*o, std::string{"deleted "} + ulid_b));
  CAF_CHECK_EQUAL(names_in(d.path), (std::vector<std::string>{ulid_c}));
}

CAF_TEST(unfinished writes and deletions are removed and other names left alone) {
  nl::test::temp_dir d;
  write_block(d.path, ulid_a, 0, 2 * hour, 1000);
  fs::create_directories(d.path + "/" + ulid_b + ".tmp");
  d.put(std::string{ulid_b} + ".tmp/chunks", "half");
  fs::create_directories(d.path + "/" + ulid_c + ".deleted");
  d.put(std::string{ulid_c} + ".deleted/index", "gone");
  fs::create_directories(d.path + "/01HZZZZZZZZZZZZZZZZZZZZZZD.corrupted");
  d.put("NOTES", "an operator's file");
  auto o = open_blocks(d.path);
  CAF_REQUIRE(o.is_ok());
  CAF_REQUIRE_EQUAL(o->blocks.size(), 1u);
  CAF_CHECK_EQUAL(o->blocks[0]->meta().ulid, ulid_a);
  CAF_CHECK(any_note(*o, "removed leftover " + std::string{ulid_b} + ".tmp"));
  CAF_CHECK(any_note(*o, "removed leftover " + std::string{ulid_c} + ".deleted"));
  CAF_CHECK_EQUAL(names_in(d.path),
                  (std::vector<std::string>{ulid_a, "01HZZZZZZZZZZZZZZZZZZZZZZD.corrupted", "NOTES"}));
}

CAF_TEST(a block that does not open is moved aside and the rest are served) {
  nl::test::temp_dir d;
  write_block(d.path, ulid_a, 0, 2 * hour, 1000);
  write_block(d.path, ulid_b, 2 * hour, 4 * hour, 2 * hour + 1000);
  CAF_REQUIRE(remove_file(d.path + "/" + ulid_a + "/meta.json").is_ok());
  auto o = open_blocks(d.path);
  CAF_REQUIRE(o.is_ok());
  CAF_REQUIRE_EQUAL(o->blocks.size(), 1u);
  CAF_CHECK_EQUAL(o->blocks[0]->meta().ulid, ulid_b);
  CAF_REQUIRE_EQUAL(o->corrupted.size(), 1u);
  CAF_CHECK_NOT_EQUAL(o->corrupted[0].find("meta.json"), std::string::npos);
  CAF_CHECK_EQUAL(names_in(d.path), (std::vector<std::string>{std::string{ulid_a} + ".corrupted", ulid_b}));
  // A missing directory is created, empty.
  auto fresh = open_blocks(d.path + "/none");
  CAF_REQUIRE(fresh.is_ok());
  CAF_CHECK(fresh->blocks.empty());
  CAF_CHECK(fs::is_directory(d.path + "/none"));
}

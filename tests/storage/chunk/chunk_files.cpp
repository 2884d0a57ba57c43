#define CAF_SUITE storage.chunk.chunk_files
#include "test_support.hpp"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/chunk/chunk_files.hpp"
#include "storage/chunk/chunk_pages.hpp"
#include "storage/chunk/xor_chunk.hpp"
#include "storage/head/head.hpp"
#include "storage/label_key.hpp"

using namespace nl::storage;
namespace fs = std::filesystem;

namespace {

size_t files_in(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    CAF_CHECK_EQUAL(fs::file_size(e.path()), chunk_files::segment_size);
    ++n;
  }
  return n;
}

// The resident kB of this process' mapping that contains `p`, from
// /proc/self/smaps; -1 when not found.
long resident_kb_of_mapping(const void* p) {
  auto addr = reinterpret_cast<uintptr_t>(p);
  std::ifstream in{"/proc/self/smaps"};
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(' ') > line.find('-')) {
      inside = lo <= addr && addr < hi;
      continue;
    }
    long kb = 0;
    if (inside && std::sscanf(line.c_str(), "Rss: %ld kB", &kb) == 1)
      return kb;
  }
  return -1;
}

// A head of 10-sample chunks whose closed chunks go to files in `dir`.
std::unique_ptr<head> head_with_files(const std::string& dir) {
  head_options opts;
  opts.samples_per_chunk = 10;
  auto h = std::make_unique<head>(opts);
  auto files = chunk_files::open(dir);
  CAF_REQUIRE(files.is_ok());
  h->use_chunk_files(std::move(*files));
  return h;
}

struct stored {
  const uint8_t* data;
  chunk_block* owner;
  std::string want;
};

}  // namespace

CAF_TEST(bytes go to segment files that are deleted when their chunks are released) {
  nl::test::temp_dir tmp;
  const std::string dir = tmp.path + "/head_chunks";
  uint64_t base = chunk_files::file_bytes();
  std::vector<stored> kept;
  {
    // Leftovers of an earlier run are removed.
    fs::create_directories(dir);
    std::ofstream{dir + "/00000000"} << "old";
    auto files = chunk_files::open(dir);
    CAF_REQUIRE(files.is_ok());
    CAF_CHECK(fs::is_empty(dir));
    // 1000-byte chunks, each with its own content: three full segments
    // and a few in a fourth.
    const size_t n = 3 * (chunk_files::segment_size / 1000) + 10;
    for (size_t i = 0; i < n; ++i) {
      std::string bytes(1000, static_cast<char>('a' + i % 26));
      std::memcpy(bytes.data(), &i, sizeof i);
      chunk_block* owner = nullptr;
      const uint8_t* data = (*files)->store(bytes.data(), bytes.size(), owner);
      CAF_REQUIRE(data != nullptr);
      CAF_REQUIRE(owner != nullptr);
      kept.push_back({data, owner, bytes});
    }
    CAF_CHECK_EQUAL(files_in(dir), 4u);
    CAF_CHECK_EQUAL(chunk_files::file_bytes(), base + 4 * chunk_files::segment_size);
    CAF_CHECK_EQUAL((*files)->failures(), 0u);
    // A full segment is not resident in this process; the bytes read back
    // from the page cache.
    CAF_CHECK_EQUAL(resident_kb_of_mapping(kept.front().data), 0);
    for (const auto& k : kept)
      CAF_CHECK(std::memcmp(k.data, k.want.data(), k.want.size()) == 0);
    CAF_CHECK(resident_kb_of_mapping(kept.front().data) > 0);
    CAF_CHECK(kept.front().owner != kept.back().owner);
    // Too large for a segment: the caller keeps it.
    std::string big(chunk_files::max_chunk + 1, 'x');
    chunk_block* owner = nullptr;
    CAF_CHECK((*files)->store(big.data(), big.size(), owner) == nullptr);
  }
  // The first segment's chunks released (from another thread): its file goes.
  chunk_block* first = kept.front().owner;
  std::thread other([&] {
    while (!kept.empty() && kept.front().owner == first) {
      kept.front().owner->unref();
      kept.erase(kept.begin());
    }
  });
  other.join();
  CAF_CHECK_EQUAL(files_in(dir), 3u);
  for (const auto& k : kept)
    CAF_CHECK(std::memcmp(k.data, k.want.data(), k.want.size()) == 0);
  for (const auto& k : kept)
    k.owner->unref();
  CAF_CHECK(fs::is_empty(dir));
  CAF_CHECK_EQUAL(chunk_files::file_bytes(), base);
}

CAF_TEST(copy-on-write file systems are refused) {
  CAF_CHECK(!chunk_files::preallocation_holds(0x9123683e));  // btrfs
  CAF_CHECK(!chunk_files::preallocation_holds(0x2fc12fc1));  // ZFS
  CAF_CHECK(chunk_files::preallocation_holds(0xEF53));       // ext4
  CAF_CHECK(chunk_files::preallocation_holds(0x58465342));   // XFS
  CAF_CHECK(chunk_files::preallocation_holds(0x01021994));   // tmpfs
}

CAF_TEST(a segment that cannot be made is a failure the caller sees as nullptr) {
  nl::test::temp_dir tmp;
  const std::string dir = tmp.path + "/head_chunks";
  auto files = chunk_files::open(dir);
  CAF_REQUIRE(files.is_ok());
  fs::remove_all(dir);  // the next file cannot be created
  chunk_block* owner = nullptr;
  CAF_CHECK((*files)->store("abc", 3, owner) == nullptr);
  CAF_CHECK_EQUAL((*files)->failures(), 1u);
  // Not tried again at once, even with the directory back.
  fs::create_directories(dir);
  CAF_CHECK((*files)->store("abc", 3, owner) == nullptr);
  CAF_CHECK_EQUAL((*files)->failures(), 1u);
  CAF_CHECK(!chunk_files::open(tmp.path + "/no/such/parent").is_ok());
}

CAF_TEST(a head with chunk files serves and truncates closed chunks) {
  nl::test::temp_dir tmp;
  const std::string dir = tmp.path + "/head_chunks";
  auto owned = head_with_files(dir);
  head& h = *owned;
  std::vector<uint64_t> refs;
  for (int i = 0; i < 50; ++i) {
    auto ls = label_set::from_unsorted({{"__name__", "m"}, {"i", std::to_string(i)}});
    auto slot = h.get_or_create(ls.hash(), label_key(ls));
    CAF_REQUIRE(slot.is_ok());
    refs.push_back(slot->ref());
  }
  for (int t = 0; t < 35; ++t)
    for (size_t i = 0; i < refs.size(); ++i)
      CAF_REQUIRE(h.append(refs[i], 1000 * t, static_cast<double>(i * 100 + t)).is_ok());
  CAF_CHECK_EQUAL(files_in(dir), 1u);
  CAF_CHECK_EQUAL(h.stats().chunks, 50u * 4);  // 3 closed, 1 open each
  auto name = matcher::make(match_type::equal, "__name__", "m");
  CAF_REQUIRE(name.is_ok());
  auto got = h.select({*name}, 0, 100'000);
  CAF_REQUIRE_EQUAL(got.size(), 50u);
  for (const auto& s : got) {
    std::vector<sample> xs;
    for (const auto& c : s.chunks)
      CAF_REQUIRE(c->decode(INT64_MIN, INT64_MAX, xs).is_ok());
    CAF_REQUIRE_EQUAL(xs.size(), 35u);
    double base_v = xs[0].v;
    for (int t = 0; t < 35; ++t)
      CAF_CHECK(xs[t].t == 1000 * t && xs[t].v == base_v + t);
  }
  // A query's chunks outlive the truncation and the head; the file goes
  // with the last of them.
  h.truncate(100'000);
  CAF_CHECK_EQUAL(h.num_series(), 0u);
  owned.reset();
  CAF_CHECK_EQUAL(files_in(dir), 1u);
  got.clear();
  CAF_CHECK(fs::is_empty(dir));
}

CAF_TEST(bytes a chunk file lost read as damage not as an empty chunk) {
  nl::test::temp_dir tmp;
  const std::string dir = tmp.path + "/head_chunks";
  auto owned = head_with_files(dir);
  head& h = *owned;
  auto ls = label_set::from_unsorted({{"__name__", "m"}});
  auto slot = h.get_or_create(ls.hash(), label_key(ls));
  CAF_REQUIRE(slot.is_ok());
  for (int t = 0; t < 15; ++t)
    CAF_REQUIRE(h.append(slot->ref(), 1000 * t, t).is_ok());
  // As if the kernel had failed to write the page back and dropped it:
  // the file reads zeros where the closed chunk was.
  std::string path;
  for (const auto& e : fs::directory_iterator(dir))
    path = e.path();
  CAF_REQUIRE(!path.empty());
  {
    std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
    std::string zeros(4096, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  auto name = matcher::make(match_type::equal, "__name__", "m");
  CAF_REQUIRE(name.is_ok());
  auto got = h.select({*name}, 0, 100'000);
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_REQUIRE_EQUAL(got[0].chunks.size(), 2u);
  CAF_CHECK_EQUAL(got[0].chunks[0]->num_samples(), 10u);  // from memory, not the file
  std::vector<sample> xs;
  auto st = got[0].chunks[0]->decode(INT64_MIN, INT64_MAX, xs);
  CAF_CHECK_EQUAL(st.error_code(), status::code::corruption);
  CAF_CHECK(xs.empty());
  CAF_MESSAGE(st.message());
  xs.clear();
  CAF_CHECK(got[0].chunks[1]->decode(INT64_MIN, INT64_MAX, xs).is_ok());  // the open chunk
  CAF_CHECK_EQUAL(xs.size(), 5u);
}

CAF_TEST(a head whose chunk files fail keeps its closed chunks in memory) {
  nl::test::temp_dir tmp;
  const std::string dir = tmp.path + "/head_chunks";
  auto owned = head_with_files(dir);
  head& h = *owned;
  uint64_t failures_before = chunk_files::failures_total();
  fs::remove_all(dir);  // no file can be made, as on a full disk
  auto ls = label_set::from_unsorted({{"__name__", "m"}});
  auto slot = h.get_or_create(ls.hash(), label_key(ls));
  CAF_REQUIRE(slot.is_ok());
  for (int t = 0; t < 35; ++t)
    CAF_REQUIRE(h.append(slot->ref(), 1000 * t, t).is_ok());
  CAF_CHECK_EQUAL(chunk_files::failures_total(), failures_before + 1);  // then not again for 10 s
  auto name = matcher::make(match_type::equal, "__name__", "m");
  CAF_REQUIRE(name.is_ok());
  auto got = h.select({*name}, 0, 100'000);
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_CHECK_EQUAL(got[0].chunks.size(), 4u);
  std::vector<sample> xs;
  CAF_REQUIRE(decode_chunks(got[0].chunks, INT64_MIN, INT64_MAX, xs).is_ok());
  CAF_REQUIRE_EQUAL(xs.size(), 35u);
  for (int t = 0; t < 35; ++t)
    CAF_CHECK(xs[t].t == 1000 * t && xs[t].v == t);
}

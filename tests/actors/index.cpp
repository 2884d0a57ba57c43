#define CAF_SUITE actors.index
#include "test_support.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "actors/index.hpp"
#include "storage/block/block_set.hpp"
#include "storage/block/writer.hpp"
#include "storage/chunk/chunk.hpp"
#include "storage/chunk/xor_chunk.hpp"
#include "storage/label_key.hpp"

using namespace nl::actors;
using nl::storage::label_set;
using nl::storage::match_type;
using nl::storage::sample;

namespace {

using namespace std::chrono_literals;

nl::storage::matcher m(match_type t, std::string name, std::string value) {
  return *nl::storage::matcher::make(t, std::move(name), std::move(value));
}

label_set series(const std::string& job, int i) {
  return label_set::from_unsorted({{"__name__", "up"}, {"job", job}, {"i", std::to_string(i)}});
}

// Four blocks of 10 s each, one per [10k * b, 10k * b + 10k), so the index
// splits them over its readers (one per core); series i of job "a" is in
// every block, job "b" only in blocks 1 and 3, job "c" only in the head.
// Every series has one sample a second, value t / 1000 + i.
struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  nl::test::temp_dir dir;
  std::vector<head_block_actor> shards;
  index_actor idx;

  fixture() {
    std::vector<nl::storage::block_set::block_ptr> blocks;
    const char* ulids[] = {"01HZZZZZZZZZZZZZZZZZZZZZZA", "01HZZZZZZZZZZZZZZZZZZZZZZB", "01HZZZZZZZZZZZZZZZZZZZZZZC",
                           "01HZZZZZZZZZZZZZZZZZZZZZZD"};
    for (int b = 0; b < 4; ++b) {
      const int64_t lo = b * 10000;
      auto w = nl::storage::block_writer::create(dir.path, ulids[b], lo, lo + 10000);
      CAF_REQUIRE(w.is_ok());
      std::vector<label_set> in_block;
      for (int i = 0; i < 3; ++i) {
        in_block.push_back(series("a", i));
        if (b % 2 == 1)
          in_block.push_back(series("b", i));
      }
      std::sort(in_block.begin(), in_block.end());
      for (const auto& ls : in_block) {
        nl::storage::xor_appender app;
        const int i = std::stoi(std::string{ls.get("i")});
        for (int64_t t = lo; t < lo + 10000; t += 1000)
          app.append(t, static_cast<double>(t / 1000 + i));
        CAF_REQUIRE((*w)->add_series(ls, {app.cut()}).is_ok());
      }
      CAF_REQUIRE((*w)->finish().is_ok());
      auto opened = nl::storage::block::open(dir.path + "/" + ulids[b]);
      CAF_REQUIRE(opened.is_ok());
      blocks.push_back(*opened);
    }
    std::vector<std::shared_ptr<nl::storage::head>> heads;
    for (size_t s = 0; s < 2; ++s) {
      nl::storage::head_options o;
      o.ref_start = 1 + s;
      o.ref_stride = 2;
      heads.push_back(std::make_shared<nl::storage::head>(o));
    }
    for (int i = 0; i < 3; ++i)
      for (const auto& ls : {series("a", i), series("c", i)}) {
        auto& h = *heads[ls.hash() % 2];
        auto slot = h.get_or_create(ls.hash(), nl::storage::label_key(ls));
        CAF_REQUIRE(slot.is_ok());
        for (int64_t t = 40000; t < 45000; t += 1000)
          CAF_REQUIRE(h.append(slot->ref(), t, static_cast<double>(t / 1000 + i)).is_ok());
      }
    for (size_t s = 0; s < 2; ++s) {
      head_block_options ho;
      ho.shard = s;
      shards.push_back(sys.spawn(head_block, heads[s], wal_writer_actor{}, ho));
    }
    idx = sys.spawn(series_index, shards, std::make_shared<nl::storage::block_set>(std::move(blocks)));
  }

  ~fixture() {
    for (caf::actor_addr a : {idx.address(), shards[0].address(), shards[1].address()})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sys.await_all_actors_done();
  }

  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    caf::scoped_actor self{sys};
    caf::expected<T> out{caf::error{}};
    self->request(idx, 10s, std::forward<Ts>(xs)...)
      .receive([&](T& x) { out = std::move(x); }, [&](caf::error& e) { out = std::move(e); });
    return out;
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(index_tests, fixture)

CAF_TEST(series over blocks and shards are their sorted distinct union) {
  meta_query q;
  q.selectors = {{m(match_type::equal, "job", "b")}, {m(match_type::regex, "i", "0|1")}};
  q.mint = 0;
  q.maxt = 44000;
  auto got = ask<series_list>(series_atom_v, q);
  CAF_REQUIRE(got);
  std::vector<label_set> want;
  for (int i = 0; i < 3; ++i)
    want.push_back(series("b", i));
  for (int i = 0; i < 2; ++i)
    for (const char* job : {"a", "c"})
      want.push_back(series(job, i));
  std::sort(want.begin(), want.end());
  CAF_CHECK(got->items == want);
  CAF_CHECK(!got->truncated);
  // Only blocks 1 and 3 hold job b; [20000, 29999] is block 2 alone.
  q.mint = 20000;
  q.maxt = 29999;
  got = ask<series_list>(series_atom_v, q);
  CAF_REQUIRE(got);
  CAF_CHECK(got->items == (std::vector<label_set>{series("a", 0), series("a", 1)}));
}

CAF_TEST(label values are distinct across blocks and cut to the limit) {
  meta_query q;
  q.label_name = "job";
  q.selectors = {{m(match_type::equal, "__name__", "up")}};
  q.mint = 0;
  q.maxt = 44000;
  auto got = ask<string_list>(label_values_atom_v, q);
  CAF_REQUIRE(got);
  CAF_CHECK_EQUAL(got->items, (std::vector<std::string>{"a", "b", "c"}));
  q.limit = 2;
  got = ask<string_list>(label_values_atom_v, q);
  CAF_REQUIRE(got);
  CAF_CHECK_EQUAL(got->items, (std::vector<std::string>{"a", "b"}));
  CAF_CHECK(got->truncated);
  got = ask<string_list>(label_names_atom_v, q);
  CAF_REQUIRE(got);
  CAF_CHECK_EQUAL(got->items, (std::vector<std::string>{"__name__", "i"}));
  CAF_CHECK(got->truncated);
}

CAF_TEST(a select joins a series from every block and the head in time order) {
  select_request r;
  r.matchers = {m(match_type::equal, "job", "a"), m(match_type::equal, "i", "2")};
  r.mint = 0;
  r.maxt = 44000;
  auto got = ask<select_result>(select_atom_v, r);
  CAF_REQUIRE(got);
  CAF_REQUIRE_EQUAL(got->series.size(), 1u);
  auto snaps = to_snapshots(std::move(*got));
  CAF_CHECK(snaps[0].labels == series("a", 2));
  std::vector<sample> samples;
  CAF_REQUIRE(nl::storage::decode_chunks(snaps[0].chunks, r.mint, r.maxt, samples).is_ok());
  CAF_REQUIRE_EQUAL(samples.size(), 45u);
  for (size_t k = 0; k < samples.size(); ++k) {
    CAF_CHECK_EQUAL(samples[k].t, static_cast<int64_t>(k) * 1000);
    CAF_CHECK_EQUAL(samples[k].v, static_cast<double>(k + 2));
  }
}

CAF_TEST(the sample budget counts every block reader of a select) {
  // Job a's 3 series hold 30 samples in each of the 4 blocks: 120 in all,
  // 60 or fewer per reader when the blocks are split over two cores.
  select_request r;
  r.matchers = {m(match_type::equal, "job", "a")};
  r.mint = 0;
  r.maxt = 39999;
  r.max_samples = 100;
  auto got = ask<select_result>(select_atom_v, r);
  CAF_REQUIRE(!got);
  CAF_CHECK_EQUAL(got.error(), too_many_samples_error());
  r.max_samples = 120;
  got = ask<select_result>(select_atom_v, r);
  CAF_REQUIRE(got);
  CAF_CHECK_EQUAL(got->series.size(), 3u);
}

CAF_TEST_FIXTURE_SCOPE_END()

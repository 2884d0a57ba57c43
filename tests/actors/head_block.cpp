#define CAF_SUITE actors.head_block
#include "test_support.hpp"

#include <caf/test/dsl.hpp>

#include <optional>

#include "actors/head_block.hpp"
#include "actors/index.hpp"
#include "fake_wal_file.hpp"
#include "storage/label_key.hpp"
#include "storage/chunk/xor_chunk.hpp"

using namespace nl::actors;
using nl::storage::label_set;
using nl::test::fake_wal_disk;

namespace {

nl::storage::matcher m(nl::storage::match_type t, std::string name, std::string value) {
  return *nl::storage::matcher::make(t, std::move(name), std::move(value));
}

label_set ls(std::string job) {
  return label_set::from_unsorted({{"__name__", "up"}, {"job", std::move(job)}});
}

// One series with samples (t, v).
append_batch batch(const label_set& l, std::vector<std::pair<int64_t, double>> samples) {
  append_batch b;
  b.add_series(l);
  for (auto& [t, v] : samples)
    b.add_sample(t, nl::storage::float_bits(v));
  return b;
}

std::vector<std::pair<int64_t, double>> decode(const series_data& sd) {
  std::vector<std::pair<int64_t, double>> out;
  std::vector<nl::storage::sample> xs;
  for (auto& c : sd.chunks) {
    xs.clear();
    CAF_CHECK(c.chunk->decode(INT64_MIN, INT64_MAX, xs).is_ok());
    for (const auto& x : xs)
      out.emplace_back(x.t, x.v);
  }
  return out;
}

// A WAL writer stuck in a system call: takes writes and answers none of
// them until it gets wal_sync, which stands for the call returning.
struct stuck_wal_state {
  std::vector<caf::typed_response_promise<uint64_t>> held;
};

wal_writer_actor::behavior_type stuck_wal(wal_writer_actor::stateful_pointer<stuck_wal_state> self) {
  return {
    [=](wal_write_atom, const wal_batch&) -> caf::result<uint64_t> {
      auto rp = self->make_response_promise<uint64_t>();
      self->state.held.push_back(rp);
      return rp;
    },
    [=](wal_sync_atom) -> caf::result<uint64_t> {
      for (auto& rp : self->state.held)
        rp.deliver(uint64_t{1});
      self->state.held.clear();
      return uint64_t{0};
    },
    [=](wal_cut_atom, int64_t) -> caf::result<uint64_t> { return uint64_t{0}; },
    [=](wal_commit_atom) {},
    [=](wal_tick_atom) {},
  };
}

struct fixture : test_coordinator_fixture<caf::actor_system_config> {
  std::shared_ptr<fake_wal_disk> disk = std::make_shared<fake_wal_disk>();
  metrics stats;
  std::shared_ptr<nl::storage::head> head = std::make_shared<nl::storage::head>();
  wal_writer_actor wal;
  head_block_actor hb;

  fixture() {
    wal_writer_options wo;
    wo.policy = fsync_policy::always;
    wo.stats = &stats;
    wal = sys.spawn(wal_writer, nl::test::fake_wal_writer(disk), wo);
    head_block_options ho;
    ho.stats = &stats;
    hb = sys.spawn(head_block, head, wal, ho);
    sched.run();
  }

  ~fixture() {
    caf::anon_send_exit(hb, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(wal, caf::exit_reason::user_shutdown);
    sched.run();
  }

  append_result append(append_batch b) {
    append_result out;
    self->send(hb, append_atom_v, std::move(b));
    sched.run();
    self->receive([&](append_result& r) { out = r; },
                  [&](caf::error& e) { CAF_FAIL("append failed: " << sys.render(e)); });
    return out;
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(head_block_tests, fixture)

CAF_TEST(appended samples are in the WAL and come back from select) {
  self->send(hb, append_atom_v, batch(ls("a"), {{1000, 1.5}, {2000, 2.5}}));
  sched.run();
  append_result r;
  self->receive([&](append_result& x) { r = x; });
  CAF_CHECK_EQUAL(r.accepted, 2u);
  CAF_CHECK_EQUAL(r.rejected, 0u);
  CAF_CHECK_EQUAL(disk->appends, 1);  // series + samples records in one write
  CAF_CHECK_EQUAL(stats.samples_appended.load(), 2u);
  CAF_CHECK_EQUAL(stats.head_series.load(), 1);
  select_request q;
  q.matchers.push_back(m(nl::storage::match_type::equal, "job", "a"));
  self->send(hb, select_atom_v, q);
  sched.run();
  self->receive([&](select_result& res) {
    CAF_REQUIRE_EQUAL(res.series.size(), 1u);
    CAF_CHECK_EQUAL(res.series[0].labels, ls("a"));
    auto xs = decode(res.series[0]);
    CAF_REQUIRE_EQUAL(xs.size(), 2u);
    CAF_CHECK_EQUAL(xs[1].first, 2000);
    CAF_CHECK_EQUAL(xs[1].second, 2.5);
  });
}

CAF_TEST(samples are not visible before the WAL answers) {
  self->send(hb, append_atom_v, batch(ls("a"), {{1000, 1}}));
  expect((append_atom, append_batch), from(self).to(hb).with(_, _));
  // The WAL has not committed yet: the head must not hold the sample.
  CAF_CHECK_EQUAL(head->stats().samples_appended, 0u);
  sched.run();
  CAF_CHECK_EQUAL(head->stats().samples_appended, 1u);
}

CAF_TEST(a batch is checked against samples still waiting for the WAL) {
  // Two batches queued back to back: the second is validated while the
  // first is still staged, and its older sample is refused.
  self->send(hb, append_atom_v, batch(ls("a"), {{2000, 1}}));
  self->send(hb, append_atom_v, batch(ls("a"), {{1000, 1}, {2000, 1}, {2000, 7}, {3000, 1}}));
  sched.run();
  append_result first, second;
  self->receive([&](append_result& x) { first = x; });
  self->receive([&](append_result& x) { second = x; });
  CAF_CHECK_EQUAL(first.accepted, 1u);
  // 1000: out of order; 2000 same value: an accepted duplicate; 2000 other
  // value: duplicate sample; 3000: new.
  CAF_CHECK_EQUAL(second.accepted, 2u);
  CAF_CHECK_EQUAL(second.rejected, 2u);
  CAF_REQUIRE_EQUAL(second.errors.size(), 2u);
  CAF_CHECK(second.errors[0].find("out of order sample for series up{job=\"a\"}") == 0);
  CAF_CHECK(second.errors[1].find("duplicate sample for timestamp") == 0);
  CAF_CHECK_EQUAL(stats.samples_rejected[static_cast<size_t>(reject_reason::out_of_order)].load(), 1u);
  CAF_CHECK_EQUAL(stats.samples_rejected[static_cast<size_t>(reject_reason::duplicate)].load(), 1u);
}

CAF_TEST(a cut hands its series out in pages sorted by labels) {
  for (auto job : {"e", "a", "d", "b", "c"})
    append(batch(ls(job), {{1000, 1}, {2000, 2}}));
  self->send(hb, cut_atom_v, int64_t{0}, int64_t{4999});
  sched.run();
  head_cursor cur;
  self->receive([&](head_cursor& c) { cur = c; });
  CAF_CHECK_EQUAL(cur.num_series, 5u);
  CAF_CHECK_EQUAL(cur.mint, 0);
  CAF_CHECK_EQUAL(cur.maxt, 4999);
  // During the cut: the window is refused, a new series goes on after it
  // and is not part of the cut.
  CAF_CHECK_EQUAL(append(batch(ls("a"), {{4000, 9}})).rejected, 1u);
  CAF_CHECK_EQUAL(append(batch(ls("aa"), {{6000, 1}})).accepted, 1u);
  auto get_page = [&](uint64_t id, uint64_t start, uint64_t count) {
    std::optional<select_result> out;
    self->send(hb, head_page_atom_v, id, start, count);
    sched.run();
    self->receive([&](select_result& r) { out = std::move(r); }, [&](caf::error&) {});
    return out;
  };
  std::vector<std::string> jobs;
  for (uint64_t start = 0; start < cur.num_series; start += 2) {
    auto p = get_page(cur.id, start, 2);
    CAF_REQUIRE(p.has_value());
    CAF_CHECK_LESS_OR_EQUAL(p->series.size(), 2u);
    for (auto& sd : p->series) {
      jobs.push_back(std::string{sd.labels.get("job")});
      CAF_CHECK_EQUAL(decode(sd).size(), 2u);
    }
  }
  CAF_CHECK_EQUAL(jobs, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  // The last page ended the listing.
  CAF_CHECK(!get_page(cur.id, 0, 2).has_value());
  // A newer listing replaces an older one; a truncation (the block is
  // durable) ends it.
  self->send(hb, cut_atom_v, int64_t{0}, int64_t{4999});
  sched.run();
  head_cursor older;
  self->receive([&](head_cursor& c) { older = c; });
  self->send(hb, read_head_atom_v);
  sched.run();
  head_cursor all;
  self->receive([&](head_cursor& c) { all = c; });
  CAF_CHECK_EQUAL(all.num_series, 6u);
  CAF_CHECK_EQUAL(all.mint, 1000);
  CAF_CHECK_EQUAL(all.maxt, 6000);
  CAF_CHECK(!get_page(older.id, 0, 2).has_value());
  CAF_CHECK(get_page(all.id, 0, 1).has_value());
  self->send(hb, truncate_atom_v, int64_t{5000});
  sched.run();
  self->receive([&](shard_stats& st) { CAF_CHECK_EQUAL(st.num_series, 1u); });
  CAF_CHECK(!get_page(all.id, 1, 1).has_value());
}

CAF_TEST(out of bounds samples are refused and named) {
  append(batch(ls("a"), {{10'000'000, 1}}));
  auto r = append(batch(ls("b"), {{1000, 1}}));
  CAF_CHECK_EQUAL(r.accepted, 0u);
  CAF_CHECK_EQUAL(r.rejected, 1u);
  CAF_REQUIRE_EQUAL(r.errors.size(), 1u);
  CAF_CHECK_EQUAL(r.errors[0], "out of bounds for series up{job=\"b\"}");
}

// A link's batch that merges several writes (append_batch::part_ends):
// one WAL write, and each write's own counts and errors.
CAF_TEST(a merged batch is answered for each write in it) {
  auto b = batch(ls("a"), {{1000, 1}, {2000, 2}});
  b.add_series(ls("b"));
  b.add_sample(1000, nl::storage::float_bits(1));
  b.add_sample(1000, nl::storage::float_bits(5));  // a second value for 1000
  b.add_series(ls("a"));                            // a again, in the fifth write
  b.add_sample(3000, nl::storage::float_bits(3));
  // A shard's part of a merged batch: the first and third writes have no
  // series in this shard.
  b.part_ends = {0, 1, 1, 2, 3};
  auto r = append(std::move(b));
  CAF_CHECK_EQUAL(r.accepted, 4u);
  CAF_CHECK_EQUAL(r.rejected, 1u);
  CAF_CHECK_EQUAL(disk->appends, 1);
  CAF_REQUIRE_EQUAL(r.parts.size(), 5u);
  for (size_t k : {0, 2})
    CAF_CHECK(r.parts[k].accepted == 0 && r.parts[k].rejected == 0 && r.parts[k].errors.empty());
  CAF_CHECK_EQUAL(r.parts[1].accepted, 2u);
  CAF_CHECK_EQUAL(r.parts[1].rejected, 0u);
  CAF_CHECK_EQUAL(r.parts[3].accepted, 1u);
  CAF_CHECK_EQUAL(r.parts[3].rejected, 1u);
  CAF_REQUIRE_EQUAL(r.parts[3].errors.size(), 1u);
  CAF_CHECK_EQUAL(r.parts[3].errors[0], "duplicate sample for timestamp for series up{job=\"b\"}");
  CAF_CHECK_EQUAL(r.parts[4].accepted, 1u);
  CAF_CHECK(r.parts[1].errors.empty() && r.parts[4].errors.empty());
  // A batch of one write has no parts.
  CAF_CHECK(append(batch(ls("a"), {{4000, 4}})).parts.empty());
}

// A peer's series, as the gateway hands them on: `jobs` by their shard
// slots in `numbering`.
append_batch numbered(uint64_t numbering, std::vector<std::pair<uint32_t, std::string>> jobs, int64_t t) {
  append_batch b;
  b.numbering = numbering;
  for (auto& [slot, job] : jobs) {
    b.add_series(ls(job));
    b.add_sample(t, nl::storage::float_bits(1));
    b.numbered_slots.push_back(slot);
  }
  return b;
}

CAF_TEST(a shard finds the series of a peer numbering again by slot) {
  auto h = std::make_shared<nl::storage::head>();
  head_block_options ho;
  ho.max_numberings = 2;
  auto shard = sys.spawn(head_block, h, wal, ho);
  auto put = [&](append_batch b) {
    self->send(shard, append_atom_v, std::move(b));
    sched.run();
    append_result r;
    self->receive([&](append_result& x) { r = x; }, [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
    return r.accepted;
  };
  auto samples_of = [&](const std::string& job) {
    select_request q;
    q.matchers.push_back(m(nl::storage::match_type::equal, "job", job));
    self->send(shard, select_atom_v, q);
    sched.run();
    size_t n = 0;
    self->receive([&](select_result& res) {
      for (auto& sd : res.series)
        n += decode(sd).size();
    });
    return n;
  };
  // `jobs` by slot, each with the label hash of `as` (its own by default).
  auto spoofed = [&](uint64_t numbering, uint32_t slot, std::string job, std::string as, int64_t t) {
    auto b = numbered(numbering, {{slot, job}}, t);
    b.hashes[0] = ls(as).hash();
    return b;
  };
  CAF_REQUIRE_EQUAL(put(numbered(1, {{0, "a"}, {1, "b"}}, 1000)), 2u);
  // Slot 0 of numbering 1 is series a now: with a's hash it is found by
  // slot, not by key (the gateway never pairs a slot with another key).
  CAF_REQUIRE_EQUAL(put(spoofed(1, 0, "c", "a", 2000)), 1u);
  CAF_CHECK_EQUAL(samples_of("a"), 2u);
  CAF_CHECK(!h->find_ref(ls("c")));
  // A hash that does not match the slot's: looked up by key (and the slot
  // is c's from then on).
  CAF_REQUIRE_EQUAL(put(numbered(1, {{0, "c"}}, 2000)), 1u);
  CAF_CHECK_EQUAL(samples_of("c"), 1u);
  CAF_REQUIRE_EQUAL(put(spoofed(1, 0, "x", "c", 2500)), 1u);
  CAF_CHECK_EQUAL(samples_of("c"), 2u);
  CAF_REQUIRE_EQUAL(put(numbered(1, {{0, "a"}}, 3000)), 1u);  // back to a
  CAF_CHECK_EQUAL(samples_of("a"), 3u);
  // Another numbering knows nothing of it; nor does a batch without one.
  // (A spoofed batch looked up by key makes a series under the wrong
  // hash, so those name jobs never used again.)
  CAF_REQUIRE_EQUAL(put(spoofed(2, 0, "z", "a", 3000)), 1u);
  CAF_CHECK_EQUAL(samples_of("z"), 1u);
  CAF_CHECK_EQUAL(samples_of("a"), 3u);
  CAF_REQUIRE_EQUAL(put(spoofed(0, 0, "d", "a", 3000)), 1u);
  CAF_CHECK_EQUAL(samples_of("d"), 1u);
  // Two numberings are kept: a third drops the least recently used (1).
  CAF_REQUIRE_EQUAL(put(numbered(2, {{1, "e"}}, 3000)), 1u);
  CAF_REQUIRE_EQUAL(put(numbered(3, {{0, "f"}}, 3000)), 1u);
  CAF_REQUIRE_EQUAL(put(spoofed(1, 0, "g", "a", 3000)), 1u);
  CAF_CHECK_EQUAL(samples_of("g"), 1u);
  CAF_CHECK_EQUAL(samples_of("a"), 3u);
  // A remembered series that left the head is looked up by key again.
  CAF_REQUIRE_EQUAL(put(numbered(3, {{0, "f"}}, 4000)), 1u);
  auto old_ref = h->find_ref(ls("f"));
  CAF_REQUIRE(old_ref);
  CAF_REQUIRE(h->truncate(5000) > 0u);
  CAF_REQUIRE(!h->find_ref(ls("f")));
  CAF_REQUIRE_EQUAL(put(numbered(3, {{0, "f"}}, 6000)), 1u);
  auto new_ref = h->find_ref(ls("f"));
  CAF_REQUIRE(new_ref);
  CAF_CHECK_NOT_EQUAL(*new_ref, *old_ref);
  CAF_CHECK_EQUAL(samples_of("f"), 1u);
  // Slots need not come in order: a later one is remembered too.
  CAF_REQUIRE_EQUAL(put(numbered(3, {{100000, "h"}}, 6000)), 1u);
  CAF_REQUIRE_EQUAL(put(spoofed(3, 100000, "i", "h", 7000)), 1u);
  CAF_CHECK_EQUAL(samples_of("h"), 2u);
  CAF_CHECK_EQUAL(samples_of("i"), 0u);
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
}

CAF_TEST(a WAL failure fails the append and stores nothing) {
  disk->fail_appends = true;
  self->send(hb, append_atom_v, batch(ls("a"), {{1000, 1}}));
  sched.run();
  bool failed = false;
  self->receive([&](append_result&) {}, [&](caf::error&) { failed = true; });
  CAF_CHECK(failed);
  CAF_CHECK_EQUAL(head->stats().samples_appended, 0u);
}

CAF_TEST(a series created by a failed write is logged again by the next write) {
  // Without this, the series record would be lost with the failed batch
  // and the next (acknowledged) samples would refer to a series the WAL
  // never heard of: replay would drop them.
  const std::string job = "created-by-a-failed-write";
  auto count = [&] {
    size_t n = 0;
    for (auto p = disk->bytes.find(job); p != std::string::npos; p = disk->bytes.find(job, p + 1))
      ++n;
    return n;
  };
  disk->fail_appends = true;
  disk->disk_full = true;
  self->send(hb, append_atom_v, batch(ls(job), {{1000, 1}}));
  sched.run();
  bool failed = false;
  self->receive([&](append_result&) {}, [&](caf::error&) { failed = true; });
  CAF_REQUIRE(failed);
  CAF_CHECK_EQUAL(count(), 0u);
  disk->fail_appends = false;
  auto r = append(batch(ls(job), {{2000, 2}}));
  CAF_CHECK_EQUAL(r.accepted, 1u);
  CAF_CHECK_EQUAL(count(), 1u);  // the series record came with the samples
  append(batch(ls(job), {{3000, 3}}));
  CAF_CHECK_EQUAL(count(), 1u);  // logged once it was taken
}

CAF_TEST(a write the WAL has started is waited for however long it takes) {
  // Only the WAL's answer says whether the samples are durable: a shard
  // that answered 503 on its own could see them come back after a restart.
  auto stuck = sys.spawn(stuck_wal);
  auto h2 = std::make_shared<nl::storage::head>();
  head_block_options ho;
  ho.wal_timeout = std::chrono::seconds(5);
  auto hb2 = sys.spawn(head_block, h2, stuck, ho);
  sched.run();
  self->send(hb2, append_atom_v, batch(ls("a"), {{2000, 1}}));
  sched.run();
  sched.clock().current_time += std::chrono::seconds(60);
  sched.trigger_timeouts();
  sched.run();
  CAF_CHECK(self->mailbox().empty());  // still waiting for the WAL
  CAF_CHECK_EQUAL(h2->stats().samples_appended, 0u);
  self->send(stuck, wal_sync_atom_v);  // the system call returns
  sched.run();
  append_result r;
  bool answered = false;
  self->receive([&](uint64_t) {});
  self->receive([&](append_result& x) { r = x; answered = true; },
                [&](caf::error& e) { CAF_FAIL("append failed: " << sys.render(e)); });
  CAF_CHECK(answered);
  CAF_CHECK_EQUAL(r.accepted, 1u);
  CAF_CHECK_EQUAL(h2->stats().samples_appended, 1u);
  caf::anon_send_exit(hb2, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(stuck, caf::exit_reason::user_shutdown);
  sched.run();
}

CAF_TEST(a write the WAL could not start before its deadline fails and is never written) {
  // The WAL writer is busy (here: not scheduled) until after the deadline.
  self->send(hb, append_atom_v, batch(ls("late"), {{2000, 1}}));
  expect((append_atom, append_batch), from(self).to(hb).with(_, _));
  sched.clock().current_time += std::chrono::seconds(26);  // default timeout 25 s
  sched.run();
  bool failed = false;
  self->receive([&](append_result&) {}, [&](caf::error& e) {
    failed = true;
    CAF_CHECK(sys.render(e).find("deadline") != std::string::npos);
  });
  CAF_CHECK(failed);
  CAF_CHECK(disk->bytes.empty());  // nothing of it reached the log
  CAF_CHECK_EQUAL(stats.wal_writes_expired.load(), 1u);
  CAF_CHECK_EQUAL(head->stats().samples_appended, 0u);
  // Unstaged: an older sample of the series passes the checks now, and
  // the series record comes with it.
  auto r = append(batch(ls("late"), {{1000, 1}}));
  CAF_CHECK_EQUAL(r.accepted, 1u);
  CAF_CHECK(disk->bytes.find("late") != std::string::npos);
}

CAF_TEST(metadata queries take a union of selectors) {
  append(batch(ls("a"), {{1000, 1}}));
  append(batch(ls("b"), {{1000, 1}}));
  meta_query q;
  q.selectors.push_back({m(nl::storage::match_type::equal, "job", "a")});
  q.selectors.push_back({m(nl::storage::match_type::regex, "job", "b|c")});
  self->send(hb, series_atom_v, q);
  sched.run();
  self->receive([&](series_list& xs) {
    CAF_REQUIRE_EQUAL(xs.items.size(), 2u);
    CAF_CHECK_EQUAL(xs.items[0], ls("a"));
    CAF_CHECK_EQUAL(xs.items[1], ls("b"));
  });
  q.label_name = "job";
  self->send(hb, label_values_atom_v, q);
  sched.run();
  self->receive([&](string_list& xs) { CAF_CHECK_EQUAL(xs.items, (std::vector<std::string>{"a", "b"})); });
}

CAF_TEST(the index merges shards and applies the limit) {
  auto head2 = std::make_shared<nl::storage::head>();
  head_block_options ho;
  auto hb2 = sys.spawn(head_block, head2, wal, ho);
  append(batch(ls("b"), {{1000, 1}}));
  self->send(hb2, append_atom_v, batch(ls("a"), {{1000, 1}}));
  sched.run();
  self->receive([](append_result&) {});
  auto idx = sys.spawn(series_index, std::vector<head_block_actor>{hb, hb2}, nullptr);
  meta_query q;
  q.label_name = "job";
  self->send(idx, label_values_atom_v, q);
  sched.run();
  self->receive([&](string_list& xs) {
    CAF_CHECK_EQUAL(xs.items, (std::vector<std::string>{"a", "b"}));
    CAF_CHECK(!xs.truncated);
  });
  q.limit = 1;
  self->send(idx, series_atom_v, q);
  sched.run();
  self->receive([&](series_list& xs) {
    CAF_REQUIRE_EQUAL(xs.items.size(), 1u);
    CAF_CHECK_EQUAL(xs.items[0], ls("a"));
    CAF_CHECK(xs.truncated);
  });
  select_request sr;
  sr.matchers.push_back(m(nl::storage::match_type::equal, "__name__", "up"));
  self->send(idx, select_atom_v, sr);
  sched.run();
  self->receive([&](select_result& res) {
    CAF_REQUIRE_EQUAL(res.series.size(), 2u);
    CAF_CHECK_EQUAL(res.series[0].labels, ls("a"));
  });
  caf::anon_send_exit(idx, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(hb2, caf::exit_reason::user_shutdown);
  sched.run();
}

CAF_TEST(the index merges the shards cardinality into the tsdb status) {
  auto head2 = std::make_shared<nl::storage::head>();
  head_block_options ho;
  auto hb2 = sys.spawn(head_block, head2, wal, ho);
  // job="a" is in both shards: one distinct value, two series.
  append(batch(ls("a"), {{1000, 1}}));
  append(batch(label_set::from_unsorted({{"__name__", "down"}, {"job", "b"}}), {{3000, 1}}));
  self->send(hb2, append_atom_v,
             batch(label_set::from_unsorted({{"__name__", "down"}, {"job", "a"}}), {{2000, 1}, {2500, 1}}));
  sched.run();
  self->receive([](append_result&) {});
  self->send(hb, cardinality_atom_v);
  sched.run();
  self->receive([&](nl::storage::head_cardinality& c) {
    CAF_CHECK_EQUAL(c.num_series, 2u);
    CAF_CHECK_EQUAL(c.labels.size(), 2u);
  });
  auto idx = sys.spawn(series_index, std::vector<head_block_actor>{hb, hb2}, nullptr);
  self->send(idx, tsdb_status_atom_v, uint64_t{0});
  sched.run();
  self->receive(
    [&](nl::storage::tsdb_status& s) {
      CAF_CHECK_EQUAL(s.num_series, 3u);
      CAF_CHECK_EQUAL(s.chunk_count, 3u);
      CAF_CHECK_EQUAL(s.min_time, 1000);
      CAF_CHECK_EQUAL(s.max_time, 3000);
      // __name__: up, down; job: a, b (a counted once across shards).
      CAF_CHECK_EQUAL(s.num_label_pairs, 4u);
      CAF_REQUIRE_EQUAL(s.series_count_by_metric_name.size(), 2u);
      CAF_CHECK_EQUAL(s.series_count_by_metric_name[0].name, "down");
      CAF_CHECK_EQUAL(s.series_count_by_metric_name[0].value, 2u);
      CAF_REQUIRE_EQUAL(s.label_value_count_by_label_name.size(), 2u);
      CAF_CHECK_EQUAL(s.label_value_count_by_label_name[1].name, "job");
      CAF_CHECK_EQUAL(s.label_value_count_by_label_name[1].value, 2u);
      CAF_REQUIRE_EQUAL(s.series_count_by_label_value_pair.size(), 4u);
      CAF_CHECK_EQUAL(s.series_count_by_label_value_pair[0].name, "__name__=down");
      CAF_CHECK_EQUAL(s.series_count_by_label_value_pair[1].name, "job=a");
      CAF_CHECK_EQUAL(s.series_count_by_label_value_pair[1].value, 2u);
    },
    [&](caf::error& e) { CAF_FAIL("tsdb status failed: " << sys.render(e)); });
  self->send(idx, tsdb_status_atom_v, uint64_t{1});
  sched.run();
  self->receive([&](nl::storage::tsdb_status& s) {
    CAF_CHECK_EQUAL(s.series_count_by_label_value_pair.size(), 1u);
    CAF_CHECK_EQUAL(s.num_label_pairs, 4u);
  });
  // A shard that is gone fails the request instead of leaving it open.
  caf::anon_send_exit(hb2, caf::exit_reason::user_shutdown);
  sched.run();
  self->send(idx, tsdb_status_atom_v, uint64_t{0});
  sched.run();
  bool failed = false;
  self->receive([](nl::storage::tsdb_status&) {}, [&](caf::error&) { failed = true; });
  CAF_CHECK(failed);
  caf::anon_send_exit(idx, caf::exit_reason::user_shutdown);
  sched.run();
}

CAF_TEST_FIXTURE_SCOPE_END()

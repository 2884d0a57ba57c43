#define CAF_SUITE actors.cluster.write_quorum
#include "test_support.hpp"

#include "actors/cluster/write_quorum.hpp"
#include "actors/errors.hpp"

using namespace nl::actors;
using nl::storage::node_mask;

namespace {

// Nodes a, b, c are 0, 1, 2. With rf 2 over three nodes a request's
// series fall on up to three owner sets: {a,b}, {b,c}, {a,c}.
const std::vector<node_mask> all_pairs{0b011, 0b110, 0b101};

append_result stored_count(uint64_t accepted, uint64_t rejected = 0, std::vector<std::string> errors = {}) {
  return append_result{accepted, rejected, std::move(errors), {}};
}

}  // namespace

CAF_TEST(the quorum needs enough copies of every series) {
  std::vector<node_mask> sets{0b011, 0b110};
  CAF_CHECK(quorum_met(sets, 0b111, 2));
  CAF_CHECK(!quorum_met(sets, 0b011, 2));  // {b,c} has one copy
  CAF_CHECK(quorum_met(sets, 0b010, 1));
  CAF_CHECK(!quorum_met(sets, 0b001, 1));
  // Fewer owners than the quorum (too few nodes healthy) never meets it.
  CAF_CHECK(!quorum_met({0b001}, 0b001, 2));
}

CAF_TEST(a write is refused up front only when some owner set is smaller than the quorum) {
  CAF_CHECK(quorum_reachable(all_pairs, 2));
  CAF_CHECK(quorum_reachable({0b011}, 1));
  CAF_CHECK(quorum_reachable({}, 2));  // nothing to place (metadata only)
  CAF_CHECK(!quorum_reachable({0b001}, 2));            // b and c down: one owner per series
  CAF_CHECK(!quorum_reachable({0b011, 0b001}, 2));     // one small set is enough to refuse
}

CAF_TEST(every owner acked is stored and counted once per series) {
  replica_replies r;
  r.owner_sets = all_pairs;
  // 6 series, 2 per owner set: a holds 4, b 4, c 4.
  r.stored(0, stored_count(4));
  r.stored(1, stored_count(4));
  r.stored(2, stored_count(4));
  auto a = replicated_write_answer(std::move(r), 2, 3);
  CAF_CHECK(!a.failure);
  CAF_CHECK_EQUAL(a.result.accepted, 6u);
  CAF_CHECK_EQUAL(a.result.rejected, 0u);
  CAF_CHECK(a.result.errors.empty());
}

CAF_TEST(a failed replica beyond the quorum is not the clients problem) {
  // rf 2, quorum 1: b fails, but {a,b} has a's copy and {b,c} c's.
  replica_replies r;
  r.owner_sets = {0b011, 0b110};
  r.stored(0, stored_count(3));
  r.failed("b", caf::make_error(error_code::timeout, "no answer within 3s"));
  r.stored(2, stored_count(2));
  auto a = replicated_write_answer(std::move(r), 1, 2);
  CAF_CHECK(!a.failure);
  // Divided by the copies a series should have: b's share is missing
  // (documented undercount when an owner failed).
  CAF_CHECK_EQUAL(a.result.accepted, 2u);
  // rf 3, quorum 2: the same when the failed replica called the batch bad.
  replica_replies r3;
  r3.owner_sets = {0b111};
  r3.stored(0, stored_count(5));
  r3.stored(1, stored_count(5));
  r3.failed("c", caf::make_error(error_code::bad_input, "node c serves only peers whose hello passed"));
  CAF_CHECK(!replicated_write_answer(std::move(r3), 2, 3).failure);
}

CAF_TEST(a missed quorum is unavailable naming every failed node) {
  replica_replies r;
  r.owner_sets = all_pairs;
  r.stored(0, stored_count(4));
  r.failed("b", caf::make_error(error_code::timeout, "no answer within 3s"));
  r.failed("c", caf::make_error(error_code::unavailable, "link to node c is down"));
  auto a = replicated_write_answer(std::move(r), 2, 1);
  CAF_CHECK_EQUAL(code_of(a.failure), error_code::unavailable);
  CAF_CHECK_EQUAL(message_of(a.failure),
                  "write quorum (2 copies) not reached: b: no answer within 3s; c: link to node c is down");
  // One failed owner is enough to miss a quorum of 2 with rf 2.
  replica_replies one;
  one.owner_sets = all_pairs;
  one.stored(0, stored_count(4));
  one.stored(1, stored_count(4));
  one.failed("c", caf::make_error(error_code::overloaded, "node c has too many samples in flight"));
  auto b = replicated_write_answer(std::move(one), 2, 3);
  CAF_CHECK_EQUAL(code_of(b.failure), error_code::unavailable);
  CAF_CHECK_EQUAL(message_of(b.failure),
                  "write quorum (2 copies) not reached: c: node c has too many samples in flight");
}

CAF_TEST(a missed quorum stays bad input when a node found the batch bad) {
  replica_replies r;
  r.owner_sets = all_pairs;
  r.stored(0, stored_count(4));
  r.stored(2, stored_count(4));
  r.failed("b", caf::make_error(error_code::bad_input, "bad batch: series without labels"));
  auto a = replicated_write_answer(std::move(r), 2, 3);
  CAF_CHECK_EQUAL(code_of(a.failure), error_code::bad_input);
  CAF_CHECK_EQUAL(message_of(a.failure), "bad batch: series without labels");
}

CAF_TEST(too few healthy owners is unavailable naming the reachable nodes) {
  // b and c down: every series' only owner is a, which the quorum of 2
  // cannot accept; the network actor sends nothing (quorum_reachable) and
  // decides with no replies at all.
  replica_replies r;
  r.owner_sets = {0b001};
  CAF_REQUIRE(!quorum_reachable(r.owner_sets, 2));
  auto a = replicated_write_answer(std::move(r), 2, 1);
  CAF_CHECK_EQUAL(code_of(a.failure), error_code::unavailable);
  CAF_CHECK_EQUAL(message_of(a.failure), "write quorum (2 copies) not reached: 1 nodes reachable");
  CAF_CHECK_EQUAL(a.result.accepted, 0u);
}

CAF_TEST(metadata this node could not store fails a write whose samples met the quorum) {
  replica_replies r;
  r.owner_sets = {0b011};
  r.stored(0, stored_count(2));
  r.stored(1, stored_count(2));
  r.metadata_failure = caf::make_error(error_code::wal_deadline, "the WAL could not start the write in time");
  auto a = replicated_write_answer(std::move(r), 2, 3);
  CAF_CHECK_EQUAL(code_of(a.failure), error_code::wal_deadline);
  CAF_CHECK_EQUAL(message_of(a.failure), "the WAL could not start the write in time");
  // Metadata alone (no samples, no owner sets) is answered by its own outcome.
  replica_replies m;
  m.metadata_failure = caf::make_error(error_code::disk_full, "no space left");
  CAF_CHECK_EQUAL(code_of(replicated_write_answer(std::move(m), 2, 3).failure), error_code::disk_full);
  CAF_CHECK(!replicated_write_answer(replica_replies{}, 2, 3).failure);
  // A missed quorum is the answer, not the metadata's failure.
  replica_replies both;
  both.owner_sets = {0b011};
  both.stored(0, stored_count(2));
  both.failed("b", caf::make_error(error_code::timeout, "no answer"));
  both.metadata_failure = caf::make_error(error_code::disk_full, "no space left");
  auto q = replicated_write_answer(std::move(both), 2, 3);
  CAF_CHECK_EQUAL(code_of(q.failure), error_code::unavailable);
  CAF_CHECK_EQUAL(message_of(q.failure), "write quorum (2 copies) not reached: b: no answer");
}

CAF_TEST(counts summed over the replicas are divided by the copies and refusals named once) {
  // rf 2, both owners of every series refuse the same sample.
  replica_replies r;
  r.owner_sets = {0b011};
  r.stored(0, stored_count(2, 1, {"duplicate sample for series up{i=\"1\"}"}));
  r.stored(1, stored_count(2, 1, {"duplicate sample for series up{i=\"1\"}"}));
  auto a = replicated_write_answer(std::move(r), 2, 3);
  CAF_CHECK(!a.failure);
  CAF_CHECK_EQUAL(a.result.accepted, 2u);
  CAF_CHECK_EQUAL(a.result.rejected, 1u);
  CAF_CHECK_EQUAL(a.result.errors, std::vector<std::string>{"duplicate sample for series up{i=\"1\"}"});
  // rf 3: divided by three; distinct refusals each listed, up to the limit.
  replica_replies r3;
  r3.owner_sets = {0b111};
  for (size_t node = 0; node < 3; ++node) {
    std::vector<std::string> errors;
    for (size_t k = 0; k < append_error_examples; ++k)
      errors.push_back("refusal " + std::to_string(node + k));
    r3.stored(node, stored_count(9, 6, errors));
  }
  auto b = replicated_write_answer(std::move(r3), 2, 3);
  CAF_CHECK_EQUAL(b.result.accepted, 9u);
  CAF_CHECK_EQUAL(b.result.rejected, 6u);
  CAF_CHECK_EQUAL(b.result.errors.size(), append_error_examples);
  CAF_CHECK_EQUAL(b.result.errors.front(), "refusal 0");
  CAF_CHECK_EQUAL(b.result.errors.back(), "refusal 4");
}

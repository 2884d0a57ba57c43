#define CAF_SUITE storage.metadata.metadata_store
#include "test_support.hpp"

#include <string>
#include <vector>

#include "storage/metadata/metadata_store.hpp"
#include "storage/wal/records.hpp"

using namespace nl::storage;

namespace {

constexpr int64_t minute = 60 * 1000;

metric_metadata md(std::string family, metric_type t, std::string help, std::string unit = "") {
  return {std::move(family), t, std::move(help), std::move(unit)};
}

// What the metadata actor does with a request: log what receive() asks
// for, then apply it.
size_t receive_and_apply(metadata_store& s, const std::vector<metric_metadata>& xs, int64_t t) {
  auto logged = s.receive(xs, t);
  for (const auto& r : logged)
    s.apply(r);
  return logged.size();
}

std::string listing(const metadata_store& s, std::string_view metric = {}, int64_t limit = -1,
                    int64_t per_metric = -1) {
  std::string out;
  for (const auto& m : s.list(metric, limit, per_metric))
    out += m.metric_family_name + ":" + std::string(to_string(m.type)) + ":" + m.help + ":" + m.unit + ";";
  return out;
}

}  // namespace

CAF_TEST(nothing is listed before it is applied) {
  metadata_store s;
  auto logged = s.receive({md("up_total", metric_type::counter, "Ups.")}, 1000);
  CAF_REQUIRE_EQUAL(logged.size(), 1u);
  CAF_CHECK_EQUAL(logged[0].seen_ms, 1000);
  CAF_CHECK_EQUAL(logged[0].metadata.metric_family_name, "up_total");
  CAF_CHECK_EQUAL(listing(s), "");
  s.apply(logged[0]);
  CAF_CHECK_EQUAL(listing(s), "up_total:counter:Ups.:;");
  CAF_CHECK_EQUAL(s.num_families(), 1u);
  CAF_CHECK_EQUAL(s.num_descriptions(), 1u);
}

CAF_TEST(a description held is logged again only after relog_after_ms) {
  metadata_store s;  // relog after 10 minutes
  auto x = md("go_threads", metric_type::gauge, "Number of OS threads created.");
  CAF_CHECK_EQUAL(receive_and_apply(s, {x}, 0), 1u);
  // A sender resends everything every minute: no WAL record for that.
  for (int64_t t = minute; t < 10 * minute; t += minute)
    CAF_CHECK_EQUAL(receive_and_apply(s, {x}, t), 0u);
  CAF_CHECK_EQUAL(receive_and_apply(s, {x}, 10 * minute), 1u);
  CAF_CHECK_EQUAL(receive_and_apply(s, {x}, 11 * minute), 0u);
  // The same entry twice in one request is logged once.
  CAF_CHECK_EQUAL(s.receive({md("b", metric_type::gauge, "B."), md("b", metric_type::gauge, "B.")}, 1).size(), 1u);
}

CAF_TEST(families list by name and descriptions by type help and unit) {
  metadata_store s;
  receive_and_apply(s,
                    {md("b", metric_type::gauge, "B2."), md("a", metric_type::counter, "A."),
                     md("b", metric_type::counter, "B."), md("b", metric_type::gauge, "B1.", "seconds")},
                    5);
  CAF_CHECK_EQUAL(listing(s), "a:counter:A.:;b:counter:B.:;b:gauge:B1.:seconds;b:gauge:B2.:;");
  // Prometheus' parameters: limit < 0 all, 0 none, n at most n families;
  // limit_per_metric > 0 at most that many descriptions per family.
  CAF_CHECK_EQUAL(listing(s, {}, 0), "");
  CAF_CHECK_EQUAL(listing(s, {}, 1), "a:counter:A.:;");
  CAF_CHECK_EQUAL(listing(s, {}, 2, 1), "a:counter:A.:;b:counter:B.:;");
  CAF_CHECK_EQUAL(listing(s, {}, 5, 0), listing(s));
  CAF_CHECK_EQUAL(listing(s, "b", -1, 2), "b:counter:B.:;b:gauge:B1.:seconds;");
  CAF_CHECK_EQUAL(listing(s, "b", 0), "");
  CAF_CHECK_EQUAL(listing(s, "c"), "");
}

CAF_TEST(a description not resent while its family is goes after superseded_after_ms) {
  metadata_store s;  // superseded after an hour
  receive_and_apply(s, {md("x", metric_type::counter, "Old help.")}, 0);
  // The exporter was upgraded: only the new help text comes from now on.
  for (int64_t t = minute; t <= 60 * minute; t += minute)
    receive_and_apply(s, {md("x", metric_type::counter, "New help.")}, t);
  CAF_CHECK_EQUAL(listing(s), "x:counter:New help.:;x:counter:Old help.:;");
  receive_and_apply(s, {md("x", metric_type::counter, "New help.")}, 61 * minute);
  CAF_CHECK_EQUAL(listing(s), "x:counter:New help.:;");
  // A family nobody sends any more keeps its last descriptions.
  receive_and_apply(s, {md("y", metric_type::gauge, "Y1."), md("y", metric_type::gauge, "Y2.")}, 0);
  CAF_CHECK_EQUAL(listing(s, "y"), "y:gauge:Y1.:;y:gauge:Y2.:;");
  CAF_CHECK(s.evicted() == 1);
}

CAF_TEST(receipt times at the ends of int64 supersede without overflow) {
  // Times come from WAL records and peers: a fuzz finding overflowed
  // newest - seen with a record seen at INT64_MIN.
  metadata_store s;
  s.apply({INT64_MIN, md("x", metric_type::counter, "Ancient.")});
  s.apply({2, md("x", metric_type::counter, "Now.")});
  CAF_CHECK_EQUAL(listing(s), "x:counter:Now.:;");
  s.apply({INT64_MAX, md("y", metric_type::gauge, "Far.")});
  s.apply({INT64_MIN, md("y", metric_type::gauge, "Near.")});
  CAF_CHECK_EQUAL(listing(s, "y"), "y:gauge:Far.:;");
}

CAF_TEST(a family holds at most max_per_family descriptions) {
  metadata_store_options o;
  o.max_per_family = 3;
  metadata_store s{o};
  for (int i = 0; i < 5; ++i)
    receive_and_apply(s, {md("f", metric_type::gauge, "help " + std::to_string(i))}, i);
  // The least recently received went.
  CAF_CHECK_EQUAL(listing(s), "f:gauge:help 2:;f:gauge:help 3:;f:gauge:help 4:;");
  CAF_CHECK_EQUAL(s.num_descriptions(), 3u);
}

CAF_TEST(the store stays under max_bytes by dropping the least recently received families) {
  metadata_store_options o;
  const uint64_t per_family = metadata_store::family_overhead + 4 + metadata_store::description_overhead + 100;
  o.max_bytes = 10 * per_family;
  metadata_store s{o};
  for (int i = 0; i < 10; ++i) {
    char name[8];
    std::snprintf(name, sizeof name, "f%03d", i);
    receive_and_apply(s, {md(name, metric_type::gauge, std::string(100, 'h'))}, i);
  }
  CAF_CHECK_EQUAL(s.num_families(), 10u);
  CAF_CHECK_EQUAL(s.bytes(), 10 * per_family);
  // f000 is refreshed (in memory only: within relog_after_ms), so f001 is
  // now the least recently received.
  receive_and_apply(s, {md("f000", metric_type::gauge, std::string(100, 'h'))}, 20);
  receive_and_apply(s, {md("f010", metric_type::gauge, std::string(100, 'h'))}, 21);
  // Over the limit: families go, oldest first, until 90% of it is used.
  CAF_CHECK_LESS_OR_EQUAL(s.bytes(), o.max_bytes / 10 * 9);
  CAF_CHECK_EQUAL(s.num_families(), 9u);
  CAF_CHECK_EQUAL(listing(s, "f001"), "");
  CAF_CHECK_EQUAL(listing(s, "f002"), "");
  CAF_CHECK_NOT_EQUAL(listing(s, "f000"), "");
  CAF_CHECK_NOT_EQUAL(listing(s, "f010"), "");
  CAF_CHECK_EQUAL(s.evicted(), 2u);
}

CAF_TEST(expire_before drops families received last before the time) {
  metadata_store s;
  receive_and_apply(s, {md("old", metric_type::gauge, "O."), md("new", metric_type::gauge, "N.")}, 100);
  receive_and_apply(s, {md("new", metric_type::gauge, "N2.")}, 200);
  CAF_CHECK_EQUAL(s.expire_before(150), 1u);
  CAF_CHECK_EQUAL(listing(s), "new:gauge:N.:;new:gauge:N2.:;");
  CAF_CHECK_EQUAL(s.expire_before(1000), 1u);
  CAF_CHECK_EQUAL(s.num_families(), 0u);
  CAF_CHECK_EQUAL(s.num_descriptions(), 0u);
  CAF_CHECK_EQUAL(s.bytes(), 0u);
}

CAF_TEST(the entries of a store rebuild the same store) {
  // What a WAL checkpoint keeps, replayed: the same answers, and the
  // receipt times as the store knew them (refreshes included).
  metadata_store s;
  receive_and_apply(s, {md("a", metric_type::counter, "A."), md("b", metric_type::summary, "B.", "bytes")}, 0);
  receive_and_apply(s, {md("a", metric_type::counter, "A.")}, 5 * minute);  // in memory only
  std::string entries;
  CAF_CHECK_EQUAL(s.entries(entries), 2u);
  std::vector<metadata_record> records;
  CAF_REQUIRE(decode_metadata_entries(entries, records).is_ok());
  CAF_REQUIRE_EQUAL(records.size(), 2u);
  CAF_CHECK_EQUAL(records[0].seen_ms, 5 * minute);
  CAF_CHECK_EQUAL(records[1].seen_ms, 0);
  metadata_store back;
  for (const auto& r : records)
    back.apply(r);
  CAF_CHECK_EQUAL(listing(back), listing(s));
  CAF_CHECK_EQUAL(back.bytes(), s.bytes());
  // Replaying older records after newer ones changes no receipt time.
  back.apply({1, md("a", metric_type::counter, "A.")});
  std::string again;
  back.entries(again);
  CAF_CHECK_EQUAL(again, entries);
}

CAF_TEST(entries select families as list does) {
  metadata_store s;
  receive_and_apply(s, {md("a", metric_type::counter, "A."), md("b", metric_type::gauge, "B1."),
                        md("b", metric_type::gauge, "B2."), md("c", metric_type::info, "C.")}, 7);
  auto families = [&](std::string_view metric, int64_t limit) {
    std::string entries;
    auto n = s.entries(entries, metric, limit);
    std::vector<metadata_record> records;
    CAF_REQUIRE(decode_metadata_entries(entries, records).is_ok());
    CAF_REQUIRE_EQUAL(records.size(), n);
    std::string out;
    for (const auto& r : records)
      out += r.metadata.metric_family_name + "/" + r.metadata.help + "@" + std::to_string(r.seen_ms) + ";";
    return out;
  };
  CAF_CHECK_EQUAL(families({}, -1), "a/A.@7;b/B1.@7;b/B2.@7;c/C.@7;");
  CAF_CHECK_EQUAL(families({}, 2), "a/A.@7;b/B1.@7;b/B2.@7;");
  CAF_CHECK_EQUAL(families({}, 0), "");
  CAF_CHECK_EQUAL(families("b", -1), "b/B1.@7;b/B2.@7;");
  CAF_CHECK_EQUAL(families("b", 0), "");
  CAF_CHECK_EQUAL(families("x", -1), "");
}

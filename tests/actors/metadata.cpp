#define CAF_SUITE actors.metadata
#include "test_support.hpp"

#include <caf/test/dsl.hpp>

#include "actors/metadata.hpp"
#include "fake_wal_file.hpp"

using namespace nl::actors;
using nl::storage::metric_type;
using nl::test::fake_wal_disk;

namespace {

struct fixture : test_coordinator_fixture<caf::actor_system_config> {
  metrics stats;
  std::shared_ptr<fake_wal_disk> disk = std::make_shared<fake_wal_disk>();
  wal_writer_actor wal;
  metadata_actor meta;

  fixture() {
    wal = sys.spawn(wal_writer, nl::test::fake_wal_writer(disk), wal_writer_options{fsync_policy::always, {}, &stats});
    metadata_options mo;
    mo.stats = &stats;
    meta = sys.spawn(metadata, std::make_shared<nl::storage::metadata_store>(), wal, mo);
    sched.run();
  }

  ~fixture() {
    caf::anon_send_exit(meta, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(wal, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// The reply to a put: entries logged, or -1 on an error.
  int64_t put(std::vector<nl::storage::metric_metadata> xs, int64_t seen_ms) {
    int64_t n = -2;
    self->send(meta, metadata_put_atom_v, metadata_update{std::move(xs), seen_ms, 0});
    sched.run();
    self->receive([&](uint64_t x) { n = static_cast<int64_t>(x); }, [&](caf::error&) { n = -1; });
    return n;
  }

  std::vector<nl::storage::metric_metadata> list(metadata_query q = {}) {
    std::vector<nl::storage::metric_metadata> out;
    self->send(meta, metadata_atom_v, std::move(q));
    sched.run();
    self->receive([&](metadata_list& l) { out = std::move(l.items); },
                  [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
    return out;
  }
};

const nl::storage::metric_metadata up{"up", metric_type::gauge, "Up.", ""};
const nl::storage::metric_metadata rpc{"rpc_seconds", metric_type::histogram, "RPC latency.", "seconds"};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(metadata_tests, fixture)

CAF_TEST(metadata is written to the WAL before it is listed and only when new) {
  auto bytes = disk->bytes.size();
  CAF_CHECK_EQUAL(put({up, rpc}, 1000), 2);
  CAF_CHECK_GREATER(disk->bytes.size(), bytes);
  CAF_CHECK((list() == std::vector<nl::storage::metric_metadata>{rpc, up}));
  CAF_CHECK_EQUAL(stats.metadata_families.load(), 2);
  CAF_CHECK_GREATER(stats.metadata_bytes.load(), 0);
  bytes = disk->bytes.size();
  CAF_CHECK_EQUAL(put({up, rpc}, 61000), 0);
  CAF_CHECK_EQUAL(disk->bytes.size(), bytes);
  // Ten minutes after it was written, a description is written again.
  CAF_CHECK_EQUAL(put({up}, 1000 + 600000), 1);
  CAF_CHECK_GREATER(disk->bytes.size(), bytes);
  CAF_CHECK((list({"up", -1, -1}) == std::vector<nl::storage::metric_metadata>{up}));
}

CAF_TEST(metadata the WAL refused is not shown) {
  disk->fail_appends = true;
  CAF_CHECK_EQUAL(put({up}, 1000), -1);
  CAF_CHECK(list().empty());
}

CAF_TEST(records for a checkpoint drop families received before the retention time) {
  CAF_CHECK_EQUAL(put({up}, 1000), 1);
  CAF_CHECK_EQUAL(put({rpc}, 5000), 1);
  metadata_records r;
  self->send(meta, metadata_records_atom_v, int64_t{2000});
  sched.run();
  self->receive([&](metadata_records& x) { r = std::move(x); }, [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
  CAF_CHECK(!r.validate());
  CAF_CHECK_EQUAL(r.count, 1u);
  std::vector<nl::storage::metadata_record> xs;
  CAF_REQUIRE(nl::storage::decode_metadata_entries(r.entries, xs).is_ok());
  CAF_REQUIRE_EQUAL(xs.size(), 1u);
  CAF_CHECK(xs[0].metadata == rpc);
  CAF_CHECK_EQUAL(xs[0].seen_ms, 5000);
  CAF_CHECK((list() == std::vector<nl::storage::metric_metadata>{rpc}));
  CAF_CHECK_EQUAL(stats.metadata_families.load(), 1);
}

CAF_TEST_FIXTURE_SCOPE_END()

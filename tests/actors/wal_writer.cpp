#define CAF_SUITE actors.wal_writer
#include "test_support.hpp"

#include <caf/test/dsl.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "actors/wal_writer.hpp"
#include "fake_wal_file.hpp"

using namespace nl::actors;
using nl::test::fake_wal_disk;

namespace {

wal_batch one_record(std::string rec) {
  wal_batch b;
  b.records.push_back(std::move(rec));
  return b;
}

struct fixture : test_coordinator_fixture<caf::actor_system_config> {
  std::shared_ptr<fake_wal_disk> disk = std::make_shared<fake_wal_disk>();
  metrics stats;
  wal_writer_actor spawned;

  // The writer re-arms its fsync timer forever; stop it so the actor
  // system (which waits for every actor) can shut down.
  ~fixture() {
    if (spawned) {
      caf::anon_send_exit(spawned, caf::exit_reason::user_shutdown);
      sched.run();
    }
  }

  wal_writer_actor spawn_writer(fsync_policy policy) {
    wal_writer_options o;
    o.policy = policy;
    o.stats = &stats;
    auto w = nl::test::fake_wal_writer(disk);
    CAF_REQUIRE(w != nullptr);
    spawned = sys.spawn(wal_writer, w, o);
    return spawned;
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(wal_writer_tests, fixture)

CAF_TEST(three queued appends share one write and are acked only after it) {
  auto wal = spawn_writer(fsync_policy::always);
  sched.run();
  self->send(wal, wal_write_atom_v, one_record("a"));
  self->send(wal, wal_write_atom_v, one_record("bb"));
  self->send(wal, wal_write_atom_v, one_record("ccc"));
  expect((wal_write_atom, wal_batch), from(self).to(wal).with(_, _));
  expect((wal_write_atom, wal_batch), from(self).to(wal).with(_, _));
  expect((wal_write_atom, wal_batch), from(self).to(wal).with(_, _));
  // Everything is buffered; nothing written, nothing acknowledged.
  CAF_CHECK_EQUAL(disk->appends, 0);
  CAF_CHECK(self->mailbox().empty());
  expect((wal_commit_atom), from(wal).to(wal));
  CAF_CHECK_EQUAL(disk->appends, 1);  // one write(2) for three requests
  CAF_CHECK_EQUAL(disk->syncs, 1);    // fsync=always: synced before the acks
  expect((uint64_t), from(wal).to(self).with(uint64_t{3}));
  expect((uint64_t), from(wal).to(self).with(uint64_t{3}));
  expect((uint64_t), from(wal).to(self).with(uint64_t{3}));
  CAF_CHECK(disk->bytes.find("ccc") != std::string::npos);
  CAF_CHECK_EQUAL(stats.wal_bytes_written.load(), 6u);
}

CAF_TEST(interval policy acks after the write and syncs on the tick) {
  auto wal = spawn_writer(fsync_policy::interval);
  sched.run();
  self->send(wal, wal_write_atom_v, one_record("x"));
  expect((wal_write_atom, wal_batch), from(self).to(wal).with(_, _));
  expect((wal_commit_atom), from(wal).to(wal));
  expect((uint64_t), from(wal).to(self).with(uint64_t{1}));
  CAF_CHECK_EQUAL(disk->appends, 1);
  CAF_CHECK_EQUAL(disk->syncs, 0);
  sched.trigger_timeout();
  expect((wal_tick_atom), from(wal).to(wal));
  CAF_CHECK_EQUAL(disk->syncs, 1);
}

CAF_TEST(a failed write is never acknowledged and stops the writer) {
  auto wal = spawn_writer(fsync_policy::interval);
  sched.run();
  self->monitor(wal);
  disk->fail_appends = true;
  self->send(wal, wal_write_atom_v, one_record("a"));
  self->send(wal, wal_write_atom_v, one_record("b"));
  expect((wal_write_atom, wal_batch), from(self).to(wal).with(_, _));
  expect((wal_write_atom, wal_batch), from(self).to(wal).with(_, _));
  expect((wal_commit_atom), from(wal).to(wal));
  expect((caf::error), from(wal).to(self));
  expect((caf::error), from(wal).to(self));
  expect((caf::down_msg), from(wal).to(self));
  CAF_CHECK_EQUAL(disk->appends, 0);
  // Later requests fail too (the actor is gone).
  self->send(wal, wal_write_atom_v, one_record("c"));
  sched.run();
  CAF_CHECK_EQUAL(disk->appends, 0);
}

CAF_TEST(a full disk fails the waiting writes and the writer resumes when space is back) {
  auto wal = spawn_writer(fsync_policy::interval);
  sched.run();
  self->monitor(wal);
  disk->fail_appends = true;
  disk->disk_full = true;
  self->send(wal, wal_write_atom_v, one_record("aaaa"));
  self->send(wal, wal_write_atom_v, one_record("bbbb"));
  expect((wal_write_atom, wal_batch), from(self).to(wal).with(_, _));
  expect((wal_write_atom, wal_batch), from(self).to(wal).with(_, _));
  expect((wal_commit_atom), from(wal).to(wal));
  expect((caf::error), from(wal).to(self));
  expect((caf::error), from(wal).to(self));
  CAF_CHECK_EQUAL(stats.wal_no_space_failures.load(), 1u);
  // Still full: the next write fails too, and the writer is still there.
  self->send(wal, wal_write_atom_v, one_record("cccc"));
  expect((wal_write_atom, wal_batch), from(self).to(wal).with(_, _));
  expect((wal_commit_atom), from(wal).to(wal));
  expect((caf::error), from(wal).to(self));
  // Space is back: the next write is taken and acknowledged; it counts as
  // the first record (the refused ones were never taken).
  disk->fail_appends = false;
  self->send(wal, wal_write_atom_v, one_record("dddd"));
  expect((wal_write_atom, wal_batch), from(self).to(wal).with(_, _));
  expect((wal_commit_atom), from(wal).to(wal));
  expect((uint64_t), from(wal).to(self).with(uint64_t{1}));
  CAF_CHECK_EQUAL(disk->appends, 1);
  CAF_CHECK(disk->bytes.find("dddd") != std::string::npos);
  CAF_CHECK(disk->bytes.find("aaaa") == std::string::npos);
  CAF_CHECK(disk->bytes.find("bbbb") == std::string::npos);
  CAF_CHECK(disk->bytes.find("cccc") == std::string::npos);
  // No down message: the writer never stopped.
  CAF_CHECK(self->mailbox().empty());
}

CAF_TEST(a batch dequeued after its deadline is refused and nothing of it is written) {
  auto wal = spawn_writer(fsync_policy::interval);
  sched.run();
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(sched.clock().now().time_since_epoch()).count();
  auto late = one_record("late");
  late.deadline = now - 1;
  auto in_time = one_record("in-time");
  in_time.deadline = now;
  self->send(wal, wal_write_atom_v, late);
  self->send(wal, wal_write_atom_v, in_time);
  expect((wal_write_atom, wal_batch), from(self).to(wal).with(_, _));
  expect((caf::error), from(wal).to(self));
  expect((wal_write_atom, wal_batch), from(self).to(wal).with(_, _));
  expect((wal_commit_atom), from(wal).to(wal));
  expect((uint64_t), from(wal).to(self).with(uint64_t{1}));
  CAF_CHECK(disk->bytes.find("late") == std::string::npos);
  CAF_CHECK(disk->bytes.find("in-time") != std::string::npos);
  CAF_CHECK_EQUAL(stats.wal_writes_expired.load(), 1u);
}

CAF_TEST(the parts of one request are all taken or all refused) {
  auto wal = spawn_writer(fsync_policy::interval);
  sched.run();
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(sched.clock().now().time_since_epoch()).count();
  auto part = [&](std::string rec, uint64_t group, int64_t deadline) {
    auto b = one_record(std::move(rec));
    b.group = group;
    b.deadline = deadline;
    return b;
  };
  // Request 1: its first part is in time, its second (from a slower
  // shard) would be late on its own but follows the first.
  self->send(wal, wal_write_atom_v, part("one-a", 1, now));
  self->send(wal, wal_write_atom_v, part("one-b", 1, now - 1));
  // Request 2: its first part is late, its second would be in time but
  // follows the first.
  self->send(wal, wal_write_atom_v, part("two-a", 2, now - 1));
  self->send(wal, wal_write_atom_v, part("two-b", 2, now));
  sched.run();
  int taken = 0, refused = 0;
  for (int i = 0; i < 4; ++i)
    self->receive([&](uint64_t) { ++taken; }, [&](caf::error&) { ++refused; });
  CAF_CHECK_EQUAL(taken, 2);
  CAF_CHECK_EQUAL(refused, 2);
  CAF_CHECK(disk->bytes.find("one-a") != std::string::npos);
  CAF_CHECK(disk->bytes.find("one-b") != std::string::npos);
  CAF_CHECK(disk->bytes.find("two-a") == std::string::npos);
  CAF_CHECK(disk->bytes.find("two-b") == std::string::npos);
}

CAF_TEST(sync flushes pending records and fdatasyncs) {
  auto wal = spawn_writer(fsync_policy::interval);
  sched.run();
  self->send(wal, wal_write_atom_v, one_record("p"));
  self->send(wal, wal_sync_atom_v);
  expect((wal_write_atom, wal_batch), from(self).to(wal).with(_, _));
  expect((wal_sync_atom), from(self).to(wal).with(_));
  CAF_CHECK_EQUAL(disk->appends, 1);
  CAF_CHECK_EQUAL(disk->syncs, 1);
  expect((uint64_t), from(wal).to(self).with(uint64_t{1}));
  expect((uint64_t), from(wal).to(self).with(uint64_t{1}));
}

CAF_TEST(a cut closes the segment and names the segments older than the cut) {
  auto wal = spawn_writer(fsync_policy::interval);
  sched.run();
  auto b = one_record("samples up to 1000");
  b.max_time = 1000;
  self->send(wal, wal_write_atom_v, b);
  expect((wal_write_atom, wal_batch), from(self).to(wal).with(_, _));
  expect((wal_commit_atom), from(wal).to(wal));
  expect((uint64_t), from(wal).to(self).with(uint64_t{1}));
  // A cut at 500: segment 1 is closed, but it holds newer samples, so a
  // checkpoint has nothing to replace (0).
  self->send(wal, wal_cut_atom_v, int64_t{500});
  expect((wal_cut_atom, int64_t), from(self).to(wal).with(_, _));
  expect((uint64_t), from(wal).to(self).with(uint64_t{0}));
  CAF_CHECK_EQUAL(disk->segments, 2);
  // A cut at 2000: segments 1 and 2 hold only older samples.
  self->send(wal, wal_cut_atom_v, int64_t{2000});
  expect((wal_cut_atom, int64_t), from(self).to(wal).with(_, _));
  expect((uint64_t), from(wal).to(self).with(uint64_t{2}));
  CAF_CHECK_EQUAL(disk->segments, 3);
}

CAF_TEST_FIXTURE_SCOPE_END()

namespace {

// Whether the writer's background sync is under way, and when it may end.
struct sync_gate {
  std::mutex m;
  std::condition_variable cv;
  bool entered = false;  // a sync through a second handle has begun
  bool open = false;     // ... and may return
  int syncs = 0;         // syncs through second handles that returned
};

// An in-memory segment file whose second handle (duplicate) blocks in
// sync() until the gate opens; the writer's own handle syncs at once.
class gated_file : public nl::storage::writable_file {
 public:
  gated_file(std::shared_ptr<sync_gate> g, bool second) : g_(std::move(g)), second_(second) {}
  nl::storage::status append(std::string_view) override { return nl::storage::status::ok(); }
  nl::storage::status sync() override {
    if (!second_)
      return nl::storage::status::ok();
    std::unique_lock<std::mutex> lock(g_->m);
    g_->entered = true;
    g_->cv.notify_all();
    g_->cv.wait(lock, [this] { return g_->open; });
    ++g_->syncs;
    return nl::storage::status::ok();
  }
  nl::storage::status truncate(uint64_t) override { return nl::storage::status::ok(); }
  nl::storage::status close() override { return nl::storage::status::ok(); }
  nl::storage::result<std::unique_ptr<nl::storage::writable_file>> duplicate() override {
    return std::unique_ptr<nl::storage::writable_file>(new gated_file(g_, true));
  }

 private:
  std::shared_ptr<sync_gate> g_;
  bool second_;
};

}  // namespace

// With background_sync the interval's fdatasync runs in the syncer, on a
// second handle, on threads of a real actor system: while that sync hangs,
// writes are still answered; once it returns it is counted; the syncer
// ends with the writer (else the actor system would never finish shutting
// down and the test would hang past its timeout).
CAF_TEST(background sync runs beside the writer and writes go on meanwhile) {
  nl::test::temp_dir dir;
  auto gate = std::make_shared<sync_gate>();
  metrics stats;
  {
    caf::actor_system_config cfg;
    register_message_types(cfg);
    caf::actor_system sys{cfg};
    auto w = nl::storage::wal_segment_writer::open(dir.path, 1 << 20, [gate](const std::string&) {
      return nl::storage::result<std::unique_ptr<nl::storage::writable_file>>(
        std::unique_ptr<nl::storage::writable_file>(new gated_file(gate, false)));
    });
    CAF_REQUIRE(w.is_ok());
    wal_writer_options o;
    o.policy = fsync_policy::interval;
    o.fsync_interval = std::chrono::milliseconds(10);
    o.background_sync = true;
    o.stats = &stats;
    auto wal = sys.spawn<caf::detached>(wal_writer, std::shared_ptr<nl::storage::wal_segment_writer>(std::move(*w)), o);
    caf::scoped_actor self{sys};
    auto write = [&](const char* rec) {
      uint64_t taken = 0;
      self->request(wal, std::chrono::seconds(10), wal_write_atom_v, one_record(rec))
        .receive([&](uint64_t n) { taken = n; }, [&](caf::error& err) { CAF_FAIL("write failed: " << to_string(err)); });
      return taken;
    };
    CAF_CHECK_EQUAL(write("a"), 1u);
    {
      std::unique_lock<std::mutex> lock(gate->m);
      CAF_REQUIRE(gate->cv.wait_for(lock, std::chrono::seconds(10), [&] { return gate->entered; }));
    }
    // The sync hangs in the syncer; the writer still answers.
    CAF_CHECK_EQUAL(write("b"), 2u);
    CAF_CHECK_EQUAL(stats.wal_fsyncs.load(), 0u);
    {
      std::lock_guard<std::mutex> lock(gate->m);
      gate->open = true;
    }
    gate->cv.notify_all();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (stats.wal_fsyncs.load() < 1 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CAF_CHECK_GREATER_OR_EQUAL(stats.wal_fsyncs.load(), 1u);
    std::lock_guard<std::mutex> lock(gate->m);
    CAF_CHECK_GREATER_OR_EQUAL(gate->syncs, 1);
    self->send_exit(wal, caf::exit_reason::user_shutdown);
  }
}

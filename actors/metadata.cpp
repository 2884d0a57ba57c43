#include "actors/metadata.hpp"

#include <utility>

#include "actors/log.hpp"
#include "storage/wal/records.hpp"

namespace nl::actors {

namespace {

using self_ptr = metadata_actor::stateful_pointer<metadata_state>;

void publish(self_ptr self) {
  auto* m = self->state.opts.stats;
  if (!m)
    return;
  const auto& s = *self->state.store;
  m->metadata_families.store(static_cast<int64_t>(s.num_families()), std::memory_order_relaxed);
  m->metadata_bytes.store(static_cast<int64_t>(s.bytes()), std::memory_order_relaxed);
  m->metadata_evicted.store(s.evicted(), std::memory_order_relaxed);
}

caf::result<uint64_t> put(self_ptr self, const metadata_update& u) {
  auto& s = self->state;
  auto logged = std::make_shared<std::vector<storage::metadata_record>>(s.store->receive(u.entries, u.seen_ms));
  if (logged->empty())
    return uint64_t{0};
  wal_batch wb;
  wb.records.emplace_back();
  storage::encode_metadata_records(*logged, wb.records.back());
  wb.group = u.write_id;
  wb.deadline = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  (self->clock().now() + s.opts.wal_timeout).time_since_epoch())
                  .count();
  auto rp = self->make_response_promise<uint64_t>();
  // No timeout: the WAL writer always answers (head_block does the same).
  self->request(s.wal, caf::infinite, wal_write_atom_v, std::move(wb))
    .then(
      [self, rp, logged](uint64_t) mutable {
        for (const auto& r : *logged)
          self->state.store->apply(r);
        publish(self);
        rp.deliver(static_cast<uint64_t>(logged->size()));
      },
      [self, rp](caf::error& err) mutable {
        log_warn("metadata: WAL write failed: " + self->system().render(err));
        rp.deliver(std::move(err));
      });
  return rp;
}

}  // namespace

metadata_actor::behavior_type metadata(self_ptr self, std::shared_ptr<storage::metadata_store> store,
                                       wal_writer_actor wal, metadata_options opts) {
  self->state.store = std::move(store);
  self->state.wal = std::move(wal);
  self->state.opts = opts;
  publish(self);
  return {
    [=](metadata_put_atom, const metadata_update& u) { return put(self, u); },
    [=](metadata_atom, const metadata_query& q) {
      metadata_list out;
      out.items = self->state.store->list(q.metric, q.limit, q.limit_per_metric);
      return out;
    },
    [=](metadata_fetch_atom, const metadata_query& q) {
      metadata_records r;
      r.count = self->state.store->entries(r.entries, q.metric, q.limit);
      return r;
    },
    [=](metadata_records_atom, int64_t expire_before) {
      auto& store = *self->state.store;
      if (auto n = store.expire_before(expire_before); n > 0)
        log_info("metadata: " + std::to_string(n) + " families not received within the retention time dropped");
      publish(self);
      metadata_records r;
      r.count = store.entries(r.entries);
      return r;
    },
  };
}

}  // namespace nl::actors

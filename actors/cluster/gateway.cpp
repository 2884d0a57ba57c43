#include "actors/cluster/gateway.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>

#include "actors/log.hpp"
#include "protocol/tls_forwarder.hpp"
#include "storage/head/shard.hpp"

namespace nl::actors {

namespace {

// One empty batch per head shard with b's header, sized for an even spread.
template <class Batch>
std::vector<append_batch> empty_parts(const Batch& b, size_t num_series, size_t num_samples, size_t key_bytes,
                                      size_t num_shards) {
  std::vector<append_batch> out(num_shards);
  for (auto& part : out) {
    part.observed_max_t = b.observed_max_t;
    part.write_id = b.write_id;
    part.deadline_unix_ms = b.deadline_unix_ms;
    part.reserve(num_series / num_shards + 8, num_samples / num_shards + 8, key_bytes / num_shards + 64);
  }
  return out;
}

}  // namespace

std::vector<append_batch> split_by_shard(const append_batch& b, size_t num_shards) {
  auto out = empty_parts(b, b.num_series(), b.num_samples(), b.keys.size(), num_shards);
  for (size_t i = 0; i < b.num_series(); ++i) {
    auto& part = out[storage::shard_of(b.hashes[i], num_shards)];
    part.add_series_key(b.key(i), b.hashes[i]);
    uint32_t begin = i == 0 ? 0 : b.ends[i - 1];
    part.timestamps.insert(part.timestamps.end(), b.timestamps.begin() + begin, b.timestamps.begin() + b.ends[i]);
    part.value_bits.insert(part.value_bits.end(), b.value_bits.begin() + begin, b.value_bits.begin() + b.ends[i]);
    part.ends.back() = static_cast<uint32_t>(part.timestamps.size());
  }
  return out;
}

std::vector<append_batch> split_by_shard(const link_batch& b, const storage::series_ref_receiver& refs,
                                         uint64_t numbering, size_t num_shards) {
  // Keys: about as many bytes as the numbered ones average.
  size_t key_bytes = refs.size() == 0 ? 0 : refs.key_bytes() / refs.size() * b.num_series;
  auto out = empty_parts(b, b.num_series, b.num_samples, key_bytes, num_shards);
  for (auto& part : out) {
    part.numbering = numbering;
    part.numbered_slots.reserve(b.num_series / num_shards + 8);
  }
  // A merged batch: each shard's part keeps the writes' boundaries.
  size_t write = 0;
  auto end_writes_before = [&](size_t series) {
    for (; write < b.part_ends.size() && b.part_ends[write] <= series; ++write)
      for (auto& part : out)
        part.part_ends.push_back(static_cast<uint32_t>(part.num_series()));
  };
  uint32_t begin = 0;
  for (size_t i = 0; i < b.num_series; ++i) {
    end_writes_before(i);
    uint32_t ref = b.ref(i);
    uint64_t hash = refs.hash(ref);
    auto& part = out[storage::shard_of(hash, num_shards)];
    part.add_series_key(refs.key(ref), hash);
    part.numbered_slots.push_back(refs.shard_slot(ref));
    uint32_t end = b.end(i);
    size_t at = part.timestamps.size();
    size_t n = end - begin;
    part.timestamps.resize(at + n);
    part.value_bits.resize(at + n);
    std::memcpy(part.timestamps.data() + at, b.timestamps_at(begin), 8 * n);
    std::memcpy(part.value_bits.data() + at, b.value_bits_at(begin), 8 * n);
    part.ends.back() = static_cast<uint32_t>(part.timestamps.size());
    begin = end;
  }
  end_writes_before(size_t{b.num_series} + 1);
  return out;
}

namespace {

using self_ptr = gateway_actor::stateful_pointer<gateway_state>;

struct pending_append {
  caf::typed_response_promise<append_result> rp;
  append_result result;
  caf::error failure;
  size_t waiting = 0;
  uint64_t samples = 0;
};

// The checks before any work on a batch of `n` samples: its sender gave
// up (it queued here behind a slow WAL), then the budget.
caf::error admit(self_ptr self, int64_t deadline_unix_ms, uint64_t n) {
  auto& st = self->state;
  if (deadline_unix_ms != std::numeric_limits<int64_t>::max()) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
    if (now > deadline_unix_ms)
      return caf::make_error(error_code::timeout, "node " + st.view->settings().self + " got the batch "
                                                    + std::to_string(now - deadline_unix_ms)
                                                    + " ms after its sender's deadline; not stored");
  }
  // Always admitted when nothing is in flight, so that one large batch
  // cannot be refused forever.
  if (n > 0 && st.inflight_samples > 0 && st.inflight_samples + n > st.max_inflight_samples)
    return caf::make_error(error_code::overloaded,
                           "node " + st.view->settings().self + " has " + std::to_string(st.inflight_samples)
                             + " samples of peers' writes in flight (cluster.max_inflight_samples)");
  return caf::none;
}

// Appends the admitted `n` samples in `parts` (one per shard) and answers
// when every shard did.
caf::result<append_result> append_parts(self_ptr self, std::vector<append_batch> parts, uint64_t n,
                                        size_t num_writes = 0) {
  auto& st = self->state;
  st.inflight_samples += n;
  auto p = std::make_shared<pending_append>();
  p->rp = self->make_response_promise<append_result>();
  p->samples = n;
  p->result.parts.resize(num_writes);
  for (auto& part : parts)
    p->waiting += part.num_samples() > 0;
  auto done = [self, p] {
    if (--p->waiting > 0)
      return;
    self->state.inflight_samples -= p->samples;
    if (p->failure)
      p->rp.deliver(std::move(p->failure));
    else
      p->rp.deliver(std::move(p->result));
  };
  for (size_t s = 0; s < parts.size(); ++s) {
    if (parts[s].num_samples() == 0)
      continue;
    // No timeout: a shard always answers (WAL reply or WAL deadline), and
    // CAF answers for a local shard that died.
    self->request(st.shards[s], caf::infinite, append_atom_v, std::move(parts[s]))
      .then(
        [p, done](append_result& r) {
          auto& into = p->result.parts;
          for (size_t k = 0; k < std::min(into.size(), r.parts.size()); ++k)
            into[k].add(std::move(r.parts[k]));
          p->result.add(std::move(r));
          done();
        },
        [p, done](caf::error& err) {
          if (!p->failure)
            p->failure = std::move(err);
          done();
        });
  }
  return p->rp;
}

caf::result<append_result> append(self_ptr self, append_batch& b) {
  if (!b.part_ends.empty())
    return caf::make_error(error_code::bad_input, "append_batch: merged writes travel as link batches");
  if (auto err = admit(self, b.deadline_unix_ms, b.num_samples()))
    return err;
  if (b.num_samples() == 0)
    return append_result{};
  return append_parts(self, split_by_shard(b, self->state.shards.size()), b.num_samples());
}

// A link's batch: its new series are numbered first, whatever happens to
// its samples, so that the sender's numbering and ours stay in step.
caf::result<append_result> append_link_batch(self_ptr self, link_batch& b) {
  auto& st = self->state;
  if (auto err = b.validate())
    return err;
  auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
  auto it = st.link_sessions.find(sender);
  if (it == st.link_sessions.end()) {
    self->monitor(sender);  // its session's keys go when it does
    it = st.link_sessions.emplace(sender, gateway_state::link_session{0, storage::series_ref_receiver{st.shards.size()}})
           .first;
  }
  auto& ls = it->second;
  // Numbers start again under a new numbering, which the shards have not
  // seen: what they learnt of the old numbers cannot apply to the new.
  auto restart = [&](uint64_t session) {
    ls.session = session;
    ls.refs.clear();
    ls.numbering = ++st.numberings;
  };
  auto stale = [&](std::string why) {
    return caf::make_error(error_code::stale_series_refs, "node " + st.view->settings().self + ": " + why);
  };
  if (b.session != ls.session) {
    if (b.first_new != 0)
      return stale("link session " + std::to_string(b.session) + " is unknown here (it numbers from "
                   + std::to_string(b.first_new) + ")");
    restart(b.session);
  }
  if (b.first_new != ls.refs.size())
    return stale("link session " + std::to_string(b.session) + " numbers from " + std::to_string(b.first_new)
                 + ", expected " + std::to_string(ls.refs.size()));
  const size_t limit = storage::receiver_session_key_limit(st.view->settings().max_session_key_bytes);
  if (ls.refs.key_bytes() + b.new_keys.size() > limit) {
    restart(0);  // its keys go; the sender's next batch starts anew
    return stale("link session " + std::to_string(b.session) + " would keep more than "
                 + std::to_string(limit) + " bytes of label keys");
  }
  if (auto s = ls.refs.define(b.new_keys, b.new_count); !s) {
    restart(0);  // out of step now: the sender's next batch starts anew
    return caf::make_error(error_code::bad_input, "node " + st.view->settings().self + ": " + s.message());
  }
  if (auto err = admit(self, b.deadline_unix_ms, b.num_samples))
    return err;
  if (b.num_samples == 0) {
    append_result none;
    none.parts.resize(b.part_ends.size());
    return none;
  }
  return append_parts(self, split_by_shard(b, ls.refs, ls.numbering, st.shards.size()), b.num_samples, b.part_ends.size());
}

// Cluster TLS: only this node's actors and admitted peers are served
// (cluster_view::may_serve); anything else reached CAF's loopback port
// without a verified connection.
caf::error check_sender(self_ptr self) {
  auto sender = self->current_sender();
  auto& view = *self->state.view;
  if (view.may_serve(sender ? sender->node() : caf::node_id{}, self->node()))
    return {};
  return caf::make_error(error_code::bad_input, "node " + view.settings().self
                                                  + " serves only peers whose hello passed over verified TLS");
}

caf::error refuse_hello(self_ptr self, const cluster_hello& h, const std::string& why) {
  log_warn("cluster: refused a hello from node \"" + h.node + "\": " + why);
  return caf::make_error(error_code::bad_input,
                         "node " + self->state.view->settings().self + " refused the hello: " + why);
}

void accept_hello(self_ptr self, size_t node, caf::strong_actor_ptr theirs) {
  self->send(self->state.links[node], link_accept_atom_v, std::move(theirs));
}

// Cluster TLS: which certificate the sender's connection came through.
// The middleman names the connection's remote port; every connection to
// CAF's loopback port comes from the forwarder, which maps that port to
// the certificate of the TLS connection it pipes.
caf::result<cluster_hello> check_identity(self_ptr self, const cluster_hello& h, size_t node,
                                          caf::strong_actor_ptr theirs) {
  auto sender = self->current_sender();
  if (!sender)
    return refuse_hello(self, h, "it has no sender");
  auto rp = self->make_response_promise<cluster_hello>();
  self->request(self->state.middleman, std::chrono::seconds(5), caf::get_atom_v, sender->node())
    .then(
      [self, rp, h, node, theirs](caf::node_id& from, std::string& host, uint16_t port) mutable {
        auto& view = *self->state.view;
        auto who = port == 0 ? std::nullopt : view.tls()->inbound_identity(port);
        if (!who) {
          rp.deliver(refuse_hello(self, h, "it did not come through a verified TLS connection (from " + host + ":"
                                             + std::to_string(port) + ")"));
          return;
        }
        if (!who->has_name(h.node)) {
          // Cut the connection too (once this answer is through): CAF
          // would keep it, and the peer's next hello would come through it
          // again with the same certificate, even after it got a right one.
          view.tls()->close_inbound(port, std::chrono::seconds(1));
          rp.deliver(refuse_hello(self, h, "its TLS certificate (" + who->describe() + ") does not name node \""
                                             + h.node + "\" (connection closed)"));
          return;
        }
        // Admitted before the answer leaves: the peer's link sends requests
        // only after it.
        view.admit(from);
        accept_hello(self, node, std::move(theirs));
        rp.deliver(view.hello());
      },
      [self, rp, h](caf::error& err) mutable {
        rp.deliver(refuse_hello(self, h, "cannot tell which connection it came through: "
                                           + self->system().render(err)));
      });
  return rp;
}

}  // namespace

gateway_actor::behavior_type gateway(self_ptr self, std::shared_ptr<cluster_view> view,
                                     std::vector<head_block_actor> shards, index_actor idx, metadata_actor meta,
                                     std::vector<link_actor> links, caf::io::middleman_actor middleman) {
  auto& st = self->state;
  st.max_inflight_samples = view->settings().max_inflight_samples;
  st.view = std::move(view);
  st.shards = std::move(shards);
  st.idx = std::move(idx);
  st.meta = std::move(meta);
  st.links = std::move(links);
  st.middleman = std::move(middleman);
  self->set_down_handler([self](caf::down_msg& dm) { self->state.link_sessions.erase(dm.source); });
  return {
    [self](hello_atom, cluster_hello& h, caf::strong_actor_ptr& theirs) -> caf::result<cluster_hello> {
      auto& view = *self->state.view;
      auto why = view.check_hello(h);
      size_t node = 0;
      while (why.empty() && view.name(node) != h.node)
        ++node;  // check_hello found it among the nodes
      if (why.empty() && view.dials(node))
        why = "node " + view.settings().self + " dials node " + h.node + ", not the other way round";
      if (why.empty() && (!theirs || node >= self->state.links.size() || !self->state.links[node]))
        why = "no gateway to answer to";
      if (!why.empty())
        return refuse_hello(self, h, why);
      if (view.tls() != nullptr)
        return check_identity(self, h, node, std::move(theirs));
      accept_hello(self, node, std::move(theirs));
      return view.hello();
    },
    [self](append_atom, append_batch& b) -> caf::result<append_result> {
      if (auto err = check_sender(self))
        return err;
      return append(self, b);
    },
    [self](append_atom, link_batch& b) -> caf::result<append_result> {
      if (auto err = check_sender(self))
        return err;
      return append_link_batch(self, b);
    },
    [self](select_atom a, select_request& r) -> caf::result<select_result> {
      if (auto err = check_sender(self))
        return err;
      if (r.fetch_id == 0)
        return self->delegate(self->state.idx, a, std::move(r));
      auto key = std::make_pair(caf::actor_cast<caf::actor_addr>(self->current_sender()), r.fetch_id);
      auto rp = self->make_response_promise<select_result>();
      self->state.selects.insert_or_assign(key, rp);
      // No timeout: the local index always answers.
      self->request(self->state.idx, caf::infinite, a, std::move(r))
        .then(
          [self, key](select_result& x) {
            auto it = self->state.selects.find(key);
            if (it == self->state.selects.end())
              return;  // withdrawn: the data stays here
            it->second.deliver(std::move(x));
            self->state.selects.erase(it);
          },
          [self, key](caf::error& err) {
            auto it = self->state.selects.find(key);
            if (it == self->state.selects.end())
              return;
            it->second.deliver(std::move(err));
            self->state.selects.erase(it);
          });
      return rp;
    },
    [self](fetch_cancel_atom, uint64_t fetch_id) {
      auto key = std::make_pair(caf::actor_cast<caf::actor_addr>(self->current_sender()), fetch_id);
      auto it = self->state.selects.find(key);
      if (it == self->state.selects.end())
        return;
      it->second.deliver(caf::make_error(error_code::canceled, "fetch withdrawn"));
      self->state.selects.erase(it);
    },
    [self](series_atom a, meta_query& q) -> caf::result<series_list> {
      if (auto err = check_sender(self))
        return err;
      return self->delegate(self->state.idx, a, std::move(q));
    },
    [self](label_names_atom a, meta_query& q) -> caf::result<string_list> {
      if (auto err = check_sender(self))
        return err;
      return self->delegate(self->state.idx, a, std::move(q));
    },
    [self](label_values_atom a, meta_query& q) -> caf::result<string_list> {
      if (auto err = check_sender(self))
        return err;
      return self->delegate(self->state.idx, a, std::move(q));
    },
    [self](metadata_fetch_atom a, metadata_query& q) -> caf::result<metadata_records> {
      if (auto err = check_sender(self))
        return err;
      if (!self->state.meta)
        return caf::make_error(error_code::unavailable, "the metadata store is not running");
      return self->delegate(self->state.meta, a, std::move(q));
    },
  };
}

}  // namespace nl::actors

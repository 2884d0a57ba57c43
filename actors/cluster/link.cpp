#include "actors/cluster/link.hpp"

#include <algorithm>

#include "actors/log.hpp"

namespace nl::actors {

namespace {

using self_ptr = link_actor::stateful_pointer<link_state>;
using namespace std::chrono_literals;

const std::string& peer_name(self_ptr self) {
  return self->state.view->name(self->state.opts.node);
}

std::string peer_label(self_ptr self) {
  auto& o = self->state.opts;
  return "node " + peer_name(self) + " (" + o.addr + ")";
}

peer_counters& counters(self_ptr self) {
  return self->state.view->counters(self->state.opts.node);
}

void schedule_tick(self_ptr self) {
  auto& st = self->state;
  if (st.tick_scheduled || st.pending.empty())
    return;
  st.tick_scheduled = true;
  // A tenth of the deadline: a request fails at most 10% late.
  auto every = std::clamp<std::chrono::milliseconds>(st.opts.request_timeout / 10, 10ms, 1000ms);
  self->delayed_send(self, every, link_tick_atom_v);
}

uint64_t track(self_ptr self, std::chrono::milliseconds timeout, std::function<void(caf::error)> fail,
               uint64_t fetch_id = 0) {
  auto& st = self->state;
  auto id = st.next_id++;
  st.pending.emplace(id, link_state::pending_request{self->clock().now() + timeout, std::move(fail), fetch_id});
  counters(self).inflight.fetch_add(1, std::memory_order_relaxed);
  schedule_tick(self);
  return id;
}

// Whether `id` was still pending (and is not any more).
bool untrack(self_ptr self, uint64_t id) {
  if (self->state.pending.erase(id) == 0)
    return false;
  counters(self).inflight.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

void fail_pending(self_ptr self, uint64_t id, const caf::error& err) {
  auto it = self->state.pending.find(id);
  if (it == self->state.pending.end())
    return;
  auto fail = std::move(it->second.fail);
  untrack(self, id);
  counters(self).failures.fetch_add(1, std::memory_order_relaxed);
  fail(err);
}

void fail_all(self_ptr self, const caf::error& err) {
  std::vector<uint64_t> ids;
  for (auto& kv : self->state.pending)
    ids.push_back(kv.first);
  for (auto id : ids)
    fail_pending(self, id, err);
}

void schedule_connect(self_ptr self) {
  auto& st = self->state;
  st.backoff = st.backoff.count() == 0 ? st.opts.backoff_min : std::min(st.backoff * 2, st.opts.backoff_max);
  self->delayed_send(self, st.backoff, link_connect_atom_v, st.attempt);
}

void flush_writes(self_ptr self);

// The link is (or stays) down for `why`: one log line per change. A
// dialling link tries again after its backoff; an accepting one waits for
// the peer to dial.
void went_down(self_ptr self, const std::string& why) {
  auto& st = self->state;
  bool was_up = st.state == link_state::phase::up;
  st.state = link_state::phase::down;
  st.attempt += 1;  // late answers of the attempt that failed are ignored
  if (st.peer) {
    self->demonitor(st.peer.address());
    st.view->revoke(st.peer.node());
  }
  st.peer = nullptr;
  st.session = 0;
  st.refs.reset();
  st.view->set_up(st.opts.node, false);
  flush_writes(self);  // fails the lingering writes: the link is down
  fail_all(self, caf::make_error(error_code::unavailable, "the link to " + peer_label(self) + " went down: " + why));
  if (was_up)
    log_warn("cluster: link to " + peer_label(self) + " down: " + why
             + (st.opts.dial ? "" : " (waiting for it to link again)"));
  else if (why != st.last_failure)
    log_warn("cluster: cannot link to " + peer_label(self) + ": " + why + " (retrying, backoff up to "
             + std::to_string(st.opts.backoff_max.count()) + " ms)");
  st.last_failure = why;
  if (st.opts.dial)
    schedule_connect(self);
}

// A new link session: series are numbered from 0 again.
void start_session(self_ptr self) {
  auto& st = self->state;
  st.refs.reset();
  do
    st.session = st.session_ids();
  while (st.session == 0);
}

// Up with `peer` (its hello accepted): requests flow from now on.
void went_up(self_ptr self) {
  auto& st = self->state;
  start_session(self);
  st.state = link_state::phase::up;
  st.backoff = 0ms;
  st.last_failure.clear();
  st.view->set_up(st.opts.node, true);
  log_info("cluster: link to " + peer_label(self) + " up" + (st.opts.dial ? "" : " (it linked to us)"));
}

std::string connect_failure(self_ptr self, const caf::error& err) {
  auto text = self->system().render(err);
  if (self->state.opts.tls)
    text += " (the TLS connection failed or was refused: see the \"cluster tls\" line for why)";
  return text;
}

void say_hello(self_ptr self, uint64_t attempt) {
  auto& st = self->state;
  auto id = track(self, st.opts.connect_timeout, [self, attempt](caf::error err) {
    if (self->state.attempt == attempt && self->state.state == link_state::phase::connecting)
      went_down(self, "hello: " + message_of(err));
  });
  self->request(st.peer, st.opts.connect_timeout + 1s, hello_atom_v, st.view->hello(), st.own_gateway)
    .then(
      [self, id, attempt](cluster_hello& theirs) {
        if (!untrack(self, id) || self->state.attempt != attempt)
          return;
        auto& st = self->state;
        auto why = st.view->check_hello(theirs);
        if (why.empty() && theirs.node != peer_name(self))
          why = "it says it is node \"" + theirs.node + "\"";
        if (!why.empty()) {
          went_down(self, "refused its hello: " + why);
          return;
        }
        went_up(self);
      },
      [self, id, attempt](caf::error& err) {
        if (!untrack(self, id) || self->state.attempt != attempt)
          return;
        went_down(self, "hello: " + message_of(err));
      });
}

void connect(self_ptr self) {
  auto& st = self->state;
  if (st.state != link_state::phase::down)
    return;
  if (st.dialling) {
    schedule_connect(self);  // the last dial is still blocking the middleman
    return;
  }
  st.state = link_state::phase::connecting;
  auto attempt = ++st.attempt;
  st.dialling = true;
  // Our deadline, not CAF's: a request timeout would drop the middleman's
  // late answer, and with it the knowledge that it dials no more.
  auto deadline = track(self, st.opts.connect_timeout, [self, attempt](caf::error) {
    if (self->state.attempt == attempt && self->state.state == link_state::phase::connecting)
      went_down(self, "connect: no answer within " + std::to_string(self->state.opts.connect_timeout.count())
                        + " ms");
  });
  self->request(st.connector, caf::infinite, caf::connect_atom_v, st.opts.host, st.opts.port)
    .then(
      [self, attempt, deadline](caf::node_id&, caf::strong_actor_ptr& ptr, std::set<std::string>& ifs) {
        auto& st = self->state;
        st.dialling = false;
        untrack(self, deadline);
        if (st.attempt != attempt || st.state != link_state::phase::connecting)
          return;
        if (!ptr) {
          went_down(self, "nothing is published at that port");
          return;
        }
        if (ifs != self->system().message_types<gateway_actor>()) {
          went_down(self, "the actor published there is not a Nightlight gateway of this version");
          return;
        }
        st.peer = caf::actor_cast<gateway_actor>(std::move(ptr));
        self->monitor(st.peer);
        // With TLS this connection went through the forwarder's port for
        // this peer, which verified that the certificate names it: its
        // requests may reach our gateway (before our hello, which its
        // link answers by going up).
        st.view->admit(st.peer.node());
        say_hello(self, attempt);
      },
      [self, attempt, deadline](caf::error& err) {
        self->state.dialling = false;
        untrack(self, deadline);
        if (self->state.attempt != attempt || self->state.state != link_state::phase::connecting)
          return;
        went_down(self, connect_failure(self, err));
      });
}

// Whether a request may go to the peer now: the link is up and its
// pending table has room.
caf::error may_forward(self_ptr self) {
  auto& st = self->state;
  auto& c = counters(self);
  c.requests.fetch_add(1, std::memory_order_relaxed);
  if (st.state != link_state::phase::up) {
    c.failures.fetch_add(1, std::memory_order_relaxed);
    return caf::make_error(error_code::unavailable, peer_label(self) + " is unreachable");
  }
  if (st.pending.size() >= st.opts.max_pending) {
    c.failures.fetch_add(1, std::memory_order_relaxed);
    return caf::make_error(error_code::overloaded, std::to_string(st.pending.size()) + " requests to "
                                                     + peer_label(self) + " are in flight already");
  }
  return caf::none;
}

// Sends a request to the peer, tracked: answered by the peer (`done`), or
// failed (`fail`) on DOWN, at the deadline or by a fetch_cancel of its
// fetch_id (selects), whichever comes first. `on_error` sees the peer's
// own errors first. REQUIRES: may_forward(self) said yes.
template <class R, class OnError, class Done, class Fail, class... Ts>
void send_tracked_then(self_ptr self, uint64_t fetch_id, OnError on_error, Done done, Fail fail, Ts&&... xs) {
  auto& st = self->state;
  auto timeout = st.opts.request_timeout;
  auto id = track(self, timeout, [fail, self, timeout](caf::error err) mutable {
    if (err == caf::sec::request_timeout || code_of(err) == error_code::timeout)
      err = caf::make_error(error_code::timeout, peer_label(self) + " did not answer within "
                                                   + std::to_string(timeout.count()) + " ms");
    fail(std::move(err));
  }, fetch_id);
  // CAF's own timeout only cleans up its response handler; the deadline
  // above answers first.
  self->request(st.peer, timeout + 1s, std::forward<Ts>(xs)...)
    .then(
      [self, id, done](R& r) mutable {
        if (untrack(self, id))
          done(r);
      },
      [self, id, on_error](caf::error& err) {
        on_error(err);
        fail_pending(self, id, err);
      });
}

// send_tracked_then, answering the current request.
template <class R, class OnError, class... Ts>
caf::result<R> send_tracked(self_ptr self, uint64_t fetch_id, OnError on_error, Ts&&... xs) {
  auto rp = self->template make_response_promise<R>();
  send_tracked_then<R>(
    self, fetch_id, on_error, [rp](R& r) mutable { rp.deliver(std::move(r)); },
    [rp](caf::error err) mutable { rp.deliver(std::move(err)); }, std::forward<Ts>(xs)...);
  return rp;
}

template <class R, class... Ts>
caf::result<R> forward(self_ptr self, uint64_t fetch_id, Ts&&... xs) {
  if (auto err = may_forward(self))
    return err;
  return send_tracked<R>(self, fetch_id, [](const caf::error&) {}, std::forward<Ts>(xs)...);
}

// The link_batch of `b`: its series by their numbers in this session,
// numbering those the session has not sent yet.
link_batch number_series(self_ptr self, const append_batch& b) {
  auto& st = self->state;
  if (st.refs.key_bytes() > st.opts.max_session_key_bytes)
    start_session(self);
  link_batch lb;
  lb.session = st.session;
  lb.first_new = st.refs.size();
  std::vector<uint32_t> refs(b.num_series());
  for (size_t i = 0; i < b.num_series(); ++i) {
    // Slots sixteen series ahead, then (once in) where their keys are.
    if (i + 16 < b.num_series())
      st.refs.prefetch(b.hashes[i + 16]);
    if (i + 6 < b.num_series())
      st.refs.prefetch_key(b.hashes[i + 6]);
    auto key = b.key(i);
    auto r = st.refs.assign(b.hashes[i], key);
    if (r.is_new) {
      lb.new_keys.append(key.data(), key.size());
      lb.new_count += 1;
    }
    refs[i] = r.id;
  }
  lb.set_columns(refs, b);
  return lb;
}

// The peer lost our numbering (restarted its table, or dropped it after a
// bad batch): number anew, once per session.
auto renumber_on_stale(self_ptr self, uint64_t session) {
  return [self, session](const caf::error& err) {
    if (code_of(err) == error_code::stale_series_refs && self->state.session == session)
      start_session(self);
  };
}

void count_sent(self_ptr self, const link_batch& lb) {
  auto& c = counters(self);
  c.bytes_sent.fetch_add(lb.new_keys.size() + lb.columns.size(), std::memory_order_relaxed);
  c.write_batches.fetch_add(1, std::memory_order_relaxed);
}

// The writes in `ws` as one batch, each write's series a part of it.
append_batch merge_writes(const std::vector<link_state::lingering_write>& ws) {
  append_batch all;
  size_t series = 0, samples = 0, key_bytes = 0;
  for (const auto& w : ws) {
    series += w.batch.num_series();
    samples += w.batch.num_samples();
    key_bytes += w.batch.keys.size();
  }
  all.reserve(series, samples, key_bytes);
  all.part_ends.reserve(ws.size());
  // One WAL group on the peer: its WAL writer takes or refuses the merged
  // batch as a whole, by the earliest deadline.
  all.write_id = ws.front().batch.write_id;
  for (const auto& w : ws) {
    const auto& b = w.batch;
    all.observed_max_t = std::max(all.observed_max_t, b.observed_max_t);
    all.deadline_unix_ms = std::min(all.deadline_unix_ms, b.deadline_unix_ms);
    all.keys.append(b.keys);
    const auto key_base = all.key_ends.empty() ? 0 : all.key_ends.back();
    const auto sample_base = static_cast<uint32_t>(all.timestamps.size());
    for (size_t i = 0; i < b.num_series(); ++i) {
      all.key_ends.push_back(key_base + b.key_ends[i]);
      all.hashes.push_back(b.hashes[i]);
      all.ends.push_back(sample_base + b.ends[i]);
    }
    all.timestamps.insert(all.timestamps.end(), b.timestamps.begin(), b.timestamps.end());
    all.value_bits.insert(all.value_bits.end(), b.value_bits.begin(), b.value_bits.end());
    all.part_ends.push_back(static_cast<uint32_t>(all.num_series()));
  }
  return all;
}

// Sends the writes that waited out write_linger (with 0s: the one that
// just came), one write as it came, several as one batch whose answer
// has a part for each.
void flush_writes(self_ptr self) {
  auto& st = self->state;
  auto ws = std::move(st.lingering);
  st.lingering.clear();
  st.lingering_samples = 0;
  if (ws.empty())
    return;
  if (st.state != link_state::phase::up) {
    auto err = caf::make_error(error_code::unavailable, peer_label(self) + " is unreachable");
    counters(self).failures.fetch_add(ws.size(), std::memory_order_relaxed);
    for (auto& w : ws)
      w.rp.deliver(err);
    return;
  }
  auto lb = ws.size() == 1 ? number_series(self, ws.front().batch) : number_series(self, merge_writes(ws));
  count_sent(self, lb);
  auto session = lb.session;
  auto rps = std::make_shared<std::vector<caf::typed_response_promise<append_result>>>();
  for (auto& w : ws)
    rps->push_back(std::move(w.rp));
  send_tracked_then<append_result>(
    self, 0, renumber_on_stale(self, session),
    [self, rps](append_result& r) {
      if (rps->size() == 1) {
        rps->front().deliver(std::move(r));
        return;
      }
      if (r.parts.size() != rps->size()) {
        // The peer's fault, not the writes': their clients retry (503).
        auto err = caf::make_error(error_code::unavailable, peer_label(self) + " answered a batch of "
                                                              + std::to_string(rps->size()) + " writes with "
                                                              + std::to_string(r.parts.size()) + " results");
        counters(self).failures.fetch_add(rps->size(), std::memory_order_relaxed);
        for (auto& rp : *rps)
          rp.deliver(err);
        return;
      }
      for (size_t k = 0; k < rps->size(); ++k) {
        auto& p = r.parts[k];
        (*rps)[k].deliver(append_result{p.accepted, p.rejected, std::move(p.errors), {}});
      }
    },
    [self, rps](caf::error err) {
      // fail_pending counted the batch once; failures count writes.
      counters(self).failures.fetch_add(rps->size() - 1, std::memory_order_relaxed);
      for (auto& rp : *rps)
        rp.deliver(err);
    },
    append_atom_v, std::move(lb));
}

caf::result<append_result> append(self_ptr self, append_batch& b) {
  if (auto err = may_forward(self))
    return err;
  if (b.num_series() == 0)
    return append_result{};  // nothing to send (a merged write must have series)
  // Batches cost per message far more than per sample (docs/CLUSTER.md):
  // writes that arrive within write_linger share one.
  auto& st = self->state;
  auto rp = self->make_response_promise<append_result>();
  st.lingering_samples += b.num_samples();
  st.lingering.push_back({std::move(b), rp});
  if (st.opts.write_linger.count() == 0 || st.lingering_samples >= st.opts.linger_flush_samples) {
    flush_writes(self);
  } else if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->delayed_send(self, st.opts.write_linger, link_flush_atom_v);
  }
  return rp;
}

}  // namespace

link_actor::behavior_type link(self_ptr self, std::shared_ptr<cluster_view> view, caf::io::middleman_actor connector,
                               link_options opts) {
  auto& st = self->state;
  st.view = std::move(view);
  st.connector = std::move(connector);
  st.opts = std::move(opts);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (!st.peer || dm.source != st.peer.address())
      return;  // an earlier connection's proxy
    went_down(self, self->system().render(dm.reason));
  });
  return {
    [self](link_start_atom, caf::strong_actor_ptr& own_gateway) {
      auto& st = self->state;
      st.own_gateway = std::move(own_gateway);
      if (st.opts.dial)
        connect(self);
      else
        log_info("cluster: waiting for " + peer_label(self) + " to link (the node whose name sorts first dials)");
    },
    [self](link_accept_atom, caf::strong_actor_ptr& peer) {
      auto& st = self->state;
      if (st.opts.dial || !peer)
        return;  // the gateway accepts only peers that dial us
      if (st.peer && st.peer.address() == caf::actor_cast<caf::actor_addr>(peer)) {
        // The same connection's hello again (the dialler retried after a
        // late answer): what is pending still gets its answers.
        if (st.state != link_state::phase::up)
          went_up(self);
        return;
      }
      if (st.peer) {
        // It dialled again before its old connection's DOWN reached us:
        // what is pending there is never answered.
        self->demonitor(st.peer.address());
        if (st.peer.node() != peer->node())
          st.view->revoke(st.peer.node());  // the gateway admitted the new one
        fail_all(self, caf::make_error(error_code::unavailable, peer_label(self) + " linked anew"));
      }
      st.attempt += 1;
      st.peer = caf::actor_cast<gateway_actor>(std::move(peer));
      self->monitor(st.peer);
      went_up(self);
    },
    [self](link_connect_atom, uint64_t attempt) {
      if (attempt == self->state.attempt)
        connect(self);
    },
    [self](link_tick_atom) {
      auto& st = self->state;
      st.tick_scheduled = false;
      auto now = self->clock().now();
      std::vector<uint64_t> expired;
      for (auto& kv : st.pending)
        if (kv.second.deadline <= now)
          expired.push_back(kv.first);
      for (auto id : expired)
        fail_pending(self, id, caf::make_error(error_code::timeout, "deadline"));
      schedule_tick(self);
    },
    [self](append_atom, append_batch& b) -> caf::result<append_result> { return append(self, b); },
    [self](link_flush_atom) {
      self->state.flush_scheduled = false;
      flush_writes(self);
    },
    [self](select_atom a, select_request& r) -> caf::result<select_result> {
      auto fetch_id = r.fetch_id;
      return forward<select_result>(self, fetch_id, a, std::move(r));
    },
    [self](series_atom a, meta_query& q) -> caf::result<series_list> {
      return forward<series_list>(self, 0, a, std::move(q));
    },
    [self](label_names_atom a, meta_query& q) -> caf::result<string_list> {
      return forward<string_list>(self, 0, a, std::move(q));
    },
    [self](label_values_atom a, meta_query& q) -> caf::result<string_list> {
      return forward<string_list>(self, 0, a, std::move(q));
    },
    [self](metadata_fetch_atom a, metadata_query& q) -> caf::result<metadata_records> {
      return forward<metadata_records>(self, 0, a, std::move(q));
    },
    [self](fetch_cancel_atom a, uint64_t fetch_id) {
      auto& st = self->state;
      if (fetch_id == 0)
        return;
      std::vector<uint64_t> ids;
      for (auto& kv : st.pending)
        if (kv.second.fetch_id == fetch_id)
          ids.push_back(kv.first);
      if (ids.empty())
        return;
      // Withdrawn by the requester: not a failure of the peer.
      for (auto id : ids) {
        auto fail = std::move(st.pending.at(id).fail);
        untrack(self, id);
        fail(caf::make_error(error_code::canceled, "fetch withdrawn"));
      }
      if (st.state == link_state::phase::up)
        self->send(st.peer, a, fetch_id);
    },
  };
}

}  // namespace nl::actors

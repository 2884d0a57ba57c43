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
  st.view->set_up(st.opts.node, false);
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

// Up with `peer` (its hello accepted): requests flow from now on.
void went_up(self_ptr self) {
  auto& st = self->state;
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

// Forwards a request to the peer, tracked: answered by the peer, or failed
// on DOWN, at the deadline or by a fetch_cancel of its fetch_id (selects),
// whichever comes first.
template <class R, class... Ts>
caf::result<R> forward(self_ptr self, uint64_t fetch_id, Ts&&... xs) {
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
  auto rp = self->template make_response_promise<R>();
  auto timeout = st.opts.request_timeout;
  auto id = track(self, timeout, [rp, self, timeout](caf::error err) mutable {
    if (err == caf::sec::request_timeout || code_of(err) == error_code::timeout)
      err = caf::make_error(error_code::timeout, peer_label(self) + " did not answer within "
                                                   + std::to_string(timeout.count()) + " ms");
    rp.deliver(std::move(err));
  }, fetch_id);
  // CAF's own timeout only cleans up its response handler; the deadline
  // above answers first.
  self->request(st.peer, timeout + 1s, std::forward<Ts>(xs)...)
    .then(
      [self, id, rp](R& r) mutable {
        if (untrack(self, id))
          rp.deliver(std::move(r));
      },
      [self, id](caf::error& err) { fail_pending(self, id, err); });
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
    [self](append_atom a, append_batch& b) -> caf::result<append_result> {
      counters(self).bytes_sent.fetch_add(b.keys.size() + 16 * b.num_samples(), std::memory_order_relaxed);
      return forward<append_result>(self, 0, a, std::move(b));
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

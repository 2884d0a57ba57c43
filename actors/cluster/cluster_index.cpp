#include "actors/cluster/cluster_index.hpp"

#include <atomic>

#include "actors/head_block.hpp"
#include "storage/cluster/replica_merge.hpp"
#include "storage/metadata/metadata_merge.hpp"

namespace nl::actors {

namespace {

using self_ptr = cluster_index_actor::stateful_pointer<cluster_index_state>;

// Fetch ids unique in the process, so that a restarted cluster index never
// withdraws a fetch of its predecessor's by mistake.
std::atomic<uint64_t> next_fetch_id{1};

// One request to every node: each answers a Part, merged into a Result.
template <class Part, class Result = Part>
struct gather {
  caf::typed_response_promise<Result> rp;
  std::vector<Part> parts;           ///< index = node
  std::vector<bool> answered;        ///< index = node
  std::vector<std::string> missing;  ///< index = node: why it is missing ("" if not)
  size_t waiting = 0;
  bool done = false;
  /// Missing nodes that leave the answer complete: write_quorum - 1 for
  /// series data (every acknowledged sample has write_quorum copies), 0
  /// for metric metadata (held by the node that received it only).
  size_t complete_without = 0;
  uint64_t fetch_id = 0;      ///< selects: the id they went out with
  uint64_t requester_id = 0;  ///< selects: the requester's fetch_id
  uint64_t fetched = 0;       ///< selects: samples in the answers so far
};

template <class Part, class Result = Part>
using gather_ptr = std::shared_ptr<gather<Part, Result>>;

void forget(self_ptr self, uint64_t fetch_id, uint64_t requester_id) {
  auto& st = self->state;
  if (fetch_id == 0)
    return;
  st.withdraw.erase(fetch_id);
  auto range = st.fetches_of.equal_range(requester_id);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == fetch_id) {
      st.fetches_of.erase(it);
      break;
    }
  }
}

// Ends a request that failed as a whole: its selects still out are
// withdrawn at the nodes that have not answered.
template <class Part, class Result>
void fail(self_ptr self, const gather_ptr<Part, Result>& g, caf::error err) {
  g->done = true;
  forget(self, g->fetch_id, g->requester_id);
  if (g->fetch_id != 0)
    for (size_t node = 0; node < g->answered.size(); ++node)
      if (!g->answered[node] && g->missing[node].empty())
        self->send(self->state.peers[node], fetch_cancel_atom_v, g->fetch_id);
  g->rp.deliver(std::move(err));
}

// Every node answered or is missing: merge, or refuse when too many are
// missing and partial answers are off.
template <class Part, class Result, class Merge>
void complete(self_ptr self, const gather_ptr<Part, Result>& g, Merge merge) {
  g->done = true;
  forget(self, g->fetch_id, g->requester_id);
  const auto& view = *self->state.view;
  size_t missing = 0;
  std::string why;
  for (size_t node = 0; node < g->missing.size(); ++node) {
    if (g->missing[node].empty())
      continue;
    missing += 1;
    if (!why.empty())
      why += "; ";
    why += view.name(node) + ": " + g->missing[node];
  }
  std::vector<std::string> warnings;
  if (missing > g->complete_without) {
    auto text = "cluster: " + std::to_string(missing) + " of " + std::to_string(view.num_nodes())
                + " nodes did not answer (" + why + ")";
    if (!view.settings().partial_response) {
      g->rp.deliver(caf::make_error(error_code::unavailable,
                                    text + "; no partial answers (cluster.partial_response: false)"));
      return;
    }
    warnings.push_back(text + "; the result may be incomplete");
  }
  std::vector<Part> parts;
  for (size_t node = 0; node < g->parts.size(); ++node)
    if (g->answered[node])
      parts.push_back(std::move(g->parts[node]));
  g->parts.clear();
  caf::expected<Result> merged = merge(parts);
  if (!merged) {
    g->rp.deliver(std::move(merged.error()));
    return;
  }
  for (auto& w : warnings)
    merged->warnings.push_back(std::move(w));
  g->rp.deliver(std::move(*merged));
}

// Asks every node; `check(g, part)` sees each answer as it arrives and may
// fail the request (the select budget).
template <class Part, class Result, class Merge, class Check, class Atom, class Arg>
caf::result<Result> fan_out(self_ptr self, const gather_ptr<Part, Result>& g, Merge merge, Check check, Atom atom,
                            const Arg& arg) {
  auto& peers = self->state.peers;
  g->rp = self->template make_response_promise<Result>();
  g->parts.resize(peers.size());
  g->answered.assign(peers.size(), false);
  g->missing.assign(peers.size(), std::string{});
  g->waiting = peers.size();
  for (size_t node = 0; node < peers.size(); ++node) {
    // No timeout: this node's gateway always answers, and a link answers
    // by its peer, the peer's DOWN, its deadline or at once when down.
    self->request(peers[node], caf::infinite, atom, arg)
      .then(
        [self, g, node, merge, check](Part& part) {
          if (g->done)
            return;
          g->answered[node] = true;
          if (auto err = check(*g, part)) {
            fail(self, g, std::move(err));
            return;
          }
          g->parts[node] = std::move(part);
          if (--g->waiting == 0)
            complete(self, g, merge);
        },
        [self, g, node, merge](caf::error& err) {
          if (g->done)
            return;
          if (!node_missing(err)) {
            g->answered[node] = true;  // nothing to withdraw there
            fail(self, g, caf::make_error(code_of(err), "node " + self->state.view->name(node) + ": "
                                                          + message_of(err)));
            return;
          }
          g->missing[node] = message_of(err);
          if (--g->waiting == 0)
            complete(self, g, merge);
        });
  }
  return g->rp;
}

auto no_check = [](const auto&, const auto&) { return caf::error{}; };

// Series data: complete with up to write_quorum - 1 nodes missing.
template <class Part, class Result = Part>
gather_ptr<Part, Result> make_data_gather(self_ptr self) {
  auto g = std::make_shared<gather<Part, Result>>();
  g->complete_without = self->state.view->write_quorum() - 1;
  return g;
}

template <class List, class Atom>
caf::result<List> fan_out_list(self_ptr self, const meta_query& q, Atom atom) {
  auto g = make_data_gather<List>(self);
  auto limit = q.limit;
  auto merge = [limit](std::vector<List>& parts) -> caf::expected<List> { return merge_lists(parts, limit); };
  return fan_out(self, g, merge, no_check, atom, q);
}

// Pages of a paged select (remote read) are first cut to where every
// node's page is complete, as the local index does with its sources.
caf::expected<select_result> merge_selects(std::vector<select_result>& parts) {
  std::vector<storage::series_page> pages;
  pages.reserve(parts.size());
  for (auto& p : parts) {
    bool more = p.more;
    pages.push_back({to_snapshots(std::move(p)), more});
  }
  bool more = storage::trim_pages(pages);
  std::vector<std::vector<storage::series_snapshot>> snaps;
  snaps.reserve(pages.size());
  for (auto& p : pages)
    snaps.push_back(std::move(p.series));
  auto merged = storage::merge_replicas(std::move(snaps));
  if (!merged)
    return caf::make_error(error_code::internal, "merging replicas: " + merged.error().message());
  auto out = to_select_result(std::move(*merged));
  out.more = more;
  return out;
}

caf::result<select_result> fan_out_select(self_ptr self, select_request r) {
  auto& st = self->state;
  auto g = make_data_gather<select_result>(self);
  g->requester_id = r.fetch_id;
  g->fetch_id = next_fetch_id.fetch_add(1, std::memory_order_relaxed);
  r.fetch_id = g->fetch_id;
  auto budget = r.max_samples;
  auto mint = r.mint;
  auto maxt = r.maxt;
  auto check = [budget, mint, maxt](gather<select_result>& g, const select_result& part) -> caf::error {
    if (budget == 0)
      return {};
    for (const auto& s : part.series)
      for (const auto& c : s.chunks)
        g.fetched += c.chunk ? storage::estimate_samples_in(*c.chunk, mint, maxt) : 0;
    if (g.fetched > budget)
      return too_many_samples_error();
    return {};
  };
  std::weak_ptr<gather<select_result>> weak = g;
  st.withdraw.emplace(g->fetch_id, [self, weak] {
    if (auto g = weak.lock(); g && !g->done)
      fail(self, g, caf::make_error(error_code::canceled, "fetch withdrawn"));
  });
  st.fetches_of.emplace(g->requester_id, g->fetch_id);
  return fan_out(self, g, merge_selects, check, select_atom_v, r);
}

// Metric metadata: each node answers its descriptions with receipt times
// (limit_per_metric left to the merge), merged as one node's store would
// hold them (storage/metadata/metadata_merge.hpp). It lives only on the
// node that received it, so any missing node may leave a gap.
caf::result<metadata_list> fan_out_metadata(self_ptr self, const metadata_query& q) {
  auto g = std::make_shared<gather<metadata_records, metadata_list>>();
  g->complete_without = 0;
  auto merge = [q](std::vector<metadata_records>& parts) -> caf::expected<metadata_list> {
    std::vector<std::vector<storage::metadata_record>> records(parts.size());
    for (size_t i = 0; i < parts.size(); ++i)
      if (auto st = storage::decode_metadata_entries(parts[i].entries, records[i]); !st)
        return caf::make_error(error_code::internal, "metadata from a node: " + st.message());
    metadata_list out;
    out.items = storage::merge_metadata(records, q.metric, q.limit, q.limit_per_metric);
    return out;
  };
  auto per_node = q;
  per_node.limit_per_metric = -1;
  return fan_out(self, g, merge, no_check, metadata_fetch_atom_v, per_node);
}

}  // namespace

bool node_missing(const caf::error& err) {
  if (err.category() != error_category)
    return true;
  auto c = code_of(err);
  return c != error_code::bad_input && c != error_code::too_many_samples && c != error_code::execution
         && c != error_code::internal;
}

cluster_index_actor::behavior_type cluster_index(self_ptr self, std::shared_ptr<cluster_view> view,
                                         std::vector<peer_actor> peers, index_actor local) {
  auto& st = self->state;
  st.view = std::move(view);
  st.peers = std::move(peers);
  st.local = std::move(local);
  return {
    [self](series_atom a, const meta_query& q) { return fan_out_list<series_list>(self, q, a); },
    [self](label_names_atom a, const meta_query& q) { return fan_out_list<string_list>(self, q, a); },
    [self](label_values_atom a, const meta_query& q) { return fan_out_list<string_list>(self, q, a); },
    [self](select_atom, select_request& r) { return fan_out_select(self, std::move(r)); },
    [self](metadata_atom, const metadata_query& q) { return fan_out_metadata(self, q); },
    [self](tsdb_status_atom a, uint64_t limit) -> caf::result<storage::tsdb_status> {
      return self->delegate(self->state.local, a, limit);
    },
    [self](fetch_cancel_atom, uint64_t requester_id) {
      auto& st = self->state;
      if (requester_id == 0)
        return;  // such selects cannot be withdrawn
      std::vector<uint64_t> ids;
      auto range = st.fetches_of.equal_range(requester_id);
      for (auto it = range.first; it != range.second; ++it)
        ids.push_back(it->second);
      for (auto id : ids) {
        auto it = st.withdraw.find(id);
        if (it == st.withdraw.end())
          continue;
        auto withdraw = std::move(it->second);
        withdraw();  // fails the select, which forgets it
      }
    },
  };
}

}  // namespace nl::actors

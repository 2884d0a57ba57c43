#pragma once
// The gateway: a node's only published actor. Peers' links talk to it.
//
// hello: checks the peer's cluster name, protocol version, membership and
//   ring (cluster_view::check_hello), and that the peer is one that dials
//   this node (cluster_view::dials). With cluster TLS also that the hello
//   came through a verified TLS connection whose certificate names the
//   node the hello claims to be (CN or a DNS SAN): the middleman tells
//   which loopback port the sender's connection comes from, the forwarder
//   which certificate that pipe carries. Then it hands the peer's gateway,
//   which the hello carries, to this node's link to it (link_accept) and
//   answers this node's hello; or refuses with bad_input naming the reason
//   (and logs one line).
// append: the part of a remote write this node owns. A batch past its
//   sender's deadline (append_batch::deadline_unix_ms) is answered
//   `timeout` at once and not stored. Then admission: the
//   samples of peers' writes not yet acknowledged are bounded
//   (cluster.max_inflight_samples); over it the sender gets `overloaded` at
//   once, never a queue. Then the batch is split by head shard and each part
//   appended; the answer comes when every shard answered (in the WAL, or
//   refused), the first shard error failing it.
// append (link_batch): the same, sent by a peer's link: the series the
//   batch numbers are numbered first (storage/cluster/series_refs.hpp; one
//   session per sending link, forgotten when it goes down), then it is an
//   append_batch whose series are the numbered keys, and also their slots
//   in the session's numbering (append_batch::numbered_slots), by which
//   each shard finds again the series it found once. A batch of an unknown
//   session, or numbering from other than the next number, is refused
//   with stale_series_refs, and so is one that would take the session's
//   keys past storage::receiver_session_key_limit (the session is
//   forgotten); a batch whose columns disagree (link_batch::validate) and
//   malformed keys with bad_input (and the session is forgotten). Only
//   check_sender's refusal (an unadmitted sender) comes before numbering.
// select / series / label_names / label_values: answered by a private
//   instance of the local index (actors/index.hpp) over the same shards
//   and blocks.
// metadata_fetch: answered by this node's metadata actor.
// fetch_cancel(id): a select from the same sender with that fetch_id
//   still being read is answered `canceled` at once, and its data, when
//   the index delivers it, is dropped instead of sent over the link.
#include <caf/all.hpp>
#include <caf/io/middleman_actor.hpp>

#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "actors/cluster/cluster_view.hpp"
#include "actors/cluster/link.hpp"
#include "actors/cluster/peer.hpp"
#include "actors/head_block.hpp"
#include "actors/index.hpp"
#include "actors/metadata.hpp"
#include "storage/cluster/series_refs.hpp"

namespace nl::actors {

struct gateway_state {
  std::shared_ptr<cluster_view> view;
  std::vector<head_block_actor> shards;
  index_actor idx;
  metadata_actor meta;  ///< may be invalid (tests): metadata_fetch is refused
  std::vector<link_actor> links;  ///< index = node; none for this node
  caf::io::middleman_actor middleman;  ///< asked where a hello came from (cluster TLS)
  uint64_t max_inflight_samples = 0;
  uint64_t inflight_samples = 0;
  /// A peer link's session: the numbers its batches name series by.
  struct link_session {
    uint64_t session = 0;  ///< 0: none yet (the link's first batch starts one)
    storage::series_ref_receiver refs;
    /// What the shards know `refs`' numbers by (append_batch::numbering):
    /// a new one each time `refs` starts again, from numberings.
    uint64_t numbering = 0;
  };
  uint64_t numberings = 0;  ///< handed out
  /// By the sending link actor (one per peer), dropped when it goes down.
  std::map<caf::actor_addr, link_session> link_sessions;
  /// Selects being read, by (requester, fetch_id), for fetch_cancel.
  std::map<std::pair<caf::actor_addr, uint64_t>, caf::typed_response_promise<select_result>> selects;
  static inline const char* name = "cluster_gateway";
};

/// `links`: this node's link to each peer (index = node), which gets the
/// gateway of a peer that dials. `middleman`: CAF's; used only with
/// cluster TLS (view->tls()).
gateway_actor::behavior_type gateway(gateway_actor::stateful_pointer<gateway_state> self,
                                     std::shared_ptr<cluster_view> view, std::vector<head_block_actor> shards,
                                     index_actor idx, metadata_actor meta, std::vector<link_actor> links,
                                     caf::io::middleman_actor middleman);

/// Splits one node's batch into one batch per head shard (index = shard;
/// empty ones have no series), keeping each series' samples in order.
std::vector<append_batch> split_by_shard(const append_batch& b, size_t num_shards);
/// The same for a link's batch, whose series `refs` has numbered; each
/// part names its series' shard slots too, under `numbering`.
/// REQUIRES: b.refs are all below refs.size(); refs numbers num_shards
/// shards.
std::vector<append_batch> split_by_shard(const link_batch& b, const storage::series_ref_receiver& refs,
                                         uint64_t numbering, size_t num_shards);

}  // namespace nl::actors

#pragma once
// The interfaces of a cluster node as other nodes see it.
//
// peer_actor: what a node asks another node for, and what the write and
// read paths hold one handle per node of: this node's own gateway or, for
// every other node, the link to it. So the transport stays replaceable:
// nothing outside actors/cluster/ knows whether a peer is local or remote.
//   append: store a batch of series this node owns (replies once every
//     sample is in the node's WAL or refused);
//   select, series, label_names, label_values: the node's local index;
//   metadata_fetch: the node's metric metadata with receipt times (its
//     metadata actor; merged by the cluster index);
//   fetch_cancel(id): withdraw the selects with that fetch_id (their
//     answers are dropped instead of sent).
//
// gateway_actor: the one actor a node publishes (a single entry point per
// node): peer_actor plus the hello, which
// carries the dialling node's own gateway (see link.hpp: of two nodes,
// only one opens the connection; the other reaches its peer's gateway
// through it), and the append of a link_batch: what a link sends in place
// of an append_batch (series by their session numbers).
#include <caf/all.hpp>

#include "actors/messages.hpp"

namespace nl::actors {

using peer_actor = caf::typed_actor<
  caf::replies_to<append_atom, append_batch>::with<append_result>,
  caf::replies_to<select_atom, select_request>::with<select_result>,
  caf::replies_to<series_atom, meta_query>::with<series_list>,
  caf::replies_to<label_names_atom, meta_query>::with<string_list>,
  caf::replies_to<label_values_atom, meta_query>::with<string_list>,
  caf::replies_to<metadata_fetch_atom, metadata_query>::with<metadata_records>,
  caf::reacts_to<fetch_cancel_atom, uint64_t>>;

using gateway_actor =
  peer_actor::extend<caf::replies_to<hello_atom, cluster_hello, caf::strong_actor_ptr>::with<cluster_hello>,
                     caf::replies_to<append_atom, link_batch>::with<append_result>>;

}  // namespace nl::actors

#pragma once
// The federation worker: answers one /federate request and quits. Spawned
// per request by the network actor, so the decoding and formatting of a
// large answer run on a scheduler thread of their own and never hold up
// the network actor (which also carries the writes).
#include <caf/all.hpp>

#include <string>

#include "actors/index.hpp"
#include "actors/messages.hpp"

namespace nl::actors {

/// federate(q): for every series matching any of q.selectors (a selector
/// without matchers selects nothing, as in Prometheus), its newest sample
/// with q.mint <= t <= q.maxt (ms since epoch), unless that sample is a
/// staleness marker; answered as the text exposition format
/// (protocol/federation.hpp). No selectors: an empty answer.
using federation_actor = caf::typed_actor<caf::replies_to<federate_atom, meta_query>::with<std::string>>;

federation_actor::behavior_type federation(federation_actor::pointer self, index_actor idx);

}  // namespace nl::actors

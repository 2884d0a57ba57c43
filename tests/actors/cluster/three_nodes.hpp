#pragma once
// For the cluster suites: an actor system that knows Nightlight's message
// types, and the three-node cluster they run against.
#include <string>
#include <utility>

#include "actors/config.hpp"
#include "actors/messages.hpp"

namespace nl::test {

struct cluster_test_config : caf::actor_system_config {
  cluster_test_config() { actors::register_message_types(*this); }
};

/// Cluster "test" of nodes a, b and c (127.0.0.1 ports 1, 2 and 3), as
/// node `self` sees it.
inline actors::cluster_settings three_nodes(std::string self) {
  actors::cluster_settings c;
  c.name = "test";
  c.self = std::move(self);
  c.nodes = {{"a", "127.0.0.1:1"}, {"b", "127.0.0.1:2"}, {"c", "127.0.0.1:3"}};
  return c;
}

}  // namespace nl::test

#include "actors/cluster/write_quorum.hpp"

#include <algorithm>
#include <utility>

#include "actors/errors.hpp"

namespace nl::actors {

void replica_replies::stored(size_t node, append_result&& r) {
  acked |= storage::node_mask{1} << node;
  result.accepted += r.accepted;
  result.rejected += r.rejected;
  // Replicas refuse a series alike: name each refusal once.
  auto& errors = result.errors;
  for (auto& e : r.errors)
    if (errors.size() < append_error_examples && std::find(errors.begin(), errors.end(), e) == errors.end())
      errors.push_back(std::move(e));
}

void replica_replies::failed(const std::string& node_name, caf::error err) {
  if (!node_errors.empty())
    node_errors += "; ";
  node_errors += node_name + ": " + message_of(err);
  if (!failure)
    failure = std::move(err);
}

bool quorum_met(const std::vector<storage::node_mask>& owner_sets, storage::node_mask acked, size_t quorum) {
  return std::all_of(owner_sets.begin(), owner_sets.end(),
                     [&](storage::node_mask m) { return storage::count_nodes(m & acked) >= quorum; });
}

bool quorum_reachable(const std::vector<storage::node_mask>& owner_sets, size_t quorum) {
  return quorum_met(owner_sets, ~storage::node_mask{0}, quorum);
}

write_answer replicated_write_answer(replica_replies&& r, size_t quorum, size_t healthy_nodes) {
  write_answer a{{}, std::move(r.result)};
  if (!r.owner_sets.empty()) {
    auto copies = storage::count_nodes(r.owner_sets.front());
    a.result.accepted /= copies;
    a.result.rejected /= copies;
  }
  if (quorum_met(r.owner_sets, r.acked, quorum)) {
    // Enough copies: a failed replica is not the client's problem.
  } else if (r.failure && code_of(r.failure) == error_code::bad_input) {
    a.failure = std::move(r.failure);  // no retry fixes it
  } else {
    std::string why = r.node_errors.empty() ? std::to_string(healthy_nodes) + " nodes reachable" : r.node_errors;
    a.failure = caf::make_error(error_code::unavailable,
                                "write quorum (" + std::to_string(quorum) + " copies) not reached: " + why);
  }
  if (r.metadata_failure && !a.failure)
    a.failure = std::move(r.metadata_failure);  // not stored: the sender must resend it
  return a;
}

}  // namespace nl::actors

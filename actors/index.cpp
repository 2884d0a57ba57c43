#include "actors/index.hpp"

#include <algorithm>
#include <functional>
#include <iterator>
#include <memory>

namespace nl::actors {

namespace {

using self_ptr = index_actor::stateful_pointer<index_state>;

// Collects one reply per shard; the first error wins and answers at once.
// (CAF 0.17 has no fan_out_request.)
template <class T>
struct gather {
  caf::typed_response_promise<T> rp;
  std::vector<T> parts;
  size_t waiting = 0;
  bool failed = false;
};

template <class T, class Merge, class... Ts>
caf::result<T> fan_out(self_ptr self, Merge merge, const Ts&... xs) {
  auto g = std::make_shared<gather<T>>();
  g->rp = self->template make_response_promise<T>();
  g->waiting = self->state.shards.size();
  if (g->waiting == 0) {
    g->rp.deliver(merge(g->parts));
    return g->rp;
  }
  for (auto& shard : self->state.shards) {
    // No timeout: a shard always answers (CAF answers for one that died),
    // and the callers' own deadlines answer their clients. A timed request
    // costs two wake-ups of CAF's clock thread.
    self->request(shard, caf::infinite, xs...)
      .then(
        [g, merge](T& part) {
          if (g->failed)
            return;
          g->parts.push_back(std::move(part));
          if (--g->waiting == 0)
            g->rp.deliver(merge(g->parts));
        },
        [g](caf::error& err) {
          if (g->failed)
            return;
          g->failed = true;
          g->rp.deliver(std::move(err));
        });
  }
  return g->rp;
}

// Merges `part` (sorted by `less`) into the sorted `out`, moving elements.
template <class T, class Less = std::less<>>
void merge_into(std::vector<T>& out, std::vector<T>& part, Less less = {}) {
  std::vector<T> merged;
  merged.reserve(out.size() + part.size());
  std::merge(std::make_move_iterator(out.begin()), std::make_move_iterator(out.end()),
             std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()),
             std::back_inserter(merged), less);
  out = std::move(merged);
}

// Every shard answers sorted and distinct: merging keeps that order
// without sorting again; only items found in several shards repeat.
template <class List>
List merge_lists(std::vector<List>& parts, uint64_t limit) {
  List out;
  for (auto& p : parts)
    merge_into(out.items, p.items);
  out.items.erase(std::unique(out.items.begin(), out.items.end()), out.items.end());
  if (limit > 0 && out.items.size() > limit) {
    out.items.resize(limit);
    out.truncated = true;
  }
  return out;
}

}  // namespace

index_actor::behavior_type series_index(self_ptr self, std::vector<head_block_actor> shards) {
  self->state.shards = std::move(shards);
  return {
    [=](series_atom a, const meta_query& q) {
      auto limit = q.limit;
      return fan_out<series_list>(self, [limit](auto& parts) { return merge_lists(parts, limit); }, a, q);
    },
    [=](label_names_atom a, const meta_query& q) {
      auto limit = q.limit;
      return fan_out<string_list>(self, [limit](auto& parts) { return merge_lists(parts, limit); }, a, q);
    },
    [=](label_values_atom a, const meta_query& q) {
      auto limit = q.limit;
      return fan_out<string_list>(self, [limit](auto& parts) { return merge_lists(parts, limit); }, a, q);
    },
    [=](select_atom a, const select_request& r) {
      return fan_out<select_result>(
        self,
        [](std::vector<select_result>& parts) {
          // A series lives in exactly one shard and every shard answers
          // sorted by labels: merging keeps the order without a full sort.
          auto by_labels = [](const series_data& x, const series_data& y) {
            return x.labels < y.labels;
          };
          select_result out;
          for (auto& p : parts)
            merge_into(out.series, p.series, by_labels);
          return out;
        },
        a, r);
    },
  };
}

}  // namespace nl::actors

#include "actors/index.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <iterator>
#include <memory>
#include <type_traits>

#include "promql/parallel.hpp"
#include "storage/cores.hpp"

namespace nl::actors {

namespace {

using self_ptr = index_actor::stateful_pointer<index_state>;

// Collects one reply per source, each in its source's slot (block runs in
// time order, then the shards), so that the merge sees the parts in the
// same order whatever order they arrive in; the first error wins and
// answers at once. (CAF 0.17 has no fan_out_request.)
template <class T>
struct gather {
  caf::typed_response_promise<T> rp;
  std::vector<T> parts;
  size_t waiting = 0;
  bool failed = false;
};

// The samples the block readers of one select have counted so far, shared
// by them so that the first to take the total over the select's budget
// stops (each reads on its own core).
using fetch_counter = std::shared_ptr<std::atomic<uint64_t>>;

// The blocks overlapping [mint, maxt], or none.
std::vector<storage::block_set::block_ptr> blocks_for(self_ptr self, int64_t mint, int64_t maxt) {
  if (!self->state.blocks)
    return {};
  return self->state.blocks->overlapping(mint, maxt);
}

// Holds one of the index's reader threads while a detached reader lives
// (the reader's behaviour owns it, so it is given back when the reader is
// cleaned up).
struct reader_thread_slot {
  std::shared_ptr<std::atomic<size_t>> live;
  ~reader_thread_slot() { live->fetch_sub(1); }
};

// Answers one request over `blocks` and quits. Spawned per request: block
// reads are bounded by the request's selectors. With a `thread` slot it
// runs detached, on a thread of its own at query priority.
index_actor::behavior_type block_reader(index_actor::pointer self,
                                        std::vector<storage::block_set::block_ptr> blocks, fetch_counter fetched,
                                        std::shared_ptr<reader_thread_slot> thread);

// CAF 0.17 starts a fresh thread for each detached actor, which is what lets
// a reader lower its own thread's priority. A version that pools those
// threads would pass the lowered priority on to the WAL writer and the
// compactor (also detached): revisit block_reader before upgrading.
static_assert(CAF_VERSION < 1800, "detached block readers assume a thread per detached actor");

// `blocks` (in time order) split into at most one run of adjacent blocks
// per available core, of sizes differing by at most one: each run gets a
// reader of its own, so a query over many blocks reads them on every core
// (a single reader was half of a 24 h range query's time, one core busy).
std::vector<std::vector<storage::block_set::block_ptr>> reader_runs(
  std::vector<storage::block_set::block_ptr> blocks) {
  const size_t runs = std::min<size_t>(blocks.size(), std::max(1u, storage::available_cores()));
  std::vector<std::vector<storage::block_set::block_ptr>> out(runs);
  for (size_t r = 0, next = 0; r < runs; ++r) {
    const size_t take = blocks.size() / runs + (r < blocks.size() % runs ? 1 : 0);
    out[r].assign(std::make_move_iterator(blocks.begin() + static_cast<ptrdiff_t>(next)),
                  std::make_move_iterator(blocks.begin() + static_cast<ptrdiff_t>(next + take)));
    next += take;
  }
  return out;
}

template <class T, class Merge, class Atom, class Arg>
caf::result<T> fan_out(self_ptr self, Merge merge, std::vector<storage::block_set::block_ptr> blocks,
                       Atom atom, const Arg& arg) {
  auto runs = reader_runs(std::move(blocks));
  auto g = std::make_shared<gather<T>>();
  g->rp = self->template make_response_promise<T>();
  g->waiting = self->state.shards.size() + runs.size();
  g->parts.resize(g->waiting);
  if (g->waiting == 0) {
    g->rp.deliver(merge(g->parts));
    return g->rp;
  }
  // No timeout: a shard or block reader always answers (CAF answers for
  // one that died), and the callers' own deadlines answer their clients. A
  // timed request costs two wake-ups of CAF's clock thread.
  size_t slot = 0;
  auto ask = [&](const auto& target) {
    self->request(target, caf::infinite, atom, arg)
      .then(
        [g, merge, i = slot++](T& part) {
          if (g->failed)
            return;
          g->parts[i] = std::move(part);
          if (--g->waiting == 0)
            g->rp.deliver(merge(g->parts));
        },
        [g](caf::error& err) {
          if (g->failed)
            return;
          g->failed = true;
          g->rp.deliver(std::move(err));
        });
  };
  auto fetched = std::make_shared<std::atomic<uint64_t>>(0);
  // A select's runs, when there are several, read on threads of their own.
  // On the scheduler they would mostly run one after the other on the
  // index's thread: an idle CAF worker looks for work to steal only every
  // 10 ms, so a 24 h range query's two readers and the shards took 15 ms
  // where 8 suffice. Their own threads also run at query priority, below
  // ingestion. One run (a recent range) and metadata reads (a few postings
  // lists a block, well under a millisecond) stay on the scheduler: a
  // thread start costs about 0.2 ms, as much as /api/v1/labels over a day.
  // At most four reader threads per core at a time (queries are capped by
  // the planner, remote reads and peers' fetches are not): past that,
  // readers run on the scheduler as before.
  const bool own_threads = runs.size() > 1 && std::is_same_v<Atom, select_atom>;
  const size_t max_reader_threads = 4 * std::max(1u, storage::available_cores());
  for (auto& run : runs) {
    auto& live = self->state.reader_threads;
    if (own_threads && live->fetch_add(1) < max_reader_threads) {
      std::shared_ptr<reader_thread_slot> slot{new reader_thread_slot{live}};
      ask(self->spawn<caf::detached>(block_reader, std::move(run), fetched, std::move(slot)));
    } else {
      if (own_threads)
        live->fetch_sub(1);
      ask(self->spawn(block_reader, std::move(run), fetched, nullptr));
    }
  }
  for (auto& shard : self->state.shards)
    ask(shard);
  return g->rp;
}

int three_way(const storage::label_set& a, const storage::label_set& b) { return storage::label_set::compare(a, b); }
int three_way(const std::string& a, const std::string& b) { return a.compare(b); }

// The union of the sorted, distinct `out` and `part`, moving elements:
// sorted and distinct again, one three-way comparison a step. Parts of
// one request mostly hold the same items (every block of a range lists
// the same series), so this keeps `out` at the size of the answer.
template <class T>
void union_into(std::vector<T>& out, std::vector<T>& part) {
  std::vector<T> merged;
  merged.reserve(std::max(out.size(), part.size()));
  auto a = out.begin(), b = part.begin();
  while (a != out.end() && b != part.end()) {
    int c = three_way(*a, *b);
    if (c <= 0) {
      merged.push_back(std::move(*a++));
      b += c == 0;
    } else {
      merged.push_back(std::move(*b++));
    }
  }
  std::move(a, out.end(), std::back_inserter(merged));
  std::move(b, part.end(), std::back_inserter(merged));
  out = std::move(merged);
}

// Makes `xs` sorted and distinct; a block's and a shard's lists already
// are (checked in one pass), so this is cheap for them.
template <class T>
void sort_distinct(std::vector<T>& xs) {
  if (std::adjacent_find(xs.begin(), xs.end(), [](const T& a, const T& b) { return three_way(a, b) >= 0; })
      == xs.end())
    return;
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
}

// Every part is sorted and distinct: their union keeps that order without
// sorting again.
template <class List>
List merge_sorted_lists(std::vector<List>& parts, uint64_t limit) {
  List out;
  for (auto& p : parts) {
    union_into(out.items, p.items);
    out.truncated |= p.truncated;
    for (auto& w : p.warnings)
      if (std::find(out.warnings.begin(), out.warnings.end(), w) == out.warnings.end())
        out.warnings.push_back(std::move(w));
  }
  if (limit > 0 && out.items.size() > limit) {
    out.items.resize(limit);
    out.truncated = true;
  }
  return out;
}

// Every part is sorted by labels; a series may be in a shard and in blocks.
// Pages (a paged select) are merged up to where every part is complete.
select_result merge_selects(std::vector<select_result>& parts) {
  std::vector<storage::series_page> pages;
  pages.reserve(parts.size());
  for (auto& p : parts) {
    bool more = p.more;
    pages.push_back({to_snapshots(std::move(p)), more});
  }
  auto merged = storage::merge_pages(std::move(pages));
  auto out = to_select_result(std::move(merged.series));
  out.more = merged.more;
  return out;
}

caf::error read_error(const storage::status& st) {
  return caf::make_error(error_code::internal, "block read: " + st.message());
}

// The selectors of `q`, or one without matchers (every series) when it
// has none.
const std::vector<storage::matcher_list>& selectors_of(const meta_query& q) {
  static const std::vector<storage::matcher_list> all_series(1);
  return q.selectors.empty() ? all_series : q.selectors;
}

// A metadata answer over `blocks`: `read(block, matchers)` for every block
// and selector of `q` (once without matchers when there are none), their
// union sorted and distinct.
template <class List, class Read>
caf::result<List> over_blocks(const std::vector<storage::block_set::block_ptr>& blocks, const meta_query& q,
                              Read read) {
  List out;
  for (const auto& ms : selectors_of(q))
    for (const auto& b : blocks) {
      auto xs = read(*b, ms);
      if (!xs)
        return read_error(xs.error());
      sort_distinct(*xs);
      union_into(out.items, *xs);
    }
  return out;
}

index_actor::behavior_type block_reader(index_actor::pointer self,
                                        std::vector<storage::block_set::block_ptr> blocks, fetch_counter fetched,
                                        std::shared_ptr<reader_thread_slot> thread) {
  using ml = storage::matcher_list;
  // Every request below calls it first: the thread is only this reader's.
  const bool own_thread = thread != nullptr;
  auto start = [self, own_thread, thread] {  // holds the thread slot as long as the behaviour lives
    self->quit();
    if (own_thread)
      promql::lower_query_thread_priority();
  };
  return {
    [=](series_atom, const meta_query& q) -> caf::result<series_list> {
      start();
      // The blocks of a range mostly list the same series: merged as views
      // into the blocks (held here), each series built once.
      storage::label_views all;
      for (const auto& ms : selectors_of(q))
        for (const auto& b : blocks) {
          auto xs = b->series_views(ms, q.mint, q.maxt);
          if (!xs)
            return read_error(xs.error());
          storage::sort_distinct(*xs);
          all = all.size() == 0 ? std::move(*xs) : storage::union_of(all, *xs);
        }
      series_list out;
      out.items = storage::to_label_sets(all);
      return out;
    },
    [=](label_names_atom, const meta_query& q) -> caf::result<string_list> {
      start();
      return over_blocks<string_list>(blocks, q, [&](const storage::block& b, const ml& ms) {
        return b.label_names(ms, q.mint, q.maxt);
      });
    },
    [=](label_values_atom, const meta_query& q) -> caf::result<string_list> {
      start();
      return over_blocks<string_list>(blocks, q, [&](const storage::block& b, const ml& ms) {
        return b.label_values(q.label_name, ms, q.mint, q.maxt);
      });
    },
    [=](select_atom, const select_request& r) -> caf::result<select_result> {
      start();
      if (r.paged()) {
        std::vector<storage::series_page> pages;
        auto limits = r.page();
        for (const auto& b : blocks) {
          auto page = b->select_page(r.matchers, r.mint, r.maxt, limits);
          if (!page)
            return read_error(page.error());
          pages.push_back(std::move(*page));
        }
        auto merged = storage::merge_pages(std::move(pages));
        auto out = to_select_result(std::move(merged.series));
        out.more = merged.more;
        return out;
      }
      std::vector<std::vector<storage::series_snapshot>> parts;
      for (const auto& b : blocks) {
        auto xs = b->select(r.matchers, r.mint, r.maxt);
        if (!xs)
          return read_error(xs.error());
        // The budget is checked block by block, over every reader of the
        // select: reading stops at the first block that takes the total
        // over it.
        if (r.max_samples > 0) {
          uint64_t samples = 0;
          for (const auto& s : *xs)
            for (const auto& c : s.chunks)
              samples += storage::estimate_samples_in(*c, r.mint, r.maxt);
          if (fetched->fetch_add(samples) + samples > r.max_samples)
            return too_many_samples_error();
        }
        parts.push_back(std::move(*xs));
      }
      return to_select_result(storage::merge_series(std::move(parts)));
    },
    [=](tsdb_status_atom, uint64_t) -> caf::result<storage::tsdb_status> {
      // Never sent here: the status covers the head only.
      start();
      return caf::make_error(error_code::internal, "block reader: no TSDB status");
    },
    [](fetch_cancel_atom, uint64_t) {
      // Never sent here: a reader answers one request and quits.
    },
  };
}

// /api/v1/status/tsdb on a short-lived worker: it gathers every shard's
// cardinality and merges them, so the index stays free for other requests
// while a large head's label index is merged. The parts are whole label
// indexes: they are dropped as soon as the answer is out.
using status_worker_actor =
  caf::typed_actor<caf::replies_to<tsdb_status_atom, uint64_t>::with<storage::tsdb_status>>;

status_worker_actor::behavior_type status_worker(status_worker_actor::pointer self,
                                                 std::vector<head_block_actor> shards) {
  return {
    [=](tsdb_status_atom, uint64_t limit) -> caf::result<storage::tsdb_status> {
      struct state {
        caf::typed_response_promise<storage::tsdb_status> rp;
        std::vector<storage::head_cardinality> parts;
        size_t waiting = 0;
        bool failed = false;
      };
      size_t k = limit == 0 ? storage::tsdb_status_default_limit
                            : static_cast<size_t>(std::min<uint64_t>(limit, storage::tsdb_status_max_limit));
      if (shards.empty()) {
        self->quit();
        return storage::merge_head_cardinality({}, k);
      }
      auto g = std::make_shared<state>();
      g->rp = self->make_response_promise<storage::tsdb_status>();
      g->waiting = shards.size();
      g->parts.reserve(shards.size());
      for (auto& shard : shards) {
        // No timeout, as in fan_out: a shard always answers.
        self->request(shard, caf::infinite, cardinality_atom_v)
          .then(
            [self, g, k](storage::head_cardinality& part) {
              if (g->failed)
                return;
              g->parts.push_back(std::move(part));
              if (--g->waiting == 0) {
                g->rp.deliver(storage::merge_head_cardinality(g->parts, k));
                g->parts.clear();
                self->quit();
              }
            },
            [self, g](caf::error& err) {
              if (g->failed)
                return;
              g->failed = true;
              g->parts.clear();
              g->rp.deliver(std::move(err));
              self->quit();
            });
      }
      return g->rp;
    },
  };
}

}  // namespace

string_list merge_lists(std::vector<string_list>& parts, uint64_t limit) {
  return merge_sorted_lists(parts, limit);
}

series_list merge_lists(std::vector<series_list>& parts, uint64_t limit) {
  return merge_sorted_lists(parts, limit);
}

index_actor::behavior_type series_index(self_ptr self, std::vector<head_block_actor> shards,
                                        std::shared_ptr<const storage::block_set> blocks) {
  self->state.shards = std::move(shards);
  self->state.blocks = std::move(blocks);
  return {
    [=](series_atom a, const meta_query& q) {
      auto limit = q.limit;
      return fan_out<series_list>(self, [limit](auto& parts) { return merge_lists(parts, limit); },
                                  blocks_for(self, q.mint, q.maxt), a, q);
    },
    [=](label_names_atom a, const meta_query& q) {
      auto limit = q.limit;
      return fan_out<string_list>(self, [limit](auto& parts) { return merge_lists(parts, limit); },
                                  blocks_for(self, q.mint, q.maxt), a, q);
    },
    [=](label_values_atom a, const meta_query& q) {
      auto limit = q.limit;
      return fan_out<string_list>(self, [limit](auto& parts) { return merge_lists(parts, limit); },
                                  blocks_for(self, q.mint, q.maxt), a, q);
    },
    [=](select_atom a, const select_request& r) {
      return fan_out<select_result>(self, merge_selects, blocks_for(self, r.mint, r.maxt), a, r);
    },
    [=](tsdb_status_atom a, uint64_t limit) {
      auto worker = self->spawn(status_worker, self->state.shards);
      return self->delegate(worker, a, limit);
    },
    [](fetch_cancel_atom, uint64_t) {
      // Local sources answer within milliseconds; the planner drops what
      // arrives for a stopped query.
    },
  };
}

}  // namespace nl::actors

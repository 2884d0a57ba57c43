#include "actors/network.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include "actors/cluster/write_quorum.hpp"
#include "actors/federation.hpp"
#include "actors/frontend.hpp"
#include "actors/network_jobs.hpp"
#include "actors/remote_reader.hpp"
#include "protocol/api_json.hpp"

namespace nl::actors {

using protocol::http_response;

namespace {

void run_admin(network_actor::stateful_pointer<network_state> self, admin_job_ptr job) {
  using protocol::endpoint;
  auto& st = self->state;
  if (!st.compact)
    return job->answer(unavailable("the compactor is not running"));
  auto fail = [job](caf::error& err) { job->answer(api_error_response(err)); };
  // No timeout: the compactor answers once the work is done (a snapshot of
  // a large head takes a while), or CAF answers for it if it dies.
  switch (job->ep) {
    case endpoint::admin_snapshot:
      self->request(st.compact, caf::infinite, snapshot_atom_v, job->skip_head)
        .then(
          [job](std::string& name) {
            std::string d = R"({"name":)";
            protocol::append_json_string(d, name);
            d += '}';
            job->answer(json_success(std::move(d)));
          },
          fail);
      return;
    case endpoint::admin_delete_series:
      self->request(st.compact, caf::infinite, delete_series_atom_v, job->deletion)
        .then([job](uint64_t) { job->answer(http_response{204, {}, {}, {}}); }, fail);
      return;
    default:
      self->request(st.compact, caf::infinite, clean_tombstones_atom_v)
        .then([job](uint64_t) { job->answer(http_response{204, {}, {}, {}}); }, fail);
      return;
  }
}

// Stores the request's metadata on this node (the metadata actor writes
// it to the WAL); `done` gets its outcome. Metadata is not replicated in
// cluster mode: each node keeps what the writes it received carried, and
// reads ask every node (the cluster index).
template <class Done>
void store_metadata(network_actor::stateful_pointer<network_state> self, const write_job_ptr& job, Done done) {
  auto& meta = self->state.meta;
  if (!meta)
    return done(caf::make_error(error_code::unavailable, "the metadata store is not running"));
  // No timeout of our own: like a shard, the metadata actor always answers
  // (by its WAL's reply or its WAL timeout).
  self->request(meta, caf::infinite, metadata_put_atom_v, std::move(job->metadata))
    .then([done](uint64_t) { done(caf::none); }, [done](caf::error& err) { done(std::move(err)); });
}

// Appends each non-empty batch of `parts` (index = shard) to its shard;
// `done(error, result)` once all answered: the first error, or the sum.
template <class Done>
void append_to_shards(network_actor::stateful_pointer<network_state> self, std::vector<append_batch> parts,
                      Done done) {
  struct pending {
    size_t waiting = 0;
    append_result result;
    caf::error failure;
  };
  auto p = std::make_shared<pending>();
  for (auto& b : parts)
    p->waiting += b.num_samples() > 0;
  auto one = [p, done](caf::error* err, append_result* r) mutable {
    if (err && !p->failure)
      p->failure = std::move(*err);
    if (r) {
      p->result.accepted += r->accepted;
      p->result.rejected += r->rejected;
      for (auto& e : r->errors)
        if (p->result.errors.size() < append_error_examples)
          p->result.errors.push_back(std::move(e));
    }
    if (--p->waiting == 0)
      done(std::move(p->failure), std::move(p->result));
  };
  for (size_t s = 0; s < parts.size(); ++s) {
    if (parts[s].num_samples() == 0)
      continue;
    // No timeout of our own: a shard always answers, by its WAL's reply or
    // its WAL timeout (and CAF answers for a shard that died). A timed
    // request costs two wake-ups of CAF's clock thread, which was ~4% of
    // the CPU under remote-write load.
    self->request(self->state.shards[s], caf::infinite, append_atom_v, std::move(parts[s]))
      .then([one](append_result& r) mutable { one(nullptr, &r); },
            [one](caf::error& err) mutable { one(&err, nullptr); });
  }
}

// Cluster mode: each node's part to that node (its gateway stores it in
// its WAL); the answer waits for every node, then the quorum decides
// (actors/cluster/write_quorum.hpp). The request's metadata is stored on
// this node only, and a 204 waits for it.
void write_replicated(network_actor::stateful_pointer<network_state> self, const write_job_ptr& job) {
  auto& peers = self->state.peers;
  auto finish = [job] {
    if (--job->waiting > 0)
      return;
    auto answer = replicated_write_answer(std::move(job->replicas), job->cluster->write_quorum(),
                                          storage::count_nodes(job->cluster->healthy()));
    job->failure = std::move(answer.failure);
    job->result = std::move(answer.result);
    job->fe->finish_write(*job);
  };
  // Too few nodes healthy for the quorum: refuse before storing anything.
  if (!quorum_reachable(job->replicas.owner_sets, job->cluster->write_quorum())) {
    job->batches.clear();
    job->waiting = 1;
    return finish();
  }
  bool with_metadata = !job->metadata.entries.empty();
  for (auto& b : job->batches)
    job->waiting += b.num_samples() > 0;
  bool local = std::any_of(job->local.begin(), job->local.end(), [](auto& b) { return b.num_samples() > 0; });
  job->waiting += local;
  job->waiting += with_metadata;
  if (job->waiting == 0) {
    job->waiting = 1;
    return finish();
  }
  if (with_metadata)
    store_metadata(self, job, [job, finish](caf::error err) {
      if (err)
        job->replicas.metadata_failure = std::move(err);
      finish();
    });
  // This node's part: to its shards, as a single node's write goes; one
  // replica answer once they all answered.
  if (local)
    append_to_shards(self, std::move(job->local), [job, finish](caf::error err, append_result r) {
      auto self_node = job->cluster->self();
      if (err)
        job->replicas.failed(job->cluster->name(self_node), std::move(err));
      else
        job->replicas.stored(self_node, std::move(r));
      finish();
    });
  // The links give up on a request after request_timeout; a gateway that
  // gets it later drops it unstored (append_batch::deadline_unix_ms).
  auto deadline = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count()
                  + job->cluster->settings().request_timeout_ms;
  for (size_t node = 0; node < job->batches.size(); ++node) {
    if (job->batches[node].num_samples() == 0)
      continue;
    job->batches[node].deadline_unix_ms = deadline;
    // No timeout of our own: the gateway always answers, a link answers by
    // its peer, its DOWN or its deadline.
    self->request(peers[node], caf::infinite, append_atom_v, std::move(job->batches[node]))
      .then(
        [job, node, finish](append_result& r) {
          job->replicas.stored(node, std::move(r));
          finish();
        },
        [job, node, finish](caf::error& err) {
          job->replicas.failed(job->cluster->name(node), std::move(err));
          finish();
        });
  }
  job->batches.clear();
}

}  // namespace

network_actor::behavior_type network(network_actor::stateful_pointer<network_state> self,
                                     std::vector<head_block_actor> shards, index_actor idx,
                                     query_planner_actor planner, std::chrono::milliseconds timeout,
                                     compactor_actor compact, metadata_actor meta, metadata_reader_actor meta_reads,
                                     std::vector<peer_actor> peers) {
  self->state.shards = std::move(shards);
  self->state.idx = std::move(idx);
  self->state.planner = std::move(planner);
  self->state.timeout = timeout;
  self->state.compact = std::move(compact);
  self->state.meta = std::move(meta);
  self->state.meta_reads = std::move(meta_reads);
  self->state.peers = std::move(peers);
  return {
    [=](admin_job_ptr& job) { run_admin(self, job); },
    // A thread of its own: decoding, encoding and compressing a large
    // answer must not hold up the scheduler threads that ingest (at most
    // server.remote_read_concurrent_limit readers run at once).
    [=](read_job_ptr& job) { self->spawn<caf::detached>(remote_reader, std::move(job), self->state.idx); },
    [=](write_job_ptr& job) {
      if (job->cluster)
        return write_replicated(self, job);
      bool any = std::any_of(job->batches.begin(), job->batches.end(), [](auto& b) { return b.num_samples() > 0; });
      job->waiting += any;
      if (!job->metadata.entries.empty()) {
        job->waiting += 1;
        auto done = [job](caf::error err) {
          if (err && !job->failure)
            job->failure = std::move(err);
          if (--job->waiting == 0)
            job->fe->finish_write(*job);
        };
        store_metadata(self, job, done);
      }
      if (any)
        append_to_shards(self, std::move(job->batches), [job](caf::error err, append_result r) {
          if (err && !job->failure)
            job->failure = std::move(err);
          job->result = std::move(r);
          if (--job->waiting == 0)
            job->fe->finish_write(*job);
        });
      job->batches.clear();
    },
    [=](query_call_ptr& call) {
      // The planner enforces the query deadline and always answers; the
      // request itself therefore needs no timeout of its own.
      self->request(self->state.planner, caf::infinite, query_atom_v, call->request)
        .then([call](query_answer& a) { call->answer(std::move(a)); },
              [call](caf::error& err) { call->answer(std::move(err)); });
    },
    [=](query_cancel c) { self->send(self->state.planner, c); },
    [=](series_call_ptr& call) {
      self->request(self->state.idx, self->state.timeout, series_atom_v, call->query)
        .then([call](series_list& xs) { call->answer(std::move(xs)); },
              [call](caf::error& err) { call->answer(std::move(err)); });
    },
    [=](labels_call_ptr& call) {
      auto on_strings = [call](string_list& xs) { call->answer(std::move(xs)); };
      auto fail = [call](caf::error& err) { call->answer(std::move(err)); };
      if (call->values)
        self->request(self->state.idx, self->state.timeout, label_values_atom_v, call->query).then(on_strings, fail);
      else
        self->request(self->state.idx, self->state.timeout, label_names_atom_v, call->query).then(on_strings, fail);
    },
    [=](tsdb_status_call_ptr& call) {
      self->request(self->state.idx, self->state.timeout, tsdb_status_atom_v, call->limit)
        .then([call](storage::tsdb_status& s) { call->answer(std::move(s)); },
              [call](caf::error& err) { call->answer(std::move(err)); });
    },
    [=](metadata_call_ptr& call) {
      auto& st = self->state;
      if (!st.meta_reads)
        return call->answer(caf::make_error(error_code::unavailable, "the metadata store is not running"));
      self->request(st.meta_reads, st.timeout, metadata_atom_v, call->params)
        .then([call](metadata_list& xs) { call->answer(std::move(xs)); },
              [call](caf::error& err) { call->answer(std::move(err)); });
    },
    [=](federate_call_ptr& call) {
      // A worker per request formats the answer, so a large one never
      // holds up this actor, which also carries the writes.
      auto worker = self->spawn(federation, self->state.idx);
      self->request(worker, self->state.timeout, federate_atom_v, call->query)
        .then([call](std::string& body) { call->answer(std::move(body)); },
              [call](caf::error& err) { call->answer(std::move(err)); });
    },
  };
}

}  // namespace nl::actors

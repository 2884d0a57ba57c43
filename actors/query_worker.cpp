#include "actors/query_worker.hpp"

#include "promql/parallel.hpp"
#include "protocol/query_json.hpp"

namespace nl::actors {

namespace {

// Serves the engine's select() calls from the data the planner fetched for
// the same analysis: window i's series are job.data[i], handed over (the
// engine asks for each window once).
class fetched_queryable : public promql::queryable {
 public:
  explicit fetched_queryable(std::vector<select_result>& data) : data_(data) {}

  std::vector<promql::series> select(size_t index, const promql::selector_window&) override {
    return convert(std::move(data_[index].series));
  }

 private:
  // The chunks are handed on, not decoded: the engine decodes one series
  // at a time when it gets to it, within the window it asked for.
  static std::vector<promql::series> convert(std::vector<series_data> in) {
    std::vector<promql::series> out;
    out.reserve(in.size());
    for (auto& s : in) {
      promql::series ps;
      ps.labels = std::move(s.labels);
      ps.chunks.reserve(s.chunks.size());
      for (auto& c : s.chunks)
        ps.chunks.push_back(std::move(c.chunk));
      out.push_back(std::move(ps));
    }
    return out;
  }

  std::vector<select_result>& data_;
};

}  // namespace

query_reply query_error_reply(protocol::api_error kind, const std::string& message) {
  return {static_cast<uint16_t>(protocol::http_status(kind)), protocol::error_body(kind, message)};
}

query_reply run_query_job(query_job& job) {
  fetched_queryable data{job.data};
  promql::engine eng{job.engine_opts};
  const auto& req = job.request;
  auto res = req.step > 0 ? eng.range(*job.expr, job.windows, data, req.start, req.end, req.step)
                          : eng.instant(*job.expr, job.windows, data, req.start);
  if (!res) {
    const auto& err = res.error();
    return query_error_reply(protocol::api_error_from_query_error(err.type), err.message);
  }
  return {200, protocol::render_query_result(res.value())};
}

query_worker_actor::behavior_type query_worker(query_worker_actor::pointer, std::shared_ptr<query_job> job) {
  return {
    [job](query_run_atom) -> query_reply {
      if (job->own_thread)
        promql::lower_query_thread_priority();  // the thread ends with the worker
      return run_query_job(*job);
    },
  };
}

}  // namespace nl::actors

#include "actors/query_worker.hpp"

#include <stdexcept>

#include "protocol/query_json.hpp"

namespace nl::actors {

namespace {

// Serves the engine's select() calls from the prefetched windows. The engine
// asks for exactly the windows the planner computed with the same analysis,
// so a lookup by matchers and bounds always hits.
class fetched_queryable : public promql::queryable {
 public:
  explicit fetched_queryable(std::vector<fetched_window>& windows) : windows_(windows) {}

  std::vector<promql::series> select(const storage::matcher_list& ms, int64_t mint,
                                     int64_t maxt) override {
    for (auto& w : windows_)
      if (w.mint <= mint && w.maxt >= maxt && w.matchers == ms)
        return shared(w);
    throw std::logic_error("query planner did not fetch a selector the engine reads");
  }

 private:
  // The chunks are handed on, not decoded: the engine decodes one series
  // at a time when it gets to it, within the window it asked for.
  static std::vector<promql::series> shared(const fetched_window& w) {
    std::vector<promql::series> out;
    out.reserve(w.series.size());
    for (const auto& s : w.series) {
      promql::series ps;
      ps.labels = s.labels;
      ps.chunks.reserve(s.chunks.size());
      for (const auto& c : s.chunks)
        ps.chunks.push_back(c.chunk);
      out.push_back(std::move(ps));
    }
    return out;
  }

  std::vector<fetched_window>& windows_;
};

}  // namespace

query_reply query_error_reply(protocol::api_error kind, const std::string& message) {
  return {static_cast<uint16_t>(protocol::http_status(kind)), protocol::error_body(kind, message)};
}

query_reply run_query_job(query_job& job) {
  fetched_queryable data{job.data};
  promql::engine eng{job.engine_opts};
  const auto& req = job.request;
  auto res = req.step > 0 ? eng.range(*job.expr, data, req.start, req.end, req.step)
                          : eng.instant(*job.expr, data, req.start);
  if (!res) {
    const auto& err = res.error();
    return query_error_reply(protocol::api_error_from_query_error(err.type), err.message);
  }
  return {200, protocol::render_query_result(res.value())};
}

query_worker_actor::behavior_type query_worker(query_worker_actor::pointer, std::shared_ptr<query_job> job) {
  return {
    [job](query_run_atom) -> query_reply { return run_query_job(*job); },
  };
}

}  // namespace nl::actors

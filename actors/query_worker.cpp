#include "actors/query_worker.hpp"

#include <stdexcept>

#include "protocol/query_json.hpp"
#include "storage/xor_chunk.hpp"

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
        return decode(w, mint, maxt);
    throw std::logic_error("query planner did not fetch a selector the engine reads");
  }

 private:
  static std::vector<promql::series> decode(const fetched_window& w, int64_t mint, int64_t maxt) {
    std::vector<promql::series> out;
    out.reserve(w.series.size());
    for (const auto& s : w.series) {
      promql::series ps;
      ps.labels = s.labels;
      for (const auto& c : s.chunks) {
        if (c.maxt < mint || c.mint > maxt)
          continue;
        storage::xor_iterator it{c.bytes};
        while (it.next()) {
          auto smp = it.at();
          if (smp.t < mint)
            continue;
          if (smp.t > maxt)
            break;
          // Chunks of one series never overlap in the head; guard anyway so
          // the engine's "sorted, unique t" contract holds.
          if (!ps.samples.empty() && smp.t <= ps.samples.back().t)
            continue;
          ps.samples.push_back(smp);
        }
        if (!it.error().is_ok())
          throw std::runtime_error("corrupt chunk of series " + s.labels.to_string() + ": " +
                                   it.error().message());
      }
      if (!ps.samples.empty())
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

#include "actors/query_worker.hpp"

#include <stdexcept>

#include "protocol/query_json.hpp"

namespace nl::actors {

namespace {

// Serves the engine's select() calls from the prefetched windows. The engine
// asks for exactly the windows the planner computed, with the same analysis
// and in the same order, so each request finds its own window and takes
// its series over; a covering window is copied should one be asked again.
class fetched_queryable : public promql::queryable {
 public:
  explicit fetched_queryable(std::vector<fetched_window>& windows) : windows_(windows) {}

  std::vector<promql::series> select(const storage::matcher_list& ms, int64_t mint,
                                     int64_t maxt) override {
    for (auto& w : windows_)
      if (!w.taken && w.mint == mint && w.maxt == maxt && w.matchers == ms) {
        w.taken = true;
        return convert(w.series, [](auto& x) -> auto&& { return std::move(x); });
      }
    for (auto& w : windows_)
      if (!w.taken && w.mint <= mint && w.maxt >= maxt && w.matchers == ms)
        return convert(w.series, [](const auto& x) -> const auto& { return x; });
    throw std::logic_error("query planner did not fetch a selector the engine reads");
  }

 private:
  // The chunks are handed on, not decoded: the engine decodes one series
  // at a time when it gets to it, within the window it asked for. `pass`
  // moves or copies.
  template <class Pass>
  static std::vector<promql::series> convert(std::vector<series_data>& in, Pass pass) {
    std::vector<promql::series> out;
    out.reserve(in.size());
    for (auto& s : in) {
      promql::series ps;
      ps.labels = pass(s.labels);
      ps.chunks.reserve(s.chunks.size());
      for (auto& c : s.chunks)
        ps.chunks.push_back(pass(c.chunk));
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

#include "actors/query_worker.hpp"

#include "promql/parallel.hpp"

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

caf::error query_error_of(const promql::query_error& e) {
  using promql::query_error;
  auto code = e.type == query_error::bad_data           ? error_code::bad_input
              : e.type == query_error::too_many_samples ? error_code::too_many_samples
              : e.type == query_error::timeout          ? error_code::timeout
              : e.type == query_error::canceled         ? error_code::canceled
              : e.type == query_error::internal         ? error_code::internal
                                                        : error_code::execution;
  return caf::make_error(code, e.message);
}

caf::expected<query_answer> run_query_job(query_job& job) {
  fetched_queryable data{job.data};
  promql::engine eng{job.engine_opts};
  const auto& req = job.request;
  auto res = req.step > 0 ? eng.range(*job.expr, job.windows, data, req.start, req.end, req.step)
                          : eng.instant(*job.expr, job.windows, data, req.start);
  if (!res)
    return query_error_of(res.error());
  query_answer answer{std::move(res.value()), std::move(job.warnings), std::nullopt};
  if (req.stats > 0) {
    promql::query_stats st;
    st.samples = res.samples();
    st.per_step = req.stats >= 2;
    st.start = req.start;
    st.interval = req.step > 0 ? req.step : 1;
    st.inner_eval = res.timings().inner_eval;
    st.result_sort = res.timings().result_sort;
    answer.stats = std::move(st);  // the planner adds its times
  }
  return answer;
}

query_worker_actor::behavior_type query_worker(query_worker_actor::pointer, std::shared_ptr<query_job> job) {
  return {
    [job](query_run_atom) -> caf::result<query_answer> {
      if (job->own_thread)
        promql::lower_query_thread_priority();  // the thread ends with the worker
      auto answer = run_query_job(*job);
      if (!answer)
        return std::move(answer.error());
      return std::move(*answer);
    },
  };
}

}  // namespace nl::actors

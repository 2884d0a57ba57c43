#define CAF_SUITE protocol.query_json
#include "test_support.hpp"

#include "protocol/query_json.hpp"

using namespace nl;
using namespace nl::protocol;

namespace {

promql::query_stats some_stats(bool per_step) {
  promql::query_stats st;
  st.samples.total = 12;
  st.samples.peak = 7;
  st.samples.per_step = {4, 0, 8};
  st.per_step = per_step;
  st.start = 1700000000000;
  st.interval = 15500;
  st.eval_total = 0.000119548;
  st.result_sort = 0;
  st.query_preparation = 0.000106729;
  st.inner_eval = 0.000008854;
  st.exec_queue = 1.5e-7;
  st.exec_total = 0.000132228;
  return st;
}

}  // namespace

CAF_TEST(stats go into data after the result as in prometheus) {
  promql::vector v{{storage::label_set::from_unsorted({{"__name__", "up"}}), 1700000000000, 1}};
  auto st = some_stats(true);
  CAF_CHECK_EQUAL(render_query_result(v, {"w"}, &st),
                  R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up"},)"
                  R"("value":[1700000000,"1"]}],"stats":{"timings":{"evalTotalTime":0.000119548,)"
                  R"("resultSortTime":0,"queryPreparationTime":0.000106729,"innerEvalTime":0.000008854,)"
                  R"("execQueueTime":1.5e-7,"execTotalTime":0.000132228},"samples":{)"
                  R"("totalQueryableSamplesPerStep":[[1700000000,4],[1700000015.5,0],[1700000031,8]],)"
                  R"("totalQueryableSamples":12,"peakSamples":7}}},"warnings":["w"]})");
}

CAF_TEST(without stats all there is no per step list and without stats no stats) {
  auto st = some_stats(false);
  auto with = render_query_result(promql::scalar{1000, 2}, {}, &st);
  CAF_CHECK(with.find(R"("samples":{"totalQueryableSamples":12,"peakSamples":7}}})") != std::string::npos);
  CAF_CHECK(with.find("PerStep") == std::string::npos);
  CAF_CHECK_EQUAL(render_query_result(promql::scalar{1000, 2}),
                  R"({"status":"success","data":{"resultType":"scalar","result":[1,"2"]}})");
  promql::matrix empty;
  auto m = render_query_result(empty, {}, &st);
  CAF_CHECK(m.find(R"({"resultType":"matrix","result":[],"stats":{"timings":{)") != std::string::npos);
}

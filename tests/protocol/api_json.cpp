#define CAF_SUITE protocol.api_json
#include "test_support.hpp"

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/api_json.hpp"

using namespace nl::protocol;
using nl::storage::label_set;
using nl::storage::sample;

namespace {

std::string value_of(double v) {
  std::string out;
  append_sample_value(out, v);
  return out;
}

std::string ts_of(int64_t t) {
  std::string out;
  append_timestamp(out, t);
  return out;
}

std::string json_of(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

constexpr double inf = std::numeric_limits<double>::infinity();

}  // namespace

CAF_TEST(sample values in go shortest format) {
  struct row {
    double v;
    const char* want;
  };
  std::vector<row> rows{
    {1e-7, "\"1e-07\""},
    {1e21, "\"1e+21\""},
    {0.1 + 0.2, "\"0.30000000000000004\""},
    {123456789012345678.0, "\"123456789012345680\""},
    {-0.0, "\"-0\""},
    {0.0, "\"0\""},
    {1e-6, "\"0.000001\""},
    {9.99e-7, "\"9.99e-07\""},
    {1e20, "\"100000000000000000000\""},
    {-1.5e300, "\"-1.5e+300\""},
    {5e-324, "\"5e-324\""},
    {2, "\"2\""},
    {1.5, "\"1.5\""},
    {-273.15, "\"-273.15\""},
    {std::nan(""), "\"NaN\""},
    {inf, "\"+Inf\""},
    {-inf, "\"-Inf\""},
  };
  for (const auto& r : rows)
    CAF_CHECK_EQUAL(value_of(r.v), r.want);
  std::string scalar;
  append_scalar_value(scalar, 1e-7);
  append_scalar_value(scalar, 1e21);
  append_scalar_value(scalar, inf);
  CAF_CHECK_EQUAL(scalar, "\"0.0000001\"\"1000000000000000000000\"\"+Inf\"");
}

CAF_TEST(timestamps never use exponents) {
  CAF_CHECK_EQUAL(ts_of(1435781451781), "1435781451.781");
  CAF_CHECK_EQUAL(ts_of(250), "0.250");
  CAF_CHECK_EQUAL(ts_of(1795690127280), "1795690127.280");
  CAF_CHECK_EQUAL(ts_of(-1500), "-1.500");
  CAF_CHECK_EQUAL(ts_of(-500), "-0.500");
  CAF_CHECK_EQUAL(ts_of(4000), "4");
  CAF_CHECK_EQUAL(ts_of(4123), "4.123");
  CAF_CHECK_EQUAL(ts_of(1005), "1.005");
  CAF_CHECK_EQUAL(ts_of(0), "0");
  CAF_CHECK_EQUAL(ts_of(std::numeric_limits<int64_t>::min()), "-9223372036854775.808");
  std::string s;
  append_timestamp_shortest(s, 4000);
  s += ' ';
  append_timestamp_shortest(s, 1795690091250);
  s += ' ';
  append_timestamp_shortest(s, 1435781451781);
  s += ' ';
  append_timestamp_shortest(s, -1500);
  CAF_CHECK_EQUAL(s, "4 1795690091.25 1435781451.781 -1.5");
}

CAF_TEST(strings are escaped like go encoding json) {
  CAF_CHECK_EQUAL(json_of("plain"), "\"plain\"");
  CAF_CHECK_EQUAL(json_of("a\"b\\c"), "\"a\\\"b\\\\c\"");
  CAF_CHECK_EQUAL(json_of("\n\r\t"), "\"\\n\\r\\t\"");
  CAF_CHECK_EQUAL(json_of(std::string("\x01\b\f\x1f\x7f", 5)), "\"\\u0001\\u0008\\u000c\\u001f\x7f\"");
  CAF_CHECK_EQUAL(json_of("<a href=\"x\">&</a>"),
                  "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\u003c/a\\u003e\"");
  CAF_CHECK_EQUAL(json_of("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
                  "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  CAF_CHECK_EQUAL(json_of("\xe2\x80\xa8\xe2\x80\xa9"), "\"\\u2028\\u2029\"");
  CAF_CHECK_EQUAL(json_of("a\xff" "b\xc3"), "\"a\\ufffdb\\ufffd\"");
  CAF_CHECK_EQUAL(json_of("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
}

CAF_TEST(random bytes always give parseable json) {
  std::mt19937 rng(13);
  for (int i = 0; i < 3000; ++i) {
    std::string s(rng() % 24, ' ');
    for (auto& c : s)
      c = static_cast<char>(rng() % 3 == 0 ? rng() % 256 : 'a' + rng() % 26);
    auto j = nlohmann::json::parse(json_of(s), nullptr, false);
    CAF_CHECK(j.is_string());
  }
  // Valid UTF-8 round-trips exactly.
  std::string v = "x<&>\"\\\n\x01\xc3\xa9\xe2\x80\xa8";
  CAF_CHECK_EQUAL(nlohmann::json::parse(json_of(v)).get<std::string>(), v);
}

CAF_TEST(envelopes match the observed prometheus answers) {
  std::string out;
  begin_success(out);
  append_scalar_result(out, 4000, 2);
  end_success(out);
  CAF_CHECK_EQUAL(out, R"({"status":"success","data":{"resultType":"scalar","result":[4,"2"]}})");
  label_set empty;
  out.clear();
  begin_success(out);
  append_vector_result(out, {{&empty, sample{4000, std::nan("")}}});
  end_success(out);
  CAF_CHECK_EQUAL(out, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[4,"NaN"]}]}})");
  out.clear();
  append_vector_result(out, {{&empty, sample{4123, inf}}});
  CAF_CHECK_EQUAL(out, R"({"resultType":"vector","result":[{"metric":{},"value":[4.123,"+Inf"]}]})");
  out.clear();
  append_string_result(out, 1435781451781, "hello");
  CAF_CHECK_EQUAL(out, R"({"resultType":"string","result":[1435781451.781,"hello"]})");
  CAF_CHECK_EQUAL(error_body(api_error::timeout, "query timed out in query queue"),
                  R"({"status":"error","errorType":"timeout","error":"query timed out in query queue"})");
  CAF_CHECK_EQUAL(error_body(api_error::bad_data, "invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"),
                  R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"})");
  out.clear();
  begin_success(out);
  append_string_list(out, {});
  end_success(out, {"results truncated due to limit"});
  CAF_CHECK_EQUAL(out, R"({"status":"success","data":[],"warnings":["results truncated due to limit"]})");
}

CAF_TEST(matrix series and lists) {
  auto a = label_set::from_unsorted({{"__name__", "up"}, {"job", "a"}});
  auto b = label_set::from_unsorted({{"job", "b"}});
  std::vector<sample> pa{{0, 1}, {250, 2.5}, {500, 1e-7}};
  std::string out;
  append_matrix_result(out, {{&a, pa.data(), pa.size()}, {&b, nullptr, 0}});
  CAF_CHECK_EQUAL(out, R"({"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a"},"values":[[0,"1"],[0.250,"2.5"],[0.500,"1e-07"]]}]})");
  out.clear();
  append_matrix_result(out, {});
  CAF_CHECK_EQUAL(out, R"({"resultType":"matrix","result":[]})");
  out.clear();
  append_series_list(out, {a, b});
  CAF_CHECK_EQUAL(out, R"([{"__name__":"up","job":"a"},{"job":"b"}])");
  out.clear();
  append_string_list(out, {"__name__", "instance", "job"});
  CAF_CHECK_EQUAL(out, R"(["__name__","instance","job"])");
  out.clear();
  std::vector<metadata_entry> md;
  md.push_back({"a_total", metric_type::counter, "A <b>.", "seconds"});
  md.push_back({"go_threads", metric_type::gauge, "Number of OS threads created.", ""});
  md.push_back({"go_threads", metric_type::unknown, "Two\nlines \"quoted\".", ""});
  append_metadata(out, md);
  CAF_CHECK_EQUAL(out, R"({"a_total":[{"type":"counter","help":"A \u003cb\u003e.","unit":"seconds"}],)"
                       R"("go_threads":[{"type":"gauge","help":"Number of OS threads created.","unit":""},)"
                       R"({"type":"unknown","help":"Two\nlines \"quoted\".","unit":""}]})");
  out.clear();
  append_metadata(out, {});
  CAF_CHECK_EQUAL(out, "{}");
}

CAF_TEST(tsdb and walreplay status have prometheus field names and order) {
  nl::storage::tsdb_status st;
  std::string out;
  append_tsdb_status(out, st);
  // An empty head, as Prometheus 2.42 answers it (observed shape; times
  // are its empty head's MaxInt64 / MinInt64).
  CAF_CHECK_EQUAL(out, R"({"headStats":{"numSeries":0,"numLabelPairs":0,"chunkCount":0,)"
                       R"("minTime":9223372036854775807,"maxTime":-9223372036854775808},)"
                       R"("seriesCountByMetricName":[],"labelValueCountByLabelName":[],)"
                       R"("memoryInBytesByLabelName":[],"seriesCountByLabelValuePair":[]})");
  st.num_series = 3;
  st.num_label_pairs = 5;
  st.chunk_count = 4;
  st.min_time = 1000;
  st.max_time = 2000;
  st.series_count_by_metric_name = {{"up", 2}, {"a<b", 1}};
  st.series_count_by_label_value_pair = {{"job=\"x\"", 3}};
  out.clear();
  append_tsdb_status(out, st);
  CAF_CHECK_EQUAL(out, R"({"headStats":{"numSeries":3,"numLabelPairs":5,"chunkCount":4,"minTime":1000,"maxTime":2000},)"
                       R"("seriesCountByMetricName":[{"name":"up","value":2},{"name":"a\u003cb","value":1}],)"
                       R"("labelValueCountByLabelName":[],"memoryInBytesByLabelName":[],)"
                       R"("seriesCountByLabelValuePair":[{"name":"job=\"x\"","value":3}]})");
  CAF_CHECK(nlohmann::json::accept(out));
  out.clear();
  append_wal_replay_status(out, 3, 7, 5);
  CAF_CHECK_EQUAL(out, R"({"min":3,"max":7,"current":5})");
}

CAF_TEST(error types map to prometheus status codes) {
  struct row {
    api_error e;
    const char* name;
    int status;
  };
  std::vector<row> rows{{api_error::bad_data, "bad_data", 400},
                        {api_error::execution, "execution", 422},
                        {api_error::timeout, "timeout", 503},
                        {api_error::canceled, "canceled", 503},
                        {api_error::internal, "internal", 500},
                        {api_error::unavailable, "unavailable", 500},
                        {api_error::not_found, "not_found", 404}};
  for (const auto& r : rows) {
    CAF_CHECK_EQUAL(to_string(r.e), r.name);
    CAF_CHECK_EQUAL(http_status(r.e), r.status);
  }
}

CAF_TEST(flags maps are sorted and escaped like encoding json) {
  std::string out;
  append_string_map(out, {{"tls.key_file", "<secret>"}, {"a", "x\"y"}, {"B", ""}});
  CAF_CHECK_EQUAL(out, R"({"B":"","a":"x\"y","tls.key_file":"\u003csecret\u003e"})");
  out.clear();
  append_string_map(out, {});
  CAF_CHECK_EQUAL(out, "{}");
}

CAF_TEST(times are written as go time values marshal) {
  auto at = [](int64_t ns) {
    std::string s;
    append_rfc3339_nano(s, ns);
    return s;
  };
  CAF_CHECK_EQUAL(at(0), "1970-01-01T00:00:00Z");
  CAF_CHECK_EQUAL(at(1796445502755794760), "2026-12-05T04:38:22.75579476Z");  // trailing zero trimmed
  CAF_CHECK_EQUAL(at(1796445502180000000), "2026-12-05T04:38:22.18Z");
  CAF_CHECK_EQUAL(at(1796445502000000001), "2026-12-05T04:38:22.000000001Z");
  CAF_CHECK_EQUAL(at(-1), "1969-12-31T23:59:59.999999999Z");
}

CAF_TEST(runtimeinfo has prometheus field names and order) {
  runtime_info r;
  r.start_time_ns = 1796445502755794760;
  r.cwd = "/var/lib/nightlight";
  r.last_config_time_s = 1796445502;
  r.goroutine_count = 24;
  r.gomaxprocs = 2;
  r.storage_retention = "15d";
  std::string out;
  append_runtime_info(out, r);
  // Prometheus 2.42's answer on this machine, values aside.
  CAF_CHECK_EQUAL(out, R"({"startTime":"2026-12-05T04:38:22.75579476Z","CWD":"/var/lib/nightlight",)"
                       R"("reloadConfigSuccess":true,"lastConfigTime":"2026-12-05T04:38:22Z","corruptionCount":0,)"
                       R"("goroutineCount":24,"GOMAXPROCS":2,"GOGC":"","GODEBUG":"","storageRetention":"15d"})");
}

CAF_TEST(retention sizes are written as base2 units) {
  CAF_CHECK_EQUAL(format_base2_bytes(0), "0B");
  CAF_CHECK_EQUAL(format_base2_bytes(512), "512B");
  CAF_CHECK_EQUAL(format_base2_bytes(1024), "1KiB");
  CAF_CHECK_EQUAL(format_base2_bytes(50ull << 30), "50GiB");
  CAF_CHECK_EQUAL(format_base2_bytes(1536ull << 20), "1GiB512MiB");
  CAF_CHECK_EQUAL(format_base2_bytes((1ull << 30) + 1), "1GiB1B");
  CAF_CHECK_EQUAL(format_base2_bytes(~0ull), "15EiB1023PiB1023TiB1023GiB1023MiB1023KiB1023B");
}

CAF_TEST(json numbers are spelled as go encoding json spells float64) {
  auto num = [](double v) {
    std::string s;
    append_json_number(s, v);
    return s;
  };
  // Prometheus 2.42's stats timings, observed: "0.000020581", "0".
  CAF_CHECK_EQUAL(num(0.000020581), "0.000020581");
  CAF_CHECK_EQUAL(num(0.000008854), "0.000008854");
  CAF_CHECK_EQUAL(num(0), "0");
  CAF_CHECK_EQUAL(num(1.5), "1.5");
  CAF_CHECK_EQUAL(num(1796450666), "1796450666");
  CAF_CHECK_EQUAL(num(1.5e-7), "1.5e-7");  // e-07 cleaned up
  CAF_CHECK_EQUAL(num(1e-10), "1e-10");
  CAF_CHECK_EQUAL(num(1e21), "1e+21");
  CAF_CHECK_EQUAL(num(-2.5e-8), "-2.5e-8");
  CAF_CHECK_EQUAL(num(std::nan("")), "0");
}

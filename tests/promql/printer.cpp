#define CAF_SUITE promql.printer
#include "test_support.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "promql/parser.hpp"
#include "promql/printer.hpp"
#include "shared_queries.hpp"

using namespace nl::promql;

namespace {

struct format_case {
  const char* query;
  const char* formatted;
};

// Queries and what a real Prometheus 2.42 returns for them from
// GET /api/v1/format_query (all shorter than its 100-character line limit,
// so no pretty-printing line breaks).
const format_case format_cases[] = {
    {"x @ start() [5m]", "x[5m] @ start()"},
    {"x @ end() [5m] offset 1m", "x[5m] @ end() offset 1m"},
    {"sum", "sum"},
    {"by", "by"},
    {"and", "and"},
    {"offset", "offset"},
    {"start", "start"},
    {"end", "end"},
    {"x and and", "x and and"},
    {"sum{a=\"b\"}", "sum{a=\"b\"}"},
    {"sum + 1", "sum + 1"},
    {"Sum(x)", "sum(x)"},
    {"SUM BY (a) (x)", "sum by (a) (x)"},
    {"x AND y", "x and y"},
    {"x Offset 5m", "x offset 5m"},
    {"inf", "+Inf"},
    {"-inf", "-Inf"},
    {"+Inf", "+Inf"},
    {"NaN", "NaN"},
    {"nan", "NaN"},
    {"-1", "-1"},
    {"- 1", "-1"},
    {"--1", "1"},
    {"-+1", "-1"},
    {"-(1)", "-(1)"},
    {"-x", "-x"},
    {"+x", "+x"},
    {"-2^2", "-2 ^ 2"},
    {"2^-1", "2 ^ -1"},
    {"2^3^2", "2 ^ 3 ^ 2"},
    {"-1^2", "-1 ^ 2"},
    {"(-1)^2", "(-1) ^ 2"},
    {"1 - -1", "1 - -1"},
    {"x - -x", "x - -x"},
    {"1 + 2 * 3", "1 + 2 * 3"},
    {"(1 + 2) * 3", "(1 + 2) * 3"},
    {"1 == bool 2", "1 == bool 2"},
    {"1 < bool 2 > bool 3", "1 < bool 2 > bool 3"},
    {"x or y and z", "x or y and z"},
    {"x unless y or z", "x unless y or z"},
    {"x and y unless z", "x and y unless z"},
    {"a atan2 b", "a atan2 b"},
    {"2 atan2 3", "2 atan2 3"},
    {"1000000", "1e+06"},
    {"123456789", "1.23456789e+08"},
    {"100000", "100000"},
    {"0.0001", "0.0001"},
    {"0.00001", "1e-05"},
    {"1e100", "1e+100"},
    {"1e-7", "1e-07"},
    {"0x10", "16"},
    {"0X1f", "31"},
    {"010", "8"},
    {"08", "8"},
    {"0755.5", "755.5"},
    {"1.", "1"},
    {".5", "0.5"},
    {"1e+3", "1000"},
    {"1E3", "1000"},
    {"9223372036854775807", "9.223372036854776e+18"},
    {"9223372036854775808", "9.223372036854776e+18"},
    {"-0", "-0"},
    {"\"a\\tb\"", "\"a\\tb\""},
    {"'a\"b'", "\"a\\\"b\""},
    {"`a\\nb`", "\"a\\\\nb\""},
    {"\"\\u00e9\"", "\"\303\251\""},
    {"\"\\xff\"", "\"\\xff\""},
    {"\"\\377\"", "\"\\xff\""},
    {"\"\\a\\b\\f\\v\"", "\"\\a\\b\\f\\v\""},
    {"'\\''", "\"'\""},
    {"x{a=\"\\\\\"}", "x{a=\"\\\\\"}"},
    {"x{a='b'}", "x{a=\"b\"}"},
    {"x{a=`b`}", "x{a=\"b\"}"},
    {"x{a=\"b\",}", "x{a=\"b\"}"},
    {"x{a=\"b\" , c!=\"d\"}", "x{a=\"b\",c!=\"d\"}"},
    {"x{a=~\"a|b\"}", "x{a=~\"a|b\"}"},
    {"x{a!~\"a.*\"}", "x{a!~\"a.*\"}"},
    {"{__name__=\"x\"}", "{__name__=\"x\"}"},
    {"{__name__=~\"x|y\"}", "{__name__=~\"x|y\"}"},
    {"{__name__=\"x\", a=\"b\"}", "{__name__=\"x\",a=\"b\"}"},
    {"x{z=\"1\", a=\"2\", m=\"3\"}", "x{a=\"2\",m=\"3\",z=\"1\"}"},
    {"x{a=\"1\", a=\"2\"}", "x{a=\"1\",a=\"2\"}"},
    {"x[5m]", "x[5m]"},
    {"x[1h30m]", "x[1h30m]"},
    {"x[90s]", "x[1m30s]"},
    {"x[1d]", "x[1d]"},
    {"x[7d]", "x[1w]"},
    {"x[14d]", "x[2w]"},
    {"x[365d]", "x[1y]"},
    {"x[1y]", "x[1y]"},
    {"x[100ms]", "x[100ms]"},
    {"x[1500ms]", "x[1s500ms]"},
    {"x[1m] offset 1m", "x[1m] offset 1m"},
    {"x offset 1h30m", "x offset 1h30m"},
    {"x offset -5m", "x offset -5m"},
    {"x offset - 5m", "x offset -5m"},
    {"x @ 100", "x @ 100.000"},
    {"x @ 100.5", "x @ 100.500"},
    {"x @ 1.0005", "x @ 1.001"},
    {"x @ -100", "x @ -100.000"},
    {"x @ +100", "x @ 100.000"},
    {"x @ 1e3", "x @ 1000.000"},
    {"x @ 0x10", "x @ 16.000"},
    {"x @ start()", "x @ start()"},
    {"x @ end()", "x @ end()"},
    {"x @ start ( )", "x @ start()"},
    {"x[5m] @ 100", "x[5m] @ 100.000"},
    {"x[5m] @ 100 offset 5m", "x[5m] @ 100.000 offset 5m"},
    {"x[5m] offset 5m @ 100", "x[5m] @ 100.000 offset 5m"},
    {"x[5m:]", "x[5m:]"},
    {"x[5m:1m]", "x[5m:1m]"},
    {"x[5m:1m] offset 1m", "x[5m:1m] offset 1m"},
    {"x[5m:1m] @ 100", "x[5m:1m] @ 100.000"},
    {"x[5m:] @ end() offset -1m", "x[5m:] @ end() offset -1m"},
    {"rate(x[5m])[10m:]", "rate(x[5m])[10m:]"},
    {"rate(x[5m])[10m:1m]", "rate(x[5m])[10m:1m]"},
    {"(x + y)[5m:]", "(x + y)[5m:]"},
    {"max_over_time(deriv(rate(x[1m])[5m:1m])[10m:])", "max_over_time(deriv(rate(x[1m])[5m:1m])[10m:])"},
    {"sum(x) by (a)", "sum by (a) (x)"},
    {"sum by (a) (x)", "sum by (a) (x)"},
    {"sum without (a) (x)", "sum without (a) (x)"},
    {"sum(x) without (a,b)", "sum without (a, b) (x)"},
    {"sum by (a, b,) (x)", "sum by (a, b) (x)"},
    {"topk(3, x)", "topk(3, x)"},
    {"topk by (a) (3, x)", "topk by (a) (3, x)"},
    {"bottomk(3, x) by (a)", "bottomk by (a) (3, x)"},
    {"quantile(0.9, x)", "quantile(0.9, x)"},
    {"count_values(\"v\", x)", "count_values(\"v\", x)"},
    {"count_values by (a) (\"v\", x)", "count_values by (a) (\"v\", x)"},
    {"count(x)", "count(x)"},
    {"group(x)", "group(x)"},
    {"stddev(x)", "stddev(x)"},
    {"stdvar(x)", "stdvar(x)"},
    {"avg(x)", "avg(x)"},
    {"min(x)", "min(x)"},
    {"max(x)", "max(x)"},
    {"x + on(a) y", "x + on (a) y"},
    {"x + on(a, b) group_left y", "x + on (a, b) group_left () y"},
    {"x + on(a) group_left(b) y", "x + on (a) group_left (b) y"},
    {"x + on(a) group_right(b, c) y", "x + on (a) group_right (b, c) y"},
    {"x + ignoring(a) y", "x + ignoring (a) y"},
    {"x + ignoring(a) group_left y", "x + ignoring (a) group_left () y"},
    {"x + ignoring() group_left y", "x + y"},
    {"x + on() group_left y", "x + on () group_left () y"},
    {"x and on() y", "x and on () y"},
    {"x > bool on(a) y", "x > bool on (a) y"},
    {"x == ignoring(a) group_left(b) y", "x == ignoring (a) group_left (b) y"},
    {"x or on(a) y", "x or on (a) y"},
    {"x unless ignoring(a) y", "x unless ignoring (a) y"},
    {"x + on() 1", "x + 1"},
    {"x > bool 1", "x > bool 1"},
    {"x > 1", "x > 1"},
    {"time()", "time()"},
    {"pi()", "pi()"},
    {"vector(1)", "vector(1)"},
    {"scalar(x)", "scalar(x)"},
    {"abs(x)", "abs(x)"},
    {"round(x)", "round(x)"},
    {"round(x, 1)", "round(x, 1)"},
    {"label_replace(x, \"a\", \"b\", \"c\", \"d\")", "label_replace(x, \"a\", \"b\", \"c\", \"d\")"},
    {"label_join(x, \"a\", \",\", \"b\", \"c\", \"d\")", "label_join(x, \"a\", \",\", \"b\", \"c\", \"d\")"},
    {"label_join(x, \"a\", \",\")", "label_join(x, \"a\", \",\")"},
    {"histogram_quantile(0.9, rate(x[5m]))", "histogram_quantile(0.9, rate(x[5m]))"},
    {"holt_winters(x[5m], 0.5, 0.5)", "holt_winters(x[5m], 0.5, 0.5)"},
    {"day_of_month()", "day_of_month()"},
    {"day_of_month(x)", "day_of_month(x)"},
    {"absent(x)", "absent(x)"},
    {"absent_over_time(x[5m])", "absent_over_time(x[5m])"},
    {"quantile_over_time(0.5, x[5m])", "quantile_over_time(0.5, x[5m])"},
    {"predict_linear(x[5m], 60)", "predict_linear(x[5m], 60)"},
    {"clamp(x, 0, 1)", "clamp(x, 0, 1)"},
    {"rate(x[5m] @ 100)", "rate(x[5m] @ 100.000)"},
    {"sort(x)", "sort(x)"},
    {"vector(time())", "vector(time())"},
    {"x # comment", "x"},
    {"+ y", "+y"},
    {"  x  ", "x"},
    {"x{a=\"b\"} # trailing", "x{a=\"b\"}"},
    {"x", "x"},
    {"y", "y"},
    {"  x", "x"},
    {"x{a=\"b\"}[5m]", "x{a=\"b\"}[5m]"},
    {"x{}", "x"},
    {"x{}[5m]", "x[5m]"},
    {"a:b", "a:b"},
    {"a:b:c", "a:b:c"},
    {":a", ":a"},
    {"a::b", "a::b"},
    {"x{a=~\"(\?P<n>a)\"}", "x{a=~\"(\?P<n>a)\"}"},
    {"x{a=~\"(\?i)abc\"}", "x{a=~\"(\?i)abc\"}"},
    {"x{a=~\"\\\\pL\"}", "x{a=~\"\\\\pL\"}"},
    {"x @ - 1", "x @ -1.000"},
    {"x @ 9223372036854775", "x @ -9223372036854776.000"},
    {"x @ 0.0001", "x @ 0.000"},
    {"x @ 0.0005", "x @ 0.001"},
    {"x @ 0.0015", "x @ 0.002"},
    {"x offset 1y", "x offset 1y"},
    {"x offset 2w", "x offset 2w"},
    {"x offset 1w1d", "x offset 8d"},
    {"x offset 10000d", "x offset 10000d"},
    {"x offset 292y", "x offset 292y"},
    {"x[106751d]", "x[106751d]"},
    {"x + on(a) group_left() y", "x + on (a) group_left () y"},
    {"(1 * 2 + 4 / 6 - (10%7)^2) / demo_memory_usage_bytes", "(1 * 2 + 4 / 6 - (10 % 7) ^ 2) / demo_memory_usage_bytes"},
    {"(1 * 2 + 4 / 6 - (10%7)^2) < demo_memory_usage_bytes", "(1 * 2 + 4 / 6 - (10 % 7) ^ 2) < demo_memory_usage_bytes"},
    {"(1 * 2 + 4 / 6 - (10%7)^2) <= demo_memory_usage_bytes", "(1 * 2 + 4 / 6 - (10 % 7) ^ 2) <= demo_memory_usage_bytes"},
    {"(1 * 2 + 4 / 6 - (10%7)^2) == demo_memory_usage_bytes", "(1 * 2 + 4 / 6 - (10 % 7) ^ 2) == demo_memory_usage_bytes"},
    {"(1 * 2 + 4 / 6 - (10%7)^2) > demo_memory_usage_bytes", "(1 * 2 + 4 / 6 - (10 % 7) ^ 2) > demo_memory_usage_bytes"},
    {"---metric @ 100", "---metric @ 100.000"},
    {"-metric @ 100", "-metric @ 100.000"},
    {"-{__name__=~'testmetric1|testmetric2'}", "-{__name__=~\"testmetric1|testmetric2\"}"},
    {"1000 < SUM(http_requests) BY (job)", "1000 < sum by (job) (http_requests)"},
    {"12.34e6", "1.234e+07"},
    {"COUNT(http_requests) BY (job)", "count by (job) (http_requests)"},
    {"MIN(http_requests) BY (job)", "min by (job) (http_requests)"},
    {"SUM(http_requests) BY (job) != 1000", "sum by (job) (http_requests) != 1000"},
    {"SUM(http_requests) BY (job) - COUNT(http_requests) BY (job)", "sum by (job) (http_requests) - count by (job) (http_requests)"},
    {"SUM(http_requests) BY (job) == 1000", "sum by (job) (http_requests) == 1000"},
    {"SUM(http_requests) BY (job) > 1000", "sum by (job) (http_requests) > 1000"},
    {"SUM(http_requests) BY (job) ^ 2", "sum by (job) (http_requests) ^ 2"},
    {"SUM(http_requests) BY (job, group)", "sum by (job, group) (http_requests)"},
    {"SUM(http_requests)", "sum(http_requests)"},
    {"avg(max by(type) (demo_memory_usage_bytes))", "avg(max by (type) (demo_memory_usage_bytes))"},
    {"bottomk without() (2, demo_memory_usage_bytes)", "bottomk without () (2, demo_memory_usage_bytes)"},
    {"bottomk without(instance) (2, demo_memory_usage_bytes)", "bottomk without (instance) (2, demo_memory_usage_bytes)"},
    {"bottomk(9999999999, http_requests{job=\"app-server\",group=\"canary\"})", "bottomk(9.999999999e+09, http_requests{group=\"canary\",job=\"app-server\"})"},
    {"count without() (demo_memory_usage_bytes)", "count without () (demo_memory_usage_bytes)"},
    {"count without(instance) (demo_memory_usage_bytes)", "count without (instance) (demo_memory_usage_bytes)"},
    {"count without(instance, type) (demo_memory_usage_bytes)", "count without (instance, type) (demo_memory_usage_bytes)"},
    {"day_of_week(vector(1136239445))", "day_of_week(vector(1.136239445e+09))"},
    {"day_of_year(vector(1672493820))", "day_of_year(vector(1.67249382e+09))"},
    {"days_in_month(vector(1485907200))", "days_in_month(vector(1.4859072e+09))"},
    {"demo_memory_usage_bytes - on(instance, job, type) demo_memory_usage_bytes", "demo_memory_usage_bytes - on (instance, job, type) demo_memory_usage_bytes"},
    {"demo_memory_usage_bytes / on(instance, job, type, __name__) demo_memory_usage_bytes", "demo_memory_usage_bytes / on (instance, job, type, __name__) demo_memory_usage_bytes"},
    {"demo_memory_usage_bytes / on(instance, type, job, non_existent) demo_memory_usage_bytes", "demo_memory_usage_bytes / on (instance, type, job, non_existent) demo_memory_usage_bytes"},
    {"demo_memory_usage_bytes < on(instance, job, type) demo_memory_usage_bytes", "demo_memory_usage_bytes < on (instance, job, type) demo_memory_usage_bytes"},
    {"demo_memory_usage_bytes <= bool on(instance, job, type) demo_memory_usage_bytes", "demo_memory_usage_bytes <= bool on (instance, job, type) demo_memory_usage_bytes"},
    {"demo_memory_usage_bytes >= on(instance, job, type) demo_memory_usage_bytes", "demo_memory_usage_bytes >= on (instance, job, type) demo_memory_usage_bytes"},
    {"demo_num_cpus * Inf", "demo_num_cpus * +Inf"},
    {"histogram_quantile(0.3, sum(rate(request_duration_seconds_bucket[5m])) by (le, instance))", "histogram_quantile(0.3, sum by (le, instance) (rate(request_duration_seconds_bucket[5m])))"},
    {"histogram_quantile(0.5, sum(rate(request_duration_seconds_bucket[5m])) by (le, job))", "histogram_quantile(0.5, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))"},
    {"http_requests AND ON (dummy) vector(1)", "http_requests and on (dummy) vector(1)"},
    {"http_requests{group=\"canary\", instance=\"0\", job=\"api-server\"} / 0", "http_requests{group=\"canary\",instance=\"0\",job=\"api-server\"} / 0"},
    {"http_requests{group=\"canary\"} / ignoring(group) http_requests{group=\"production\"}", "http_requests{group=\"canary\"} / ignoring (group) http_requests{group=\"production\"}"},
    {"http_requests{job!~\"api-.+\",group!=\"canary\"}", "http_requests{group!=\"canary\",job!~\"api-.+\"}"},
    {"max without(nonexistent) (demo_memory_usage_bytes)", "max without (nonexistent) (demo_memory_usage_bytes)"},
    {"metric @ 100 offset 50s", "metric @ 100.000 offset 50s"},
    {"metric offset 50s @ 100", "metric @ 100.000 offset 50s"},
    {"min by() (demo_memory_usage_bytes)", "min(demo_memory_usage_bytes)"},
    {"min by(instance) (demo_memory_usage_bytes)", "min by (instance) (demo_memory_usage_bytes)"},
    {"min without(instance) (demo_memory_usage_bytes)", "min without (instance) (demo_memory_usage_bytes)"},
    {"min without(instance, type) (demo_memory_usage_bytes)", "min without (instance, type) (demo_memory_usage_bytes)"},
    {"min without(nonexistent) (demo_memory_usage_bytes)", "min without (nonexistent) (demo_memory_usage_bytes)"},
    {"minute(vector(1136239445))", "minute(vector(1.136239445e+09))"},
    {"month(vector(1136239445))", "month(vector(1.136239445e+09))"},
    {"month(vector(1456790400)) + day_of_month(vector(1456790400)) / 100", "month(vector(1.4567904e+09)) + day_of_month(vector(1.4567904e+09)) / 100"},
    {"node_cpu + on(dummy) group_left(foo) random*0", "node_cpu + on (dummy) group_left (foo) random * 0"},
    {"node_cpu / ignoring (mode) group_left sum without (mode)(node_cpu)", "node_cpu / ignoring (mode) group_left () sum without (mode) (node_cpu)"},
    {"quantile without(point)(scalar(foo), data)", "quantile without (point) (scalar(foo), data)"},
    {"quantile_over_time(0.90, demo_memory_usage_bytes[15s])", "quantile_over_time(0.9, demo_memory_usage_bytes[15s])"},
    {"quantile_over_time(0.90, demo_memory_usage_bytes[1h])", "quantile_over_time(0.9, demo_memory_usage_bytes[1h])"},
    {"quantile_over_time(0.90, demo_memory_usage_bytes[1m])", "quantile_over_time(0.9, demo_memory_usage_bytes[1m])"},
    {"rate(http_requests[40s]) - rate(http_requests[1m] offset 10000s)", "rate(http_requests[40s]) - rate(http_requests[1m] offset 2h46m40s)"},
    {"rate(http_requests{group=\"canary\", instance=\"1\", job=\"app-server\"}[50m])", "rate(http_requests{group=\"canary\",instance=\"1\",job=\"app-server\"}[50m])"},
    {"rate(http_requests{group=~\".*ry\", instance=\"1\"}[1m])", "rate(http_requests{group=~\".*ry\",instance=\"1\"}[1m])"},
    {"rate(http_requests{instance!=\"3\"}[1m] offset -4000s)", "rate(http_requests{instance!=\"3\"}[1m] offset -1h6m40s)"},
    {"rate(sum_over_time((metric1+metric2+metric3)[30s:10s])[30s:10s])", "rate(sum_over_time((metric1 + metric2 + metric3)[30s:10s])[30s:10s])"},
    {"stddev without() (demo_memory_usage_bytes)", "stddev without () (demo_memory_usage_bytes)"},
    {"stddev without(instance) (demo_memory_usage_bytes)", "stddev without (instance) (demo_memory_usage_bytes)"},
    {"stdvar by(instance) (demo_memory_usage_bytes)", "stdvar by (instance) (demo_memory_usage_bytes)"},
    {"stdvar by(instance, type) (demo_memory_usage_bytes)", "stdvar by (instance, type) (demo_memory_usage_bytes)"},
    {"stdvar without(instance) (demo_memory_usage_bytes)", "stdvar without (instance) (demo_memory_usage_bytes)"},
    {"sum by (mode, job)(node_cpu) / on (job) group_left sum by (job)(node_cpu)", "sum by (mode, job) (node_cpu) / on (job) group_left () sum by (job) (node_cpu)"},
    {"sum by(nonexistent) (demo_memory_usage_bytes)", "sum by (nonexistent) (demo_memory_usage_bytes)"},
    {"sum without() (demo_memory_usage_bytes)", "sum without () (demo_memory_usage_bytes)"},
    {"sum without(instance) (demo_memory_usage_bytes)", "sum without (instance) (demo_memory_usage_bytes)"},
    {"sum(label_grouping_test) by (a, b)", "sum by (a, b) (label_grouping_test)"},
    {"sum(sum by (mode, job)(node_cpu) / on (job) group_left sum by (job)(node_cpu))", "sum(sum by (mode, job) (node_cpu) / on (job) group_left () sum by (job) (node_cpu))"},
    {"sum_over_time(metric6c[1m])/count_over_time(metric6c[1m])", "sum_over_time(metric6c[1m]) / count_over_time(metric6c[1m])"},
    {"sum_over_time(metric8[1m])/count_over_time(metric8[1m])", "sum_over_time(metric8[1m]) / count_over_time(metric8[1m])"},
    {"sum_over_time(metric{job=\"1\"}[100s] @ 100 offset 50s)", "sum_over_time(metric{job=\"1\"}[1m40s] @ 100.000 offset 50s)"},
    {"sum_over_time(metric{job=\"1\"}[100s] @ 100)", "sum_over_time(metric{job=\"1\"}[1m40s] @ 100.000)"},
    {"topk without() (2, demo_memory_usage_bytes)", "topk without () (2, demo_memory_usage_bytes)"},
};

// Longer queries and the line-split answer of the same endpoint.
const format_case pretty_cases[] = {
    {"sum(http_requests) by (job) + min(http_requests) by (job) + max(http_requests) by (job) + avg(http_requests) by (job)",
     "  sum by (job) (http_requests) + min by (job) (http_requests) + max by (job) (http_requests)\n+\n  avg by (job) (http_requests)"},
    {"rate(metric{job=\"1\"}[100s] @ 100) + label_replace(rate(metric{job=\"2\"}[123s] @ 200), \"job\", \"1\", \"\", \"\")",
     "  rate(metric{job=\"1\"}[1m40s] @ 100.000)\n+\n  label_replace(rate(metric{job=\"2\"}[2m3s] @ 200.000), \"job\", \"1\", \"\", \"\")"},
    {"sum_over_time(metric{job=\"1\"}[100s] @ 100) + label_replace(sum_over_time(metric{job=\"2\"}[100s] @ 100), \"job\", \"1\", \"\", \"\")",
     "  sum_over_time(metric{job=\"1\"}[1m40s] @ 100.000)\n+\n  label_replace(sum_over_time(metric{job=\"2\"}[1m40s] @ 100.000), \"job\", \"1\", \"\", \"\")"},
    {"sum_over_time(sum_over_time(sum_over_time(metric{job=\"1\"}[100s] @ 100)[100s:25s] @ 50)[3s:1s] @ 3000)",
     "sum_over_time(\nsum_over_time(sum_over_time(metric{job=\"1\"}[1m40s] @ 100.000)[1m40s:25s] @ 50.000)[3s:1s] @ 3000.000\n)"},
    {"sum_over_time(sum_over_time(sum_over_time(metric{job=\"1\"}[10s])[100s:25s] @ 50)[3s:1s] @ 200)",
     "sum_over_time(\nsum_over_time(sum_over_time(metric{job=\"1\"}[10s])[1m40s:25s] @ 50.000)[3s:1s] @ 200.000\n)"},
    {"sum_over_time(sum_over_time(sum_over_time(metric{job=\"1\"}[10s])[100s:25s] @ 200)[3s:1s] @ 50)",
     "sum_over_time(\nsum_over_time(sum_over_time(metric{job=\"1\"}[10s])[1m40s:25s] @ 200.000)[3s:1s] @ 50.000\n)"},
    {"sum_over_time(sum_over_time(sum_over_time(metric{job=\"1\"}[20s])[20s:10s] offset 10s)[100s:25s] @ 1000)",
     "sum_over_time(\nsum_over_time(sum_over_time(metric{job=\"1\"}[20s])[20s:10s] offset 10s)[1m40s:25s] @ 1000.000\n)"},
    {"count by(namespace, pod, cpu) (node_cpu_seconds_total{cpu=~\".*\",job=\"node-exporter\",mode=\"idle\",namespace=\"observability\",pod=\"node-exporter-l454v\"}) * on(namespace, pod) group_left(node) node_namespace_pod:kube_pod_info:{namespace=\"observability\",pod=\"node-exporter-l454v\"}",
     "  count by (namespace, pod, cpu) (\n    node_cpu_seconds_total{cpu=~\".*\",job=\"node-exporter\",mode=\"idle\",namespace=\"observability\",pod=\"node-exporter-l454v\"}\n  )\n* on (namespace, pod) group_left (node)\n  node_namespace_pod:kube_pod_info:{namespace=\"observability\",pod=\"node-exporter-l454v\"}"},
    {"(http_requests{group=\"canary\"} + 1) and on(instance, job) http_requests{instance=\"0\", group=\"production\"}",
     "  (http_requests{group=\"canary\"} + 1)\nand on (instance, job)\n  http_requests{group=\"production\",instance=\"0\"}"},
    {"(http_requests{group=\"canary\"} + 1) and ignoring(group) http_requests{instance=\"0\", group=\"production\"}",
     "  (http_requests{group=\"canary\"} + 1)\nand ignoring (group)\n  http_requests{group=\"production\",instance=\"0\"}"},
    {"(http_requests{group=\"canary\"} + 1) and ignoring(group, job) http_requests{instance=\"0\", group=\"production\"}",
     "  (http_requests{group=\"canary\"} + 1)\nand ignoring (group, job)\n  http_requests{group=\"production\",instance=\"0\"}"},
    {"(http_requests{group=\"canary\"} + 1) or on(instance) (http_requests or cpu_count or vector_matching_a)",
     "  (http_requests{group=\"canary\"} + 1)\nor on (instance)\n  (http_requests or cpu_count or vector_matching_a)"},
    {"(http_requests{group=\"canary\"} + 1) or ignoring(l, group, job) (http_requests or cpu_count or vector_matching_a)",
     "  (http_requests{group=\"canary\"} + 1)\nor ignoring (l, group, job)\n  (http_requests or cpu_count or vector_matching_a)"},
    {"sum without (instance)(node_cpu) / ignoring (mode) group_left sum without (instance, mode)(node_cpu)",
     "  sum without (instance) (node_cpu)\n/ ignoring (mode) group_left ()\n  sum without (instance, mode) (node_cpu)"},
    {"sum(sum without (instance)(node_cpu) / ignoring (mode) group_left sum without (instance, mode)(node_cpu))",
     "sum(\n    sum without (instance) (node_cpu)\n  / ignoring (mode) group_left ()\n    sum without (instance, mode) (node_cpu)\n)"},
    {"node_cpu > on(job, instance) group_left(target) (threshold or on (job, instance) (sum by (job, instance)(node_cpu) * 0 + 1))",
     "  node_cpu\n> on (job, instance) group_left (target)\n  (threshold or on (job, instance) (sum by (job, instance) (node_cpu) * 0 + 1))"},
    {"sum by(instance, type) (demo_memory_usage_bytes) + on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_memory_usage_bytes)\n+ on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"sum by(instance, type) (demo_memory_usage_bytes) - on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_memory_usage_bytes)\n- on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"sum by(instance, type) (demo_memory_usage_bytes) * on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_memory_usage_bytes)\n* on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"sum by(instance, type) (demo_memory_usage_bytes) / on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_memory_usage_bytes)\n/ on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"sum by(instance, type) (demo_memory_usage_bytes) % on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_memory_usage_bytes)\n% on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"sum by(instance, type) (demo_memory_usage_bytes) ^ on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_memory_usage_bytes)\n^ on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"sum by(instance, type) (demo_memory_usage_bytes) == on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_memory_usage_bytes)\n== on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"sum by(instance, type) (demo_memory_usage_bytes) != on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_memory_usage_bytes)\n!= on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"sum by(instance, type) (demo_memory_usage_bytes) < on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_memory_usage_bytes)\n< on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"sum by(instance, type) (demo_memory_usage_bytes) > on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_memory_usage_bytes)\n> on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"sum by(instance, type) (demo_memory_usage_bytes) <= on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_memory_usage_bytes)\n<= on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"sum by(instance, type) (demo_memory_usage_bytes) >= on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_memory_usage_bytes)\n>= on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"sum without(job) (demo_memory_usage_bytes) / on(instance, type) group_left demo_memory_usage_bytes",
     "  sum without (job) (demo_memory_usage_bytes)\n/ on (instance, type) group_left ()\n  demo_memory_usage_bytes"},
    {"sum without(job) (demo_memory_usage_bytes) / on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum without (job) (demo_memory_usage_bytes)\n/ on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"(http_requests{group=\"canary\"} + 1)and on(instnce, job) http_requests{instance=\"0\", group=\"production\"}",
     "  (http_requests{group=\"canary\"} + 1)\nand on (instnce, job)\n  http_requests{group=\"production\",instance=\"0\"}"},
    {"sum by(instance, type) (demo_emory_usage_bytes) - on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_emory_usage_bytes)\n- on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"http_requests{job=\"api-server\", group=\"canary\"} + rate(http_req1uests{job=\"api-ser[5m]er\"}[5m]) * 5 * 60",
     "  http_requests{group=\"canary\",job=\"api-server\"}\n+\n  rate(http_req1uests{job=\"api-ser[5m]er\"}[5m]) * 5 * 60"},
    {"sum without(job) (demo_meory_usage_byates) / on(instance, type) group_left demo_memory_usage_bytes",
     "  sum without (job) (demo_meory_usage_byates)\n/ on (instance, type) group_left ()\n  demo_memory_usage_bytes"},
    {"count by(namespace, pod, cpu) (node_cpu_seconds_total{cpu=~\".*\",job=\"node-exporter\",mode=\"idle\",namespace=\"observability\",pod=\"node-exporter-l454v\"}) * on(namespace, pod) group_left(node) node_namespace_pod:kube_pod_info:{namespace=\"observability\",pooffsetd=\"node-exporter-l454v\"}",
     "  count by (namespace, pod, cpu) (\n    node_cpu_seconds_total{cpu=~\".*\",job=\"node-exporter\",mode=\"idle\",namespace=\"observability\",pod=\"node-exporter-l454v\"}\n  )\n* on (namespace, pod) group_left (node)\n  node_namespace_pod:kube_pod_info:{namespace=\"observability\",pooffsetd=\"node-exporter-l454v\"}"},
    {"sum_over_time(sum_over_time(sum_over_time(metric{job=\"\"}[20s])[20s:10s] offset 10s)[100s:25s] @ 1000)",
     "sum_over_time(\nsum_over_time(sum_over_time(metric{job=\"\"}[20s])[20s:10s] offset 10s)[1m40s:25s] @ 1000.000\n)"},
    {"sum by(inhstance, type) (demo_memory_usage_bytes) - on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (inhstance, type) (demo_memory_usage_bytes)\n- on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"sum by(instance, type) (demo_memor_usage_bytes) <= on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_memor_usage_bytes)\n<= on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"sum by(instance, type) (demo_memory_usage9bytes) % on(instance, type) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_memory_usage9bytes)\n% on (instance, type) group_left (job)\n  demo_memory_usage_bytes"},
    {"(http_requests{group=\"canary\"} + 1) and ignoring(group, ob) http_reqests{instance=\"0\", group=\"production!\"}",
     "  (http_requests{group=\"canary\"} + 1)\nand ignoring (group, ob)\n  http_reqests{group=\"production!\",instance=\"0\"}"},
    {"noe_cpu > on(job, instance) group_left(target) (threshold or on (job, instance) (sum by (job, instance)(node_cpu) * 0 + 1))",
     "  noe_cpu\n> on (job, instance) group_left (target)\n  (threshold or on (job, instance) (sum by (job, instance) (node_cpu) * 0 + 1))"},
    {"sum by(instance, type) (demo_memory_usag8_bytes) ^ on(instance, atype) group_left(job) demo_memory_usage_bytes",
     "  sum by (instance, type) (demo_memory_usag8_bytes)\n^ on (instance, atype) group_left (job)\n  demo_memory_usage_bytes"},
    {"-(sum by (instance, job, very_long_label_name) (rate(http_requests_total{job=\"api-server\", handler=\"/api/v1/query\"}[5m])))",
     "-(\n  sum by (instance, job, very_long_label_name) (\n    rate(http_requests_total{handler=\"/api/v1/query\",job=\"api-server\"}[5m])\n  )\n)"},
    {"-sum by (instance, job, very_long_label_name) (rate(http_requests_total{job=\"api-server\", handler=\"/api/v1/query\"}[5m]))",
     "-sum by (instance, job, very_long_label_name) (\n  rate(http_requests_total{handler=\"/api/v1/query\",job=\"api-server\"}[5m])\n)"},
    {"max_over_time((sum by (instance, job, very_long_label_name) (rate(http_requests_total{job=\"api-server\"}[5m])) > bool 5)[30m:1m] offset 5m)",
     "max_over_time(\n  (\n      sum by (instance, job, very_long_label_name) (rate(http_requests_total{job=\"api-server\"}[5m]))\n    > bool\n      5\n  )[30m:1m] offset 5m\n)"},
    {"topk(5, sum without (instance, job, very_long_label_name) (rate(http_requests_total{job=\"api-server\", handler=\"/x\"}[5m])))",
     "topk(\n  5,\n  sum without (instance, job, very_long_label_name) (\n    rate(http_requests_total{handler=\"/x\",job=\"api-server\"}[5m])\n  )\n)"},
    {"count_values(\"value\", sum without (instance, job, very_long_label_name) (rate(http_requests_total{job=\"api-server\", handler=\"/x\"}[5m])))",
     "count_values(\n  \"value\",\n  sum without (instance, job, very_long_label_name) (\n    rate(http_requests_total{handler=\"/x\",job=\"api-server\"}[5m])\n  )\n)"},
    {"label_replace(sum by (instance, job, very_long_label_name) (rate(http_requests_total{job=\"api-server\"}[5m])), \"dst\", \"$1\", \"src\", \"(.*)\")",
     "label_replace(\n  sum by (instance, job, very_long_label_name) (rate(http_requests_total{job=\"api-server\"}[5m])),\n  \"dst\",\n  \"$1\",\n  \"src\",\n  \"(.*)\"\n)"},
    {"(sum by (instance, job, very_long_label_name) (rate(http_requests_total{job=\"api-server\"}[5m])) > bool on (instance) group_left (job) sum by (instance) (up))",
     "(\n    sum by (instance, job, very_long_label_name) (rate(http_requests_total{job=\"api-server\"}[5m]))\n  > bool on (instance) group_left (job)\n    sum by (instance) (up)\n)"},
    {"abs(-sum by (instance, job, very_long_label_name) (rate(http_requests_total{job=\"api-server\", handler=\"/api/v1/query\"}[5m])))",
     "abs(\n  -sum by (instance, job, very_long_label_name) (\n    rate(http_requests_total{handler=\"/api/v1/query\",job=\"api-server\"}[5m])\n  )\n)"},
    {"a_very_long_metric_name_number_one_with_many_characters{label=\"value\"} + a_very_long_metric_name_number_two{label=\"value\"} + a_very_long_metric_name_number_three{x=\"y\"}",
     "    a_very_long_metric_name_number_one_with_many_characters{label=\"value\"}\n  +\n    a_very_long_metric_name_number_two{label=\"value\"}\n+\n  a_very_long_metric_name_number_three{x=\"y\"}"},
    {"(a_very_long_metric_name_number_one_with_many_characters{label=\"value\"} + a_very_long_metric_name_number_two{label=\"value\"})[5m:1m]",
     "(\n    a_very_long_metric_name_number_one_with_many_characters{label=\"value\"}\n  +\n    a_very_long_metric_name_number_two{label=\"value\"}\n)[5m:1m]"},
    {"rate(a_very_long_metric_name_number_one_with_many_characters_and_even_more_characters{label=\"value\", other=\"thing\"}[5m] offset 1h)",
     "rate(\n  a_very_long_metric_name_number_one_with_many_characters_and_even_more_characters{label=\"value\",other=\"thing\"}[5m] offset 1h\n)"},
};

}  // namespace

CAF_TEST(long queries are split like prometheus format_query) {
  for (const auto& c : pretty_cases) {
    auto r = parse(c.query);
    if (!r) {
      CAF_ERROR("rejected " << c.query << ": " << r.error.message);
      continue;
    }
    std::string got = prettify(*r.expr);
    if (got != c.formatted)
      CAF_ERROR("query " << c.query << "\n  got  " << got << "\n  want " << c.formatted);
    // Split output is still the same query.
    auto again = parse(got);
    CAF_REQUIRE(again.ok());
    CAF_CHECK_EQUAL(again.expr->to_string(), r.expr->to_string());
  }
}

CAF_TEST(printing matches prometheus format_query) {
  for (const auto& c : format_cases) {
    auto r = parse(c.query);
    if (!r) {
      CAF_ERROR("rejected " << c.query << ": " << r.error.message);
      continue;
    }
    std::string got = r.expr->to_string();
    CAF_CHECK_EQUAL(prettify(*r.expr), got);  // short: no line breaks
    if (got != c.formatted)
      CAF_ERROR("query " << c.query << "\n  got  " << got << "\n  want " << c.formatted);
  }
}

CAF_TEST(printed queries parse back to the same tree) {
  auto queries = nl::promql::testing::shared_queries();
  CAF_CHECK_GREATER(queries.size(), 1000u);
  size_t checked = 0;
  for (const auto& q : queries) {
    auto first = parse(q.text);
    if (!first)
      continue;  // the parser suite checks which queries must parse
    std::string printed = first.expr->to_string();
    auto second = parse(printed);
    if (!second) {
      CAF_ERROR(q.text << " printed as " << printed << " does not parse: "
                       << second.error.message);
      continue;
    }
    CAF_CHECK_EQUAL(second.expr->to_string(), printed);
    CAF_CHECK(second.expr->type() == first.expr->type());
    ++checked;
  }
  CAF_CHECK_GREATER(checked, 1000u);
}

CAF_TEST(clone is deep and prints the same) {
  for (const char* q :
       {"sum by (a) (rate(x{a=~\"b.*\"}[5m] offset 1m @ 100))",
        "topk(3, x) * on(a) group_left(b) y", "-(1 + 2) ^ 3",
        "max_over_time(deriv(x[1m])[10m:30s] @ start())", "count_values(\"v\", x)",
        "label_join(x, \"a\", \",\", \"b\", \"c\")"}) {
    auto r = parse(q);
    CAF_REQUIRE(r.ok());
    auto copy = r.expr->clone();
    CAF_CHECK_EQUAL(copy->to_string(), r.expr->to_string());
    CAF_CHECK(copy->type() == r.expr->type());
    CAF_CHECK_EQUAL(copy->pos.start, r.expr->pos.start);
    CAF_CHECK_EQUAL(copy->pos.end, r.expr->pos.end);
    r.expr.reset();  // the copy owns everything it points to
    CAF_CHECK(!copy->to_string().empty());
  }
}

CAF_TEST(floats print like go) {
  struct float_case {
    double value;
    const char* text;
  };
  const float_case cases[] = {
      {0, "0"},
      {-0.0, "-0"},
      {1, "1"},
      {-1.5, "-1.5"},
      {100000, "100000"},
      {1000000, "1e+06"},
      {123456789, "1.23456789e+08"},
      {0.0001, "0.0001"},
      {0.00001, "1e-05"},
      {1e100, "1e+100"},
      {1.5e-300, "1.5e-300"},
      {0.1 + 0.2, "0.30000000000000004"},
      {9223372036854775807.0, "9.223372036854776e+18"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"},
  };
  for (const auto& c : cases)
    CAF_CHECK_EQUAL(format_go_float(c.value), c.text);
}

CAF_TEST(durations print like model duration) {
  CAF_CHECK_EQUAL(format_duration(0), "0s");
  CAF_CHECK_EQUAL(format_duration(1), "1ms");
  CAF_CHECK_EQUAL(format_duration(1500), "1s500ms");
  CAF_CHECK_EQUAL(format_duration(90 * 1000), "1m30s");
  CAF_CHECK_EQUAL(format_duration(5400 * 1000), "1h30m");
  CAF_CHECK_EQUAL(format_duration(86400LL * 1000 * 7), "1w");
  CAF_CHECK_EQUAL(format_duration(86400LL * 1000 * 8), "8d");
  CAF_CHECK_EQUAL(format_duration(86400LL * 1000 * 14), "2w");
  CAF_CHECK_EQUAL(format_duration(86400LL * 1000 * 365), "1y");
  CAF_CHECK_EQUAL(format_duration(86400LL * 1000 * 366), "366d");
  CAF_CHECK_EQUAL(format_duration(-60000), "-1m");
}

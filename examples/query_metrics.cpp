// query_metrics: asks Nightlight's gRPC query API (server.grpc_addr) every
// question it answers, through the nightlight-api client library, and
// prints the answers:
//   Query, QueryRange, Series, LabelNames, LabelValues, Metadata.
//
//   query_metrics [--address 127.0.0.1:9100]
//                 [--tls-ca ca.pem] [--tls-cert reader.pem --tls-key reader-key.pem]
//                 [--tls-server-name localhost]
//                 [--query 'demo_temperature_celsius'] [--time-ms T]
//                 [--range-query 'demo_requests_total'] [--start-ms T] [--end-ms T]
//                 [--step-ms 15000] [--match '{__name__=~"demo_.*"}'] [--label job]
//                 [--metric NAME] [--deadline-ms 10000]
//
// Without --time-ms/--end-ms the questions are about now; the range is the
// last 5 minutes. Answers are printed one item per line:
//   vector <series> <timestamp_ms> <value>
//   matrix <series> <timestamp_ms> <value>      (one line per point)
//   scalar <timestamp_ms> <value>, string <timestamp_ms> <text>
//   series <series>, label_name <name>, label_value <value>
//   metadata <metric> <type> "<help>" "<unit>"
//   warning <text>
// A failed call prints "error <Method>: <CODE>: <message>" and the program
// exits 1 after trying the others.
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nightlight/api/query_client.hpp>

namespace api = nightlight::api;

namespace {

struct flags {
  api::query_client_options client;
  std::string query = "demo_temperature_celsius";
  std::string range_query = "demo_requests_total";
  std::vector<std::string> match;
  std::string label = "job";
  std::string metric;
  int64_t time_ms = 0;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  int64_t step_ms = 15000;
  api::call_options call;
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "query_metrics: %s\n"
               "usage: query_metrics [--address HOST:PORT] [--tls-ca F] [--tls-cert F --tls-key F]\n"
               "                     [--tls-server-name N] [--query Q] [--time-ms T]\n"
               "                     [--range-query Q] [--start-ms T] [--end-ms T] [--step-ms MS]\n"
               "                     [--match SELECTOR]... [--label NAME] [--metric NAME]\n"
               "                     [--deadline-ms MS]\n",
               problem.c_str());
  std::exit(2);
}

int64_t number(const std::string& flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0')
    usage(flag + " wants an integer, got '" + text + "'");
  return v;
}

flags parse(int argc, char** argv) {
  flags f;
  f.call.deadline = std::chrono::seconds(10);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc)
        usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--address") f.client.address = value();
    else if (a == "--tls-ca") f.client.tls.ca_file = value();
    else if (a == "--tls-cert") f.client.tls.cert_file = value();
    else if (a == "--tls-key") f.client.tls.key_file = value();
    else if (a == "--tls-server-name") f.client.tls.server_name = value();
    else if (a == "--query") f.query = value();
    else if (a == "--time-ms") f.time_ms = number(a, value());
    else if (a == "--range-query") f.range_query = value();
    else if (a == "--start-ms") f.start_ms = number(a, value());
    else if (a == "--end-ms") f.end_ms = number(a, value());
    else if (a == "--step-ms") f.step_ms = number(a, value());
    else if (a == "--match") f.match.push_back(value());
    else if (a == "--label") f.label = value();
    else if (a == "--metric") f.metric = value();
    else if (a == "--deadline-ms") f.call.deadline = std::chrono::milliseconds(number(a, value()));
    else if (a == "-h" || a == "--help") usage("queries every method of the gRPC API");
    else usage("unknown flag " + a);
  }
  // Any TLS file switches TLS on; a CA alone verifies the server only.
  f.client.tls.enabled = !f.client.tls.ca_file.empty() || !f.client.tls.cert_file.empty();
  if (f.match.empty())
    f.match.push_back("{__name__=~\"demo_.*\"}");
  return f;
}

std::string text(const api::label_set& ls) {
  std::string name;
  std::string rest;
  for (const auto& l : ls) {
    if (l.name == "__name__")
      name = l.value;
    else
      rest += (rest.empty() ? "" : ",") + l.name + "=\"" + l.value + "\"";
  }
  return name + "{" + rest + "}";
}

/// The shortest text that reads back to the same double (fixed notation
/// unless scientific is shorter); NaN and ±Inf as Prometheus writes them.
std::string value_text(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  return std::string(buf, end);
}

void print_warnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings)
    std::printf("warning %s\n", w.c_str());
}

void print(const api::query_result& r) {
  switch (r.type) {
    case api::result_type::vector:
      for (const auto& s : r.vector)
        std::printf("vector %s %" PRId64 " %s\n", text(s.labels).c_str(), s.point.timestamp_ms,
                    value_text(s.point.value).c_str());
      break;
    case api::result_type::matrix:
      for (const auto& s : r.matrix)
        for (const auto& p : s.samples)
          std::printf("matrix %s %" PRId64 " %s\n", text(s.labels).c_str(), p.timestamp_ms,
                      value_text(p.value).c_str());
      break;
    case api::result_type::scalar:
      std::printf("scalar %" PRId64 " %s\n", r.scalar.timestamp_ms,
                  value_text(r.scalar.value).c_str());
      break;
    case api::result_type::string:
      std::printf("string %" PRId64 " %s\n", r.string_timestamp_ms, r.string_value.c_str());
      break;
  }
  print_warnings(r.warnings);
}

/// Prints the error of a failed call; true if it failed.
template <class T>
bool failed(const char* method, const api::result<T>& r) {
  if (r)
    return false;
  std::printf("error %s: %s\n", method, r.err().to_string().c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  flags f = parse(argc, argv);
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
  int64_t end = f.end_ms != 0 ? f.end_ms : now;
  int64_t start = f.start_ms != 0 ? f.start_ms : end - 5 * 60 * 1000;

  auto client = api::query_client::connect(f.client);
  if (!client) {
    std::fprintf(stderr, "query_metrics: %s\n", client.err().to_string().c_str());
    return 2;
  }
  int failures = 0;

  api::instant_query instant{f.query, std::nullopt, {}};
  if (f.time_ms != 0)
    instant.time_ms = f.time_ms;
  std::printf("== Query %s at %s\n", f.query.c_str(),
              f.time_ms != 0 ? std::to_string(f.time_ms).c_str() : "now");
  auto q = client->query(instant, f.call);
  if (!failed("Query", q)) {
    std::printf("-- %s, %zu elements\n", api::to_string(q->type),
                q->type == api::result_type::vector ? q->vector.size() : size_t{1});
    print(*q);
  } else {
    ++failures;
  }

  std::printf("== QueryRange %s from %" PRId64 " to %" PRId64 " step %" PRId64 "\n",
              f.range_query.c_str(), start, end, f.step_ms);
  auto range = client->query_range({f.range_query, start, end, f.step_ms, {}}, f.call);
  if (!failed("QueryRange", range)) {
    std::printf("-- %s, %zu series\n", api::to_string(range->type), range->matrix.size());
    print(*range);
  } else {
    ++failures;
  }

  std::string selectors;
  for (const auto& m : f.match)
    selectors += (selectors.empty() ? "" : " ") + m;
  std::printf("== Series %s\n", selectors.c_str());
  auto series = client->series({f.match, std::nullopt, std::nullopt, 0}, f.call);
  if (!failed("Series", series)) {
    std::printf("-- %zu series\n", series->series.size());
    for (const auto& s : series->series)
      std::printf("series %s\n", text(s).c_str());
    print_warnings(series->warnings);
  } else {
    ++failures;
  }

  std::printf("== LabelNames %s\n", selectors.c_str());
  auto names = client->label_names({f.match, std::nullopt, std::nullopt, 0}, f.call);
  if (!failed("LabelNames", names)) {
    std::printf("-- %zu label names\n", names->values.size());
    for (const auto& n : names->values)
      std::printf("label_name %s\n", n.c_str());
    print_warnings(names->warnings);
  } else {
    ++failures;
  }

  std::printf("== LabelValues %s %s\n", f.label.c_str(), selectors.c_str());
  auto values = client->label_values({f.label, f.match, std::nullopt, std::nullopt, 0}, f.call);
  if (!failed("LabelValues", values)) {
    std::printf("-- %zu label values\n", values->values.size());
    for (const auto& v : values->values)
      std::printf("label_value %s\n", v.c_str());
    print_warnings(values->warnings);
  } else {
    ++failures;
  }

  std::printf("== Metadata %s\n", f.metric.empty() ? "(all)" : f.metric.c_str());
  auto metadata = client->metadata({f.metric, std::nullopt, std::nullopt}, f.call);
  if (!failed("Metadata", metadata)) {
    std::printf("-- %zu metric families\n", metadata->metrics.size());
    for (const auto& family : metadata->metrics)
      for (const auto& m : family.metadata)
        std::printf("metadata %s %s \"%s\" \"%s\"\n", family.metric.c_str(),
                    api::to_string(m.type), m.help.c_str(), m.unit.c_str());
    print_warnings(metadata->warnings);
  } else {
    ++failures;
  }
  return failures == 0 ? 0 : 1;
}

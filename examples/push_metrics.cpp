// push_metrics: pushes a few counters and gauges, with their TYPE/HELP
// metadata, to Nightlight's remote-write endpoint through the nightlight-api
// client library, then says what was sent and what the server answered.
//
//   push_metrics [--url http://127.0.0.1:9101/api/v1/write]
//                [--tls-ca ca.pem] [--tls-cert writer.pem --tls-key writer-key.pem]
//                [--tls-server-name localhost]
//                [--job push_metrics] [--points 5] [--interval-ms 15000] [--end-ms T]
//                [--retry-on-429] [--retry-after-on-5xx] [--give-up-after-ms 60000]
//
// Every series gets --points samples, --interval-ms apart, the last one at
// --end-ms (default: now). One line per sample is printed as
//   sample <series> <timestamp_ms> <value>
// so scripts (and the e2e tests) can check what a server stored.
#include <algorithm>
#include <chrono>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <nightlight/api/remote_write_client.hpp>

namespace api = nightlight::api;

namespace {

struct flags {
  api::remote_write_options write;
  std::string job = "push_metrics";
  int points = 5;
  int64_t interval_ms = 15000;
  int64_t end_ms = 0;
};

[[noreturn]] void usage(const char* problem) {
  std::fprintf(stderr,
               "push_metrics: %s\n"
               "usage: push_metrics [--url URL] [--tls-ca F] [--tls-cert F --tls-key F]\n"
               "                    [--tls-server-name N] [--job NAME] [--points N]\n"
               "                    [--interval-ms MS] [--end-ms T] [--retry-on-429]\n"
               "                    [--retry-after-on-5xx] [--give-up-after-ms MS]\n",
               problem);
  std::exit(2);
}

int64_t number(const char* flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0')
    usage((std::string(flag) + " wants an integer, got '" + text + "'").c_str());
  return v;
}

flags parse(int argc, char** argv) {
  flags f;
  f.write.url = "http://127.0.0.1:9101/api/v1/write";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc)
        usage((a + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--url") f.write.url = value();
    else if (a == "--tls-ca") f.write.tls.ca_file = value();
    else if (a == "--tls-cert") f.write.tls.cert_file = value();
    else if (a == "--tls-key") f.write.tls.key_file = value();
    else if (a == "--tls-server-name") f.write.tls.server_name = value();
    else if (a == "--job") f.job = value();
    else if (a == "--points") f.points = static_cast<int>(number("--points", value()));
    else if (a == "--interval-ms") f.interval_ms = number("--interval-ms", value());
    else if (a == "--end-ms") f.end_ms = number("--end-ms", value());
    else if (a == "--retry-on-429") f.write.retry_on_http_429 = true;
    else if (a == "--retry-after-on-5xx") f.write.retry_after_on_5xx = true;
    else if (a == "--give-up-after-ms")
      f.write.give_up_after = std::chrono::milliseconds(number("--give-up-after-ms", value()));
    else if (a == "-h" || a == "--help") usage("pushes demo counters and gauges");
    else usage(("unknown flag " + a).c_str());
  }
  if (f.points < 1 || f.interval_ms < 1)
    usage("--points and --interval-ms must be positive");
  return f;
}

/// Labels sorted by name, as Prometheus sends them.
api::label_set labels(const std::string& name, const std::string& job,
                      std::vector<api::label> extra) {
  api::label_set out{{"__name__", name}, {"job", job}};
  for (auto& l : extra)
    out.push_back(std::move(l));
  std::sort(out.begin(), out.end(),
            [](const api::label& a, const api::label& b) { return a.name < b.name; });
  return out;
}

std::string text(const api::label_set& ls) {
  std::string out;
  for (const auto& l : ls) {
    if (l.name == "__name__")
      continue;
    out += (out.empty() ? "" : ",") + l.name + "=\"" + l.value + "\"";
  }
  return ls.front().value + "{" + out + "}";
}

/// The shortest text that reads back to the same double.
std::string shortest(double v) {
  char buf[64];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void print_report(const char* what, const api::write_report& r) {
  std::printf("%s: %zu series, %zu samples, %zu metadata, %zu bytes (%zu snappy)\n", what,
              r.series, r.samples, r.metadata, r.encoded_bytes, r.compressed_bytes);
  for (size_t i = 0; i < r.attempts.size(); ++i) {
    const auto& a = r.attempts[i];
    std::printf("  attempt %zu: %s", i + 1,
                a.http_status == 0 ? "no answer" : std::to_string(a.http_status).c_str());
    if (!a.message.empty())
      std::printf(" (%s)", a.message.c_str());
    if (a.wait.count() > 0)
      std::printf(", retrying in %lld ms%s", static_cast<long long>(a.wait.count()),
                  a.waited_for_retry_after ? " (Retry-After)" : "");
    std::printf("\n");
  }
  std::printf("  %s\n", r.ok() ? "accepted" : ("FAILED: " + r.failure.to_string()).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  flags f = parse(argc, argv);
  int64_t end = f.end_ms != 0
                  ? f.end_ms
                  : std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();

  auto client = api::remote_write_client::create(f.write);
  if (!client) {
    std::fprintf(stderr, "push_metrics: %s\n", client.err().to_string().c_str());
    return 2;
  }

  // Two counters (requests by method, bytes) and two gauges (temperature
  // per room, queue length), as an application would export them.
  std::vector<api::time_series> series = {
    {labels("demo_requests_total", f.job, {{"method", "GET"}}), {}},
    {labels("demo_requests_total", f.job, {{"method", "POST"}}), {}},
    {labels("demo_sent_bytes_total", f.job, {}), {}},
    {labels("demo_temperature_celsius", f.job, {{"room", "kitchen"}}), {}},
    {labels("demo_temperature_celsius", f.job, {{"room", "office"}}), {}},
    {labels("demo_queue_length", f.job, {}), {}},
  };
  for (int i = 0; i < f.points; ++i) {
    int64_t t = end - (f.points - 1 - i) * f.interval_ms;
    double k = i;
    series[0].samples.push_back({t, 100 + 7 * k});         // counters only grow
    series[1].samples.push_back({t, 20 + 3 * k});
    series[2].samples.push_back({t, 1024 * (1 + k * k)});
    series[3].samples.push_back({t, 21.5 + 0.25 * k});     // gauges go both ways
    series[4].samples.push_back({t, 19.75 - 0.5 * k});
    series[5].samples.push_back({t, static_cast<double>((i * 3) % 5)});
  }
  std::vector<api::metric_metadata> metadata = {
    {"demo_requests_total", api::metric_type::counter, "Requests handled, by HTTP method.", ""},
    {"demo_sent_bytes_total", api::metric_type::counter, "Bytes sent to clients.", "bytes"},
    {"demo_temperature_celsius", api::metric_type::gauge, "Room temperature.", "celsius"},
    {"demo_queue_length", api::metric_type::gauge, "Jobs waiting in the queue.", ""},
  };

  for (const auto& s : series)
    for (const auto& p : s.samples)
      std::printf("sample %s %" PRId64 " %s\n", text(s.labels).c_str(), p.timestamp_ms,
                  shortest(p.value).c_str());
  for (const auto& m : metadata)
    std::printf("metadata %s %s \"%s\" \"%s\"\n", m.metric_family_name.c_str(),
                api::to_string(m.type), m.help.c_str(), m.unit.c_str());

  // Samples and metadata go in separate requests, as Prometheus sends them.
  auto samples_report = client->write(series);
  print_report("samples", samples_report);
  auto metadata_report = client->write({}, metadata);
  print_report("metadata", metadata_report);
  return samples_report.ok() && metadata_report.ok() ? 0 : 1;
}

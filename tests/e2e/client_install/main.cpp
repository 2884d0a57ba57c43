// Uses both clients of the installed nightlight-api against a port where
// nothing listens (argv[1]): everything must link, and the failures must
// come back as the library's errors.
#include <cstdio>
#include <string>

#include <nightlight/api/query_client.hpp>
#include <nightlight/api/remote_write_client.hpp>

namespace api = nightlight::api;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer CLOSED_PORT\n");
    return 2;
  }
  std::string port = argv[1];
  int failures = 0;
  auto expect = [&](bool ok, const std::string& what) {
    std::printf("%s %s\n", ok ? "ok" : "FAILED", what.c_str());
    failures += ok ? 0 : 1;
  };

  // TimeSeries{Label{__name__,up} 16 bytes, Label{job,a} 10, Sample{2.0,1}
  // 13} is 2 + 39 bytes, MetricMetadata{GAUGE,up,Up.} 2 + 11.
  std::string body = api::encode_write_request(
    {{{{"__name__", "up"}, {"job", "a"}}, {{1, 2.0}}}},
    {{"up", api::metric_type::gauge, "Up.", ""}});
  expect(body.size() == 54, "encode_write_request: " + std::to_string(body.size()) + " bytes");

  api::remote_write_options w;
  w.url = "http://127.0.0.1:" + port + "/api/v1/write";
  w.give_up_after = std::chrono::milliseconds(100);
  auto writer = api::remote_write_client::create(w);
  expect(writer.ok(), "remote_write_client::create");
  if (writer) {
    auto report = writer->write({{{{"__name__", "up"}}, {{1, 1}}}});
    expect(!report.ok() && report.failure.code == api::errc::unavailable &&
             report.attempts.size() >= 2,
           "write to a closed port: " + report.failure.to_string());
  }

  api::query_client_options q;
  q.address = "127.0.0.1:" + port;
  auto client = api::query_client::connect(q);
  expect(client.ok(), "query_client::connect");
  if (client) {
    api::call_options call;
    call.deadline = std::chrono::seconds(5);
    auto r = client->query({"up", std::nullopt, {}}, call);
    expect(!r.ok() && r.err().code == api::errc::unavailable,
           "query a closed port: " + (r.ok() ? std::string("answered") : r.err().to_string()));
  }

  api::tls_options bad;
  bad.enabled = true;
  bad.ca_file = "/nonexistent/ca.pem";
  q.tls = bad;
  auto refused = api::query_client::connect(q);
  expect(!refused.ok() && refused.err().code == api::errc::invalid_argument,
         "missing CA file: " + (refused.ok() ? std::string("accepted") : refused.err().to_string()));
  return failures == 0 ? 0 : 1;
}

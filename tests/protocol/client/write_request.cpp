#define CAF_SUITE protocol.client.write_request
#include "test_support.hpp"

#include <cmath>
#include <limits>

#include "nightlight/api/remote_write_client.hpp"
#include "protocol/remote_write.hpp"
#include "protocol/snappy_block.hpp"
#include "remote.pb.h"
#include "storage/sample.hpp"

namespace api = nightlight::api;

namespace {

/// The same request built with libprotobuf.
std::string reference(const std::vector<api::time_series>& series,
                      const std::vector<api::metric_metadata>& metadata) {
  prometheus::WriteRequest req;
  for (const auto& s : series) {
    auto* ts = req.add_timeseries();
    for (const auto& l : s.labels) {
      auto* lab = ts->add_labels();
      lab->set_name(l.name);
      lab->set_value(l.value);
    }
    for (const auto& p : s.samples) {
      auto* smp = ts->add_samples();
      smp->set_timestamp(p.timestamp_ms);
      smp->set_value(p.value);
    }
  }
  for (const auto& m : metadata) {
    auto* md = req.add_metadata();
    md->set_type(static_cast<prometheus::MetricMetadata::MetricType>(m.type));
    md->set_metric_family_name(m.metric_family_name);
    md->set_help(m.help);
    md->set_unit(m.unit);
  }
  return req.SerializeAsString();
}

std::vector<api::time_series> awkward_series() {
  double inf = std::numeric_limits<double>::infinity();
  return {
    {{{"__name__", "up"}, {"job", "node"}}, {{1700000000000, 1}}},
    // Several samples; zero timestamp and value (proto3 leaves both out),
    // -0.0 (kept: its bits are not zero), negative times, NaN payloads.
    {{{"__name__", "x"}, {"a", std::string(300, 'v')}},
     {{0, 0.0}, {-5, -0.0}, {1, inf}, {2, -inf}, {3, nl::storage::stale_nan()},
      {4, std::nan("")}, {std::numeric_limits<int64_t>::max(), 1e308}}},
    // No samples, empty label value, no labels at all.
    {{{"__name__", "empty"}, {"z", ""}}, {}},
    {{}, {{5, 5}}},
  };
}

std::vector<api::metric_metadata> all_types() {
  std::vector<api::metric_metadata> out;
  for (int t = 0; t <= 7; ++t)
    out.push_back({"family_" + std::to_string(t), static_cast<api::metric_type>(t),
                   t % 2 == 0 ? "" : "help text " + std::to_string(t), t == 3 ? "seconds" : ""});
  out.push_back({"", api::metric_type::unknown, "", ""});
  return out;
}

}  // namespace

CAF_TEST(encoding is byte for byte what libprotobuf writes) {
  CAF_CHECK(api::encode_write_request({}, {}) == reference({}, {}));
  CAF_CHECK(api::encode_write_request({}, {}).empty());
  auto series = awkward_series();
  auto metadata = all_types();
  CAF_CHECK(api::encode_write_request(series, {}) == reference(series, {}));
  CAF_CHECK(api::encode_write_request({}, metadata) == reference({}, metadata));
  CAF_CHECK(api::encode_write_request(series, metadata) == reference(series, metadata));
}

CAF_TEST(sample values survive bit for bit) {
  auto series = awkward_series();
  prometheus::WriteRequest back;
  CAF_REQUIRE(back.ParseFromString(api::encode_write_request(series, {})));
  CAF_REQUIRE_EQUAL(back.timeseries_size(), 4);
  const auto& sent = series[1].samples;
  const auto& got = back.timeseries(1);
  CAF_REQUIRE_EQUAL(static_cast<size_t>(got.samples_size()), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    CAF_CHECK_EQUAL(got.samples(static_cast<int>(i)).timestamp(), sent[i].timestamp_ms);
    CAF_CHECK_EQUAL(nl::storage::float_bits(got.samples(static_cast<int>(i)).value()),
                    nl::storage::float_bits(sent[i].value));
  }
}

CAF_TEST(the server decodes what the client sends) {
  std::vector<api::time_series> series = {
    {{{"__name__", "demo_requests_total"}, {"job", "j"}, {"method", "GET"}},
     {{1000, 1}, {2000, 2}}},
    {{{"__name__", "demo_temperature_celsius"}, {"room", "office"}}, {{1000, 21.5}}},
  };
  std::vector<api::metric_metadata> metadata = {
    {"demo_requests_total", api::metric_type::counter, "Requests.", ""},
    {"demo_temperature_celsius", api::metric_type::gauge, "Temperature.", "celsius"},
  };
  auto body = nl::protocol::snappy_encode(api::encode_write_request(series, metadata));
  nl::protocol::write_settings settings;
  auto batch = nl::protocol::decode_remote_write(body, 3000, settings, 1 << 20);
  CAF_REQUIRE(batch.is_ok());
  CAF_CHECK(!batch->report.any_rejected());
  CAF_REQUIRE_EQUAL(batch->series.size(), 2u);
  CAF_CHECK_EQUAL(batch->series[0].labels_count, 3u);
  CAF_CHECK_EQUAL(batch->samples_of(batch->series[0])[1].v, 2.0);
  CAF_CHECK_EQUAL(batch->labels_of(batch->series[1])[1].value, "office");
  CAF_REQUIRE_EQUAL(batch->metadata.size(), 2u);
  CAF_CHECK(batch->metadata[0].type == nl::protocol::metric_type::counter);
  CAF_CHECK_EQUAL(batch->metadata[1].unit, "celsius");
  CAF_CHECK_EQUAL(batch->metadata[1].help, "Temperature.");
}

CAF_TEST(metric type names) {
  CAF_CHECK_EQUAL(std::string(api::to_string(api::metric_type::counter)), "counter");
  CAF_CHECK_EQUAL(std::string(api::to_string(api::metric_type::gaugehistogram)), "gaugehistogram");
  CAF_CHECK_EQUAL(std::string(api::to_string(api::metric_type::stateset)), "stateset");
}

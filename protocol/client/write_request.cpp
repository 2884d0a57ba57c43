// The WriteRequest encoder of the client library: the server's own prompb
// encoder (protocol/prompb_writer.hpp), fed with the library's types.
#include "nightlight/api/remote_write_client.hpp"
#include "protocol/prompb_writer.hpp"

namespace nightlight::api {

namespace pb = nl::protocol::pb;
namespace prompb = nl::protocol::prompb;

std::string encode_write_request(const std::vector<time_series>& series,
                                 const std::vector<metric_metadata>& metadata) {
  std::string out;
  pb::writer w(out);
  std::vector<nl::storage::sample> samples;
  for (const auto& ts : series) {
    samples.clear();
    for (const auto& s : ts.samples)
      samples.push_back({s.timestamp_ms, s.value});
    prompb::put_timeseries(w, 1, ts.labels, samples.data(), samples.size());
  }
  for (const auto& m : metadata)
    prompb::put_metadata(w, 3, static_cast<uint64_t>(m.type), m.metric_family_name, m.help,
                         m.unit);
  return out;
}

}  // namespace nightlight::api

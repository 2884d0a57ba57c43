#include "actors/federation.hpp"

#include <memory>
#include <utility>
#include <vector>

#include "actors/head_block.hpp"
#include "protocol/federation.hpp"
#include "storage/chunk/chunk.hpp"
#include "storage/head/series_snapshot.hpp"
#include "storage/sample.hpp"

namespace nl::actors {

namespace {

// The newest sample of every series in [mint, maxt] (staleness markers
// dropped), formatted.
caf::expected<std::string> render(std::vector<select_result>& parts, int64_t mint, int64_t maxt) {
  std::vector<std::vector<storage::series_snapshot>> snaps;
  snaps.reserve(parts.size());
  for (auto& p : parts)
    snaps.push_back(to_snapshots(std::move(p)));
  // A series several selectors match is one series (its chunks joined;
  // decode_chunks drops the repeats).
  auto series = storage::merge_series(std::move(snaps));
  std::vector<protocol::federated_sample> out;
  out.reserve(series.size());
  std::vector<storage::sample> buf;
  for (auto& s : series) {
    buf.clear();
    if (auto st = storage::decode_chunks(s.chunks, mint, maxt, buf); !st)
      return caf::make_error(error_code::internal, "federate: " + st.message());
    if (buf.empty() || storage::is_stale_nan(buf.back().v))
      continue;
    out.push_back({std::move(s.labels), buf.back().t, buf.back().v});
  }
  std::string body;
  protocol::append_federation(body, out);
  return body;
}

}  // namespace

federation_actor::behavior_type federation(federation_actor::pointer self, index_actor idx) {
  return {
    [=](federate_atom, const meta_query& q) -> caf::result<std::string> {
      struct gather {
        caf::typed_response_promise<std::string> rp;
        std::vector<select_result> parts;
        size_t waiting = 0;
        bool failed = false;
      };
      auto g = std::make_shared<gather>();
      for (const auto& sel : q.selectors)
        g->waiting += sel.empty() ? 0 : 1;
      if (g->waiting == 0) {
        self->quit();
        return std::string{};
      }
      g->rp = self->make_response_promise<std::string>();
      const int64_t mint = q.mint;
      const int64_t maxt = q.maxt;
      for (const auto& sel : q.selectors) {
        if (sel.empty())
          continue;
        // No timeout: the index always answers; the network actor's
        // request carries the deadline.
        self->request(idx, caf::infinite, select_atom_v, select_request{sel, mint, maxt, 0})
          .then(
            [self, g, mint, maxt](select_result& r) {
              if (g->failed)
                return;
              // Cluster mode: nodes that did not answer. The text format
              // has no place for a warning, and a federating Prometheus
              // would store the gap: refuse instead.
              if (!r.warnings.empty()) {
                g->failed = true;
                g->rp.deliver(caf::make_error(error_code::unavailable,
                                              "federate: the answer would be incomplete: "
                                                + join_warnings(r.warnings)));
                self->quit();
                return;
              }
              g->parts.push_back(std::move(r));
              if (--g->waiting > 0)
                return;
              auto body = render(g->parts, mint, maxt);
              g->parts.clear();
              if (body)
                g->rp.deliver(std::move(*body));
              else
                g->rp.deliver(body.error());
              self->quit();
            },
            [self, g](caf::error& err) {
              if (g->failed)
                return;
              g->failed = true;
              g->rp.deliver(std::move(err));
              self->quit();
            });
      }
      return g->rp;
    },
  };
}

}  // namespace nl::actors

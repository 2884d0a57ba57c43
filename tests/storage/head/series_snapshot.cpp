#define CAF_SUITE storage.head.series_snapshot
#include "test_support.hpp"

#include "storage/chunk/xor_chunk.hpp"
#include "storage/head/series_snapshot.hpp"

using namespace nl::storage;

namespace {

label_set ls(const std::string& v) { return label_set::from_unsorted({{"__name__", "m"}, {"i", v}}); }

std::shared_ptr<const xor_chunk> chunk_at(int64_t t0, int n) {
  xor_appender app;
  for (int i = 0; i < n; ++i)
    app.append(t0 + i * 1000, i);
  return app.cut();
}

series_snapshot snap(const std::string& v, int64_t t0) {
  series_snapshot s;
  s.labels = ls(v);
  s.chunks.push_back(chunk_at(t0, 3));
  return s;
}

std::vector<std::string> names(const series_page& p) {
  std::vector<std::string> out;
  for (const auto& s : p.series)
    out.emplace_back(s.labels.get("i"));
  return out;
}

}  // namespace

CAF_TEST(merged pages stop where a source with more stopped) {
  // Source a is complete; b stopped after "d" and c after "f": the union
  // is known up to "d" only.
  series_page a{{snap("a", 0), snap("c", 0), snap("e", 0), snap("g", 0)}, false};
  series_page b{{snap("b", 0), snap("d", 0)}, true};
  series_page c{{snap("c", 10000), snap("f", 0)}, true};
  auto m = merge_pages({a, b, c});
  CAF_CHECK(m.more);
  CAF_CHECK_EQUAL(names(m), (std::vector<std::string>{"a", "b", "c", "d"}));
  // "c" of a and c joined, chunks in time order.
  CAF_REQUIRE_EQUAL(m.series[2].chunks.size(), 2u);
  CAF_CHECK_EQUAL(m.series[2].chunks[0]->min_time(), 0);
  CAF_CHECK_EQUAL(m.series[2].chunks[1]->min_time(), 10000);
}

CAF_TEST(merged pages of complete sources are the whole answer) {
  series_page a{{snap("a", 0), snap("c", 0)}, false};
  series_page b{{snap("b", 0)}, false};
  series_page empty;
  auto m = merge_pages({a, b, empty});
  CAF_CHECK(!m.more);
  CAF_CHECK_EQUAL(names(m), (std::vector<std::string>{"a", "b", "c"}));
  CAF_CHECK(merge_pages({}).series.empty());
  // One source with more: all of it is kept (its last series is the bound).
  series_page only{{snap("x", 0), snap("y", 0)}, true};
  auto o = merge_pages({only, empty});
  CAF_CHECK(o.more);
  CAF_CHECK_EQUAL(names(o), (std::vector<std::string>{"x", "y"}));
}

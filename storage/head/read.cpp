// The read side of the head: everything a query takes away is copied
// (labels, the open chunk) or shared immutably (closed chunks), so results
// stay valid on other threads while the head appends.
#include <algorithm>
#include <iterator>

#include "storage/head/head.hpp"
#include "storage/label_key.hpp"

namespace nl::storage {

namespace {

// A series' closed chunks are in time order and never overlap: a sample is
// taken only after the series' newest one, and a chunk is cut before the
// sample that opens the next. So the chunks ending at or after mint are a
// suffix; finding it from the newest end touches only the chunks a query
// reads, not every chunk of every series (each a cache miss: ~6 % of an
// instant query over all series went to those headers).
closed_chunks::const_iterator ending_at_or_after(const closed_chunks& closed, int64_t mint) {
  auto first = closed.end();
  while (first != closed.begin() && (*std::prev(first))->max_time() >= mint)
    --first;
  return first;
}

}  // namespace

bool head::has_data_in(const mem_series& s, int64_t mint, int64_t maxt) const {
  if (const auto* xs = ooo_of(s)) {
    auto it = std::lower_bound(xs->begin(), xs->end(), mint, [](const ooo_sample& x, int64_t y) { return x.t < y; });
    if (it != xs->end() && it->t <= maxt)
      return true;
  }
  if (s.open.empty())
    return false;
  if (s.open.min_time() <= maxt && s.open.max_time() >= mint)
    return true;
  return std::any_of(ending_at_or_after(s.closed, mint), s.closed.end(),
                     [&](const auto& c) { return c->min_time() <= maxt; });
}

std::vector<const head::mem_series*> head::matching(const matcher_list& ms, int64_t mint,
                                                    int64_t maxt) const {
  std::vector<const mem_series*> out;
  if (series_.empty() || maxt < min_t_ || mint > max_t_)
    return out;
  for (uint64_t ref : postings_.select(ms)) {
    const auto* s = series_.find(ref);
    if (s != nullptr && has_data_in(*s, mint, maxt))
      out.push_back(s);
  }
  return out;
}

std::vector<const head::mem_series*> head::sorted_matching(const matcher_list& ms, int64_t mint,
                                                           int64_t maxt) const {
  auto out = matching(ms, mint, maxt);
  auto by_labels = [this](const mem_series* a, const mem_series* b) { return compare_labels(*a, *b) < 0; };
  // A few series (most queries): their labels compared directly.
  if (out.size() < 4096 || out.size() < pairs_.size()) {
    std::sort(out.begin(), out.end(), by_labels);
    return out;
  }
  // Many (a cut lists every series): each series gets a 128-bit key of
  // its first pairs' ranks, and only series with equal keys compare their
  // labels. Walking pair bytes at every step held a shard of 500 k series
  // for ~0.43 s per cut, with every append waiting behind it.
  const auto rank = pairs_.ranks();
  // Bits per rank: ranks run 1..pairs_.size(), and 0 stands for "no more
  // labels", so shorter sets come first.
  unsigned width = 1;
  while (width < 32 && (uint64_t{pairs_.size()} >> width) != 0)
    ++width;
  const unsigned per_word = 64 / width;
  struct keyed {
    uint64_t key[2];
    const mem_series* series;
  };
  std::vector<keyed> xs;
  xs.reserve(out.size());
  for (const auto* s : out) {
    keyed x{{0, 0}, s};
    std::string_view ids = s->ids();
    for (auto& word : x.key)
      for (unsigned i = 0; i < per_word; ++i) {
        uint64_t id = 0;
        const uint64_t r = !ids.empty() && get_uvarint(ids, id) ? rank[id] : 0;
        word = (word << width) | r;
      }
    xs.push_back(x);
  }
  std::sort(xs.begin(), xs.end(), [this](const keyed& a, const keyed& b) {
    if (a.key[0] != b.key[0])
      return a.key[0] < b.key[0];
    if (a.key[1] != b.key[1])
      return a.key[1] < b.key[1];
    return compare_labels(*a.series, *b.series) < 0;
  });
  for (size_t i = 0; i < xs.size(); ++i)
    out[i] = xs[i].series;
  return out;
}

postings_list head::matching_refs(const matcher_list& ms, int64_t mint, int64_t maxt) const {
  postings_list out;
  for (const auto* s : matching(ms, mint, maxt))
    out.push_back(s->ref);
  return out;
}

bool head::covers_everything(const matcher_list& ms, int64_t mint, int64_t maxt) const {
  // Then the index alone answers label queries, as Prometheus' head (and
  // each block) does: without matchers, every name of a head that
  // overlaps the range, whatever each series' own times (it may also name
  // series that have not got a sample yet).
  return ms.empty() && min_t_ <= max_t_ && mint <= max_t_ && maxt >= min_t_;
}

std::vector<series_snapshot> head::select(const matcher_list& ms, int64_t mint,
                                          int64_t maxt) const {
  std::vector<series_snapshot> out;
  select_within(ms, mint, maxt, UINT64_MAX, out);
  return out;
}

series_snapshot head::snapshot_of(const mem_series& s, int64_t mint, int64_t maxt) const {
  series_snapshot snap;
  snap.ref = s.ref;
  snap.labels = materialize(s);
  auto first = ending_at_or_after(s.closed, mint);
  snap.chunks.reserve(static_cast<size_t>(s.closed.end() - first) + 1);
  for (auto c = first; c != s.closed.end(); ++c)
    if ((*c)->min_time() <= maxt)
      snap.chunks.push_back(*c);
  if (!s.open.empty() && s.open.min_time() <= maxt && s.open.max_time() >= mint)
    snap.chunks.push_back(s.open.snapshot());
  if (ooo_of(s)) {
    ooo_chunks(s, mint, maxt, snap.chunks);
    std::stable_sort(snap.chunks.begin(), snap.chunks.end(),
                     [](const auto& a, const auto& b) { return a->min_time() < b->min_time(); });
  }
  return snap;
}

bool head::select_within(const matcher_list& ms, int64_t mint, int64_t maxt, uint64_t max_samples,
                         std::vector<series_snapshot>& out) const {
  auto found = sorted_matching(ms, mint, maxt);
  out.clear();
  out.reserve(found.size());
  const bool budgeted = max_samples != UINT64_MAX;
  uint64_t samples = 0;
  for (const auto* s : found) {
    auto snap = snapshot_of(*s, mint, maxt);
    if (budgeted) {
      for (const auto& c : snap.chunks)
        samples += estimate_samples_in(*c, mint, maxt);
      if (samples > max_samples)
        return false;
    }
    out.push_back(std::move(snap));
  }
  return true;
}

series_page head::select_page(const matcher_list& ms, int64_t mint, int64_t maxt, const page_limits& page) const {
  series_page out;
  // Every page matches afresh (no state is kept between pages) but sorts
  // only the series it takes: the cost of a page is one pass over the
  // matching series plus its own.
  auto found = matching(ms, mint, maxt);
  if (!page.after.empty()) {
    auto after = label_key(page.after);
    found.erase(std::remove_if(found.begin(), found.end(),
                               [&](const mem_series* s) { return compare_labels(*s, after) <= 0; }),
                found.end());
  }
  size_t n = std::min(found.size(), std::max<size_t>(page.max_series, 1));
  std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(n), found.end(),
                    [this](const mem_series* a, const mem_series* b) { return compare_labels(*a, *b) < 0; });
  size_t bytes = 0;
  for (size_t i = 0; i < n && (i == 0 || bytes < page.max_bytes); ++i) {
    out.series.push_back(snapshot_of(*found[i], mint, maxt));
    for (const auto& c : out.series.back().chunks)
      bytes += c->bytes().size();
  }
  out.more = out.series.size() < found.size();
  return out;
}

std::vector<uint64_t> head::sorted_refs(int64_t mint, int64_t maxt) const {
  auto found = sorted_matching({}, mint, maxt);
  std::vector<uint64_t> out;
  out.reserve(found.size());
  for (const auto* s : found)
    out.push_back(s->ref);
  return out;
}

std::vector<series_snapshot> head::read(const uint64_t* refs, size_t n, int64_t mint, int64_t maxt,
                                        uint64_t ooo_upto) const {
  std::vector<series_snapshot> out;
  out.reserve(n);
  std::vector<sample> xs;
  for (size_t i = 0; i < n; ++i) {
    const auto* p = series_.find(refs[i]);
    if (p == nullptr)
      continue;
    const auto& s = *p;
    series_snapshot snap;
    auto first = ending_at_or_after(s.closed, mint);
    for (auto c = first; c != s.closed.end(); ++c)
      if ((*c)->min_time() <= maxt)
        snap.chunks.push_back(*c);
    if (!s.open.empty() && s.open.min_time() <= maxt && s.open.max_time() >= mint)
      snap.chunks.push_back(s.open.snapshot());
    // A chunk sticks out only when the range does not end on a chunk
    // range boundary (a snapshot of a head still taking samples).
    for (auto& c : snap.chunks) {
      if (c->min_time() >= mint && c->max_time() <= maxt)
        continue;
      xs.clear();
      (void)c->decode(mint, maxt, xs);  // the head's own bytes
      xor_appender app;
      for (const auto& x : xs)
        app.append(x.t, x.v);
      c = app.empty() ? nullptr : app.cut();
    }
    snap.chunks.erase(std::remove(snap.chunks.begin(), snap.chunks.end(), nullptr), snap.chunks.end());
    if (ooo_of(s)) {
      ooo_chunks(s, mint, maxt, snap.chunks, ooo_upto);
      std::stable_sort(snap.chunks.begin(), snap.chunks.end(),
                       [](const auto& a, const auto& b) { return a->min_time() < b->min_time(); });
    }
    if (snap.chunks.empty())
      continue;
    snap.ref = s.ref;
    snap.labels = materialize(s);
    out.push_back(std::move(snap));
  }
  return out;
}

void head::ooo_chunks(const mem_series& s, int64_t mint, int64_t maxt,
                      std::vector<std::shared_ptr<const chunk>>& out, uint64_t upto) const {
  const auto& xs = *ooo_of(s);
  auto it = std::lower_bound(xs.begin(), xs.end(), mint, [](const ooo_sample& x, int64_t y) { return x.t < y; });
  xor_appender app;
  constexpr uint16_t per_chunk = 120;
  for (; it != xs.end() && it->t <= maxt; ++it) {
    if (it->seq > upto)
      continue;
    if (app.num_samples() >= per_chunk)
      out.push_back(app.cut());
    app.append(it->t, float_from_bits(it->bits));
  }
  if (!app.empty())
    out.push_back(app.cut());
}

std::vector<label_set> head::series(const matcher_list& ms, int64_t mint, int64_t maxt) const {
  auto found = sorted_matching(ms, mint, maxt);
  std::vector<label_set> out;
  out.reserve(found.size());
  for (const auto* s : found)
    out.push_back(materialize(*s));
  return out;
}

std::vector<std::string> head::label_names(const matcher_list& ms, int64_t mint,
                                           int64_t maxt) const {
  if (covers_everything(ms, mint, maxt))
    return postings_.label_names();
  return postings_.label_names(matching_refs(ms, mint, maxt));
}

std::vector<std::string> head::label_values(std::string_view name, const matcher_list& ms,
                                            int64_t mint, int64_t maxt) const {
  if (covers_everything(ms, mint, maxt))
    return postings_.label_values(name);
  return postings_.label_values(name, matching_refs(ms, mint, maxt));
}

}  // namespace nl::storage

// -- status ---------------------------------------------------------------------

namespace nl::storage {

head_cardinality head::cardinality() const {
  head_cardinality out;
  out.num_series = series_.size();
  out.num_chunks = stats().chunks;
  out.min_time = min_t_;
  out.max_time = max_t_;
  // The index's own names and values come sorted; a value whose list has
  // gone empty is no pair of any series (Prometheus drops such lists).
  auto names = postings_.label_names();
  out.labels.reserve(names.size());
  for (auto& name : names) {
    label_value_counts lc;
    auto values = postings_.label_values(name);
    lc.values.reserve(values.size());
    lc.series.reserve(values.size());
    for (auto& v : values) {
      size_t n = postings_.count(name, v);
      if (n == 0)
        continue;
      lc.series.push_back(n);
      lc.values.push_back(std::move(v));
    }
    if (lc.values.empty())
      continue;
    lc.name = std::move(name);
    out.labels.push_back(std::move(lc));
  }
  return out;
}

}  // namespace nl::storage

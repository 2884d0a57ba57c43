#include "actors/head_block.hpp"

#include <algorithm>

#include "actors/log.hpp"
#include "storage/wal/records.hpp"

namespace nl::actors {

namespace {

using self_ptr = head_block_actor::stateful_pointer<head_block_state>;
using storage::status;

reject_reason reason_of(const status& st) {
  switch (st.error_code()) {
    case status::code::out_of_order:
      return reject_reason::out_of_order;
    case status::code::duplicate_sample:
      return reject_reason::duplicate;
    default:
      return reject_reason::out_of_bounds;
  }
}

// R: append_result, or append_part for one write of a merged batch.
template <class R>
void note_error(R& res, const std::string& what, const storage::head& h, const storage::head::series_slot& slot) {
  if (res.errors.size() < append_error_examples)
    res.errors.push_back(what + " for series " + h.labels_of(slot).to_string());
}

shard_stats stats_of(const storage::head& h) {
  shard_stats st;
  st.num_series = h.num_series();
  st.num_samples = h.num_samples();
  st.min_time = h.min_time();
  st.max_time = h.max_time();
  return st;
}

// Merges per-selector answers: sorted, distinct.
template <class T>
void sort_unique(std::vector<T>& xs) {
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
}

// Runs `fn(matchers)` once per selector of `q` (once with no matchers when
// there are none) and collects the results. The head answers each one
// sorted and distinct, so only a union of several needs sorting.
template <class T, class Fn>
caf::result<T> per_selector(const meta_query& q, Fn fn) {
  T out;
  if (q.selectors.empty()) {
    fn(storage::matcher_list{}, out.items);
  } else {
    for (auto& sel : q.selectors)
      fn(sel, out.items);
  }
  if (q.selectors.size() > 1)
    sort_unique(out.items);
  return out;
}

// Adds the change in the head's chunk count since the last call to
// nightlight_head_chunks. Counting the open chunks walks every series, so
// this runs when the compactor asks for the shard's stats (at least once
// a minute) and after a truncation, not per batch.
void publish_chunks(self_ptr self) {
  auto& st = self->state;
  const uint64_t now = st.head->stats().chunks;
  if (auto* m = st.opts.stats; m && now != st.published_chunks)
    m->head_chunks.fetch_add(static_cast<int64_t>(now) - static_cast<int64_t>(st.published_chunks),
                             std::memory_order_relaxed);
  st.published_chunks = now;
}

// The WAL has the batch's records: append the staged samples and answer.
void wal_done(self_ptr self, wal_wait& w) {
  for (auto ref : w.logged_series)
    self->state.unlogged_series.erase(ref);
  auto& head = *self->state.head;
  auto* m = self->state.opts.stats;
  // The series were last touched when the batch was staged, long enough
  // ago to be out of the cache: fetch a few samples ahead, series first,
  // then (once it is in) its chunk.
  const uint64_t ooo_before = head.ooo_appended();
  constexpr size_t series_ahead = 8;
  constexpr size_t chunk_ahead = 4;
  const size_t n = w.samples.size();
  size_t part = 0;
  for (size_t i = 0; i < n; ++i) {
    while (part < w.part_sample_ends.size() && w.part_sample_ends[part] <= i)
      ++part;
    append_part* part_res = w.res.parts.empty() ? nullptr : &w.res.parts[part];
    if (i + series_ahead < n)
      head.prefetch_series(w.samples[i + series_ahead].slot);
    if (i + chunk_ahead < n)
      head.prefetch_chunk(w.samples[i + chunk_ahead].slot);
    auto& x = w.samples[i];
    auto st = head.append_staged(x.slot, x.t, x.v);
    if (st) {
      w.res.accepted += 1;
      if (part_res)
        part_res->accepted += 1;
    } else {
      // Cannot happen when staging is right; count it honestly.
      w.res.rejected += 1;
      if (part_res)
        part_res->rejected += 1;
      if (m)
        m->count_rejected(reason_of(st));
    }
  }
  if (m) {
    m->samples_appended.fetch_add(w.res.accepted, std::memory_order_relaxed);
    m->ooo_samples_appended.fetch_add(head.ooo_appended() - ooo_before, std::memory_order_relaxed);
  }
  w.rp.deliver(std::move(w.res));
}

// The WAL failed, or refused the batch because it could not start it in
// time: nothing of the batch is durable or acknowledged.
void wal_failed(self_ptr self, wal_wait& w, const caf::error& err) {
  log_warn("head shard " + std::to_string(self->state.opts.shard)
           + ": WAL write failed: " + self->system().render(err));
  for (auto& x : w.samples)
    self->state.head->unstage(x.slot);
  w.rp.deliver(err);
}

// Samples of one series out of order within one request are stored in
// time order (Prometheus 2.42 drops all but the in-order ones): sorts
// [begin, end) of the batch by time, stably, so a repeated timestamp keeps
// its order (the first is stored, a different value after it is refused
// as a duplicate).
void sort_by_time(append_batch& b, size_t begin, size_t end) {
  auto ts = b.timestamps.begin();
  if (std::is_sorted(ts + static_cast<std::ptrdiff_t>(begin), ts + static_cast<std::ptrdiff_t>(end)))
    return;
  std::vector<std::pair<int64_t, uint64_t>> xs;
  xs.reserve(end - begin);
  for (size_t j = begin; j < end; ++j)
    xs.emplace_back(b.timestamps[j], b.value_bits[j]);
  std::stable_sort(xs.begin(), xs.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  for (size_t j = begin; j < end; ++j) {
    b.timestamps[j] = xs[j - begin].first;
    b.value_bits[j] = xs[j - begin].second;
  }
}

constexpr uint64_t numbering_idle_batches = uint64_t{1} << 16;

// Notes that `slot` of a numbering is the series `ref` with label hash
// `hash`. Slots come only from this node's gateway (a batch from the wire
// carrying them is refused) and are dense per shard, so the table grows to
// at most the session's series of this shard, gaps included (slots of
// batches the gateway numbered but refused).
void remember(std::vector<head_block_state::numbered_series>& known, uint32_t slot, uint64_t ref, uint64_t hash) {
  if (slot >= known.size())
    known.resize(size_t{slot} + 1);
  known[slot] = {ref, hash};
}

// The series `batch`'s numbering slots stand for in this shard (see
// head_block_state::numberings), or null: the batch has no numbering, or
// the shard keeps none.
std::vector<head_block_state::numbered_series>* numbered_series_of(self_ptr self, const append_batch& batch) {
  auto& s = self->state;
  if (batch.numbering == 0 || batch.numbered_slots.size() != batch.num_series() || s.opts.max_numberings == 0)
    return nullptr;
  const uint64_t sender = self->current_sender() ? self->current_sender()->id() : 0;
  const uint64_t now = ++s.numbered_batches;
  // A numbering whose link session ended is never named again: dropped
  // once idle for that many batches, or as the least recently used.
  s.numberings.erase(std::remove_if(s.numberings.begin(), s.numberings.end(),
                                    [now](const auto& n) { return now - n.last_used > numbering_idle_batches; }),
                     s.numberings.end());
  for (auto& n : s.numberings)
    if (n.sender == sender && n.id == batch.numbering) {
      n.last_used = now;
      return &n.series;
    }
  if (s.numberings.size() >= s.opts.max_numberings)
    s.numberings.erase(std::min_element(s.numberings.begin(), s.numberings.end(),
                                        [](const auto& a, const auto& b) { return a.last_used < b.last_used; }));
  s.numberings.push_back({sender, batch.numbering, now, {}});
  return &s.numberings.back().series;
}

caf::result<append_result> append(self_ptr self, append_batch& batch) {
  auto& s = self->state;
  auto& head = *s.head;
  auto* m = s.opts.stats;
  append_result res;
  if (batch.observed_max_t != INT64_MIN)
    head.observe_time(batch.observed_max_t);
  // Built in place: a series record for the series this batch creates and
  // a samples record for the samples that pass the checks.
  wal_batch wb;
  wb.records.resize(2);
  auto& series_rec = wb.records[0];
  series_rec.push_back(static_cast<char>(storage::wal_record_type::series));
  storage::samples_record_writer samples_rec(wb.records[1], batch.num_samples());
  auto w = std::make_shared<wal_wait>();
  auto& staged = w->samples;
  staged.reserve(batch.num_samples());
  // A merged batch answers each write in it on its own (res.parts).
  const auto& part_ends = batch.part_ends;
  res.parts.resize(part_ends.size());
  size_t part = 0;
  auto end_parts_before = [&](size_t series) {
    for (; part < part_ends.size() && part_ends[part] <= series; ++part)
      w->part_sample_ends.push_back(staged.size());
  };
  size_t begin = 0;
  const size_t n = batch.num_series();
  // Series a peer's numbering named before: found by ref, all at once, so
  // that the misses on their series overlap; the others by label key.
  // The hash must agree too: a slot that a bug paired with another key
  // falls back to the key instead of misfiling its samples.
  auto* known = numbered_series_of(self, batch);
  std::vector<std::optional<storage::head::series_slot>> found;
  if (known) {
    found.resize(n);
    const auto& slots = batch.numbered_slots;
    for (size_t i = 0; i < n; ++i) {
      if (slots[i] >= known->size())
        continue;
      const auto& x = (*known)[slots[i]];
      if (x.ref == 0 || x.hash != batch.hashes[i])
        continue;
      found[i] = head.slot_of(x.ref);
      if (found[i])
        head.prefetch_series(*found[i]);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    end_parts_before(i);
    append_part* part_res = part_ends.empty() ? nullptr : &res.parts[part];
    // Nearly every lookup misses the cache: the hash slots of the next
    // `lookahead` series are all fetched at once, so that their misses
    // overlap (bench/head_lookup_bench, cold batches: 172 ns a lookup
    // against 228-245 ns fetching 2-16 series ahead, 458 ns not at all).
    constexpr size_t lookahead = 256;
    if (i % lookahead == 0)
      for (size_t k = i; k < std::min(n, i + lookahead); ++k)
        if (!known || !found[k])
          head.prefetch_lookup(batch.hashes[k]);
    size_t end = batch.ends[i];
    auto slot = known && found[i] ? storage::result<storage::head::series_slot>{*found[i]}
                                  : head.get_or_create(batch.hashes[i], batch.key(i));
    if (known && !found[i] && slot)
      remember(*known, batch.numbered_slots[i], slot->ref(), batch.hashes[i]);
    if (!slot) {
      // Batches are built by the frontend or validated when loaded, so
      // this is a bug elsewhere: refuse the samples rather than guess.
      auto refuse = [&](auto& r) {
        r.rejected += end - begin;
        if (r.errors.size() < append_error_examples)
          r.errors.push_back(slot.error().message());
      };
      refuse(res);
      if (part_res)
        refuse(*part_res);
      begin = end;
      continue;
    }
    sort_by_time(batch, begin, end);
    if (slot->created()) {
      s.unlogged_series.insert(slot->ref());
      if (m)
        m->head_series.fetch_add(1, std::memory_order_relaxed);
    }
    if (!s.unlogged_series.empty() && s.unlogged_series.count(slot->ref()) != 0) {
      storage::append_series_entry(series_rec, slot->ref(), batch.key(i));
      w->logged_series.push_back(slot->ref());
    }
    for (size_t j = begin; j < end; ++j) {
      int64_t t = batch.timestamps[j];
      double v = storage::float_from_bits(batch.value_bits[j]);
      auto st = head.stage(*slot, t, v);
      if (!st) {
        res.rejected += 1;
        note_error(res, st.message(), head, *slot);
        if (part_res) {
          part_res->rejected += 1;
          note_error(*part_res, st.message(), head, *slot);
        }
        if (m)
          m->count_rejected(reason_of(st));
        continue;
      }
      samples_rec.add(slot->ref(), t, batch.value_bits[j]);
      staged.push_back({*slot, t, v});
      wb.max_time = std::max(wb.max_time, t);
    }
    begin = end;
  }
  end_parts_before(n + 1);
  // A created series is logged even when all its samples were refused:
  // later batches log samples of it without repeating the series record.
  if (staged.empty())
    wb.records.pop_back();
  if (series_rec.size() == 1)
    wb.records.erase(wb.records.begin());
  if (wb.records.empty())
    return res;
  w->rp = self->make_response_promise<append_result>();
  w->res = std::move(res);
  wb.group = batch.write_id;
  wb.deadline = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  (self->clock().now() + s.opts.wal_timeout).time_since_epoch())
                  .count();
  // No timeout here: the WAL writer always answers, refusing the batch if
  // it could not start it before the deadline. A request that gave up
  // waiting could not tell whether its samples became durable anyway.
  self->request(s.wal, caf::infinite, wal_write_atom_v, std::move(wb))
    .then([self, w](uint64_t) { wal_done(self, *w); },
          [self, w](caf::error& err) { wal_failed(self, *w, err); });
  return w->rp;
}

// The admin API's deletion: logged first, applied when the WAL has it, so
// the head and a replay of the WAL agree on which samples went (those
// logged before the record, appended to the head before its reply).
caf::result<uint64_t> delete_series(self_ptr self, const series_deletion& d) {
  auto& head = *self->state.head;
  std::vector<storage::tombstone_record> stones;
  for (const auto& sel : d.selectors) {
    auto xs = head.deletion_ranges(sel, d.mint, d.maxt);
    stones.insert(stones.end(), xs.begin(), xs.end());
  }
  if (stones.empty())
    return uint64_t{0};
  wal_batch wb;
  wb.records.emplace_back();
  storage::encode_tombstone_records(stones, wb.records.back());
  auto rp = self->make_response_promise<uint64_t>();
  self->request(self->state.wal, caf::infinite, wal_write_atom_v, std::move(wb))
    .then(
      [self, rp, stones](uint64_t) mutable {
        auto n = self->state.head->delete_ranges(stones);
        log_info("head shard " + std::to_string(self->state.opts.shard) + ": deleted " + std::to_string(n)
                 + " samples of " + std::to_string(stones.size()) + " series");
        rp.deliver(n);
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

// Lists the series with data in [mint, maxt] for head_page.
head_cursor list_series(self_ptr self, int64_t mint, int64_t maxt, uint64_t ooo_upto) {
  auto& s = self->state;
  head_block_state::listing l;
  l.id = ++s.listings;
  l.mint = mint;
  l.maxt = maxt;
  l.ooo_upto = ooo_upto;
  l.refs = s.head->sorted_refs(mint, maxt);
  head_cursor c{l.id, l.refs.size(), mint, maxt};
  s.pages = std::move(l);
  return c;
}

caf::result<select_result> page(self_ptr self, uint64_t id, uint64_t start, uint64_t count) {
  auto& s = self->state;
  if (!s.pages || s.pages->id != id)
    return caf::make_error(caf::sec::invalid_argument,
                           "head shard " + std::to_string(s.opts.shard) + ": no listing " + std::to_string(id)
                             + " (ended, replaced or truncated)");
  auto& l = *s.pages;
  if (start > l.refs.size())
    return caf::make_error(caf::sec::invalid_argument, "head page past the end of the listing");
  size_t n = static_cast<size_t>(std::min<uint64_t>(count, l.refs.size() - start));
  auto out = to_select_result(s.head->read(l.refs.data() + start, n, l.mint, l.maxt, l.ooo_upto));
  if (start + n >= l.refs.size())
    s.pages.reset();
  return out;
}

}  // namespace

caf::error too_many_samples_error() {
  return caf::make_error(error_code::too_many_samples,
                         "query processing would load too many samples into memory in query execution");
}

select_result to_select_result(std::vector<storage::series_snapshot> snaps) {
  select_result out;
  out.series.reserve(snaps.size());
  for (auto& snap : snaps) {
    series_data sd;
    sd.labels = std::move(snap.labels);
    sd.chunks.reserve(snap.chunks.size());
    for (auto& c : snap.chunks)
      sd.chunks.push_back({std::move(c)});
    out.series.push_back(std::move(sd));
  }
  return out;
}

std::vector<storage::series_snapshot> to_snapshots(select_result r) {
  std::vector<storage::series_snapshot> out;
  out.reserve(r.series.size());
  for (auto& sd : r.series) {
    storage::series_snapshot s;
    s.labels = std::move(sd.labels);
    s.chunks.reserve(sd.chunks.size());
    for (auto& c : sd.chunks)
      s.chunks.push_back(std::move(c.chunk));
    out.push_back(std::move(s));
  }
  return out;
}

head_block_actor::behavior_type head_block(self_ptr self, std::shared_ptr<storage::head> head,
                                           wal_writer_actor wal, head_block_options opts) {
  self->state.head = std::move(head);
  self->state.wal = std::move(wal);
  self->state.opts = opts;
  return {
    [=](append_atom, append_batch& batch) { return append(self, batch); },
    [=](select_atom, const select_request& req) -> caf::result<select_result> {
      if (req.paged()) {
        auto page = self->state.head->select_page(req.matchers, req.mint, req.maxt, req.page());
        auto out = to_select_result(std::move(page.series));
        out.more = page.more;
        return out;
      }
      std::vector<storage::series_snapshot> snaps;
      uint64_t budget = req.max_samples == 0 ? UINT64_MAX : req.max_samples;
      if (!self->state.head->select_within(req.matchers, req.mint, req.maxt, budget, snaps))
        return too_many_samples_error();
      return to_select_result(std::move(snaps));
    },
    [=](cut_atom, int64_t mint, int64_t maxt) {
      auto& h = *self->state.head;
      h.raise_min_valid_time(maxt + 1);
      // Out-of-order samples stored from now on may fall into the window
      // too: the block leaves them out and the truncation keeps them.
      self->state.cut_ooo_sequence = h.ooo_sequence();
      return list_series(self, mint, maxt, h.ooo_sequence());
    },
    [=](read_head_atom) {
      auto& h = *self->state.head;
      return list_series(self, h.min_time(), h.max_time(), h.ooo_sequence());
    },
    [=](head_page_atom, uint64_t id, uint64_t start, uint64_t count) { return page(self, id, start, count); },
    [=](truncate_atom, int64_t t) {
      self->state.pages.reset();
      auto& h = *self->state.head;
      auto removed = h.truncate(t, self->state.cut_ooo_sequence);
      if (auto* m = self->state.opts.stats)
        m->head_series.fetch_sub(static_cast<int64_t>(removed), std::memory_order_relaxed);
      publish_chunks(self);
      return stats_of(h);
    },
    [=](series_records_atom) {
      series_records r;
      r.count = self->state.head->series_entries(r.entries);
      return r;
    },
    [=](cardinality_atom) { return self->state.head->cardinality(); },
    [=](delete_series_atom, const series_deletion& d) { return delete_series(self, d); },
    [=](series_atom, const meta_query& q) {
      return per_selector<series_list>(q, [&](const storage::matcher_list& ms, auto& items) {
        auto xs = self->state.head->series(ms, q.mint, q.maxt);
        items.insert(items.end(), std::make_move_iterator(xs.begin()), std::make_move_iterator(xs.end()));
      });
    },
    [=](label_names_atom, const meta_query& q) {
      return per_selector<string_list>(q, [&](const storage::matcher_list& ms, auto& items) {
        auto xs = self->state.head->label_names(ms, q.mint, q.maxt);
        items.insert(items.end(), xs.begin(), xs.end());
      });
    },
    [=](label_values_atom, const meta_query& q) {
      return per_selector<string_list>(q, [&](const storage::matcher_list& ms, auto& items) {
        auto xs = self->state.head->label_values(q.label_name, ms, q.mint, q.maxt);
        items.insert(items.end(), xs.begin(), xs.end());
      });
    },
    [=](stats_atom) {
      publish_chunks(self);
      return stats_of(*self->state.head);
    },
  };
}

}  // namespace nl::actors

#include "actors/head_block.hpp"

#include <algorithm>

#include "actors/log.hpp"
#include "storage/wal_records.hpp"

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

// Like head::appendable, but a sample staged by an earlier batch (accepted,
// waiting for the WAL) counts as the series' newest sample.
status check(const head_block_state& s, uint64_t ref, int64_t t, double v) {
  auto it = s.staging.find(ref);
  if (it != s.staging.end()) {
    if (t < it->second.t)
      return status::out_of_order("out of order sample");
    if (t == it->second.t)
      return it->second.bits == storage::float_bits(v)
               ? status::ok()
               : status::duplicate_sample("duplicate sample for timestamp");
  }
  return s.head->appendable(ref, t, v);
}

void note_error(append_result& res, const std::string& what, const storage::label_set& ls) {
  if (res.errors.size() < append_error_examples)
    res.errors.push_back(what + " for series " + ls.to_string());
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
    for (auto& sel : q.selectors) {
      auto ms = compile_selector(sel);
      if (!ms)
        return caf::make_error(caf::sec::invalid_argument, ms.error().message());
      fn(*ms, out.items);
    }
  }
  if (q.selectors.size() > 1)
    sort_unique(out.items);
  return out;
}

caf::result<append_result> append(self_ptr self, append_batch& batch) {
  auto& s = self->state;
  auto* m = s.opts.stats;
  append_result res;
  if (batch.observed_max_t != INT64_MIN)
    s.head->observe_time(batch.observed_max_t);
  std::vector<storage::series_record> new_series;
  std::vector<storage::sample_record> samples;
  samples.reserve(batch.num_samples());
  size_t begin = 0;
  for (size_t i = 0; i < batch.series.size(); ++i) {
    auto& ls = batch.series[i];
    size_t end = batch.ends[i];
    auto [ref, created] = s.head->get_or_create(ls);
    if (created) {
      new_series.push_back({ref, ls});
      if (m)
        m->head_series.fetch_add(1, std::memory_order_relaxed);
    }
    for (size_t j = begin; j < end; ++j) {
      int64_t t = batch.timestamps[j];
      double v = storage::float_from_bits(batch.value_bits[j]);
      auto st = check(s, ref, t, v);
      if (!st) {
        res.rejected += 1;
        note_error(res, st.message(), ls);
        if (m)
          m->count_rejected(reason_of(st));
        continue;
      }
      auto& stg = s.staging[ref];
      if (stg.count == 0 || t > stg.t) {
        stg.t = t;
        stg.bits = batch.value_bits[j];
      }
      stg.count += 1;
      samples.push_back({ref, t, v});
    }
    begin = end;
  }
  if (new_series.empty() && samples.empty())
    return res;
  // A created series is logged even when all its samples were refused:
  // later batches log samples of it without repeating the series record.
  wal_batch wb;
  if (!new_series.empty()) {
    wb.records.emplace_back();
    storage::encode_series(new_series, wb.records.back());
  }
  if (!samples.empty()) {
    wb.records.emplace_back();
    storage::encode_samples(samples, wb.records.back());
  }
  auto rp = self->make_response_promise<append_result>();
  auto unstage = [self](const std::vector<storage::sample_record>& xs) {
    for (auto& x : xs) {
      auto it = self->state.staging.find(x.ref);
      if (it != self->state.staging.end() && --it->second.count == 0)
        self->state.staging.erase(it);
    }
  };
  self->request(s.wal, s.opts.wal_timeout, wal_write_atom_v, std::move(wb))
    .then(
      [self, rp, res, samples = std::move(samples), unstage](uint64_t) mutable {
        auto* m = self->state.opts.stats;
        for (auto& x : samples) {
          auto st = self->state.head->append(x.ref, x.t, x.v);
          if (st) {
            res.accepted += 1;
          } else {
            // Cannot happen when staging is right; count it honestly.
            res.rejected += 1;
            if (m)
              m->count_rejected(reason_of(st));
          }
        }
        if (m)
          m->samples_appended.fetch_add(res.accepted, std::memory_order_relaxed);
        unstage(samples);
        rp.deliver(std::move(res));
      },
      [self, rp, samples, unstage](caf::error& err) mutable {
        log_warn("head shard " + std::to_string(self->state.opts.shard)
                 + ": WAL write failed: " + self->system().render(err));
        unstage(samples);
        rp.deliver(std::move(err));
      });
  return rp;
}

}  // namespace

storage::result<storage::matcher_list> compile_selector(const selector& sel) {
  storage::matcher_list ms;
  ms.reserve(sel.size());
  for (auto& spec : sel) {
    if (spec.type > 3)
      return status::invalid_argument("unknown matcher type " + std::to_string(spec.type));
    auto m = storage::matcher::make(static_cast<storage::match_type>(spec.type), spec.name, spec.value);
    if (!m)
      return m.error();
    ms.push_back(std::move(*m));
  }
  return ms;
}

head_block_actor::behavior_type head_block(self_ptr self, std::shared_ptr<storage::head> head,
                                           wal_writer_actor wal, head_block_options opts) {
  self->state.head = std::move(head);
  self->state.wal = std::move(wal);
  self->state.opts = opts;
  return {
    [=](append_atom, append_batch& batch) { return append(self, batch); },
    [=](select_atom, const select_request& req) -> caf::result<select_result> {
      auto ms = compile_selector(req.matchers);
      if (!ms)
        return caf::make_error(caf::sec::invalid_argument, ms.error().message());
      auto snaps = self->state.head->select(*ms, req.mint, req.maxt);
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
    },
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
      auto& h = *self->state.head;
      shard_stats st;
      st.num_series = h.num_series();
      st.num_samples = h.stats().samples_appended;
      st.min_time = h.min_time();
      st.max_time = h.max_time();
      return st;
    },
  };
}

}  // namespace nl::actors

#include "actors/messages.hpp"

#include <algorithm>

#include "storage/coding.hpp"
#include "storage/label_key.hpp"

namespace nl::actors {

void append_batch::add_sample(int64_t t, uint64_t bits) {
  timestamps.push_back(t);
  value_bits.push_back(bits);
  ends.back() = static_cast<uint32_t>(timestamps.size());
}

caf::error series_records::validate() const {
  std::string_view in = entries;
  uint64_t n = 0;
  while (!in.empty()) {
    uint64_t ref = 0;
    std::string_view key;
    if (!storage::get_uvarint(in, ref))
      return caf::make_error(caf::sec::invalid_argument, "series_records: truncated entry");
    if (auto st = storage::next_label_key(in, key); !st)
      return caf::make_error(caf::sec::invalid_argument, "series_records: " + st.message());
    ++n;
  }
  if (n != count)
    return caf::make_error(caf::sec::invalid_argument, "series_records: " + std::to_string(n)
                                                         + " entries, " + std::to_string(count) + " announced");
  return caf::none;
}

caf::error metadata_records::validate() const {
  std::vector<storage::metadata_record> xs;
  if (auto st = storage::decode_metadata_entries(entries, xs); !st)
    return caf::make_error(caf::sec::invalid_argument, "metadata_records: " + st.message());
  if (xs.size() != count)
    return caf::make_error(caf::sec::invalid_argument, "metadata_records: " + std::to_string(xs.size())
                                                         + " entries, " + std::to_string(count) + " announced");
  return caf::none;
}

namespace {

// What is wrong with part_ends from a peer for a batch of `num_series`
// series ("": nothing). Every write a link merges has series, so the ends
// rise strictly, and there are at most as many parts as series.
std::string check_part_ends(const std::vector<uint32_t>& part_ends, size_t num_series) {
  if (part_ends.empty())
    return {};
  uint32_t prev = 0;
  for (auto e : part_ends) {
    if (e <= prev)
      return "write parts empty or out of order";
    prev = e;
  }
  if (prev != num_series)
    return "write parts do not end with the last series";
  return {};
}

}  // namespace

namespace {

template <class R>
void add_to(R& into, R&& r) {
  into.accepted += r.accepted;
  into.rejected += r.rejected;
  for (auto& e : r.errors)
    if (into.errors.size() < append_error_examples)
      into.errors.push_back(std::move(e));
}

}  // namespace

void append_part::add(append_part&& r) { add_to(*this, std::move(r)); }

void append_result::add(append_result&& r) { add_to(*this, std::move(r)); }

caf::error append_batch::validate_and_rehash() {
  auto bad = [](std::string what) {
    return caf::make_error(error_code::bad_input, "append_batch: " + std::move(what));
  };
  if (ends.size() != key_ends.size())
    return bad("series and sample ranges disagree");
  if (timestamps.size() != value_bits.size())
    return bad("timestamps and values disagree");
  if (keys.size() > UINT32_MAX || timestamps.size() > UINT32_MAX)
    return bad("too large");
  uint32_t prev_end = 0;
  for (auto e : ends) {
    if (e < prev_end || e > timestamps.size())
      return bad("sample range out of order or past the end");
    prev_end = e;
  }
  if (prev_end != timestamps.size())
    return bad("samples after the last series");
  hashes.resize(key_ends.size());
  uint32_t begin = 0;
  for (size_t i = 0; i < key_ends.size(); ++i) {
    if (key_ends[i] < begin || key_ends[i] > keys.size())
      return bad("key range out of order or past the end");
    std::string_view in = std::string_view{keys}.substr(begin, key_ends[i] - begin);
    std::string_view key;
    if (auto st = storage::next_label_key(in, key, hashes[i]); !st)
      return bad(st.message());
    if (!in.empty() || key.size() < 2)  // trailing bytes, or no labels
      return bad("series " + std::to_string(i) + " is not exactly one non-empty label key");
    begin = key_ends[i];
  }
  if (begin != keys.size())
    return bad("key bytes after the last series");
  if (auto err = check_part_ends(part_ends, key_ends.size()); !err.empty())
    return bad(err);
  // Slots name series only within a node (gateway to its shards).
  if (numbering != 0 || !numbered_slots.empty())
    return bad("series slots do not cross nodes");
  return caf::none;
}

void link_batch::set_columns(const std::vector<uint32_t>& refs, const append_batch& b) {
  num_series = static_cast<uint32_t>(b.num_series());
  num_samples = static_cast<uint32_t>(b.num_samples());
  columns.resize(column_bytes(num_series, num_samples));
  char* p = columns.data();
  if (num_series > 0) {
    std::memcpy(p, refs.data(), 4 * refs.size());
    std::memcpy(p + 4 * num_series, b.ends.data(), 4 * b.ends.size());
  }
  if (num_samples > 0) {
    std::memcpy(p + 8 * num_series, b.timestamps.data(), 8 * b.timestamps.size());
    std::memcpy(p + 8 * (size_t{num_series} + num_samples), b.value_bits.data(), 8 * b.value_bits.size());
  }
  observed_max_t = b.observed_max_t;
  write_id = b.write_id;
  deadline_unix_ms = b.deadline_unix_ms;
  part_ends = b.part_ends;
}

caf::error link_batch::validate() const {
  auto bad = [](std::string what) {
    return caf::make_error(error_code::bad_input, "link_batch: " + std::move(what));
  };
  if (columns.size() != column_bytes(num_series, num_samples))
    return bad("columns of " + std::to_string(columns.size()) + " bytes for " + std::to_string(num_series)
               + " series and " + std::to_string(num_samples) + " samples");
  if (session == 0)
    return bad("no session");
  uint32_t prev_end = 0;
  uint64_t known = uint64_t{first_new} + new_count;
  for (size_t i = 0; i < num_series; ++i) {
    if (end(i) < prev_end || end(i) > num_samples)
      return bad("sample range out of order or past the end");
    prev_end = end(i);
    if (ref(i) >= known)
      return bad("series number " + std::to_string(ref(i)) + " is not numbered (the batch numbers up to "
                 + std::to_string(known) + ")");
  }
  if (prev_end != num_samples)
    return bad("samples after the last series");
  if (auto err = check_part_ends(part_ends, num_series); !err.empty())
    return bad(err);
  return caf::none;
}

}  // namespace nl::actors

namespace nl::actors {

query_answer_columns query_answer_columns::of(const query_answer& a) {
  query_answer_columns c;
  c.kind = static_cast<uint8_t>(a.value.index());
  c.warnings = a.warnings;
  std::visit(
    [&](const auto& v) {
      using T = std::decay_t<decltype(v)>;
      if constexpr (std::is_same_v<T, promql::scalar>) {
        c.t = v.t;
        c.bits = storage::float_bits(v.v);
      } else if constexpr (std::is_same_v<T, promql::string_value>) {
        c.t = v.t;
        c.text = v.v;
      } else if constexpr (std::is_same_v<T, promql::vector>) {
        for (const auto& s : v) {
          c.labels.push_back(s.labels);
          c.times.push_back(s.t);
          c.values.push_back(storage::float_bits(s.v));
        }
      } else {
        for (const auto& s : v) {
          c.labels.push_back(s.labels);
          for (const auto& p : s.points) {
            c.times.push_back(p.t);
            c.values.push_back(storage::float_bits(p.v));
          }
          c.ends.push_back(c.times.size());
        }
      }
    },
    a.value);
  if (a.stats) {
    const auto& st = *a.stats;
    c.stats_counts = {st.samples.total, st.samples.peak, st.per_step ? 1 : 0, st.start, st.interval};
    c.stats_counts.insert(c.stats_counts.end(), st.samples.per_step.begin(), st.samples.per_step.end());
    c.stats_times = {st.eval_total, st.result_sort, st.query_preparation, st.inner_eval, st.exec_queue,
                     st.exec_total};
  }
  return c;
}

caf::error query_answer_columns::to(query_answer& out) && {
  auto bad = [](const char* why) {
    return caf::make_error(error_code::bad_input, std::string("query_answer: ") + why);
  };
  if (times.size() != values.size())
    return bad("times and values differ in length");
  switch (kind) {
    case 0:
      out.value = promql::scalar{t, storage::float_from_bits(bits)};
      break;
    case 1: {
      if (labels.size() != times.size())
        return bad("vector labels and samples differ in length");
      promql::vector v(labels.size());
      for (size_t i = 0; i < v.size(); ++i)
        v[i] = promql::sample{std::move(labels[i]), times[i], storage::float_from_bits(values[i])};
      out.value = std::move(v);
      break;
    }
    case 2: {
      if (labels.size() != ends.size())
        return bad("matrix labels and series ends differ in length");
      promql::matrix m(labels.size());
      uint64_t begin = 0;
      for (size_t i = 0; i < m.size(); ++i) {
        if (ends[i] < begin || ends[i] > times.size())
          return bad("matrix series ends out of order");
        m[i].labels = std::move(labels[i]);
        for (auto k = begin; k < ends[i]; ++k)
          m[i].points.push_back({times[k], storage::float_from_bits(values[k])});
        begin = ends[i];
      }
      out.value = std::move(m);
      break;
    }
    case 3:
      out.value = promql::string_value{t, std::move(text)};
      break;
    default:
      return bad("unknown value kind");
  }
  out.warnings = std::move(warnings);
  out.stats.reset();
  if (!stats_counts.empty() || !stats_times.empty()) {
    if (stats_counts.size() < 5 || stats_times.size() != 6)
      return bad("stats columns of the wrong size");
    promql::query_stats st;
    st.samples.total = stats_counts[0];
    st.samples.peak = stats_counts[1];
    st.per_step = stats_counts[2] != 0;
    st.start = stats_counts[3];
    st.interval = stats_counts[4];
    st.samples.per_step.assign(stats_counts.begin() + 5, stats_counts.end());
    st.eval_total = stats_times[0];
    st.result_sort = stats_times[1];
    st.query_preparation = stats_times[2];
    st.inner_eval = stats_times[3];
    st.exec_queue = stats_times[4];
    st.exec_total = stats_times[5];
    out.stats = std::move(st);
  }
  return caf::none;
}

}  // namespace nl::actors

#include "storage/head/head.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "storage/label_key.hpp"
#include "storage/tombstones.hpp"

namespace nl::storage {

namespace {

// a[0..n) == b[0..n) for the few dozen bytes of a label pair, inline: a
// memcmp call per label cost a fifth of a lookup.
bool same_bytes(const char* a, const char* b, size_t n) {
  for (; n >= 8; a += 8, b += 8, n -= 8) {
    uint64_t x;
    uint64_t y;
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    if (x != y)
      return false;
  }
  for (; n > 0; ++a, ++b, --n)
    if (*a != *b)
      return false;
  return true;
}

// Floor division: chunk range boundaries for negative timestamps too.
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

head::head(head_options opts)
  : opts_(opts),
    series_(std::max<uint64_t>(opts.ref_start, 1), std::max<uint64_t>(opts.ref_stride, 1)),
    by_hash_(hash_of_series{this}) {
  opts_.ref_start = std::max<uint64_t>(opts_.ref_start, 1);
  opts_.ref_stride = std::max<uint64_t>(opts_.ref_stride, 1);
  opts_.samples_per_chunk = std::clamp(opts_.samples_per_chunk, 1, 0xffff);
  next_ref_ = opts_.ref_start;
}

head::~head() {
  series_.for_each([](uint64_t, mem_series* s) { delete_series(s); });
}

// -- series ------------------------------------------------------------------

head::mem_series* head::find(uint64_t ref) {
  return const_cast<mem_series*>(static_cast<const head*>(this)->find(ref));
}

const head::mem_series* head::find(uint64_t ref) const {
  if (const auto* s = series_.find(ref))
    return s;
  if (aliases_.empty())
    return nullptr;
  auto alias = aliases_.find(ref);
  return alias == aliases_.end() ? nullptr : series_.find(alias->second);
}

const head::mem_series* head::find_key(std::string_view key, uint64_t hash) const {
  return by_hash_.find(hash, [&](const mem_series& s) { return has_key(s, key); });
}

uint64_t head::hash_of_series::operator()(const mem_series& s) const {
  label_hasher hash;
  h->for_each_pair(s, [&hash](std::string_view pair) {
    std::string_view name;
    std::string_view value;
    (void)get_length_prefixed(pair, name);
    (void)get_length_prefixed(pair, value);
    hash.add(name, value);
  });
  return hash.value();
}

head::mem_series* head::new_series(uint64_t ref, std::string_view ids) {
  void* p = ::operator new(sizeof(mem_series) + ids.size());
  auto* s = new (p) mem_series(ref, static_cast<uint32_t>(ids.size()));
  std::memcpy(reinterpret_cast<char*>(s + 1), ids.data(), ids.size());
  return s;
}

void head::delete_series(mem_series* s) {
  s->~mem_series();
  ::operator delete(s);
}

bool head::has_key(const mem_series& s, std::string_view key) const {
  uint64_t n = 0;
  if (!get_uvarint(key, n))
    return false;
  std::string_view ids = s.ids();
  uint64_t id = 0;
  for (; n > 0 && !ids.empty(); --n) {
    (void)get_uvarint(ids, id);
    auto pair = pairs_.bytes(static_cast<uint32_t>(id));
    if (key.size() < pair.size() || !same_bytes(key.data(), pair.data(), pair.size()))
      return false;
    key.remove_prefix(pair.size());
  }
  return n == 0 && ids.empty() && key.empty();
}

void head::append_key(const mem_series& s, std::string& out) const {
  uint64_t n = 0;
  for_each_id(s, [&n](uint32_t) { ++n; });
  put_uvarint(out, n);
  for_each_pair(s, [&out](std::string_view pair) { out.append(pair); });
}

int head::compare_labels(const mem_series& a, const mem_series& b) const {
  std::string_view x = a.ids();
  std::string_view y = b.ids();
  uint64_t ia = 0;
  uint64_t ib = 0;
  while (!x.empty() && !y.empty()) {
    (void)get_uvarint(x, ia);
    (void)get_uvarint(y, ib);
    // One id per distinct pair: equal ids, equal labels.
    if (ia != ib)
      return compare_pairs(pairs_.bytes(static_cast<uint32_t>(ia)), pairs_.bytes(static_cast<uint32_t>(ib)));
  }
  return x.empty() ? (y.empty() ? 0 : -1) : 1;
}

int head::compare_labels(const mem_series& a, std::string_view key) const {
  uint64_t n = 0;
  (void)get_uvarint(key, n);
  std::string_view ids = a.ids();
  uint64_t id = 0;
  for (; n > 0 && !ids.empty(); --n) {
    (void)get_uvarint(ids, id);
    // The key's next pair, as its own bytes.
    std::string_view rest = key;
    std::string_view name;
    std::string_view value;
    (void)get_length_prefixed(rest, name);
    (void)get_length_prefixed(rest, value);
    if (int c = compare_pairs(pairs_.bytes(static_cast<uint32_t>(id)), key.substr(0, key.size() - rest.size())))
      return c;
    key = rest;
  }
  return ids.empty() ? (n == 0 ? 0 : -1) : 1;
}

head::mem_series& head::create(uint64_t ref, std::string_view key, uint64_t hash) {
  // The key is canonical (both callers see to it), so each pair's bytes
  // are the key's own: from its name's length to the end of its value.
  std::string ids;
  for_each_label(key, [&](std::string_view name, std::string_view value) {
    const char* begin = name.data() - uvarint_length(name.size());
    uint32_t id = pairs_.acquire(std::string_view(begin, static_cast<size_t>(value.data() + value.size() - begin)));
    if (id >= list_of_pair_.size())
      list_of_pair_.resize(pairs_.id_bound(), nullptr);
    if (list_of_pair_[id] == nullptr)
      list_of_pair_[id] = &postings_.list_for(name, value);
    list_of_pair_[id]->add(ref);
    put_uvarint(ids, id);
  });
  auto* s = new_series(ref, ids);
  series_.insert(ref, s);
  postings_.add_series(ref);
  by_hash_.insert(hash, s);
  ++stats_.series_created;
  return *s;
}

std::optional<uint64_t> head::find_ref(const label_set& ls) const {
  if (const auto* s = find_key(label_key(ls), ls.hash()))
    return s->ref;
  return std::nullopt;
}

result<head::series_slot> head::get_or_create(uint64_t hash, std::string_view key) {
  if (const auto* s = find_key(key, hash))
    return series_slot{const_cast<mem_series*>(s), s->ref, false};
  // Checked as label_set_from_key() would, without building the set.
  std::string_view rest = key;
  std::string_view whole;
  if (auto st = next_label_key(rest, whole); !st)
    return st;
  if (!rest.empty())
    return status::corruption("label key: " + std::to_string(rest.size()) + " bytes after the labels");
  if (uint64_t n = 0; !get_uvarint(rest = key, n) || n == 0)
    return status::corruption("label key without labels");
  // Series are found by comparing a key's bytes with their canonical
  // pairs: a key in another valid spelling (a peer's, say) is looked for
  // again in the canonical one before a series is made.
  std::string scratch;
  if (auto canonical = canonical_label_key(key, scratch); canonical.data() != key.data()) {
    key = canonical;
    if (const auto* s = find_key(key, hash))
      return series_slot{const_cast<mem_series*>(s), s->ref, false};
  }
  uint64_t ref = next_ref_;
  next_ref_ += opts_.ref_stride;
  auto& s = create(ref, key, hash);
  return series_slot{&s, ref, true};
}

status head::create_series_with_ref(uint64_t ref, const label_set& ls) {
  return create_series_with_ref(ref, ls.hash(), label_key(ls));
}

status head::create_series_with_ref(uint64_t ref, uint64_t hash, std::string_view key) {
  if (ref == 0)
    return status::invalid_argument("series ref 0 is reserved");
  // As in get_or_create: compared byte by byte, so canonical first.
  std::string scratch;
  key = canonical_label_key(key, scratch);
  bump_next_ref(ref);
  if (const auto* s = find(ref)) {
    if (has_key(*s, key))
      return status::ok();
    auto theirs = label_set_from_key(key);
    return status::corruption("series ref " + std::to_string(ref) + " used for " + materialize(*s).to_string()
                              + " and " + (theirs ? theirs->to_string() : std::string{"a damaged label key"}));
  }
  if (const auto* s = find_key(key, hash)) {
    aliases_[ref] = s->ref;
    return status::ok();
  }
  create(ref, key, hash);
  return status::ok();
}

void head::bump_next_ref(uint64_t floor) {
  if (next_ref_ > floor)
    return;
  // Smallest ref_start + k * stride above floor.
  uint64_t k = (floor - opts_.ref_start) / opts_.ref_stride + 1;
  next_ref_ = opts_.ref_start + k * opts_.ref_stride;
}

label_set head::materialize(const mem_series& s) const {
  std::vector<label> out;
  out.reserve(s.ids_size);  // at least a byte per label
  for_each_pair(s, [&out](std::string_view pair) {
    std::string_view name;
    std::string_view value;
    (void)get_length_prefixed(pair, name);
    (void)get_length_prefixed(pair, value);
    out.push_back(label{std::string{name}, std::string{value}});
  });
  return label_set{std::move(out)};
}

result<label_set> head::labels_of(uint64_t ref) const {
  if (const auto* s = find(ref))
    return materialize(*s);
  return status::not_found("unknown series ref " + std::to_string(ref));
}

std::vector<series_record> head::series_records() const {
  std::vector<series_record> out;
  out.reserve(series_.size() + aliases_.size());
  series_.for_each([&](uint64_t ref, const mem_series* s) { out.push_back({ref, materialize(*s)}); });
  for (const auto& [alias, ref] : aliases_)
    if (const auto* s = find(ref))
      out.push_back({alias, materialize(*s)});
  std::sort(out.begin(), out.end(),
            [](const series_record& a, const series_record& b) { return a.ref < b.ref; });
  return out;
}

uint64_t head::series_entries(std::string& out) const {
  std::vector<std::pair<uint64_t, const mem_series*>> all;
  all.reserve(series_.size() + aliases_.size());
  series_.for_each([&](uint64_t ref, const mem_series* s) { all.emplace_back(ref, s); });
  for (const auto& [alias, ref] : aliases_)
    if (const auto* s = find(ref))
      all.emplace_back(alias, s);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  // The listing of a large shard is tens of MB: it is reserved from the
  // first entries' average size, with an eighth to spare, rather than
  // grown by doubling (each doubling copies all and faults in new pages
  // while the shard's appends wait).
  const size_t start = out.size();
  const size_t sampled = std::min<size_t>(all.size(), 256);
  std::string key;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i == sampled && sampled > 0) {
      const size_t per = (out.size() - start) / sampled + 1;
      out.reserve(out.size() + (all.size() - sampled) * per * 9 / 8);
    }
    key.clear();
    append_key(*all[i].second, key);
    append_series_entry(out, all[i].first, key);
  }
  return all.size();
}

// -- append ------------------------------------------------------------------

int64_t head::min_valid_time() const {
  int64_t bound = truncated_before_;
  if (seen_max_t_ != std::numeric_limits<int64_t>::min()) {
    int64_t floor = std::numeric_limits<int64_t>::min() + opts_.out_of_bounds_window_ms;
    int64_t window_start = seen_max_t_ < floor ? std::numeric_limits<int64_t>::min()
                                               : seen_max_t_ - opts_.out_of_bounds_window_ms;
    bound = std::max(bound, window_start);
  }
  return bound;
}

void head::observe_time(int64_t t) { seen_max_t_ = std::max(seen_max_t_, t); }

bool head::ooo_acceptable(int64_t t) const {
  if (opts_.ooo_window_ms <= 0 || seen_max_t_ == std::numeric_limits<int64_t>::min())
    return false;
  return seen_max_t_ - t <= opts_.ooo_window_ms;  // t <= seen_max_t_ here
}

bool head::goes_out_of_order(const mem_series& s, int64_t t) const {
  return t < min_valid_time() || (!s.open.empty() && t < s.open.max_time());
}

const std::vector<head::ooo_sample>* head::ooo_of(const mem_series& s) const {
  if (ooo_.empty())
    return nullptr;
  auto it = ooo_.find(s.ref);
  return it == ooo_.end() ? nullptr : &it->second;
}

status head::check_ooo(const mem_series& s, int64_t t, double v) const {
  const auto* xs = ooo_of(s);
  if (!xs)
    return status::ok();
  auto it = std::lower_bound(xs->begin(), xs->end(), t, [](const ooo_sample& x, int64_t y) { return x.t < y; });
  if (it != xs->end() && it->t == t && it->bits != float_bits(v))
    return status::duplicate_sample("duplicate sample for timestamp");
  return status::ok();
}

status head::check(const mem_series& s, int64_t t, double v) const {
  // Same order as Prometheus: the head-wide bound first, then the series.
  if (t < min_valid_time()) {
    if (ooo_acceptable(t))
      return check_ooo(s, t, v);
    return status::out_of_bounds("out of bounds");
  }
  if (s.open.empty() || t > s.open.max_time())
    return status::ok();
  if (t == s.open.max_time()) {
    if (float_bits(v) != float_bits(s.open.last_value()))
      return status::duplicate_sample("duplicate sample for timestamp");
    return status::ok();
  }
  if (ooo_acceptable(t))
    return check_ooo(s, t, v);
  return refuse_older(s, t, v);
}

status head::refuse_older(const mem_series& s, int64_t t, double v) const {
  auto refused = status::out_of_order("out of order sample");
  if (!opts_.stored_duplicates_ok)
    return refused;
  auto holds = [&](std::string_view bytes) -> std::optional<uint64_t> {
    xor_iterator it{bytes};
    while (it.next()) {
      auto x = it.at();
      if (x.t >= t)
        return x.t == t ? std::optional<uint64_t>{float_bits(x.v)} : std::nullopt;
    }
    return std::nullopt;
  };
  std::optional<uint64_t> bits;
  if (!s.open.empty() && t >= s.open.min_time()) {
    bits = holds(s.open.bytes());
  } else {
    // Closed chunks are in time order and never overlap.
    auto c = std::lower_bound(s.closed.begin(), s.closed.end(), t,
                              [](const auto& x, int64_t y) { return x->max_time() < y; });
    if (c != s.closed.end() && (*c)->min_time() <= t)
      bits = holds((*c)->bytes());
  }
  if (!bits)
    return refused;
  if (*bits != float_bits(v))
    return status::duplicate_sample("duplicate sample for timestamp");
  return status::ok();
}

status head::append_ooo(mem_series& s, int64_t t, double v) {
  auto& xs = ooo_[s.ref];
  auto it = std::lower_bound(xs.begin(), xs.end(), t, [](const ooo_sample& x, int64_t y) { return x.t < y; });
  if (it != xs.end() && it->t == t) {
    ++stats_.duplicates_ignored;  // identical: check_ooo refused the rest
    return status::ok();
  }
  xs.insert(it, ooo_sample{t, float_bits(v), ++ooo_seq_});
  ++stats_.ooo_appended;
  ++stats_.samples_appended;
  ++stats_.samples;
  ++stats_.ooo_samples;
  min_t_ = std::min(min_t_, t);
  max_t_ = std::max(max_t_, t);
  return status::ok();
}

status head::appendable(uint64_t ref, int64_t t, double v) const {
  const auto* s = find(ref);
  if (s == nullptr)
    return status::not_found("unknown series ref " + std::to_string(ref));
  return check(*s, t, v);
}

void head::cut(mem_series& s) {
  keep_closed(s, s.open.bytes(), {s.open.min_time(), s.open.max_time(), s.open.last_value(), s.open.num_samples()});
  s.open.reset();
}

void head::keep_closed(mem_series& s, std::string_view bytes, const xor_chunk::summary& sum) {
  chunk_block* owner = nullptr;
  const uint8_t* data = files_ ? files_->store(bytes.data(), bytes.size(), owner) : nullptr;
  if (data == nullptr)
    data = pages_.store(bytes.data(), bytes.size(), owner);
  s.closed.push_back(xor_chunk::share_in(
    pages_, data != nullptr ? xor_chunk{data, bytes.size(), owner, sum} : xor_chunk{bytes, sum.min_t, sum.max_t, sum.last_v}));
  closed_bytes_ += bytes.size();
  ++closed_chunks_;
}

std::optional<head::series_slot> head::slot_of(uint64_t ref) {
  // A replay looks up thousands of refs in a row before it touches their
  // series (which it prefetches): the usual case reads only the ref table.
  if (auto* s = series_.find(ref))
    return series_slot{s, ref, false};
  if (aliases_.empty())
    return std::nullopt;
  auto alias = aliases_.find(ref);
  auto* s = alias == aliases_.end() ? nullptr : series_.find(alias->second);
  if (s == nullptr)
    return std::nullopt;
  return series_slot{s, s->ref, false};
}

status head::append(uint64_t ref, int64_t t, double v) {
  auto* s = find(ref);
  if (s == nullptr)
    return status::not_found("unknown series ref " + std::to_string(ref));
  return append_to(*s, t, v);
}

status head::append_to(mem_series& s, int64_t t, double v) {
  if (auto st = check(s, t, v); !st) {
    switch (st.error_code()) {
      case status::code::out_of_bounds: ++stats_.out_of_bounds; break;
      case status::code::out_of_order: ++stats_.out_of_order; break;
      case status::code::duplicate_sample: ++stats_.duplicate_sample; break;
      default: break;
    }
    return st;
  }
  if (goes_out_of_order(s, t)) {
    if (!ooo_acceptable(t)) {
      ++stats_.duplicates_ignored;  // check() passed it as a stored identical sample
      return status::ok();
    }
    return append_ooo(s, t, v);
  }
  if (!s.open.empty()) {
    if (t == s.open.max_time()) {
      ++stats_.duplicates_ignored;
      return status::ok();
    }
    bool full = s.open.num_samples() >= opts_.samples_per_chunk;
    bool crosses = opts_.chunk_range_ms > 0 &&
                   floor_div(t, opts_.chunk_range_ms) !=
                     floor_div(s.open.min_time(), opts_.chunk_range_ms);
    if (full || crosses)
      cut(s);
  }
  if (s.open.empty())
    ++stats_.chunks_created;
  s.open.append(t, v);
  ++stats_.samples_appended;
  ++stats_.samples;
  min_t_ = std::min(min_t_, t);
  max_t_ = std::max(max_t_, t);
  seen_max_t_ = std::max(seen_max_t_, t);
  return status::ok();
}

status head::stage(series_slot& slot, int64_t t, double v) {
  mem_series& s = *slot.s_;
  // The newest staged sample plays the part of the open chunk's last one;
  // an identical retry of it is accepted like a head duplicate.
  if (s.staged > 0) {
    if (t < s.staged_t) {
      // Behind a staged sample: it will be appended after it, so it goes
      // out of order (or is refused).
      if (!ooo_acceptable(t)) {
        if (t < min_valid_time())
          return status::out_of_bounds("out of bounds");
        if (auto st = refuse_older(s, t, v); !st)
          return st;
        ++s.staged;  // a stored identical sample: append_staged() ignores it
        return status::ok();
      }
      if (auto st = check_ooo(s, t, v); !st)
        return st;
      ++s.staged;
      return status::ok();
    }
    if (t == s.staged_t) {
      if (float_bits(v) != s.staged_bits)
        return status::duplicate_sample("duplicate sample for timestamp");
      ++s.staged;
      return status::ok();
    }
  }
  if (auto st = check(s, t, v); !st)
    return st;
  if (!goes_out_of_order(s, t)) {
    s.staged_t = t;  // t is newer than any staged sample here
    s.staged_bits = float_bits(v);
  }
  ++s.staged;
  return status::ok();
}

status head::append_staged(series_slot& slot, int64_t t, double v) {
  --slot.s_->staged;
  return append_to(*slot.s_, t, v);
}

void head::unstage(series_slot& slot) { --slot.s_->staged; }

label_set head::labels_of(const series_slot& slot) const { return materialize(*slot.s_); }

// -- stats and garbage ---------------------------------------------------------

head_stats head::stats() const {
  head_stats out = stats_;
  out.series = series_.size();
  out.chunks = closed_chunks_;
  out.chunk_bytes = closed_bytes_;
  series_.for_each([&](uint64_t, const mem_series* s) {
    if (!s->open.empty()) {
      ++out.chunks;
      out.chunk_bytes += s->open.bytes().size();
    }
  });
  return out;
}

size_t head::truncate(int64_t mint, uint64_t ooo_upto) {
  truncated_before_ = std::max(truncated_before_, mint);
  for (auto it = ooo_.begin(); it != ooo_.end();) {
    auto& xs = it->second;
    auto gone = std::remove_if(xs.begin(), xs.end(),
                               [&](const ooo_sample& x) { return x.t < mint && x.seq <= ooo_upto; });
    stats_.ooo_samples -= static_cast<uint64_t>(xs.end() - gone);
    stats_.samples -= static_cast<uint64_t>(xs.end() - gone);
    xs.erase(gone, xs.end());
    it = xs.empty() ? ooo_.erase(it) : std::next(it);
  }
  std::vector<mem_series*> dead;
  series_.for_each([&](uint64_t ref, mem_series* p) {
    auto& s = *p;
    auto keep = std::find_if(s.closed.begin(), s.closed.end(),
                             [mint](const auto& c) { return c->max_time() >= mint; });
    for (auto it = s.closed.begin(); it != keep; ++it) {
      closed_bytes_ -= (*it)->bytes().size();
      --closed_chunks_;
      stats_.samples -= (*it)->num_samples();
    }
    s.closed.erase_front(static_cast<size_t>(keep - s.closed.begin()));
    // The open chunk holds the newest in-order samples: when it is too
    // old, so is every in-order chunk.
    // A series with staged samples is kept: its owner holds a series_slot.
    if (s.staged == 0 && (s.open.empty() || s.open.max_time() < mint) && ooo_.count(ref) == 0)
      dead.push_back(p);
  });
  if (!dead.empty()) {
    // The index's strings of each dead series' labels, looked up from its
    // pairs (the series keeps no pointers to them).
    std::vector<std::vector<interned_label>> labels(dead.size());
    std::vector<postings_index::removal> removals;
    removals.reserve(dead.size());
    std::string key;
    for (size_t i = 0; i < dead.size(); ++i) {
      auto& s = *dead[i];
      stats_.samples -= s.open.num_samples();
      key.clear();
      append_key(s, key);
      by_hash_.erase(hash_label_key(key), &s);
      for_each_label(key, [&](std::string_view name, std::string_view value) {
        if (auto l = postings_.interned(name, value))
          labels[i].push_back(*l);
      });
      removals.push_back({s.ref, &labels[i]});
    }
    // The index owns the strings the series point to: drop the series from
    // it before the series themselves.
    postings_.remove(removals);
    for (auto* s : dead) {
      for_each_id(*s, [this](uint32_t id) {
        if (pairs_.release(id) && id < list_of_pair_.size())
          list_of_pair_[id] = nullptr;  // freed with its list
      });
      series_.erase(s->ref);
      delete_series(s);
    }
    for (auto it = aliases_.begin(); it != aliases_.end();)
      it = series_.find(it->second) == nullptr ? aliases_.erase(it) : std::next(it);
    stats_.series_removed += dead.size();
  }
  min_t_ = std::numeric_limits<int64_t>::max();
  max_t_ = std::numeric_limits<int64_t>::min();
  for (const auto& [ref, xs] : ooo_) {
    min_t_ = std::min(min_t_, xs.front().t);
    max_t_ = std::max(max_t_, xs.back().t);
  }
  series_.for_each([&](uint64_t, const mem_series* s) {
    if (s->open.empty())
      return;
    min_t_ = std::min(min_t_, s->closed.empty() ? s->open.min_time() : s->closed.front()->min_time());
    max_t_ = std::max(max_t_, s->open.max_time());
  });
  return dead.size();
}

// -- deletion ---------------------------------------------------------------------

std::vector<tombstone_record> head::deletion_ranges(const matcher_list& ms, int64_t mint, int64_t maxt) const {
  std::vector<tombstone_record> out;
  if (mint > maxt || series_.empty())
    return out;
  for (uint64_t ref : postings_.select(ms)) {
    const auto* p = series_.find(ref);
    if (p == nullptr)
      continue;
    const auto& s = *p;
    // The series' oldest and newest sample, out-of-order ones included.
    int64_t lo = INT64_MAX;
    int64_t hi = INT64_MIN;
    if (!s.open.empty()) {
      lo = s.closed.empty() ? s.open.min_time() : s.closed.front()->min_time();
      hi = s.open.max_time();
    }
    if (const auto* xs = ooo_of(s)) {
      lo = std::min(lo, xs->front().t);
      hi = std::max(hi, xs->back().t);
    }
    int64_t a = std::max(mint, lo);
    int64_t b = std::min(maxt, hi);
    if (a <= b && has_data_in(s, a, b))
      out.push_back({ref, a, b});
  }
  return out;
}

uint64_t head::delete_ranges(const std::vector<tombstone_record>& stones) {
  uint64_t removed = 0;
  std::vector<sample> xs;
  for (const auto& stone : stones) {
    const int64_t mint = stone.mint;
    const int64_t maxt = stone.maxt;
    auto* s = find(stone.ref);
    if (s == nullptr || mint > maxt)
      continue;
    if (auto it = ooo_.find(s->ref); it != ooo_.end()) {
      auto& os = it->second;
      auto lo = std::lower_bound(os.begin(), os.end(), mint, [](const ooo_sample& x, int64_t y) { return x.t < y; });
      auto hi = std::upper_bound(lo, os.end(), maxt, [](int64_t y, const ooo_sample& x) { return y < x.t; });
      auto n = static_cast<uint64_t>(hi - lo);
      os.erase(lo, hi);
      stats_.ooo_samples -= n;
      stats_.samples -= n;
      removed += n;
      if (os.empty())
        ooo_.erase(it);
    }
    const interval_list deleted{{mint, maxt}};
    closed_chunks kept;
    for (auto& c : s->closed) {
      if (!c->overlaps(mint, maxt)) {
        kept.push_back(std::move(c));
        continue;
      }
      auto left = without_deleted(c, deleted);
      if (!left) {  // damaged bytes (a lost page of a chunk file, or a snapshot's): keep them
        kept.push_back(std::move(c));
        continue;
      }
      closed_bytes_ -= c->bytes().size();
      --closed_chunks_;
      uint64_t before = c->num_samples();
      uint64_t after = *left ? (*left)->num_samples() : 0;
      removed += before - after;
      stats_.samples -= before - after;
      if (*left) {
        closed_bytes_ += (*left)->bytes().size();
        ++closed_chunks_;
        kept.push_back(std::static_pointer_cast<const xor_chunk>(std::move(*left)));
      }
    }
    s->closed = std::move(kept);
    if (!s->open.empty() && s->open.min_time() <= maxt && s->open.max_time() >= mint) {
      xs.clear();
      (void)s->open.snapshot()->decode(INT64_MIN, INT64_MAX, xs);
      xor_appender fresh;
      for (const auto& x : xs)
        if (x.t < mint || x.t > maxt)
          fresh.append(x.t, x.v);
      uint64_t n = s->open.num_samples() - fresh.num_samples();
      removed += n;
      stats_.samples -= n;
      s->open = std::move(fresh);
    }
    // The open chunk holds the newest in-order sample whenever the series
    // has one (reads and truncate() rely on it): refill it from the last
    // closed chunk.
    if (s->open.empty() && !s->closed.empty()) {
      auto last = std::move(s->closed.back());
      s->closed.pop_back();
      closed_bytes_ -= last->bytes().size();
      --closed_chunks_;
      xs.clear();
      (void)last->decode(INT64_MIN, INT64_MAX, xs);
      for (const auto& x : xs)
        s->open.append(x.t, x.v);
    }
  }
  if (removed == 0)
    return 0;
  min_t_ = std::numeric_limits<int64_t>::max();
  max_t_ = std::numeric_limits<int64_t>::min();
  for (const auto& [r, ys] : ooo_) {
    min_t_ = std::min(min_t_, ys.front().t);
    max_t_ = std::max(max_t_, ys.back().t);
  }
  series_.for_each([&](uint64_t, const mem_series* x) {
    if (x->open.empty())
      return;
    min_t_ = std::min(min_t_, x->closed.empty() ? x->open.min_time() : x->closed.front()->min_time());
    max_t_ = std::max(max_t_, x->open.max_time());
  });
  return removed;
}

}  // namespace nl::storage

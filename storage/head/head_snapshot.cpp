#include "storage/head/head_snapshot.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <thread>

#include "storage/coding.hpp"
#include "storage/file.hpp"
#include "storage/label_key.hpp"
#include "storage/wal/format.hpp"
#include "storage/wal/records.hpp"
#include "storage/wal/segment_writer.hpp"

namespace nl::storage {

namespace {

constexpr std::string_view magic = "NLHEADS2";

status damaged(const std::string& what) { return status::corruption("head snapshot: " + what); }

// next_ref (and so every ref, all below it) stays far from overflow in
// bump_next_ref.
constexpr uint64_t max_ref = uint64_t{1} << 62;

// The largest span after `from` that stays an int64 time (in unsigned
// arithmetic, which cannot overflow here); from + span is then computed
// in unsigned arithmetic too, as the signed sum may not be.
uint64_t max_span(int64_t from) {
  return static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - static_cast<uint64_t>(from);
}

// A section: fixed64 length, the bytes, fixed32 CRC32C of the bytes.
void put_section(std::string& out, std::string_view bytes) {
  put_fixed64(out, bytes.size());
  out.append(bytes);
  put_fixed32(out, crc32c(bytes));
}

// A section's bytes and the checksum stored for them.
struct section {
  std::string_view bytes;
  uint32_t crc = 0;
  status verify(const char* what) const {
    return crc == crc32c(bytes) ? status::ok() : damaged(std::string{what} + " section checksum mismatch");
  }
};

status next_section(std::string_view& in, section& out, const char* what) {
  uint64_t n = 0;
  if (!get_fixed64(in, n) || n > in.size() || in.size() - n < 4)
    return damaged(std::string{what} + " section truncated");
  out.bytes = in.substr(0, n);
  in.remove_prefix(n);
  (void)get_fixed32(in, out.crc);
  return status::ok();
}

status get_section(std::string_view& in, std::string_view& bytes, const char* what) {
  section s;
  if (auto st = next_section(in, s, what); !st)
    return st;
  bytes = s.bytes;
  return s.verify(what);
}

// The options that shape a head's content: a head loaded under others
// would hold what a replay under the new ones would not (chunks across a
// new block boundary, samples a narrower window refuses).
void put_options(std::string& out, const head_options& o) {
  put_varint(out, o.chunk_range_ms);
  put_uvarint(out, static_cast<uint64_t>(o.samples_per_chunk));
  put_varint(out, o.ooo_window_ms);
  put_varint(out, o.out_of_bounds_window_ms);
  out.push_back(o.stored_duplicates_ok ? 1 : 0);
}

}  // namespace

// -- one head -----------------------------------------------------------------

status head::write_state(std::string& out) const {
  size_t bytes = 64;
  // By ref: postings lists are kept sorted, and a load that adds refs in
  // increasing order appends to them instead of inserting (quadratic).
  std::vector<const mem_series*> order;
  order.reserve(series_.size());
  // Series without data are left out: a series whose WAL record was never
  // written (its batch was refused) has none, and must not outlive the
  // restart, or later samples would be logged without a series record.
  auto has_data = [this](const mem_series& s) {
    return !s.closed.empty() || !s.open.empty() || ooo_.count(s.ref) != 0;
  };
  uint64_t staged_ref = 0;
  series_.for_each([&](uint64_t ref, const mem_series* p) {
    const auto& s = *p;
    if (s.staged > 0)
      staged_ref = ref;
    if (!has_data(s))
      return;
    bytes += 3 * max_varint64_bytes + 2 * s.ids_size + s.open.bytes().size() + s.closed.size() * 24;
    for (const auto& c : s.closed)
      bytes += c->bytes().size();
    order.push_back(&s);
  });
  if (staged_ref != 0)
    return status::invalid_argument("head snapshot: series " + std::to_string(staged_ref) + " has staged samples");
  std::sort(order.begin(), order.end(), [](const mem_series* a, const mem_series* b) { return a->ref < b->ref; });
  // The pairs the written series use, numbered 0.. in order of first use.
  constexpr uint32_t unnumbered = UINT32_MAX;
  std::vector<uint32_t> number(pairs_.id_bound(), unnumbered);
  std::string table;
  uint32_t pairs = 0;
  for (const mem_series* p : order)
    for_each_id(*p, [&](uint32_t id) {
      if (number[id] == unnumbered) {
        number[id] = pairs++;
        put_length_prefixed(table, pairs_.bytes(id));
      }
    });
  out.reserve(out.size() + bytes + table.size());
  put_uvarint(out, next_ref_);
  put_uvarint(out, ooo_seq_);
  put_uvarint(out, pairs);
  out.append(table);
  put_uvarint(out, order.size());
  uint64_t prev_ref = 0;
  for (const mem_series* p : order) {
    const auto& s = *p;
    put_uvarint(out, s.ref - prev_ref);
    prev_ref = s.ref;
    uint64_t labels = 0;
    for_each_id(s, [&labels](uint32_t) { ++labels; });
    put_uvarint(out, labels);
    for_each_id(s, [&](uint32_t id) { put_uvarint(out, number[id]); });
    put_uvarint(out, s.closed.size());
    for (const auto& c : s.closed) {
      put_varint(out, c->min_time());
      put_uvarint(out, static_cast<uint64_t>(c->max_time()) - static_cast<uint64_t>(c->min_time()));
      put_fixed64(out, float_bits(c->last_value()));
      put_length_prefixed(out, c->bytes());
    }
    if (s.open.empty()) {
      put_uvarint(out, 0);
      continue;
    }
    put_length_prefixed(out, s.open.bytes());
    auto st = s.open.saved_state();
    put_varint(out, st.first_t);
    put_uvarint(out, static_cast<uint64_t>(st.t) - static_cast<uint64_t>(st.first_t));
    put_uvarint(out, st.t_delta);
    put_fixed64(out, st.value_bits);
    out.push_back(static_cast<char>(st.leading));
    out.push_back(static_cast<char>(st.trailing));
    out.push_back(static_cast<char>(st.free_bits));
  }
  std::vector<std::pair<uint64_t, uint64_t>> aliases;
  for (const auto& [alias, ref] : aliases_) {
    const auto* s = series_.find(ref);
    if (s != nullptr && has_data(*s))
      aliases.emplace_back(alias, ref);
  }
  put_uvarint(out, aliases.size());
  for (const auto& [alias, ref] : aliases) {
    put_uvarint(out, alias);
    put_uvarint(out, ref);
  }
  put_uvarint(out, ooo_.size());
  for (const auto& [ref, xs] : ooo_) {
    put_uvarint(out, ref);
    put_uvarint(out, xs.size());
    for (const auto& x : xs) {
      put_varint(out, x.t);
      put_fixed64(out, x.bits);
      put_uvarint(out, x.seq);
    }
  }
  return status::ok();
}

status head::read_state(std::string_view in) {
  if (!series_.empty() || !aliases_.empty() || !ooo_.empty() || pairs_.size() != 0)
    return status::invalid_argument("head snapshot: the head is not empty");
  uint64_t next_ref = 0, ooo_seq = 0, n = 0;
  if (!get_uvarint(in, next_ref) || !get_uvarint(in, ooo_seq) || !get_uvarint(in, n))
    return damaged("shard header truncated");
  if (next_ref > max_ref)
    return damaged("next ref " + std::to_string(next_ref) + " out of range");
  // The pair table. Everything a series needs from a pair is worked out
  // here once: its id in this head, where its name sorts, its part of the
  // label hash and (on first use) its postings list.
  struct table_pair {
    uint32_t id;
    uint32_t name_rank;
    label_hasher::label_parts parts;
    std::string_view name;
    std::string_view value;
    compact_postings* list;
  };
  // A pair takes at least 4 bytes (its length, a name, a value).
  if (n > in.size() / 4)
    return damaged("pair count " + std::to_string(n) + " exceeds the bytes");
  std::vector<table_pair> table;
  table.reserve(n);
  std::string one;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view pair;
    if (!get_length_prefixed(in, pair))
      return damaged("pair " + std::to_string(i) + " truncated");
    // Checked as a one-label key would be, in its canonical spelling.
    one.assign(1, '\x01');
    one.append(pair);
    std::string_view rest = one;
    std::string_view whole;
    if (auto st = next_label_key(rest, whole); !st || !rest.empty() || canonical_key_size(one) != one.size())
      return damaged("pair " + std::to_string(i) + " is not one canonical label");
    table_pair t{};
    t.id = pairs_.acquire(pair);
    if (pairs_.size() != table.size() + 1)
      return damaged("pair " + std::to_string(i) + " repeated");
    std::string_view fields = pairs_.bytes(t.id);  // views that live as long as the pair
    (void)get_length_prefixed(fields, t.name);
    (void)get_length_prefixed(fields, t.value);
    t.parts = label_hasher::parts(t.name, t.value);
    table.push_back(t);
  }
  {
    std::vector<uint32_t> by_name(table.size());
    for (uint32_t i = 0; i < by_name.size(); ++i)
      by_name[i] = i;
    std::sort(by_name.begin(), by_name.end(), [&](uint32_t a, uint32_t b) { return table[a].name < table[b].name; });
    uint32_t rank = 0;
    for (size_t i = 0; i < by_name.size(); ++i) {
      if (i > 0 && table[by_name[i]].name != table[by_name[i - 1]].name)
        ++rank;
      table[by_name[i]].name_rank = rank;
    }
  }
  // Each series takes at least 5 bytes (ref, label count, one pair, two
  // chunk counts): a count is checked before it reserves anything.
  if (!get_uvarint(in, n) || n > in.size() / 5)
    return damaged("series count truncated or exceeds the bytes");
  by_hash_.reserve(n);
  // Inserted into by_hash_ once all are read, in slot order (see
  // hash_slots::insert_all).
  std::vector<std::pair<uint64_t, mem_series*>> hashed;
  hashed.reserve(n);
  uint64_t ref = 0;
  // A series' pair ids as it keeps them (uvarints); grown to the most
  // labels any series had, written in place.
  std::string ids;
  std::vector<uint32_t> labels_of_series;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t delta = 0, labels = 0, closed = 0;
    if (!get_uvarint(in, delta) || !get_uvarint(in, labels))
      return damaged("series " + std::to_string(i) + " truncated");
    if (delta == 0 || delta >= next_ref - ref)
      return damaged("series " + std::to_string(i) + ": ref not above the one before or not below next_ref");
    ref += delta;
    // Names strictly increase, so no series has more labels than the
    // table has pairs.
    if (labels == 0 || labels > in.size() || labels > table.size())
      return damaged("series " + std::to_string(ref) + ": label count " + std::to_string(labels) + " out of range");
    if (ids.size() < labels * 5)
      ids.resize(labels * 5);  // a pair id is 32 bits: at most 5 bytes
    char* ids_end = ids.data();
    labels_of_series.clear();
    label_hasher hash;
    int64_t prev_rank = -1;
    for (uint64_t k = 0; k < labels; ++k) {
      uint64_t index = 0;
      if (!get_uvarint(in, index) || index >= table.size())
        return damaged("series " + std::to_string(ref) + ": label " + std::to_string(k)
                       + " truncated or not in the pair table");
      const auto& t = table[index];
      // Names strictly increasing: sorted and unique, as a label key is.
      if (static_cast<int64_t>(t.name_rank) <= prev_rank)
        return damaged("series " + std::to_string(ref) + ": labels not sorted by name or a name repeated");
      prev_rank = t.name_rank;
      ids_end = encode_uvarint(ids_end, t.id);
      hash.add(t.parts);
      labels_of_series.push_back(static_cast<uint32_t>(index));
    }
    auto* s = new_series(ref, std::string_view(ids.data(), static_cast<size_t>(ids_end - ids.data())));
    series_.insert(ref, s);
    hashed.emplace_back(hash.value(), s);
    ++stats_.series_created;
    for (uint32_t index : labels_of_series) {
      auto& t = table[index];
      pairs_.hold(t.id);
      if (t.list == nullptr)
        t.list = &postings_.list_for(t.name, t.value);
      t.list->add(ref);
    }
    postings_.add_series(ref);
    if (!get_uvarint(in, closed) || closed > in.size())
      return damaged("series " + std::to_string(ref) + ": chunk count truncated or exceeds the bytes");
    int64_t last = std::numeric_limits<int64_t>::min();
    // Closed chunks come with their range and last value, so they are
    // copied, not decoded: their bytes are covered by the section's
    // checksum, and decode() checks each one's header count when read.
    for (uint64_t k = 0; k < closed; ++k) {
      int64_t mint = 0;
      uint64_t span = 0, value_bits = 0;
      std::string_view bytes;
      if (!get_varint(in, mint) || !get_uvarint(in, span) || !get_fixed64(in, value_bits)
          || !get_length_prefixed(in, bytes))
        return damaged("series " + std::to_string(ref) + ": chunk " + std::to_string(k) + " truncated");
      uint16_t count = xor_chunk::header_count(bytes);
      if (count == 0 || span > max_span(mint)
          || mint <= last)
        return damaged("series " + std::to_string(ref) + ": chunk " + std::to_string(k)
                       + " empty or out of time order");
      auto maxt = static_cast<int64_t>(static_cast<uint64_t>(mint) + span);  // fits: checked above
      keep_closed(*s, bytes, {mint, maxt, float_from_bits(value_bits), count});
      last = maxt;
      ++stats_.chunks_created;
      stats_.samples += count;
      min_t_ = std::min(min_t_, mint);
      max_t_ = std::max(max_t_, maxt);
      seen_max_t_ = std::max(seen_max_t_, maxt);
    }
    std::string_view bytes;
    if (!get_length_prefixed(in, bytes))
      return damaged("series " + std::to_string(ref) + ": open chunk truncated");
    if (!bytes.empty()) {
      // The appender's state comes with the bytes: nothing is decoded.
      xor_appender::state state{};
      uint64_t span = 0;
      if (!get_varint(in, state.first_t) || !get_uvarint(in, span) || !get_uvarint(in, state.t_delta)
          || !get_fixed64(in, state.value_bits) || in.size() < 3)
        return damaged("series " + std::to_string(ref) + ": open chunk state truncated");
      if (span > max_span(state.first_t))
        return damaged("series " + std::to_string(ref) + ": open chunk range out of range");
      state.t = static_cast<int64_t>(static_cast<uint64_t>(state.first_t) + span);  // fits: checked above
      state.leading = static_cast<uint8_t>(in[0]);
      state.trailing = static_cast<uint8_t>(in[1]);
      state.free_bits = static_cast<uint8_t>(in[2]);
      in.remove_prefix(3);
      if (auto st = s->open.restore(bytes, state); !st)
        return damaged("series " + std::to_string(ref) + ": " + st.message());
      int64_t mint = s->open.min_time();
      int64_t maxt = s->open.max_time();
      if (mint <= last || maxt < mint)
        return damaged("series " + std::to_string(ref) + ": chunks out of time order");
      ++stats_.chunks_created;
      stats_.samples += s->open.num_samples();
      min_t_ = std::min(min_t_, mint);
      max_t_ = std::max(max_t_, maxt);
      seen_max_t_ = std::max(seen_max_t_, maxt);  // as its appends set it
    }
  }
  // Equal labels, equal ids (one per pair).
  if (const auto* twice = by_hash_.insert_all(hashed, [](const mem_series& a, const mem_series& b) {
        return a.ids() == b.ids();
      }))
    return damaged("series " + std::to_string(twice->ref) + ": its labels are also another series'");
  // The table's own hold: a pair no series used goes again.
  list_of_pair_.assign(pairs_.id_bound(), nullptr);
  for (const auto& t : table) {
    pairs_.release(t.id);
    if (t.list != nullptr)
      list_of_pair_[t.id] = t.list;
  }
  if (!get_uvarint(in, n) || n > in.size() / 2)
    return damaged("alias count truncated");
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t alias = 0, ref = 0;
    if (!get_uvarint(in, alias) || !get_uvarint(in, ref))
      return damaged("alias " + std::to_string(i) + " truncated");
    if (alias == 0 || alias >= next_ref || series_.find(alias) != nullptr || series_.find(ref) == nullptr
        || aliases_.count(alias) != 0)
      return damaged("alias " + std::to_string(alias) + " -> " + std::to_string(ref) + " does not fit the series");
    aliases_[alias] = ref;
  }
  if (!get_uvarint(in, n) || n > in.size() / 2)
    return damaged("out-of-order series count truncated");
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t ref = 0, m = 0;
    if (!get_uvarint(in, ref) || !get_uvarint(in, m) || m == 0 || m > in.size() / 10)
      return damaged("out-of-order samples " + std::to_string(i) + " truncated");
    if (series_.find(ref) == nullptr || ooo_.count(ref) != 0)
      return damaged("out-of-order samples of series " + std::to_string(ref) + " do not fit the series");
    auto& xs = ooo_[ref];
    xs.reserve(m);
    for (uint64_t k = 0; k < m; ++k) {
      ooo_sample x{};
      if (!get_varint(in, x.t) || !get_fixed64(in, x.bits) || !get_uvarint(in, x.seq))
        return damaged("out-of-order sample of series " + std::to_string(ref) + " truncated");
      if ((!xs.empty() && x.t <= xs.back().t) || x.seq == 0 || x.seq > ooo_seq)
        return damaged("out-of-order samples of series " + std::to_string(ref) + " out of order");
      xs.push_back(x);
      min_t_ = std::min(min_t_, x.t);
      max_t_ = std::max(max_t_, x.t);
    }
    stats_.samples += m;
    stats_.ooo_samples += m;
  }
  if (!in.empty())
    return damaged(std::to_string(in.size()) + " bytes after the shard's state");
  // Every ref and alias is below it (checked above), as in the head that
  // wrote it.
  next_ref_ = opts_.ref_start;
  bump_next_ref(next_ref > 0 ? next_ref - 1 : 0);
  ooo_seq_ = ooo_seq;
  return status::ok();
}

// -- the file -----------------------------------------------------------------

result<std::string> wal_fingerprint(const std::string& wal_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(wal_dir, ec))
    return std::string{};
  std::vector<std::string> lines;
  auto add = [&lines](const fs::directory_entry& e, const std::string& prefix) -> status {
    std::error_code ec2;
    auto size = e.file_size(ec2);
    if (ec2)
      return status::io_error("head snapshot: size of " + e.path().string() + ": " + ec2.message());
    lines.push_back(prefix + e.path().filename().string() + " " + std::to_string(size));
    return status::ok();
  };
  for (fs::directory_iterator it{wal_dir, ec}, end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) {
      std::string prefix = it->path().filename().string() + "/";
      lines.push_back(prefix);
      for (fs::directory_iterator sub{it->path(), ec}; !ec && sub != end; sub.increment(ec))
        if (auto st = add(*sub, prefix); !st)
          return st;
    } else if (auto st = add(*it, ""); !st) {
      return st;
    }
  }
  if (ec)
    return status::io_error("head snapshot: listing " + wal_dir + ": " + ec.message());
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines)
    out += l + "\n";
  return out;
}

namespace {

// The lines of a fingerprint, each without its newline.
std::vector<std::string_view> fingerprint_lines(std::string_view fp) {
  std::vector<std::string_view> out;
  while (!fp.empty()) {
    auto nl = fp.find('\n');
    out.push_back(fp.substr(0, nl));
    fp.remove_prefix(nl == std::string_view::npos ? fp.size() : nl + 1);
  }
  return out;
}

std::optional<uint64_t> eight_digits(std::string_view s) {
  if (s.size() != wal_segment_name_digits
      || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoull(std::string{s});
}

// A top-level segment's line ("00000012 4096"): its number.
std::optional<uint64_t> segment_of_line(std::string_view line) {
  auto space = line.find(' ');
  if (space == std::string_view::npos || line.find('/') != std::string_view::npos)
    return std::nullopt;
  return eight_digits(line.substr(0, space));
}

// A checkpoint directory's line ("checkpoint.00000011/"): its number.
std::optional<uint64_t> checkpoint_of_line(std::string_view line) {
  constexpr std::string_view prefix = "checkpoint.";
  if (line.size() != prefix.size() + wal_segment_name_digits + 1 || line.substr(0, prefix.size()) != prefix
      || line.back() != '/')
    return std::nullopt;
  return eight_digits(line.substr(prefix.size(), wal_segment_name_digits));
}

}  // namespace

result<uint64_t> wal_segments_after(std::string_view taken, std::string_view current) {
  auto then = fingerprint_lines(taken);
  auto now = fingerprint_lines(current);
  // Both are sorted (wal_fingerprint): one merge walk.
  uint64_t newest = 0;  // the snapshot's newest segment or checkpoint
  for (auto line : then)
    newest = std::max({newest, segment_of_line(line).value_or(0), checkpoint_of_line(line).value_or(0)});
  std::vector<uint64_t> added;
  size_t i = 0;
  for (auto line : now) {
    if (i < then.size() && then[i] == line) {
      ++i;
      continue;
    }
    if (i < then.size() && then[i] < line)
      return status::invalid_argument("the WAL changed after the head snapshot was taken (" + std::string{then[i]}
                                      + " is gone or changed)");
    auto seg = segment_of_line(line);
    if (!seg || *seg <= newest)
      return status::invalid_argument("the WAL changed after the head snapshot was taken (" + std::string{line}
                                      + " is new)");
    added.push_back(*seg);
  }
  if (i < then.size())
    return status::invalid_argument("the WAL changed after the head snapshot was taken (" + std::string{then[i]}
                                    + " is gone or changed)");
  std::sort(added.begin(), added.end());
  for (size_t k = 0; k < added.size(); ++k)
    if (added[k] != newest + 1 + k)
      return status::invalid_argument("the WAL changed after the head snapshot was taken (segment "
                                      + wal_segment_name(newest + 1 + k) + " is missing)");
  return added.empty() ? uint64_t{0} : newest + 1;
}

status remove_head_snapshot(const std::string& data_dir) {
  return remove_file_durably(data_dir + "/" + head_snapshot_file);
}

status write_head_snapshot(const std::string& path, const std::vector<std::shared_ptr<head>>& heads,
                           const metadata_store& metadata, const std::string& wal_fingerprint, int64_t blocks_end) {
  std::string tmp_path = path + ".tmp";
  (void)remove_file(tmp_path);
  auto f = create_new_file(tmp_path);
  if (!f)
    return f.error();
  auto& file = **f;
  std::string buf{magic};
  std::string section;
  put_uvarint(section, heads.size());
  put_varint(section, blocks_end);
  put_options(section, heads.empty() ? head_options{} : heads[0]->options());
  put_length_prefixed(section, wal_fingerprint);
  put_section(buf, section);
  auto fail = [&tmp_path, &file](status st) {
    (void)file.close();
    (void)remove_file(tmp_path);
    return st;
  };
  // One shard's state in memory at a time.
  for (const auto& h : heads) {
    section.clear();
    if (auto st = h->write_state(section); !st)
      return fail(st);
    put_fixed64(buf, section.size());
    if (auto st = file.append(buf); !st)
      return fail(st);
    buf.clear();
    if (auto st = file.append(section); !st)
      return fail(st);
    put_fixed32(buf, crc32c(section));
  }
  section.clear();
  section.shrink_to_fit();
  metadata.entries(section);
  put_section(buf, section);
  status st = file.append(buf);
  if (st)
    st = file.sync();
  if (st)
    st = file.close();
  if (!st)
    return fail(st);
  if (auto r = rename_path(tmp_path, path); !r)
    return fail(r);
  auto slash = path.rfind('/');
  return sync_dir(slash == std::string::npos ? std::string{"."} : path.substr(0, slash));
}

result<head_snapshot_loaded> read_head_snapshot(const std::string& path,
                                                const std::vector<std::shared_ptr<head>>& heads,
                                                metadata_store& metadata, const std::string& wal_fingerprint) {
  auto exists = path_exists(path);
  if (!exists)
    return exists.error();
  if (!*exists)
    return status::not_found("no head snapshot");
  auto mapped = mapped_file::open(path);
  if (!mapped)
    return mapped.error();
  std::string_view in = (*mapped)->bytes();
  head_snapshot_loaded out;
  out.bytes = in.size();
  if (in.substr(0, magic.size()) != magic)
    return damaged("bad magic");
  in.remove_prefix(magic.size());
  std::string_view header;
  if (auto st = get_section(in, header, "header"); !st)
    return st;
  uint64_t shards = 0;
  int64_t end = 0;
  std::string_view fingerprint;
  std::string ours;
  put_options(ours, heads.empty() ? head_options{} : heads[0]->options());
  if (!get_uvarint(header, shards) || !get_varint(header, end) || header.size() < ours.size())
    return damaged("header malformed");
  std::string_view theirs = header.substr(0, ours.size());
  header.remove_prefix(ours.size());
  if (!get_length_prefixed(header, fingerprint) || !header.empty())
    return damaged("header malformed");
  if (shards != heads.size())
    return status::invalid_argument("head snapshot of " + std::to_string(shards) + " shards, the server has "
                                    + std::to_string(heads.size()));
  if (theirs != ours)
    return status::invalid_argument("head snapshot taken with other storage settings (block duration or windows)");
  auto replay_from = wal_segments_after(fingerprint, wal_fingerprint);
  if (!replay_from)
    return replay_from.error();
  out.blocks_end = end;
  out.replay_from = *replay_from;
  // The shards' checksums are verified by the threads that load them.
  std::vector<section> parts(shards);
  for (auto& p : parts)
    if (auto st = next_section(in, p, "shard"); !st)
      return st;
  std::string_view meta;
  if (auto st = get_section(in, meta, "metadata"); !st)
    return st;
  if (!in.empty())
    return damaged(std::to_string(in.size()) + " bytes after the last section");
  std::vector<metadata_record> records;
  if (auto st = decode_metadata_entries(meta, records); !st)
    return damaged("metadata: " + st.message());
  // One shard per thread, as the WAL replay applies them.
  std::vector<status> results(shards);
  std::vector<std::thread> threads;
  auto load = [&](size_t i) {
    try {
      (*mapped)->populate(static_cast<size_t>(parts[i].bytes.data() - (*mapped)->bytes().data()), parts[i].bytes.size());
      results[i] = parts[i].verify("shard");
      if (results[i])
        results[i] = heads[i]->read_state(parts[i].bytes);
    } catch (const std::exception& e) {  // bad_alloc: counts no damage caught
      results[i] = damaged(std::string{"shard "} + std::to_string(i) + ": " + e.what());
    }
  };
  for (size_t i = 1; i < shards; ++i)
    threads.emplace_back(load, i);
  if (shards > 0)
    load(0);
  for (auto& t : threads)
    t.join();
  for (const auto& st : results)
    if (!st)
      return st;
  for (const auto& r : records)
    metadata.apply(r);
  for (const auto& h : heads) {
    out.series += h->num_series();
    out.samples += h->num_samples();
  }
  return out;
}

}  // namespace nl::storage

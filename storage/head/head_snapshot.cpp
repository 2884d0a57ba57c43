#include "storage/head/head_snapshot.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <thread>

#include "storage/coding.hpp"
#include "storage/file.hpp"
#include "storage/label_key.hpp"
#include "storage/wal/records.hpp"

namespace nl::storage {

namespace {

constexpr std::string_view magic = "NLHEADS1";

status damaged(const std::string& what) { return status::corruption("head snapshot: " + what); }

// next_ref (and so every ref, all below it) stays far from overflow in
// bump_next_ref.
constexpr uint64_t max_ref = uint64_t{1} << 62;

// The size of a valid key's canonical spelling (minimal varints).
size_t canonical_key_size(std::string_view key) {
  std::string_view rest = key;
  uint64_t count = 0;
  (void)get_uvarint(rest, count);
  size_t n = uvarint_length(count);
  for_each_label(key, [&n](std::string_view name, std::string_view value) {
    n += uvarint_length(name.size()) + name.size();
    n += uvarint_length(value.size()) + value.size();
  });
  return n;
}

// A section: fixed64 length, the bytes, fixed32 CRC32C of the bytes.
void put_section(std::string& out, std::string_view bytes) {
  put_fixed64(out, bytes.size());
  out.append(bytes);
  put_fixed32(out, crc32c(bytes));
}

status get_section(std::string_view& in, std::string_view& bytes, const char* what) {
  uint64_t n = 0;
  if (!get_fixed64(in, n) || n > in.size() || in.size() - n < 4)
    return damaged(std::string{what} + " section truncated");
  bytes = in.substr(0, n);
  in.remove_prefix(n);
  uint32_t crc = 0;
  (void)get_fixed32(in, crc);
  if (crc != crc32c(bytes))
    return damaged(std::string{what} + " section checksum mismatch");
  return status::ok();
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
    // A label key is ~10x its pair ids.
    bytes += 3 * max_varint64_bytes + 10 * s.ids_size + s.open.bytes().size() + s.closed.size() * 4;
    for (const auto& c : s.closed)
      bytes += c->bytes().size();
    order.push_back(&s);
  });
  if (staged_ref != 0)
    return status::invalid_argument("head snapshot: series " + std::to_string(staged_ref) + " has staged samples");
  std::sort(order.begin(), order.end(), [](const mem_series* a, const mem_series* b) { return a->ref < b->ref; });
  out.reserve(out.size() + bytes);
  put_uvarint(out, next_ref_);
  put_uvarint(out, ooo_seq_);
  put_uvarint(out, order.size());
  std::string key;
  for (const mem_series* p : order) {
    const auto& s = *p;
    put_uvarint(out, s.ref);
    key.clear();
    append_key(s, key);
    put_length_prefixed(out, key);
    put_uvarint(out, s.closed.size());
    for (const auto& c : s.closed)
      put_length_prefixed(out, c->bytes());
    put_length_prefixed(out, s.open.empty() ? std::string_view{} : s.open.bytes());
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
  if (!series_.empty() || !aliases_.empty() || !ooo_.empty())
    return status::invalid_argument("head snapshot: the head is not empty");
  uint64_t next_ref = 0, ooo_seq = 0, n = 0;
  if (!get_uvarint(in, next_ref) || !get_uvarint(in, ooo_seq) || !get_uvarint(in, n))
    return damaged("shard header truncated");
  if (next_ref > max_ref)
    return damaged("next ref " + std::to_string(next_ref) + " out of range");
  // Each series takes at least 8 bytes (ref, a one-label key, two chunk
  // counts): a count is checked before it reserves anything.
  if (n > in.size() / 8)
    return damaged("series count " + std::to_string(n) + " exceeds the bytes");
  by_hash_.reserve(n);
  uint64_t prev_ref = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t ref = 0, closed = 0;
    std::string_view key, bytes;
    if (!get_uvarint(in, ref) || !get_length_prefixed(in, key) || !get_uvarint(in, closed))
      return damaged("series " + std::to_string(i) + " truncated");
    std::string_view rest = key;
    std::string_view whole;
    uint64_t hash = 0;
    if (auto st = next_label_key(rest, whole, hash); !st)
      return damaged("series " + std::to_string(ref) + ": " + st.message());
    if (!rest.empty())
      return damaged("series " + std::to_string(ref) + ": bytes after the label key");
    uint64_t labels = 0;
    if (rest = key; !get_uvarint(rest, labels) || ref <= prev_ref || ref >= next_ref || labels == 0)
      return damaged("series ref " + std::to_string(ref)
                     + " is 0, not above the one before, not below next_ref or has no labels");
    prev_ref = ref;
    // One spelling per label set (non-minimal varints would make another),
    // so that the key comparison below finds every duplicate.
    if (canonical_key_size(key) != key.size())
      return damaged("series " + std::to_string(ref) + ": label key not in canonical form");
    if (find_key(key, hash) != nullptr)
      return damaged("labels " + label_set_from_key(key)->to_string() + " under two refs");
    if (closed > in.size())
      return damaged("series " + std::to_string(ref) + ": chunk count exceeds the bytes");
    auto& s = create(ref, key, hash);
    int64_t last = std::numeric_limits<int64_t>::min();
    for (uint64_t k = 0; k <= closed; ++k) {
      if (!get_length_prefixed(in, bytes))
        return damaged("series " + std::to_string(ref) + ": chunk " + std::to_string(k) + " truncated");
      if (k == closed && bytes.empty())
        break;  // no open chunk
      int64_t mint = 0, maxt = 0;
      uint16_t count = 0;
      if (k < closed) {
        auto c = xor_chunk::check(bytes);
        if (!c)
          return damaged("series " + std::to_string(ref) + ": " + c.error().message());
        mint = c->min_t;
        maxt = c->max_t;
        keep_closed(s, bytes, *c);
        count = s.closed.back()->num_samples();
        seen_max_t_ = std::max(seen_max_t_, maxt);
      } else {
        auto a = xor_appender::resume(bytes);
        if (!a)
          return damaged("series " + std::to_string(ref) + ": " + a.error().message());
        s.open = std::move(*a);
        mint = s.open.min_time();
        maxt = s.open.max_time();
        count = s.open.num_samples();
        seen_max_t_ = std::max(seen_max_t_, maxt);  // as its appends set it
      }
      if (mint <= last || maxt < mint)
        return damaged("series " + std::to_string(ref) + ": chunks out of time order");
      last = maxt;
      ++stats_.chunks_created;
      stats_.samples += count;
      min_t_ = std::min(min_t_, mint);
      max_t_ = std::max(max_t_, maxt);
    }
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
                                                metadata_store& metadata, const std::string& wal_fingerprint,
                                                int64_t blocks_end) {
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
  if (end != blocks_end)
    return status::invalid_argument("head snapshot taken with other blocks");
  if (theirs != ours)
    return status::invalid_argument("head snapshot taken with other storage settings (block duration or windows)");
  if (fingerprint != wal_fingerprint)
    return status::invalid_argument("the WAL changed after the head snapshot was taken");
  std::vector<std::string_view> parts(shards);
  for (auto& p : parts)
    if (auto st = get_section(in, p, "shard"); !st)
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
      results[i] = heads[i]->read_state(parts[i]);
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

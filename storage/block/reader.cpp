#include "storage/block/reader.hpp"

#include <algorithm>

#include "storage/block/format.hpp"
#include "storage/chunk/dense_chunk.hpp"
#include "storage/coding.hpp"

namespace nl::storage {

namespace fmt = block_format;

namespace {

status damaged(const std::string& path, const std::string& what) {
  return status::corruption(path + ": " + what);
}

status check_header(const mapped_file& f, std::string_view magic) {
  auto b = f.bytes();
  if (b.size() < fmt::file_header_size)
    return damaged(f.path(), "shorter than its header");
  if (b.substr(0, 4) != magic)
    return damaged(f.path(), "bad magic");
  if (static_cast<uint8_t>(b[4]) != fmt::version)
    return damaged(f.path(), "unknown version " + std::to_string(static_cast<uint8_t>(b[4])));
  if (b[5] != 0 || b[6] != 0 || b[7] != 0)
    return damaged(f.path(), "header padding is not zero");
  return status::ok();
}

// The body of the section at `off`, after checking its bounds and CRC.
result<std::string_view> section_at(const mapped_file& f, uint64_t off, uint64_t end, const char* name) {
  auto b = f.bytes();
  if (off < fmt::file_header_size || off > end || end - off < fmt::section_overhead)
    return damaged(f.path(), std::string{name} + " section offset out of range");
  uint64_t len = decode_fixed64(b.data() + off);
  if (len > end - off - fmt::section_overhead)
    return damaged(f.path(), std::string{name} + " section length out of range");
  auto body = b.substr(off + 8, len);
  if (crc32c(body) != decode_fixed32(b.data() + off + 8 + len))
    return damaged(f.path(), std::string{name} + " section checksum mismatch");
  return body;
}

}  // namespace

result<std::shared_ptr<const block>> block::open(const std::string& dir) {
  std::shared_ptr<block> b{new block()};
  b->dir_ = dir;
  auto meta_path = dir + "/" + std::string{fmt::meta_file};
  auto text = read_whole_file(meta_path);
  if (!text)
    return damaged(meta_path, text.error().message());
  auto meta = decode_block_meta(*text);
  if (!meta)
    return damaged(dir, meta.error().message());
  b->meta_ = std::move(*meta);
  auto slash = dir.find_last_of('/');
  auto base = slash == std::string::npos ? dir : dir.substr(slash + 1);
  if (base != b->meta_.ulid)
    return damaged(meta_path, "ulid " + b->meta_.ulid + " differs from the directory name");
  auto idx = mapped_file::open(dir + "/" + std::string{fmt::index_file});
  if (!idx)
    return status::corruption(idx.error().message());
  b->index_ = std::move(*idx);
  auto chk = mapped_file::open(dir + "/" + std::string{fmt::chunks_file});
  if (!chk)
    return status::corruption(chk.error().message());
  b->chunks_ = std::move(*chk);
  if (b->index_->bytes().size() != b->meta_.index_bytes)
    return damaged(b->index_->path(), "size " + std::to_string(b->index_->bytes().size()) + ", meta.json says "
                                        + std::to_string(b->meta_.index_bytes));
  if (b->chunks_->bytes().size() != b->meta_.chunks_bytes)
    return damaged(b->chunks_->path(), "size " + std::to_string(b->chunks_->bytes().size())
                                         + ", meta.json says " + std::to_string(b->meta_.chunks_bytes));
  if (auto st = check_header(*b->chunks_, fmt::chunks_magic); !st)
    return st;
  if (auto st = b->load_index(); !st)
    return st;
  auto tombstones = read_tombstones_file(dir);
  if (!tombstones)
    return status::corruption(tombstones.error().message());
  if (!tombstones->empty() && tombstones->rbegin()->first >= b->num_series_)
    return damaged(dir + "/" + std::string{tombstones_file_name},
                   "series " + std::to_string(tombstones->rbegin()->first) + " does not exist");
  b->tombstones_ = std::move(*tombstones);
  // Verifying touched every index page: give them back to the page cache.
  b->index_->release_resident();
  return std::shared_ptr<const block>(std::move(b));
}

uint64_t block::size_bytes() const {
  return index_->bytes().size() + chunks_->bytes().size() + 512;  // meta.json, roughly
}

status block::load_index() {
  const auto& f = *index_;
  if (auto st = check_header(f, fmt::index_magic); !st)
    return st;
  auto b = f.bytes();
  if (b.size() < fmt::file_header_size + fmt::toc_size)
    return damaged(f.path(), "too short for a table of contents");
  uint64_t toc_at = b.size() - fmt::toc_size;
  if (crc32c(b.data() + toc_at, 40) != decode_fixed32(b.data() + toc_at + 40))
    return damaged(f.path(), "table of contents checksum mismatch");
  uint64_t off[5];
  for (int i = 0; i < 5; ++i)
    off[i] = decode_fixed64(b.data() + toc_at + 8 * i);
  const char* names[5] = {"symbols", "series", "series offsets", "postings", "postings table"};
  std::string_view body[5];
  for (int i = 0; i < 5; ++i) {
    auto s = section_at(f, off[i], toc_at, names[i]);
    if (!s)
      return s.error();
    body[i] = *s;
  }
  // Symbols.
  auto in = body[0];
  uint64_t n = 0;
  if (!get_uvarint(in, n) || n > in.size())
    return damaged(f.path(), "symbol count");
  symbols_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view s;
    if (!get_length_prefixed(in, s))
      return damaged(f.path(), "symbol " + std::to_string(i) + " truncated");
    if (!symbols_.empty() && !(symbols_.back() < s))
      return damaged(f.path(), "symbols not sorted at " + std::to_string(i));
    symbols_.push_back(s);
  }
  series_body_ = body[1];
  series_offsets_ = body[2];
  if (series_offsets_.size() % 8 != 0)
    return damaged(f.path(), "series offsets not a multiple of 8 bytes");
  num_series_ = series_offsets_.size() / 8;
  if (num_series_ != meta_.num_series)
    return damaged(f.path(), std::to_string(num_series_) + " series, meta.json says "
                               + std::to_string(meta_.num_series));
  postings_body_ = body[3];
  // Postings table.
  in = body[4];
  if (!get_uvarint(in, n) || n > in.size())
    return damaged(f.path(), "postings table count");
  postings_table_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t name = 0, value = 0, o = 0;
    if (!get_uvarint(in, name) || !get_uvarint(in, value) || !get_uvarint(in, o))
      return damaged(f.path(), "postings table entry " + std::to_string(i) + " truncated");
    if (name >= symbols_.size() || value >= symbols_.size() || o >= postings_body_.size())
      return damaged(f.path(), "postings table entry " + std::to_string(i) + " out of range");
    posting_entry e{static_cast<uint32_t>(name), static_cast<uint32_t>(value), o};
    if (!postings_table_.empty()) {
      const auto& p = postings_table_.back();
      if (std::make_pair(p.name, p.value) >= std::make_pair(e.name, e.value))
        return damaged(f.path(), "postings table not sorted at " + std::to_string(i));
    }
    postings_table_.push_back(e);
  }
  return status::ok();
}

status block::parse_series(uint64_t id, std::vector<label>* labels, std::vector<chunk_ref>* chunks,
                           label_views* views) const {
  const auto& path = index_->path();
  if (id >= num_series_)
    return damaged(path, "series " + std::to_string(id) + " does not exist");
  uint64_t off = decode_fixed64(series_offsets_.data() + 8 * id);
  if (off >= series_body_.size())
    return damaged(path, "series " + std::to_string(id) + " offset out of range");
  auto in = series_body_.substr(off);
  auto bad = [&](const char* what) { return damaged(path, "series " + std::to_string(id) + ": " + what); };
  uint64_t n = 0;
  if (!get_uvarint(in, n) || n > in.size())
    return bad("label count");
  if (labels)
    labels->reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t name = 0, value = 0;
    if (!get_uvarint(in, name) || !get_uvarint(in, value))
      return bad("labels truncated");
    if (name >= symbols_.size() || value >= symbols_.size())
      return bad("label symbol out of range");
    if (labels)
      labels->push_back({std::string{symbols_[name]}, std::string{symbols_[value]}});
    if (views) {
      views->parts.push_back(symbols_[name]);
      views->parts.push_back(symbols_[value]);
    }
  }
  if (views)
    views->ends.push_back(static_cast<uint32_t>(views->parts.size()));
  if (!chunks)
    return status::ok();
  if (!get_uvarint(in, n) || n > in.size())
    return bad("chunk count");
  chunks->reserve(n);
  int64_t prev_max = 0;
  uint64_t prev_off = 0;
  for (uint64_t k = 0; k < n; ++k) {
    int64_t a = 0;
    uint64_t len = 0, o = 0;
    if (!get_varint(in, a) || !get_uvarint(in, len) || !get_uvarint(in, o))
      return bad("chunk reference truncated");
    chunk_ref c;
    c.min_time = k == 0 ? a : prev_max + a;
    c.max_time = c.min_time + static_cast<int64_t>(len);
    c.offset = k == 0 ? o : prev_off + o;
    chunks->push_back(c);
    prev_max = c.max_time;
    prev_off = c.offset;
  }
  return status::ok();
}

status block::bad_chunk(const chunk_ref& c, const status& st) const {
  return damaged(chunks_->path(), "chunk at offset " + std::to_string(c.offset) + ": " + st.message());
}

result<std::shared_ptr<const chunk>> block::read_chunk(const chunk_ref& c) const {
  auto b = chunks_->bytes();
  auto bad = [&](const std::string& what) { return bad_chunk(c, status::corruption(what)); };
  if (c.offset < fmt::file_header_size || c.offset >= b.size())
    return bad("offset out of range");
  auto in = b.substr(c.offset);
  uint8_t encoding = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  std::string_view data;
  if (!get_length_prefixed(in, data) || in.size() < 4)
    return bad("truncated");
  uint32_t crc = crc32c_extend(crc32c(b.data() + c.offset, 1), data.data(), data.size());
  if (crc != decode_fixed32(in.data()))
    return bad("checksum mismatch");
  if (encoding == fmt::encoding_xor) {
    auto x = xor_chunk::from_bytes(data);
    if (!x)
      return bad(x.error().message());
    if (x->min_time() != c.min_time || x->max_time() != c.max_time)
      return bad("time range differs from the index");
    return std::shared_ptr<const chunk>{std::make_shared<const xor_chunk>(std::move(*x))};
  }
  if (encoding != fmt::encoding_dense)
    return bad("unknown encoding " + std::to_string(encoding));
  auto d = dense_chunk::of_record(data, c.min_time, c.max_time, chunks_);
  if (!d)
    return bad(d.error().message());
  return std::shared_ptr<const chunk>{std::make_shared<const dense_chunk>(std::move(*d))};
}

result<postings_list> block::postings_at(uint64_t offset) const {
  auto in = postings_body_.substr(offset);
  uint64_t n = 0;
  if (!get_uvarint(in, n) || n > in.size())
    return damaged(index_->path(), "postings list at " + std::to_string(offset) + ": count");
  postings_list out;
  out.reserve(n);
  uint64_t id = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t d = 0;
    if (!get_uvarint(in, d))
      return damaged(index_->path(), "postings list at " + std::to_string(offset) + ": truncated");
    if (i > 0 && d == 0)
      return damaged(index_->path(), "postings list at " + std::to_string(offset) + ": not ascending");
    id += d;
    if (id >= num_series_)
      return damaged(index_->path(), "postings list at " + std::to_string(offset) + ": series out of range");
    out.push_back(id);
  }
  return out;
}

std::pair<size_t, size_t> block::name_range(std::string_view name) const {
  auto sym = std::lower_bound(symbols_.begin(), symbols_.end(), name);
  if (sym == symbols_.end() || *sym != name)
    return {0, 0};
  auto id = static_cast<uint32_t>(sym - symbols_.begin());
  auto lo = std::lower_bound(postings_table_.begin(), postings_table_.end(), id,
                             [](const posting_entry& e, uint32_t v) { return e.name < v; });
  auto hi = std::upper_bound(lo, postings_table_.end(), id,
                             [](uint32_t v, const posting_entry& e) { return v < e.name; });
  return {static_cast<size_t>(lo - postings_table_.begin()), static_cast<size_t>(hi - postings_table_.begin())};
}

result<postings_list> block::matching(const matcher& m, bool want) const {
  auto [lo, hi] = name_range(m.name());
  std::vector<postings_list> lists;
  auto add = [&](size_t i) -> status {
    auto p = postings_at(postings_table_[i].offset);
    if (!p)
      return p.error();
    lists.push_back(std::move(*p));
    return status::ok();
  };
  bool positive = m.type() == match_type::equal || m.type() == match_type::regex;
  const std::vector<std::string>* literals = nullptr;
  std::vector<std::string> one;
  if (positive == want) {
    if (m.type() == match_type::equal || m.type() == match_type::not_equal) {
      one.push_back(m.value());
      literals = &one;
    } else if (!m.set_matches().empty()) {
      literals = &m.set_matches();
    }
  }
  if (literals != nullptr) {
    for (const auto& v : *literals) {
      auto it = std::lower_bound(postings_table_.begin() + lo, postings_table_.begin() + hi, v,
                                 [this](const posting_entry& e, const std::string& x) {
                                   return symbols_[e.value] < x;
                                 });
      if (it != postings_table_.begin() + hi && symbols_[it->value] == v)
        if (auto st = add(static_cast<size_t>(it - postings_table_.begin())); !st)
          return st;
    }
  } else {
    for (size_t i = lo; i < hi; ++i)
      if (m.matches(symbols_[postings_table_[i].value]) == want)
        if (auto st = add(i); !st)
          return st;
  }
  std::vector<const postings_list*> ptrs;
  for (const auto& l : lists)
    ptrs.push_back(&l);
  if (ptrs.size() == 1)
    return std::move(lists[0]);
  return merge(ptrs);
}

result<postings_list> block::select_ids(const matcher_list& ms) const {
  status err;
  auto out = select_postings(
    ms,
    [&](const matcher& m, bool want) {
      auto r = matching(m, want);
      if (!r) {
        err = r.error();
        return postings_list{};
      }
      return std::move(*r);
    },
    [this] {
      postings_list all(num_series_);
      for (uint64_t i = 0; i < num_series_; ++i)
        all[i] = i;
      return all;
    });
  if (!err)
    return err;
  return out;
}

result<postings_list> block::live_ids(const matcher_list& ms, int64_t mint, int64_t maxt) const {
  auto ids = select_ids(ms);
  if (!ids)
    return ids;
  const bool covered = covered_by(mint, maxt);
  if (covered && tombstones_.empty())
    return ids;  // every series has data in the range
  postings_list out;
  std::vector<chunk_ref> chunks;
  for (auto id : *ids) {
    if (tombstones_.count(id) != 0) {
      // Deleted ranges: only the samples left in [mint, maxt] count.
      auto s = read_series(id, mint, maxt);
      if (!s)
        return s.error();
      std::vector<sample> left;
      for (const auto& c : s->chunks)
        if (left.empty())
          if (auto st = c->decode(mint, maxt, left); !st)
            return st;
      if (!left.empty())
        out.push_back(id);
      continue;
    }
    if (covered) {
      out.push_back(id);
      continue;
    }
    chunks.clear();
    if (auto st = parse_series(id, nullptr, &chunks); !st)
      return st;
    for (const auto& c : chunks)
      if (c.min_time <= maxt && c.max_time >= mint) {
        out.push_back(id);
        break;
      }
  }
  return out;
}

result<series_snapshot> block::read_series(uint64_t id, int64_t mint, int64_t maxt) const {
  std::vector<label> labels;
  std::vector<chunk_ref> chunks;
  if (auto st = parse_series(id, &labels, &chunks); !st)
    return st;
  series_snapshot s;
  s.ref = id;
  s.labels = label_set{std::move(labels)};
  auto deleted = tombstones_.find(id);
  for (const auto& c : chunks) {
    if (c.min_time > maxt || c.max_time < mint)
      continue;
    auto read = read_chunk(c);
    if (!read)
      return read.error();
    if (deleted != tombstones_.end()) {
      auto kept = without_deleted(*read, deleted->second);
      if (!kept)
        return bad_chunk(c, kept.error());
      if (!*kept || !(*kept)->overlaps(mint, maxt))
        continue;
      *read = std::move(*kept);
    }
    s.chunks.push_back(std::move(*read));
  }
  return s;
}

result<std::vector<series_snapshot>> block::select(const matcher_list& ms, int64_t mint, int64_t maxt) const {
  std::vector<series_snapshot> out;
  if (!meta_.overlaps(mint, maxt))
    return out;
  auto ids = select_ids(ms);
  if (!ids)
    return ids.error();
  for (auto id : *ids) {
    auto s = read_series(id, mint, maxt);
    if (!s)
      return s.error();
    if (!s->chunks.empty())
      out.push_back(std::move(*s));
  }
  return out;  // ids ascend, and series are numbered in label order
}

result<series_page> block::select_page(const matcher_list& ms, int64_t mint, int64_t maxt,
                                      const page_limits& page) const {
  series_page out;
  if (!meta_.overlaps(mint, maxt))
    return out;
  auto ids = select_ids(ms);
  if (!ids)
    return ids.error();
  // Series are numbered in label order, so are the ids: the page resumes
  // at the first one whose labels sort after page.after.
  size_t first = 0;
  if (!page.after.empty()) {
    size_t hi = ids->size();
    std::vector<label> labels;
    while (first < hi) {
      size_t mid = first + (hi - first) / 2;
      labels.clear();
      if (auto st = parse_series((*ids)[mid], &labels, nullptr); !st)
        return st;
      if (label_set::compare(label_set{std::move(labels)}, page.after) <= 0)
        first = mid + 1;
      else
        hi = mid;
      labels = {};
    }
  }
  const size_t max_series = std::max<size_t>(page.max_series, 1);
  size_t bytes = 0;
  for (size_t i = first; i < ids->size(); ++i) {
    if (!out.series.empty() && (out.series.size() >= max_series || bytes >= page.max_bytes)) {
      out.more = true;
      break;
    }
    auto s = read_series((*ids)[i], mint, maxt);
    if (!s)
      return s.error();
    if (s->chunks.empty())
      continue;
    for (const auto& c : s->chunks)
      bytes += c->bytes().size();
    out.series.push_back(std::move(*s));
  }
  return out;
}

result<std::vector<label_set>> block::series(const matcher_list& ms, int64_t mint, int64_t maxt) const {
  auto views = series_views(ms, mint, maxt);
  if (!views)
    return views.error();
  return to_label_sets(*views);
}

result<label_views> block::series_views(const matcher_list& ms, int64_t mint, int64_t maxt) const {
  label_views out;
  if (!meta_.overlaps(mint, maxt))
    return out;
  auto ids = live_ids(ms, mint, maxt);
  if (!ids)
    return ids.error();
  out.ends.reserve(ids->size());
  for (auto id : *ids)
    if (auto st = parse_series(id, nullptr, nullptr, &out); !st)
      return st;
  return out;
}

result<std::vector<std::string>> block::label_names(const matcher_list& ms, int64_t mint, int64_t maxt) const {
  std::vector<std::string> out;
  if (!meta_.overlaps(mint, maxt))
    return out;
  if (ms.empty() && tombstones_.empty()) {
    for (size_t i = 0; i < postings_table_.size(); ++i)
      if (i == 0 || postings_table_[i].name != postings_table_[i - 1].name)
        out.emplace_back(symbols_[postings_table_[i].name]);
    return out;
  }
  auto ls = series(ms, mint, maxt);
  if (!ls)
    return ls.error();
  for (const auto& s : *ls)
    for (const auto& l : s)
      out.push_back(l.name);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

result<std::vector<std::string>> block::label_values(std::string_view name, const matcher_list& ms, int64_t mint,
                                                     int64_t maxt) const {
  std::vector<std::string> out;
  if (!meta_.overlaps(mint, maxt))
    return out;
  if (ms.empty() && tombstones_.empty()) {
    auto [lo, hi] = name_range(name);
    for (size_t i = lo; i < hi; ++i)
      out.emplace_back(symbols_[postings_table_[i].value]);
    return out;
  }
  auto ls = series(ms, mint, maxt);
  if (!ls)
    return ls.error();
  for (const auto& s : *ls)
    if (auto v = s.get(name); !v.empty())
      out.emplace_back(v);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

status block::check() const {
  std::vector<label> prev;
  std::vector<label> labels;
  std::vector<chunk_ref> chunks;
  std::vector<sample> decoded;
  uint64_t nchunks = 0;
  uint64_t nsamples = 0;
  for (uint64_t id = 0; id < num_series_; ++id) {
    labels.clear();
    chunks.clear();
    if (auto st = parse_series(id, &labels, &chunks); !st)
      return st;
    label_set ls{labels};
    for (size_t i = 1; i < labels.size(); ++i)
      if (!(labels[i - 1].name < labels[i].name))
        return damaged(index_->path(), "series " + std::to_string(id) + ": labels not sorted");
    if (id > 0 && !(label_set{prev} < ls))
      return damaged(index_->path(), "series " + std::to_string(id) + " not after the previous one");
    prev = labels;
    if (chunks.empty())
      return damaged(index_->path(), "series " + std::to_string(id) + " has no chunks");
    int64_t prev_max = INT64_MIN;
    for (size_t k = 0; k < chunks.size(); ++k) {
      const auto& c = chunks[k];
      if (c.min_time < meta_.min_time || c.max_time >= meta_.max_time)
        return damaged(index_->path(), "series " + std::to_string(id) + ": chunk outside the block's range");
      if (prev_max != INT64_MIN && c.min_time <= prev_max)
        return damaged(index_->path(), "series " + std::to_string(id) + ": chunks overlap");
      if (k > 0 && c.offset <= chunks[k - 1].offset)
        return damaged(index_->path(), "series " + std::to_string(id) + ": chunk offsets do not increase");
      prev_max = c.max_time;
      // Every record decodes whole; encoding 2 counts the XOR chunks of
      // block_format::xor_chunk_samples it stands for (stats.numChunks).
      auto read = read_chunk(c);
      if (!read)
        return read.error();
      decoded.clear();
      if (auto st = (*read)->decode(INT64_MIN, INT64_MAX, decoded); !st)
        return bad_chunk(c, st);
      uint64_t n = decoded.size();
      nchunks += (*read)->encoding() == chunk_encoding::xor_ ? 1
                                                              : (n + fmt::xor_chunk_samples - 1) / fmt::xor_chunk_samples;
      nsamples += n;
    }
  }
  if (nchunks != meta_.num_chunks || nsamples != meta_.num_samples)
    return damaged(dir_, "meta.json counts " + std::to_string(meta_.num_chunks) + " chunks / "
                           + std::to_string(meta_.num_samples) + " samples, the block has "
                           + std::to_string(nchunks) + " / " + std::to_string(nsamples));
  // Every postings list must decode and name each series that carries the
  // pair.
  for (const auto& e : postings_table_) {
    auto p = postings_at(e.offset);
    if (!p)
      return p.error();
    if (p->empty())
      return damaged(index_->path(), "postings of " + std::string{symbols_[e.name]} + "=\""
                                       + std::string{symbols_[e.value]} + "\" are empty");
    for (auto id : *p) {
      labels.clear();
      if (auto st = parse_series(id, &labels, nullptr); !st)
        return st;
      bool has = std::any_of(labels.begin(), labels.end(), [&](const label& l) {
        return l.name == symbols_[e.name] && l.value == symbols_[e.value];
      });
      if (!has)
        return damaged(index_->path(), "postings of " + std::string{symbols_[e.name]} + "=\""
                                         + std::string{symbols_[e.value]} + "\" list series "
                                         + std::to_string(id) + " which lacks the pair");
    }
  }
  return status::ok();
}

}  // namespace nl::storage

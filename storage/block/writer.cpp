#include "storage/block/writer.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "storage/block/format.hpp"
#include "storage/chunk/dense_chunk.hpp"
#include "storage/coding.hpp"

namespace nl::storage {

namespace fmt = block_format;

namespace {

constexpr size_t chunk_flush_bytes = 1 << 20;

std::string file_header(std::string_view magic) {
  std::string h{magic};
  h.push_back(static_cast<char>(fmt::version));
  h.append(3, '\0');
  return h;
}

// Appends a section (len, body, crc) to `out` and returns its offset.
uint64_t put_section(std::string& out, std::string_view body) {
  uint64_t off = out.size();
  put_fixed64(out, body.size());
  out.append(body);
  put_fixed32(out, crc32c(body));
  return off;
}

}  // namespace

block_writer::block_writer(std::string blocks_dir, std::string ulid, int64_t min_time, int64_t max_time,
                           file_creator create)
  : blocks_dir_(std::move(blocks_dir)), create_(std::move(create)) {
  meta_.ulid = std::move(ulid);
  meta_.min_time = min_time;
  meta_.max_time = max_time;
  meta_.sources = {meta_.ulid};
  tmp_dir_ = blocks_dir_ + "/" + meta_.ulid + ".tmp";
}

result<std::unique_ptr<block_writer>> block_writer::create(std::string blocks_dir, std::string ulid,
                                                           int64_t min_time, int64_t max_time,
                                                           file_creator create) {
  if (min_time >= max_time)
    return status::invalid_argument("block: min_time must be before max_time");
  std::unique_ptr<block_writer> w{
    new block_writer(std::move(blocks_dir), std::move(ulid), min_time, max_time, std::move(create))};
  if (auto st = w->open_files(); !st)
    return st;
  return w;
}

status block_writer::open_files() {
  if (auto st = create_dir_if_missing(blocks_dir_); !st)
    return st;
  if (auto st = remove_tree(tmp_dir_); !st)
    return st;
  if (auto st = create_dir_if_missing(tmp_dir_); !st)
    return st;
  auto f = create_(tmp_dir_ + "/" + std::string{fmt::chunks_file});
  if (!f)
    return f.error();
  chunks_ = std::move(*f);
  chunk_buf_ = file_header(fmt::chunks_magic);
  return status::ok();
}

block_writer::~block_writer() {
  if (!finished_) {
    // Best effort: a leftover .tmp directory is removed at the next start.
    if (chunks_)
      (void)chunks_->close();
    (void)remove_tree(tmp_dir_);
  }
}

std::string block_writer::final_dir() const { return blocks_dir_ + "/" + meta_.ulid; }

void block_writer::set_compaction(uint32_t level, std::vector<std::string> sources,
                                  std::vector<std::string> parents) {
  meta_.level = level;
  std::sort(sources.begin(), sources.end());
  meta_.sources = std::move(sources);
  meta_.parents = std::move(parents);
}

status block_writer::flush_chunks(bool force) {
  if (chunk_buf_.empty() || (!force && chunk_buf_.size() < chunk_flush_bytes))
    return status::ok();
  if (auto st = chunks_->append(chunk_buf_); !st)
    return st;
  chunks_written_ += chunk_buf_.size();
  chunk_buf_.clear();
  return status::ok();
}

void block_writer::put_dense_record(const sample* s, size_t n) {
  record_.clear();
  encode_dense_chunk(s, n, record_);
  const char encoding = static_cast<char>(fmt::encoding_dense);
  chunk_buf_.push_back(encoding);
  put_length_prefixed(chunk_buf_, record_);
  // The CRC covers the encoding byte and the data, not the length.
  put_fixed32(chunk_buf_, crc32c_extend(crc32c(&encoding, 1), record_.data(), record_.size()));
}

status block_writer::add_series(label_set ls, const std::vector<std::shared_ptr<const chunk>>& chunks) {
  if (finished_ || !chunks_)
    return status::invalid_argument("block: add_series after finish");
  if (chunks.empty())
    return status::ok();
  if (ls.empty())
    return status::invalid_argument("block: series without labels");
  if (!series_.empty() && !(last_ < ls))
    return status::invalid_argument("block: series out of order: " + ls.to_string() + " after "
                                    + last_.to_string());
  int64_t prev_max = INT64_MIN;
  samples_.clear();
  for (const auto& c : chunks) {
    if (c->min_time() < meta_.min_time || c->max_time() >= meta_.max_time)
      return status::invalid_argument("block: chunk [" + std::to_string(c->min_time()) + ", "
                                      + std::to_string(c->max_time()) + "] of " + ls.to_string()
                                      + " outside the block's range");
    if (c->min_time() <= prev_max && prev_max != INT64_MIN)
      return status::invalid_argument("block: overlapping chunks in " + ls.to_string());
    prev_max = c->max_time();
    if (auto st = c->decode(INT64_MIN, INT64_MAX, samples_); !st)
      return st;
  }
  for (size_t i = 1; i < samples_.size(); ++i)
    if (samples_[i].t <= samples_[i - 1].t)
      return status::invalid_argument("block: samples of " + ls.to_string() + " not in time order at "
                                      + std::to_string(samples_[i].t));
  // All of the series' samples in one record when they fit, else records
  // of equal size rounded up to whole XOR chunks of a read, so that the
  // records' chunk count is that of the samples.
  series_entry e{labels_.size(), chunk_refs_.size()};
  const size_t n = samples_.size();
  const size_t records = (n + fmt::dense_record_max_samples - 1) / fmt::dense_record_max_samples;
  const size_t per = records == 1 ? n
                                  : ((n + records - 1) / records + fmt::xor_chunk_samples - 1)
                                      / fmt::xor_chunk_samples * fmt::xor_chunk_samples;
  for (size_t i = 0; i < n; i += per) {
    size_t len = std::min(per, n - i);
    chunk_refs_.push_back({samples_[i].t, samples_[i + len - 1].t, chunks_written_ + chunk_buf_.size()});
    put_dense_record(samples_.data() + i, len);
  }
  meta_.num_chunks += (n + fmt::xor_chunk_samples - 1) / fmt::xor_chunk_samples;
  meta_.num_samples += n;
  for (const auto& l : ls)
    labels_.push_back(pair_of(l));
  series_.push_back(e);
  last_ = std::move(ls);
  meta_.num_series += 1;
  return flush_chunks(false);
}

uint32_t block_writer::symbol_of(const std::string& s) {
  auto it = symbol_ids_.find(s);
  if (it != symbol_ids_.end())
    return it->second;
  auto id = static_cast<uint32_t>(symbols_.size());
  symbols_.push_back(s);
  symbol_ids_.emplace(symbols_.back(), id);
  return id;
}

uint32_t block_writer::pair_of(const label& l) {
  uint64_t key = uint64_t{symbol_of(l.name)} << 32 | symbol_of(l.value);
  auto [it, added] = pair_ids_.try_emplace(key, static_cast<uint32_t>(pairs_.size()));
  if (added)
    pairs_.push_back(key);
  return it->second;
}

status block_writer::write_file(const std::string& name, std::string_view bytes) {
  auto f = create_(tmp_dir_ + "/" + name);
  if (!f)
    return f.error();
  if (auto st = (*f)->append(bytes); !st)
    return st;
  if (auto st = (*f)->sync(); !st)
    return st;
  return (*f)->close();
}

status block_writer::write_index() {
  // Symbols: every label name and value, sorted, so that symbol numbers
  // order like the strings. rank[] maps a number of arrival to it.
  std::vector<uint32_t> order(symbols_.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = static_cast<uint32_t>(i);
  std::sort(order.begin(), order.end(), [this](uint32_t a, uint32_t b) { return symbols_[a] < symbols_[b]; });
  std::vector<uint32_t> rank(symbols_.size());
  std::string body;
  put_uvarint(body, order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    rank[order[i]] = static_cast<uint32_t>(i);
    put_length_prefixed(body, symbols_[order[i]]);
  }
  symbol_ids_ = {};
  std::string out = file_header(fmt::index_magic);
  uint64_t toc[5];
  toc[0] = put_section(out, body);
  // Pairs as (name, value) symbol numbers, which order like the strings.
  std::vector<uint64_t> pair_key(pairs_.size());
  for (size_t p = 0; p < pairs_.size(); ++p)
    pair_key[p] = uint64_t{rank[pairs_[p] >> 32]} << 32 | rank[pairs_[p] & 0xffffffffULL];
  pair_ids_ = {};

  // Series, in label order; their number is their position.
  body.clear();
  std::string offsets;
  std::vector<uint64_t> list_size(pairs_.size());
  for (size_t i = 0; i < series_.size(); ++i) {
    const uint64_t label_end = i + 1 < series_.size() ? series_[i + 1].first_label : labels_.size();
    const uint64_t chunk_end = i + 1 < series_.size() ? series_[i + 1].first_chunk : chunk_refs_.size();
    put_fixed64(offsets, body.size());
    put_uvarint(body, label_end - series_[i].first_label);
    for (uint64_t k = series_[i].first_label; k < label_end; ++k) {
      uint32_t p = labels_[k];
      put_uvarint(body, pair_key[p] >> 32);
      put_uvarint(body, pair_key[p] & 0xffffffffULL);
      list_size[p] += 1;
    }
    put_uvarint(body, chunk_end - series_[i].first_chunk);
    int64_t prev_max = 0;
    uint64_t prev_off = 0;
    for (uint64_t k = series_[i].first_chunk; k < chunk_end; ++k) {
      const auto& c = chunk_refs_[k];
      if (k == series_[i].first_chunk) {
        put_varint(body, c.min_time);
        put_uvarint(body, static_cast<uint64_t>(c.max_time - c.min_time));
        put_uvarint(body, c.offset);
      } else {
        put_varint(body, c.min_time - prev_max);
        put_uvarint(body, static_cast<uint64_t>(c.max_time - c.min_time));
        put_uvarint(body, c.offset - prev_off);
      }
      prev_max = c.max_time;
      prev_off = c.offset;
    }
  }
  toc[1] = put_section(out, body);
  toc[2] = put_section(out, offsets);
  offsets = {};

  // Postings: one list per (name, value), in that order; series numbers
  // ascending, delta-coded. Filled by a counting sort over the series, so
  // every list comes out ascending. The table maps each pair to its list.
  std::vector<uint64_t> list_start(pairs_.size());
  uint64_t total = 0;
  for (size_t p = 0; p < pairs_.size(); ++p) {
    list_start[p] = total;
    total += list_size[p];
  }
  std::vector<uint32_t> postings(total);
  {
    std::vector<uint64_t> fill = list_start;
    for (size_t i = 0; i < series_.size(); ++i) {
      const uint64_t label_end = i + 1 < series_.size() ? series_[i + 1].first_label : labels_.size();
      for (uint64_t k = series_[i].first_label; k < label_end; ++k)
        postings[fill[labels_[k]]++] = static_cast<uint32_t>(i);
    }
  }
  std::vector<uint32_t> by_key(pairs_.size());
  for (size_t p = 0; p < by_key.size(); ++p)
    by_key[p] = static_cast<uint32_t>(p);
  std::sort(by_key.begin(), by_key.end(), [&](uint32_t a, uint32_t b) { return pair_key[a] < pair_key[b]; });
  body.clear();
  std::string table;
  std::string entries;
  size_t lists = 0;
  for (uint32_t p : by_key) {
    if (list_size[p] == 0)
      continue;
    put_uvarint(entries, pair_key[p] >> 32);
    put_uvarint(entries, pair_key[p] & 0xffffffffULL);
    put_uvarint(entries, body.size());
    put_uvarint(body, list_size[p]);
    uint32_t prev = 0;
    for (uint64_t k = list_start[p]; k < list_start[p] + list_size[p]; ++k) {
      put_uvarint(body, postings[k] - prev);
      prev = postings[k];
    }
    ++lists;
  }
  toc[3] = put_section(out, body);
  put_uvarint(table, lists);
  table.append(entries);
  toc[4] = put_section(out, table);

  std::string t;
  for (auto off : toc)
    put_fixed64(t, off);
  put_fixed32(t, crc32c(t));
  out.append(t);
  meta_.index_bytes = out.size();
  return write_file(std::string{fmt::index_file}, out);
}

result<block_meta> block_writer::finish() {
  if (finished_ || !chunks_)
    return status::invalid_argument("block: finish called twice");
  auto fail = [this](status st) -> result<block_meta> {
    // Best effort, as in the destructor; the first error is what counts.
    (void)chunks_->close();
    chunks_.reset();
    (void)remove_tree(tmp_dir_);
    return st;
  };
  if (auto st = flush_chunks(true); !st)
    return fail(st);
  meta_.chunks_bytes = chunks_written_;
  if (auto st = chunks_->sync(); !st)
    return fail(st);
  if (auto st = chunks_->close(); !st)
    return fail(st);
  if (auto st = write_index(); !st)
    return fail(st);
  if (auto st = write_file(std::string{fmt::meta_file}, encode_block_meta(meta_)); !st)
    return fail(st);
  if (auto st = sync_dir(tmp_dir_); !st)
    return fail(st);
  if (auto st = rename_path(tmp_dir_, final_dir()); !st)
    return fail(st);
  finished_ = true;
  if (auto st = sync_dir(blocks_dir_); !st)
    return st;  // renamed but maybe not durable: the caller must not drop the head
  series_ = {};
  labels_ = {};
  chunk_refs_ = {};
  symbols_ = {};
  pairs_ = {};
  return meta_;
}

}  // namespace nl::storage

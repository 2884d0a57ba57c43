// nightlight-tsdb dump: every sample as `labels value timestamp_ms`, like
// `promtool tsdb dump`. Sources: each block (streamed series by series from
// its mapping, so memory stays small) and the head as the WAL replays it.
// They are merged by labels (label_set order, Prometheus' labels.Compare);
// a series in several sources has its chunks merged in time order and a
// timestamp that occurs twice is printed once (decode_chunks), exactly as a
// query reads them.
#include <algorithm>
#include <memory>

#include "storage/head/series_snapshot.hpp"
#include "storage/tool/commands.hpp"
#include "storage/tool/data_dir.hpp"
#include "storage/tool/wal_scan.hpp"

namespace nl::storage::tool {

namespace {

bool selected(const dump_options& o, const label_set& ls) {
  if (o.selectors.empty())
    return true;
  return std::any_of(o.selectors.begin(), o.selectors.end(),
                     [&](const matcher_list& ms) { return matches_all(ms, ls); });
}

// The selected series of one source, in label order.
class source {
 public:
  virtual ~source() = default;
  /// Moves to the next selected series; false at the end or on error().
  virtual bool next() = 0;
  /// The current series' labels; valid after next() returned true.
  virtual const label_set& labels() const = 0;
  /// The current series with its chunks in the dump's time range.
  virtual result<series_snapshot> read() const = 0;
  virtual std::string name() const = 0;
  const status& error() const { return err_; }

 protected:
  status err_;
};

class block_source : public source {
 public:
  block_source(std::shared_ptr<const block> b, const dump_options& o) : b_(std::move(b)), o_(o) {}

  bool next() override {
    while (next_id_ < b_->num_series()) {
      // An empty time range: the labels without reading any chunk.
      auto s = b_->read_series(next_id_, INT64_MAX, INT64_MIN);
      if (!s) {
        err_ = s.error();
        return false;
      }
      id_ = next_id_++;
      if (selected(o_, s->labels)) {
        labels_ = std::move(s->labels);
        return true;
      }
    }
    return false;
  }
  const label_set& labels() const override { return labels_; }
  result<series_snapshot> read() const override { return b_->read_series(id_, o_.min_time, o_.max_time); }
  std::string name() const override { return "block " + b_->meta().ulid; }

 private:
  std::shared_ptr<const block> b_;
  const dump_options& o_;
  uint64_t next_id_ = 0;
  uint64_t id_ = 0;
  label_set labels_;
};

class head_source : public source {
 public:
  head_source(const head& h, const dump_options& o) {
    for (auto& s : h.select({}, o.min_time, o.max_time))
      if (selected(o, s.labels))
        series_.push_back(std::move(s));
  }

  bool next() override { return ++pos_ < series_.size(); }
  const label_set& labels() const override { return series_[pos_].labels; }
  result<series_snapshot> read() const override { return series_[pos_]; }
  std::string name() const override { return "the head (WAL)"; }

 private:
  std::vector<series_snapshot> series_;
  size_t pos_ = SIZE_MAX;  // next() wraps it to 0
};

}  // namespace

int dump(const std::string& dir, const dump_options& opts, std::ostream& out, std::ostream& err) {
  auto layout = locate(dir);
  if (!layout) {
    err << "nightlight-tsdb dump: " << layout.error().message() << "\n";
    return exit_failed;
  }
  bool failed = false;
  auto blocks = usable_blocks(open_layout_blocks(*layout), err, &failed);
  int64_t floor = INT64_MIN;
  for (const auto& b : blocks)
    floor = std::max(floor, b->meta().max_time);
  std::vector<std::unique_ptr<source>> sources;
  for (const auto& b : blocks)
    if (b->meta().overlaps(opts.min_time, opts.max_time))
      sources.push_back(std::make_unique<block_source>(b, opts));
  replayed_head replay;
  if (!layout->wal_dir.empty()) {
    replay = replay_wal(layout->wal_dir, floor);
    for (const auto& d : replay.summary.damage) {
      err << "error: wal: " << d << " (dumping what was read before)\n";
      failed = true;
    }
    if (replay.rejected > 0)
      err << "note: wal: " << replay.rejected
          << " samples skipped as start-up skips them (out of order, or another value for a timestamp)\n";
    if (replay.bad_series > 0)
      err << "warning: wal: " << replay.bad_series << " series records reuse a ref of other labels (skipped)\n";
    sources.push_back(std::make_unique<head_source>(*replay.data, opts));
  }
  std::vector<bool> live(sources.size());
  auto advance = [&](size_t i) {
    live[i] = sources[i]->next();
    if (!live[i] && !sources[i]->error().is_ok()) {
      err << "error: " << sources[i]->name() << ": " << sources[i]->error().message()
          << " (the rest of it is skipped)\n";
      failed = true;
    }
  };
  for (size_t i = 0; i < sources.size(); ++i)
    advance(i);
  std::vector<sample> samples;
  std::string text;
  while (true) {
    const label_set* least = nullptr;
    for (size_t i = 0; i < sources.size(); ++i)
      if (live[i] && (least == nullptr || sources[i]->labels() < *least))
        least = &sources[i]->labels();
    if (least == nullptr)
      break;
    label_set current = *least;
    std::vector<std::vector<series_snapshot>> parts;
    for (size_t i = 0; i < sources.size(); ++i) {
      if (!live[i] || sources[i]->labels() != current)
        continue;
      if (auto s = sources[i]->read()) {
        parts.push_back({std::move(*s)});
      } else {
        err << "error: " << sources[i]->name() << ": " << s.error().message() << " (series skipped)\n";
        failed = true;
      }
      advance(i);
    }
    auto merged = merge_series(std::move(parts));
    if (merged.empty())
      continue;
    samples.clear();
    if (auto st = decode_chunks(merged[0].chunks, opts.min_time, opts.max_time, samples); !st) {
      err << "error: " << current.to_string() << ": " << st.message() << "\n";
      failed = true;
    }
    auto prefix = current.to_string();
    text.clear();
    for (const auto& s : samples) {
      text += prefix;
      text += ' ';
      text += format_value(s.v);
      text += ' ';
      text += std::to_string(s.t);
      text += '\n';
    }
    out << text;
  }
  return failed ? exit_failed : exit_ok;
}

}  // namespace nl::storage::tool

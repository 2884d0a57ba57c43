#include "actors/remote_reader.hpp"

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "actors/log.hpp"
#include "actors/network_jobs.hpp"
#include "protocol/snappy_block.hpp"
#include "storage/block/format.hpp"
#include "storage/compaction/merge.hpp"

namespace nl::actors {

using protocol::http_body_source;
using protocol::http_response;

// The frames of a streamed answer between the reader (push, finish, fail)
// and the HTTP connection (pull, cancel), which run on different threads.
// The connection takes frames one at a time; when it leaves fewer than
// `low_water` bytes queued (or waits for a frame) it pokes the reader with
// read_more, once until the reader has seen the poke.
class frame_queue final : public http_body_source {
 public:
  frame_queue(remote_reader_actor reader, size_t low_water) : reader_(std::move(reader)), low_water_(low_water) {}

  void pull(std::function<void(piece)> next) override {
    std::unique_lock<std::mutex> g{mtx_};
    if (frames_.empty() && !finished_ && !failed_) {
      waiting_ = std::move(next);
      bool poke = ask_locked();
      g.unlock();
      if (poke)
        caf::anon_send(reader_, read_more_atom_v);
      return;
    }
    piece p = take_locked();
    bool poke = ask_locked();
    std::shared_ptr<void> held = p.last ? std::move(held_) : nullptr;
    g.unlock();
    next(std::move(p));
    if (poke)
      caf::anon_send(reader_, read_more_atom_v);
  }

  void cancel() override {
    std::shared_ptr<void> held;
    {
      std::lock_guard<std::mutex> g{mtx_};
      cancelled_ = true;
      waiting_ = nullptr;
      frames_.clear();
      bytes_ = 0;
      held = std::move(held_);
    }
    caf::anon_send(reader_, read_more_atom_v);
  }

  /// Queues a frame (hands it over at once to a waiting pull).
  void push(std::string frame) {
    std::unique_lock<std::mutex> g{mtx_};
    if (cancelled_)
      return;
    bytes_ += frame.size();
    frames_.push_back(std::move(frame));
    hand_over(g);
  }

  /// The body is complete once the queued frames are out; `hold` (the
  /// job, with its concurrency slot) is kept until then.
  void finish(std::shared_ptr<void> hold) {
    std::unique_lock<std::mutex> g{mtx_};
    finished_ = true;
    if (!cancelled_)
      held_ = std::move(hold);
    hand_over(g);
  }

  /// The body cannot be completed: the connection is closed after the
  /// queued frames.
  void fail() {
    std::unique_lock<std::mutex> g{mtx_};
    if (finished_)
      return;
    failed_ = true;
    hand_over(g);
  }

  bool cancelled() const {
    std::lock_guard<std::mutex> g{mtx_};
    return cancelled_;
  }

  bool has_frames() const {
    std::lock_guard<std::mutex> g{mtx_};
    return !frames_.empty();
  }

  /// Whether the reader should fetch another page now; clears the poke.
  bool wants_more() {
    std::lock_guard<std::mutex> g{mtx_};
    asked_ = false;
    return !cancelled_ && bytes_ < low_water_;
  }

 private:
  piece take_locked() {
    piece p;
    if (!frames_.empty()) {
      p.bytes = std::move(frames_.front());
      frames_.pop_front();
      bytes_ -= p.bytes.size();
    }
    p.last = finished_ && frames_.empty();
    p.failed = failed_ && frames_.empty();
    return p;
  }

  // Whether to poke the reader: fewer bytes queued than the low water
  // mark, and no poke of ours unseen yet.
  bool ask_locked() {
    if (cancelled_ || finished_ || failed_ || asked_ || bytes_ >= low_water_)
      return false;
    asked_ = true;
    return true;
  }

  void hand_over(std::unique_lock<std::mutex>& g) {
    if (!waiting_)
      return;
    auto next = std::move(waiting_);
    waiting_ = nullptr;
    auto p = take_locked();
    std::shared_ptr<void> held = p.last ? std::move(held_) : nullptr;
    g.unlock();
    next(std::move(p));
  }

  remote_reader_actor reader_;
  const size_t low_water_;
  mutable std::mutex mtx_;
  std::deque<std::string> frames_;
  size_t bytes_ = 0;  ///< queued
  std::function<void(piece)> waiting_;  ///< a pull that found nothing queued
  bool asked_ = false;
  bool finished_ = false;
  bool failed_ = false;
  bool cancelled_ = false;
  std::shared_ptr<void> held_;  ///< released with the last piece
};

remote_reader_state::~remote_reader_state() {
  if (frames)
    frames->fail();
}

namespace {

using self_ptr = remote_reader_actor::stateful_pointer<remote_reader_state>;

// A page: at most this many series from each source (each page matches the
// source's series afresh, so pages should not be tiny)...
constexpr uint64_t page_series = 4096;
// ...and no more chunk bytes than this from each (a streamed read fetches
// the next page once fewer bytes than this are queued).
constexpr uint64_t page_bytes = 1 << 20;

constexpr const char* text_plain = "text/plain; charset=utf-8";

http_response text(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.content_type = text_plain;
  r.body = std::move(body);
  r.body += '\n';  // Go's http.Error writes a line
  return r;
}

bool streamed(self_ptr self) {
  return self->state.job->request.response_type == protocol::read_response_type::streamed_xor_chunks;
}

bool cancelled(self_ptr self) {
  auto& st = self->state;
  return st.job->cancelled->load() || (st.frames && st.frames->cancelled());
}

// Stops the read with an error: an error answer while none went out, else
// a broken-off body.
void fail(self_ptr self, unsigned status, const std::string& msg) {
  auto& st = self->state;
  if (st.answered) {
    log_warn("remote read: stopped mid-stream: " + msg);
    st.frames->fail();
  } else {
    st.job->answer(text(status, msg));
  }
  st.frames.reset();
  self->quit();
}

// The 200 of a streamed answer, once there is something to send or
// nothing more to come.
void answer_stream(self_ptr self) {
  auto& st = self->state;
  if (st.answered)
    return;
  st.answered = true;
  http_response r;
  r.status = 200;
  r.content_type = protocol::chunked_content_type;
  r.stream = st.frames;
  st.job->answer(std::move(r));
}

void finish(self_ptr self) {
  auto& st = self->state;
  if (streamed(self)) {
    // The job (and so its concurrency slot) lives until the connection
    // took the last frame, as Prometheus' handler holds its slot until it
    // has written everything.
    answer_stream(self);
    st.frames->finish(std::move(st.job));
    st.frames.reset();
  } else {
    http_response r;
    r.status = 200;
    r.content_type = std::string{protocol::samples_content_type};
    r.headers.emplace_back("Content-Encoding", "snappy");
    r.body = protocol::snappy_encode(st.samples->take());
    st.job->answer(std::move(r));
  }
  self->quit();
}

// Appends a page's series to the SAMPLES answer; false when the read
// stopped (sample limit, damaged chunk).
bool add_samples(self_ptr self, const protocol::read_query& q, const select_result& page) {
  auto& st = self->state;
  const auto limit = st.job->sample_limit;
  std::vector<std::shared_ptr<const storage::chunk>> chunks;
  std::vector<storage::sample> xs;
  for (const auto& s : page.series) {
    xs.clear();
    if (!q.series_only()) {
      chunks.clear();
      for (const auto& c : s.chunks)
        chunks.push_back(c.chunk);
      if (auto status = storage::decode_chunks(chunks, q.select_start(), q.select_end(), xs); !status) {
        fail(self, 500, "remote read: " + s.labels.to_string() + ": " + status.message());
        return false;
      }
      st.query_samples += xs.size();
      if (limit > 0 && st.query_samples > limit) {
        fail(self, 400, "exceeded sample limit (" + std::to_string(limit) + ")");
        return false;
      }
    }
    st.samples->add_series(s.labels, xs.data(), xs.size());
  }
  return true;
}

// Queues a page's series as frames; false when the read stopped.
bool add_frames(self_ptr self, const protocol::read_query& q, const select_result& page) {
  auto& st = self->state;
  std::vector<std::shared_ptr<const storage::xor_chunk>> as_xor;
  std::vector<std::vector<std::shared_ptr<const storage::chunk>>> one(1);
  std::vector<protocol::chunk_ref> refs;
  auto push = [&](std::string frame) { st.frames->push(std::move(frame)); };
  for (const auto& s : page.series) {
    // The wire takes XOR chunks: a block's dense record goes as the XOR
    // chunks of block_format::xor_chunk_samples that overlap the range.
    as_xor.clear();
    for (const auto& c : s.chunks)
      if (auto status = storage::append_as_xor(c.chunk, q.select_start(), q.select_end(),
                                               storage::block_format::xor_chunk_samples, as_xor);
          !status) {
        fail(self, 500, "remote read: " + s.labels.to_string() + ": " + status.message());
        return false;
      }
    // Overlapping chunks (out-of-order data, a block and the head) are
    // merged into new ones, as Prometheus' chunk querier does: a client
    // decodes the chunks of a series one after the other. XOR chunks in,
    // XOR chunks out.
    one.resize(1);
    one[0].assign(as_xor.begin(), as_xor.end());
    auto merged = storage::merge_chunks(std::move(one));
    if (!merged) {
      fail(self, 500, "remote read: " + s.labels.to_string() + ": " + merged.error().message());
      return false;
    }
    refs.clear();
    for (const auto& c : *merged)
      refs.push_back({c->min_time(), c->max_time(), c->bytes()});
    protocol::encode_chunked_series(static_cast<int64_t>(st.query), s.labels, refs, st.job->max_frame_bytes, push);
  }
  return true;
}

void fetch(self_ptr self);

void on_page(self_ptr self, select_result& page) {
  auto& st = self->state;
  st.fetching = false;
  if (cancelled(self))
    return self->quit();
  // Cluster mode: nodes that did not answer (the cluster index's
  // warnings). Remote read has no way to carry a warning, and a reader
  // shown a partial answer as complete would cache the gap: refuse.
  if (!page.warnings.empty())
    return fail(self, 503, "remote read: the answer would be incomplete: " + join_warnings(page.warnings));
  const auto& q = st.job->request.queries[st.query];
  if (!(streamed(self) ? add_frames(self, q, page) : add_samples(self, q, page)))
    return;
  if (page.more && !page.series.empty()) {
    st.after = page.series.back().labels;
  } else {
    if (!streamed(self))
      st.samples->end_query();
    st.query += 1;
    st.after = storage::label_set{};
    st.query_samples = 0;
  }
  if (!streamed(self))
    return fetch(self);
  if (st.frames->has_frames())
    answer_stream(self);
  if (st.frames->wants_more())
    fetch(self);
}

// Asks the index for the next page, skipping queries that can match
// nothing: no matchers (Prometheus' index then selects no series) or an
// empty range.
void fetch(self_ptr self) {
  auto& st = self->state;
  if (st.fetching)
    return;
  if (cancelled(self))
    return self->quit();
  const auto& queries = st.job->request.queries;
  while (st.query < queries.size()) {
    const auto& q = queries[st.query];
    if (!q.matchers.empty() && q.select_start() <= q.select_end())
      break;
    if (!streamed(self))
      st.samples->end_query();
    st.query += 1;
  }
  if (st.query == queries.size())
    return finish(self);
  const auto& q = queries[st.query];
  select_request req;
  req.matchers = q.matchers;
  req.mint = q.select_start();
  req.maxt = q.select_end();
  req.after = st.after;
  req.page_series = page_series;
  req.page_bytes = page_bytes;
  st.fetching = true;
  // No timeout, as Prometheus' handler has none: the index always
  // answers (CAF answers for it if it dies), and a client that gives up
  // stops the read.
  self->request(st.index, caf::infinite, select_atom_v, std::move(req))
    .then([self](select_result& page) { on_page(self, page); },
          [self](caf::error& err) {
            self->state.fetching = false;
            auto code = code_of(err);
            auto status = code == error_code::internal || code == error_code::bad_input ? 500u : 503u;
            fail(self, status, "remote read: " + message_of(err));
          });
}

}  // namespace

remote_reader_actor::behavior_type remote_reader(self_ptr self, read_job_ptr job, index_actor index) {
  auto& st = self->state;
  st.job = std::move(job);
  st.index = std::move(index);
  if (streamed(self)) {
    // Fetch again once less than a page of frames is left queued.
    st.frames = std::make_shared<frame_queue>(caf::actor_cast<remote_reader_actor>(self), page_bytes);
  } else {
    st.samples = std::make_unique<protocol::samples_response_builder>();
  }
  // The first fetch runs as a message, not in this init function, so that
  // a read that ends at once quits from a handler.
  self->send(self, read_more_atom_v);
  return {
    [self](read_more_atom) {
      auto& st = self->state;
      if (cancelled(self))
        return self->quit();
      if (!st.frames || st.frames->wants_more())
        fetch(self);
    },
  };
}

}  // namespace nl::actors

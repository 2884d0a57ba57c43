#pragma once
// The remote reader: one actor per /api/v1/read request, spawned by the
// network actor (detached: large answers cost CPU) once the request holds
// one of the server.remote_read_concurrent_limit slots (the frontend
// queues the rest). It answers the request's queries in order with paged selects
// from the index (select_request::page_series): no page holds more than
// 4096 series or 1 MiB of chunks per source, whatever the answer's size.
//
// SAMPLES (Prometheus 2.42's client asks for nothing else): every page is
// decoded to the samples inside the query's range and appended to the
// encoded ReadResponse, which is snappy-compressed and sent once all
// queries are read. As in Prometheus the whole answer is built in memory;
// server.remote_read_sample_limit bounds it per query (over it: 400
// "exceeded sample limit (N)").
//
// STREAMED_XOR_CHUNKS: every series becomes frames of at most
// server.remote_read_max_bytes_in_frame, queued on the response's body
// source (protocol::http_body_source) and sent as the connection takes
// them. The next page is fetched only while less than a page is queued,
// so a huge read holds about two pages, and a client that reads slowly
// slows the reader down. The 200 goes out with the first frame (or at the
// end): an error before it is an ordinary error answer, a later one closes
// the connection without the terminating chunk.
//
// A client that goes away (before the answer: its connection's
// http_cancellation; while streaming: the body source's cancel) stops the
// reader at its next step.
#include <caf/all.hpp>

#include <memory>

#include "actors/index.hpp"
#include "actors/messages.hpp"
#include "actors/network.hpp"
#include "protocol/remote_read.hpp"

namespace nl::actors {

class frame_queue;

/// read_more: the connection took queued frames; fetch more if few are
/// left (sent by the frame queue, STREAMED_XOR_CHUNKS only).
using remote_reader_actor = caf::typed_actor<caf::reacts_to<read_more_atom>>;

struct remote_reader_state {
  read_job_ptr job;
  index_actor index;
  size_t query = 0;          ///< the query being read
  storage::label_set after;  ///< the page after these labels comes next
  bool fetching = false;     ///< a select is out
  bool answered = false;     ///< the 200 (streamed) went out
  /// The answer so far (SAMPLES).
  std::unique_ptr<protocol::samples_response_builder> samples;
  uint64_t query_samples = 0;  ///< in the current query (the sample limit)
  /// The body source (STREAMED_XOR_CHUNKS).
  std::shared_ptr<frame_queue> frames;
  /// A reader that stops before its stream is complete (killed, failed)
  /// ends the body as failed, so the connection does not hang.
  ~remote_reader_state();
  static inline const char* name = "remote_reader";
};

/// Reads `job` from `index` and answers it; quits when done.
remote_reader_actor::behavior_type remote_reader(remote_reader_actor::stateful_pointer<remote_reader_state> self,
                                                 read_job_ptr job, index_actor index);

}  // namespace nl::actors

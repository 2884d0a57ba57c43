#include "protocol/remote_read.hpp"

#include "protocol/pb_wire.hpp"
#include "protocol/prompb_writer.hpp"

// Field numbers (prompb remote.proto / types.proto):
//   ReadRequest  { 1: Query, 2: accepted_response_types (enum, packed or not) }
//   Query        { 1: start_timestamp_ms, 2: end_timestamp_ms, 3: LabelMatcher, 4: hints }
//   LabelMatcher { 1: type (EQ=0 NEQ=1 RE=2 NRE=3), 2: name, 3: value }
//   ReadResponse { 1: QueryResult }   QueryResult { 1: TimeSeries }
//   ChunkedReadResponse { 1: ChunkedSeries, 2: query_index }
//   ChunkedSeries { 1: Label, 2: Chunk }
//   Chunk { 1: min_time_ms, 2: max_time_ms, 3: type (XOR=1), 4: data }

#include "storage/coding.hpp"

namespace nl::protocol {

namespace {

using storage::status;

std::string_view type_name(int32_t t) {
  switch (t) {
    case 0: return "SAMPLES";
    case 1: return "STREAMED_XOR_CHUNKS";
    default: return {};
  }
}

storage::result<storage::matcher> decode_matcher(pb::reader r) {
  uint64_t type = 0;
  std::string name;
  std::string value;
  pb::field f;
  while (r.next(f)) {
    if (f.number == 1 && f.type == pb::varint)
      type = f.value;
    else if (f.number == 2 && f.type == pb::length_delimited)
      name = f.bytes;
    else if (f.number == 3 && f.type == pb::length_delimited)
      value = f.bytes;
  }
  if (r.failed())
    return status::corruption(r.error());
  static constexpr storage::match_type types[] = {
    storage::match_type::equal, storage::match_type::not_equal, storage::match_type::regex,
    storage::match_type::not_regex};
  if (type > 3)
    return status::invalid_argument("invalid matcher type " +
                                    std::to_string(static_cast<int32_t>(type)));
  return storage::matcher::make(types[type], std::move(name), std::move(value));
}

// ReadHints { 1: step_ms, 2: func, 3: start_ms, 4: end_ms, 5: grouping,
// 6: by, 7: range_ms }: only func, start_ms and end_ms are kept. A message
// repeated on the wire is merged into one, as protobuf does.
storage::status decode_hints(pb::reader r, read_hints& h) {
  pb::field f;
  while (r.next(f)) {
    if (f.number == 2 && f.type == pb::length_delimited)
      h.func = f.bytes;
    else if (f.number == 3 && f.type == pb::varint)
      h.start_ms = static_cast<int64_t>(f.value);
    else if (f.number == 4 && f.type == pb::varint)
      h.end_ms = static_cast<int64_t>(f.value);
  }
  if (r.failed())
    return status::corruption(r.error());
  return status::ok();
}

storage::result<read_query> decode_query(pb::reader r) {
  read_query q;
  pb::field f;
  while (r.next(f)) {
    if (f.number == 1 && f.type == pb::varint) {
      q.start_ms = static_cast<int64_t>(f.value);
    } else if (f.number == 2 && f.type == pb::varint) {
      q.end_ms = static_cast<int64_t>(f.value);
    } else if (f.number == 3 && f.type == pb::length_delimited) {
      auto m = decode_matcher(pb::reader(f.bytes, r));
      if (!m)
        return m.error();
      q.matchers.push_back(std::move(*m));
    } else if (f.number == 4 && f.type == pb::length_delimited) {
      if (!q.hints)
        q.hints.emplace();
      if (auto st = decode_hints(pb::reader(f.bytes, r), *q.hints); !st)
        return st;
    }
  }
  if (r.failed())
    return status::corruption(r.error());
  return q;
}

}  // namespace

storage::result<read_request> decode_read_request(std::string_view body, bool streamed_supported) {
  read_request req;
  std::vector<int32_t> accepted;
  pb::reader r(body);
  pb::field f;
  while (r.next(f)) {
    if (f.number == 1 && f.type == pb::length_delimited) {
      auto q = decode_query(pb::reader(f.bytes, r));
      if (!q)
        return q.error();
      req.queries.push_back(std::move(*q));
    } else if (f.number == 2 && f.type == pb::varint) {
      accepted.push_back(static_cast<int32_t>(f.value));
    } else if (f.number == 2 && f.type == pb::length_delimited) {
      // Packed form: the payload is a run of varints.
      const char* p = f.bytes.data();
      const char* end = p + f.bytes.size();
      while (p < end) {
        uint64_t v = 0;
        if (!pb::reader::decode_varint(p, end, v)) {
          r.fail("truncated varint in packed accepted_response_types");
          break;
        }
        accepted.push_back(static_cast<int32_t>(v));
      }
    }
  }
  if (r.failed())
    return status::corruption(r.error());
  if (accepted.empty())
    return req;
  for (int32_t t : accepted) {
    if (t == 0 || (t == 1 && streamed_supported)) {
      req.response_type = static_cast<read_response_type>(t);
      return req;
    }
  }
  // Same text as Prometheus (Go's %v of the accepted slice and of the set).
  std::string msg = "server does not support any of the requested response types: [";
  for (size_t i = 0; i < accepted.size(); ++i) {
    if (i > 0)
      msg += ' ';
    auto name = type_name(accepted[i]);
    msg += name.empty() ? std::to_string(accepted[i]) : std::string(name);
  }
  msg += streamed_supported ? "]; supported: map[SAMPLES:{} STREAMED_XOR_CHUNKS:{}]"
                            : "]; supported: map[SAMPLES:{}]";
  return status::invalid_argument(std::move(msg));
}

void samples_response_builder::add_series(const storage::label_set& labels, const storage::sample* samples,
                                          size_t n) {
  pb::writer w(query_);
  prompb::put_timeseries(w, 1, labels, samples, n);
}

void samples_response_builder::end_query() {
  pb::writer w(out_);
  w.nested_header(1, query_.size());
  out_ += query_;
  query_.clear();
}

namespace {

size_t chunk_size(const chunk_ref& c) {
  auto varint_field = [](int64_t v) {
    return v != 0 ? 1 + pb::writer::varint_size(static_cast<uint64_t>(v)) : 0;
  };
  return varint_field(c.min_time_ms) + varint_field(c.max_time_ms) + 2 /* type = XOR */ +
         prompb::string_field_size(c.data);
}

// One frame holding chunks [first, last) of the series.
std::string make_frame(int64_t query_index, const storage::label_set& labels, const chunk_ref* first,
                       const chunk_ref* last) {
  size_t series_size = 0;
  for (const auto& l : labels)
    series_size += prompb::nested_size(prompb::label_size(l.name, l.value));
  for (const chunk_ref* c = first; c != last; ++c)
    series_size += prompb::nested_size(chunk_size(*c));
  std::string msg;
  msg.reserve(prompb::nested_size(series_size) + 11);
  pb::writer w(msg);
  w.nested_header(1, series_size);
  for (const auto& l : labels)
    prompb::put_label(w, 1, l.name, l.value);
  for (const chunk_ref* c = first; c != last; ++c) {
    w.nested_header(2, chunk_size(*c));
    if (c->min_time_ms != 0)
      w.int64_field(1, c->min_time_ms);
    if (c->max_time_ms != 0)
      w.int64_field(2, c->max_time_ms);
    w.varint_field(3, 1);
    if (!c->data.empty())
      w.bytes_field(4, c->data);
  }
  if (query_index != 0)
    w.int64_field(2, query_index);
  std::string out;
  out.reserve(msg.size() + 14);
  pb::writer(out).put_varint(msg.size());
  uint32_t crc = storage::crc32c(msg);
  const char be[4] = {static_cast<char>(crc >> 24), static_cast<char>(crc >> 16),
                      static_cast<char>(crc >> 8), static_cast<char>(crc)};
  out.append(be, 4);
  out += msg;
  return out;
}

}  // namespace

void encode_chunked_series(int64_t query_index, const storage::label_set& labels,
                           const std::vector<chunk_ref>& chunks, size_t max_frame_bytes,
                           const std::function<void(std::string frame)>& emit) {
  size_t labels_size = 0;
  for (const auto& l : labels)
    labels_size += prompb::nested_size(prompb::label_size(l.name, l.value));
  const chunk_ref* begin = chunks.data();
  const chunk_ref* end = begin + chunks.size();
  while (begin != end) {
    // Greedy: take chunks while the message stays within the limit, and
    // always at least one so an oversized chunk still goes out.
    size_t size = labels_size + 16;  // series header + query_index, generously
    const chunk_ref* stop = begin;
    do {
      size += prompb::nested_size(chunk_size(*stop));
      ++stop;
    } while (stop != end && size + prompb::nested_size(chunk_size(*stop)) <= max_frame_bytes);
    emit(make_frame(query_index, labels, begin, stop));
    begin = stop;
  }
}

}  // namespace nl::protocol

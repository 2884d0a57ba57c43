#include "protocol/query_proto.hpp"

#include <type_traits>

#include "protocol/pb_wire.hpp"
#include "protocol/prompb_writer.hpp"
#include "protocol/utf8.hpp"
#include "storage/sample.hpp"
#include "query.pb.h"

namespace nl::protocol {

namespace v1 = nightlight::v1;
using wire = pb::writer;

namespace {

// Field numbers come from the generated classes, so the bytes follow
// proto/query.proto. All are below 16, so every tag is one byte, which
// the sizes below count on.
constexpr size_t tag_bytes = 1;
static_assert(v1::QueryResponse::kWarningsFieldNumber < 16 && v1::Series::kContinuedFieldNumber < 16
              && v1::MetadataResponse::kWarningsFieldNumber < 16);

// proto3 leaves out a singular field holding its default (0, empty, and
// for doubles the bits of +0.0: -0.0 is sent). Encoded sizes include the
// tag, 0 when the field is left out. A nested message is always sent,
// even an empty one (prompb::nested_size).
size_t int64_size(int64_t v) { return v == 0 ? 0 : tag_bytes + wire::varint_size(static_cast<uint64_t>(v)); }
size_t double_size(double v) { return storage::float_bits(v) == 0 ? 0 : tag_bytes + 8; }
using prompb::nested_size;

void put_int64(wire& w, uint32_t field, int64_t v) {
  if (v != 0)
    w.int64_field(field, v);
}
void put_double(wire& w, uint32_t field, double v) {
  if (storage::float_bits(v) != 0)
    w.double_field(field, v);
}

// An element of a repeated string field (sent even when empty).
void put_string(wire& w, uint32_t field, std::string_view s) {
  if (valid_utf8(s))
    w.bytes_field(field, s);
  else
    w.bytes_field(field, valid_utf8_or_replaced(s));
}
// A singular string field (left out when empty).
void put_singular_string(wire& w, uint32_t field, std::string_view s) {
  if (!s.empty())
    put_string(w, field, s);
}

// -- labels ------------------------------------------------------------------

// nightlight.v1.Label is laid out as prompb.Label, so it is encoded by the
// same code as remote read's answers.
static_assert(v1::Label::kNameFieldNumber == 1 && v1::Label::kValueFieldNumber == 2);

// A label set as a repeated Label field. Its strings are checked once,
// when measured; only a set with an invalid one pays for replacements.
struct labels_encoding {
  size_t bytes = 0;   ///< the whole repeated field
  bool valid = true;  ///< every name and value is valid UTF-8 as it is
};

labels_encoding measure(const storage::label_set& ls) {
  labels_encoding e;
  for (const auto& l : ls) {
    if (!valid_utf8(l.name) || !valid_utf8(l.value)) {
      e.valid = false;
      break;
    }
    e.bytes += nested_size(prompb::label_size(l.name, l.value));
  }
  if (!e.valid) {
    e.bytes = 0;
    for (const auto& l : ls)  // rare: the replacements are made twice
      e.bytes += nested_size(prompb::label_size(valid_utf8_or_replaced(l.name), valid_utf8_or_replaced(l.value)));
  }
  return e;
}

void put_labels(wire& w, uint32_t field, const storage::label_set& ls, const labels_encoding& e) {
  for (const auto& l : ls) {
    if (e.valid)
      prompb::put_label(w, field, l.name, l.value);
    else
      prompb::put_label(w, field, valid_utf8_or_replaced(l.name), valid_utf8_or_replaced(l.value));
  }
}

// -- query answers -------------------------------------------------------------

v1::ResultType result_type_of(const promql::query_value& v) {
  switch (v.index()) {
    case 0: return v1::RESULT_TYPE_SCALAR;
    case 1: return v1::RESULT_TYPE_VECTOR;
    case 2: return v1::RESULT_TYPE_MATRIX;
    default: return v1::RESULT_TYPE_STRING;
  }
}

void put_sample(wire& w, const promql::sample& s) {
  auto e = measure(s.labels);
  w.nested_header(v1::QueryResponse::kVectorFieldNumber, e.bytes + int64_size(s.t) + double_size(s.v));
  put_labels(w, v1::Sample::kLabelsFieldNumber, s.labels, e);
  put_int64(w, v1::Sample::kTimestampMsFieldNumber, s.t);
  put_double(w, v1::Sample::kValueFieldNumber, s.v);
}

// Points [from, to) of `s` (at least one) as one Series: with the labels
// `e` of the series when it starts there, else `continued`.
void put_series_piece(wire& w, const promql::series_points& s, size_t from, size_t to, const labels_encoding* e) {
  size_t times = 0;
  for (size_t k = from; k < to; ++k)
    times += wire::varint_size(static_cast<uint64_t>(s.points[k].t));
  size_t values = 8 * (to - from);
  size_t body = (e ? e->bytes : tag_bytes + 1) + nested_size(times) + nested_size(values);
  w.nested_header(v1::QueryResponse::kMatrixFieldNumber, body);
  if (e)
    put_labels(w, v1::Series::kLabelsFieldNumber, s.labels, *e);
  w.nested_header(v1::Series::kTimestampsMsFieldNumber, times);  // packed
  for (size_t k = from; k < to; ++k)
    w.put_varint(static_cast<uint64_t>(s.points[k].t));
  w.nested_header(v1::Series::kValuesFieldNumber, values);  // packed
  for (size_t k = from; k < to; ++k)
    w.put_double(s.points[k].v);
  if (!e)
    w.bool_field(v1::Series::kContinuedFieldNumber, true);
}

// Room for a part of `target` bytes and the item that crosses it, so a
// part is encoded without reallocating.
std::string part_buffer(size_t target) {
  std::string out;
  out.reserve(target + target / 8 + 256);
  return out;
}

const std::string truncated_warning = "results truncated due to limit";

}  // namespace

std::string valid_utf8_or_replaced(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  auto end = p + s.size();
  while (p < end) {
    if (*p < 0x80) {
      out += static_cast<char>(*p++);
      continue;
    }
    size_t n = utf8_sequence_length(p, end);
    if (n == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD
      ++p;
    } else {
      out.append(reinterpret_cast<const char*>(p), n);
      p += n;
    }
  }
  return out;
}

query_response_encoder::query_response_encoder(const promql::query_value& value, std::vector<std::string> warnings,
                                               size_t target_bytes)
  : value_(value), warnings_(std::move(warnings)), target_(std::max<size_t>(target_bytes, 64)) {}

std::string query_response_encoder::next() {
  auto out = part_buffer(target_);
  wire w{out};
  w.varint_field(v1::QueryResponse::kResultTypeFieldNumber, result_type_of(value_));
  std::visit(
    [&](const auto& v) {
      using T = std::decay_t<decltype(v)>;
      if constexpr (std::is_same_v<T, promql::scalar>) {
        w.nested_header(v1::QueryResponse::kScalarFieldNumber, int64_size(v.t) + double_size(v.v));
        put_int64(w, v1::Scalar::kTimestampMsFieldNumber, v.t);
        put_double(w, v1::Scalar::kValueFieldNumber, v.v);
        done_ = true;
      } else if constexpr (std::is_same_v<T, promql::string_value>) {
        auto s = valid_utf8(v.v) ? v.v : valid_utf8_or_replaced(v.v);
        w.nested_header(v1::QueryResponse::kStringValueFieldNumber,
                        int64_size(v.t) + prompb::string_field_size(s));
        put_int64(w, v1::StringValue::kTimestampMsFieldNumber, v.t);
        put_singular_string(w, v1::StringValue::kValueFieldNumber, s);
        done_ = true;
      } else if constexpr (std::is_same_v<T, promql::vector>) {
        put_vector(v, out);
      } else {
        put_matrix(v, out);
      }
    },
    value_);
  if (done_)
    for (const auto& s : warnings_)
      put_string(w, v1::QueryResponse::kWarningsFieldNumber, s);
  return out;
}

void query_response_encoder::put_vector(const promql::vector& v, std::string& out) {
  wire w{out};
  bool any = false;
  while (item_ < v.size() && (out.size() < target_ || !any)) {
    put_sample(w, v[item_++]);
    any = true;
  }
  done_ = item_ == v.size();
}

void query_response_encoder::put_matrix(const promql::matrix& m, std::string& out) {
  // A piece's tags and lengths, at most (labels apart).
  constexpr size_t piece_bytes = 16;
  wire w{out};
  bool any = false;
  while (item_ < m.size()) {
    const auto& s = m[item_];
    if (s.points.empty()) {  // the JSON leaves such series out
      ++item_;
      continue;
    }
    labels_encoding e;
    if (point_ == 0)
      e = measure(s.labels);
    size_t head = e.bytes + piece_bytes;
    size_t room = out.size() + head < target_ ? target_ - out.size() - head : 0;
    size_t take = points_within(s, room);
    size_t left = s.points.size() - point_;
    // A series that fits a part of its own starts one rather than being
    // cut; only one larger than a part is cut into pieces.
    if (any && take < left && (take == 0 || points_within(s, target_ > head ? target_ - head : 0) == left))
      break;
    put_series_piece(w, s, point_, point_ + std::max<size_t>(take, 1), point_ == 0 ? &e : nullptr);
    any = true;
    point_ += std::max<size_t>(take, 1);
    if (point_ == s.points.size()) {
      ++item_;
      point_ = 0;
    }
    if (out.size() >= target_)
      break;
  }
  done_ = item_ == m.size();
}

size_t query_response_encoder::points_within(const promql::series_points& s, size_t bytes) const {
  size_t used = 0;
  size_t k = point_;
  for (; k < s.points.size(); ++k) {
    used += wire::varint_size(static_cast<uint64_t>(s.points[k].t)) + 8;
    if (used > bytes)
      break;
  }
  return k - point_;
}

// -- lists ---------------------------------------------------------------------

namespace {

// The three list answers share one layout.
constexpr uint32_t list_items_field = v1::SeriesResponse::kSeriesFieldNumber;
constexpr uint32_t list_warnings_field = v1::SeriesResponse::kWarningsFieldNumber;
static_assert(list_items_field == v1::LabelNamesResponse::kNamesFieldNumber
              && list_items_field == v1::LabelValuesResponse::kValuesFieldNumber);
static_assert(list_warnings_field == v1::LabelNamesResponse::kWarningsFieldNumber
              && list_warnings_field == v1::LabelValuesResponse::kWarningsFieldNumber);

void put_item(wire& w, const storage::label_set& ls) {
  auto e = measure(ls);
  w.nested_header(list_items_field, e.bytes);
  put_labels(w, v1::LabelSet::kLabelsFieldNumber, ls, e);
}
void put_item(wire& w, const std::string& s) { put_string(w, list_items_field, s); }

}  // namespace

template <class Item>
std::string list_response_encoder<Item>::next() {
  auto out = part_buffer(target_);
  wire w{out};
  bool any = false;
  while (next_ < items_.size() && (out.size() < target_ || !any)) {
    put_item(w, items_[next_++]);
    any = true;
  }
  done_ = next_ == items_.size();
  if (!done_)
    return out;
  for (const auto& s : warnings_)
    put_string(w, list_warnings_field, s);
  if (truncated_)
    put_string(w, list_warnings_field, truncated_warning);
  return out;
}

std::string metadata_response_encoder::next() {
  // Metadata answers are small: each family and entry is encoded into a
  // scratch buffer first, which gives its length.
  auto out = part_buffer(target_);
  wire w{out};
  std::string family;
  std::string entry;
  while (next_ < items_.size() && (out.empty() || out.size() < target_)) {
    const auto& name = items_[next_].metric_family_name;
    family.clear();
    wire f{family};
    put_singular_string(f, v1::MetricFamilyMetadata::kMetricFieldNumber, name);
    for (; next_ < items_.size() && items_[next_].metric_family_name == name; ++next_) {
      const auto& e = items_[next_];
      entry.clear();
      wire m{entry};
      put_singular_string(m, v1::MetricMetadata::kTypeFieldNumber, storage::to_string(e.type));
      put_singular_string(m, v1::MetricMetadata::kHelpFieldNumber, e.help);
      put_singular_string(m, v1::MetricMetadata::kUnitFieldNumber, e.unit);
      f.bytes_field(v1::MetricFamilyMetadata::kMetadataFieldNumber, entry);
    }
    w.bytes_field(v1::MetadataResponse::kMetricsFieldNumber, family);
  }
  done_ = next_ == items_.size();
  if (done_)
    for (const auto& s : warnings_)
      put_string(w, v1::MetadataResponse::kWarningsFieldNumber, s);
  return out;
}

template class list_response_encoder<storage::label_set>;
template class list_response_encoder<std::string>;

}  // namespace nl::protocol

#include "protocol/query_proto.hpp"

#include <algorithm>
#include <type_traits>

#include "protocol/utf8.hpp"

namespace nl::protocol {

namespace pb = nightlight::v1;

namespace {

// What a part's budget counts per element: its strings and 8-byte values,
// plus a few bytes of protobuf tags and lengths. An estimate; parts end
// up within a few percent of it.
constexpr size_t per_field = 4;

size_t labels_bytes(const storage::label_set& ls) {
  size_t n = 0;
  for (const auto& l : ls)
    n += l.name.size() + l.value.size() + 2 * per_field;
  return n;
}

void set_string(std::string* out, std::string_view s) {
  if (valid_utf8(s))
    out->assign(s.data(), s.size());
  else
    *out = valid_utf8_or_replaced(s);
}

pb::ResultType result_type_of(const promql::query_value& v) {
  switch (v.index()) {
    case 0: return pb::RESULT_TYPE_SCALAR;
    case 1: return pb::RESULT_TYPE_VECTOR;
    case 2: return pb::RESULT_TYPE_MATRIX;
    default: return pb::RESULT_TYPE_STRING;
  }
}

template <class Message>
void add_warnings(const std::vector<std::string>& warnings, Message& out) {
  for (const auto& w : warnings)
    set_string(out.add_warnings(), w);
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

void add_labels(const storage::label_set& labels, google::protobuf::RepeatedPtrField<pb::Label>& out) {
  out.Reserve(static_cast<int>(labels.size()));
  for (const auto& l : labels) {
    auto* x = out.Add();
    set_string(x->mutable_name(), l.name);
    set_string(x->mutable_value(), l.value);
  }
}

// -- query answers -----------------------------------------------------------

query_response_writer::query_response_writer(const promql::query_value& value, std::vector<std::string> warnings,
                                             size_t target_bytes)
  : value_(value), warnings_(std::move(warnings)), target_(std::max<size_t>(target_bytes, 64)) {}

void query_response_writer::next(pb::QueryResponse& out) {
  out.Clear();
  out.set_result_type(result_type_of(value_));
  std::visit(
    [&](const auto& v) {
      using T = std::decay_t<decltype(v)>;
      if constexpr (std::is_same_v<T, promql::scalar>) {
        out.mutable_scalar()->set_timestamp_ms(v.t);
        out.mutable_scalar()->set_value(v.v);
        done_ = true;
      } else if constexpr (std::is_same_v<T, promql::string_value>) {
        out.mutable_string_value()->set_timestamp_ms(v.t);
        set_string(out.mutable_string_value()->mutable_value(), v.v);
        done_ = true;
      } else if constexpr (std::is_same_v<T, promql::vector>) {
        fill_vector(v, out);
      } else {
        fill_matrix(v, out);
      }
    },
    value_);
  if (done_)
    add_warnings(warnings_, out);
}

void query_response_writer::fill_vector(const promql::vector& v, pb::QueryResponse& out) {
  size_t used = 0;
  while (item_ < v.size() && (used < target_ || out.vector_size() == 0)) {
    const auto& s = v[item_++];
    auto* x = out.add_vector();
    add_labels(s.labels, *x->mutable_labels());
    x->set_timestamp_ms(s.t);
    x->set_value(s.v);
    used += labels_bytes(s.labels) + 16 + 2 * per_field;
  }
  done_ = item_ == v.size();
}

void query_response_writer::fill_matrix(const promql::matrix& m, pb::QueryResponse& out) {
  constexpr size_t point_bytes = 16;  // a packed int64 (varint, often less) and a double
  size_t used = 0;
  while (item_ < m.size()) {
    const auto& s = m[item_];
    if (s.points.empty()) {  // the JSON leaves such series out
      ++item_;
      continue;
    }
    size_t left = s.points.size() - point_;
    size_t head = point_ == 0 ? labels_bytes(s.labels) + 4 * per_field : 4 * per_field;
    size_t whole = head + left * point_bytes;
    // A series that fits a part of its own starts one rather than being
    // cut; only one larger than a part is cut into pieces.
    if (used > 0 && used + whole > target_ && whole <= target_)
      break;
    size_t room = used + head < target_ ? (target_ - used - head) / point_bytes : 0;
    if (room == 0 && used > 0)
      break;
    size_t take = std::min(left, std::max<size_t>(room, 1));
    auto* x = out.add_matrix();
    if (point_ == 0)
      add_labels(s.labels, *x->mutable_labels());
    else
      x->set_continued(true);
    x->mutable_timestamps_ms()->Reserve(static_cast<int>(take));
    x->mutable_values()->Reserve(static_cast<int>(take));
    for (size_t k = point_; k < point_ + take; ++k) {
      x->add_timestamps_ms(s.points[k].t);
      x->add_values(s.points[k].v);
    }
    used += head + take * point_bytes;
    point_ += take;
    if (point_ == s.points.size()) {
      ++item_;
      point_ = 0;
    }
    if (used >= target_)
      break;
  }
  done_ = item_ == m.size();
}

// -- lists -------------------------------------------------------------------

namespace {

size_t item_bytes(const storage::label_set& ls) { return labels_bytes(ls) + per_field; }
size_t item_bytes(const std::string& s) { return s.size() + per_field; }

void add_item(const storage::label_set& ls, pb::SeriesResponse& out) {
  add_labels(ls, *out.add_series()->mutable_labels());
}
void add_item(const std::string& s, pb::LabelNamesResponse& out) { set_string(out.add_names(), s); }
void add_item(const std::string& s, pb::LabelValuesResponse& out) { set_string(out.add_values(), s); }

}  // namespace

template <class Item, class Message>
void list_response_writer<Item, Message>::next(Message& out) {
  out.Clear();
  size_t used = 0;
  bool any = false;
  while (next_ < items_.size() && (used < target_ || !any)) {
    const auto& item = items_[next_++];
    add_item(item, out);
    used += item_bytes(item);
    any = true;
  }
  done_ = next_ == items_.size();
  if (!done_)
    return;
  add_warnings(warnings_, out);
  if (truncated_)
    out.add_warnings(truncated_warning);
}

void metadata_response_writer::next(pb::MetadataResponse& out) {
  out.Clear();
  size_t used = 0;
  pb::MetricFamilyMetadata* family = nullptr;
  while (next_ < items_.size()) {
    const auto& e = items_[next_];
    bool new_family = family == nullptr || e.metric_family_name != items_[next_ - 1].metric_family_name;
    if (new_family) {
      if (used >= target_)
        break;  // families stay whole: the next one starts the next part
      family = out.add_metrics();
      set_string(family->mutable_metric(), e.metric_family_name);
      used += e.metric_family_name.size() + per_field;
    }
    auto* m = family->add_metadata();
    m->set_type(std::string(storage::to_string(e.type)));
    set_string(m->mutable_help(), e.help);
    set_string(m->mutable_unit(), e.unit);
    used += e.help.size() + e.unit.size() + 16 + 3 * per_field;
    ++next_;
  }
  done_ = next_ == items_.size();
}

template class list_response_writer<storage::label_set, pb::SeriesResponse>;
template class list_response_writer<std::string, pb::LabelNamesResponse>;
template class list_response_writer<std::string, pb::LabelValuesResponse>;

}  // namespace nl::protocol

#pragma once
// Canonical (libprotobuf-identical) encoding of the prompb messages shared
// by remote write (requests: tests, load generators, the client library of
// protocol/client) and remote read (responses): Label, Sample, TimeSeries,
// MetricMetadata. proto3 leaves out fields holding
// their default value (empty string, 0, +0.0), so sizes depend on values.
#include <string_view>

#include "protocol/pb_wire.hpp"
#include "storage/labels.hpp"
#include "storage/sample.hpp"

namespace nl::protocol::prompb {

inline size_t string_field_size(std::string_view s) {
  return s.empty() ? 0 : pb::writer::bytes_field_size(s.size());
}

inline size_t label_size(std::string_view name, std::string_view value) {
  return string_field_size(name) + string_field_size(value);
}

inline size_t sample_size(const storage::sample& s) {
  return (storage::float_bits(s.v) != 0 ? 9 : 0) +
         (s.t != 0 ? 1 + pb::writer::varint_size(static_cast<uint64_t>(s.t)) : 0);
}

/// Size of a nested message field with a one-byte tag.
inline size_t nested_size(size_t body) { return 1 + pb::writer::varint_size(body) + body; }

inline void put_label(pb::writer& w, uint32_t field, std::string_view name, std::string_view value) {
  w.nested_header(field, label_size(name, value));
  if (!name.empty())
    w.bytes_field(1, name);
  if (!value.empty())
    w.bytes_field(2, value);
}

inline void put_sample(pb::writer& w, uint32_t field, const storage::sample& s) {
  w.nested_header(field, sample_size(s));
  if (storage::float_bits(s.v) != 0)
    w.double_field(1, s.v);
  if (s.t != 0)
    w.int64_field(2, s.t);
}

/// Body size of a TimeSeries{labels = 1, samples = 2}.
template <class Labels>
size_t timeseries_size(const Labels& labels, const storage::sample* s, size_t n) {
  size_t size = 0;
  for (const auto& l : labels)
    size += nested_size(label_size(l.name, l.value));
  for (size_t i = 0; i < n; ++i)
    size += nested_size(sample_size(s[i]));
  return size;
}

template <class Labels>
void put_timeseries(pb::writer& w, uint32_t field, const Labels& labels, const storage::sample* s,
                    size_t n) {
  w.nested_header(field, timeseries_size(labels, s, n));
  for (const auto& l : labels)
    put_label(w, 1, l.name, l.value);
  for (size_t i = 0; i < n; ++i)
    put_sample(w, 2, s[i]);
}

/// Body size of a MetricMetadata{type = 1, metric_family_name = 2,
/// help = 4, unit = 5}; `type` is the MetricType enum value.
inline size_t metadata_size(uint64_t type, std::string_view family, std::string_view help,
                            std::string_view unit) {
  return (type != 0 ? 1 + pb::writer::varint_size(type) : 0) + string_field_size(family) +
         string_field_size(help) + string_field_size(unit);
}

inline void put_metadata(pb::writer& w, uint32_t field, uint64_t type, std::string_view family,
                         std::string_view help, std::string_view unit) {
  w.nested_header(field, metadata_size(type, family, help, unit));
  if (type != 0)
    w.varint_field(1, type);
  if (!family.empty())
    w.bytes_field(2, family);
  if (!help.empty())
    w.bytes_field(4, help);
  if (!unit.empty())
    w.bytes_field(5, unit);
}

}  // namespace nl::protocol::prompb

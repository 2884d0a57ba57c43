// WAL record content (storage/FORMAT.md, "WAL records"):
//
//   series  := 0x01 ( ref<uvarint> n<uvarint> ( len<uvarint> name len<uvarint> value ){n} )*
//   samples := 0x02 [ base_ref<uvarint> base_t<varint>
//                     ( dref<varint> dt<varint> value<8b LE IEEE-754 bits> )+ ]
//
// Sample refs and timestamps are deltas to the base, which is the first
// sample (so it encodes as 0, 0), computed with wrap-around 64-bit
// arithmetic. Values are raw bits: no float operation touches them, so
// StaleNaN and every other NaN payload survive.
//
// Decoders read bytes from disk, so they assume nothing: every count is
// checked against the bytes left before anything is reserved.
#include "storage/wal_records.hpp"

#include "storage/coding.hpp"
#include "storage/sample.hpp"

namespace nl::storage {

namespace {

status record_corrupt(const char* kind, std::string_view whole, std::string_view rest,
                      const std::string& what) {
  return status::corruption(std::string{kind} + " record byte "
                            + std::to_string(whole.size() - rest.size()) + ": " + what);
}

}  // namespace

void encode_series(const std::vector<series_record>& series, std::string& out) {
  out.push_back(static_cast<char>(wal_record_type::series));
  for (const auto& s : series) {
    put_uvarint(out, s.ref);
    put_uvarint(out, s.labels.size());
    for (const auto& l : s.labels) {
      put_length_prefixed(out, l.name);
      put_length_prefixed(out, l.value);
    }
  }
}

void encode_samples(const std::vector<sample_record>& samples, std::string& out) {
  out.push_back(static_cast<char>(wal_record_type::samples));
  if (samples.empty())
    return;
  const auto base_ref = samples.front().ref;
  const auto base_t = static_cast<uint64_t>(samples.front().t);
  // Typical size (nearby refs and times); larger deltas just grow the string.
  out.reserve(out.size() + 2 * max_varint64_bytes + samples.size() * 12);
  put_uvarint(out, base_ref);
  put_varint(out, samples.front().t);
  // One append per sample from a stack buffer: appending byte by byte
  // dominated the encoding time.
  char buf[2 * max_varint64_bytes + 8];
  for (const auto& s : samples) {
    char* p = encode_varint(buf, static_cast<int64_t>(s.ref - base_ref));
    p = encode_varint(p, static_cast<int64_t>(static_cast<uint64_t>(s.t) - base_t));
    encode_fixed64(p, float_bits(s.v));
    out.append(buf, p + 8 - buf);
  }
}

result<wal_record_type> record_type(std::string_view rec) {
  if (rec.empty())
    return status::corruption("empty WAL record");
  auto t = static_cast<uint8_t>(rec[0]);
  switch (t) {
    case static_cast<uint8_t>(wal_record_type::series):
    case static_cast<uint8_t>(wal_record_type::samples):
      return static_cast<wal_record_type>(t);
    default:
      return status::corruption("unknown WAL record type " + std::to_string(t));
  }
}

status decode_series(std::string_view rec, std::vector<series_record>& out) {
  out.clear();
  if (rec.empty() || static_cast<uint8_t>(rec[0]) != static_cast<uint8_t>(wal_record_type::series))
    return status::corruption("not a series record");
  auto in = rec.substr(1);
  while (!in.empty()) {
    uint64_t ref;
    uint64_t count;
    if (!get_uvarint(in, ref) || !get_uvarint(in, count)) {
      out.clear();
      return record_corrupt("series", rec, in, "truncated series header");
    }
    // Each pair takes at least three bytes: two lengths and a non-empty value.
    if (count > in.size() / 3) {
      out.clear();
      return record_corrupt("series", rec, in,
                            "label count " + std::to_string(count) + " exceeds the record");
    }
    std::vector<label> labels;
    labels.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      std::string_view name;
      std::string_view value;
      if (!get_length_prefixed(in, name) || !get_length_prefixed(in, value)) {
        out.clear();
        return record_corrupt("series", rec, in, "truncated label");
      }
      // label_set's invariant, checked rather than repaired: a record that
      // violates it was not written by us.
      if (value.empty() || (!labels.empty() && !(labels.back().name < name))) {
        out.clear();
        return record_corrupt("series", rec, in,
                              "labels not sorted, not unique or with an empty value");
      }
      labels.push_back(label{std::string{name}, std::string{value}});
    }
    out.push_back(series_record{ref, label_set{std::move(labels)}});
  }
  return status::ok();
}

status decode_samples(std::string_view rec, std::vector<sample_record>& out) {
  out.clear();
  if (rec.empty() || static_cast<uint8_t>(rec[0]) != static_cast<uint8_t>(wal_record_type::samples))
    return status::corruption("not a samples record");
  auto in = rec.substr(1);
  if (in.empty())
    return status::ok();
  uint64_t base_ref;
  int64_t base_t;
  if (!get_uvarint(in, base_ref) || !get_varint(in, base_t))
    return record_corrupt("samples", rec, in, "truncated base");
  if (in.empty())
    return record_corrupt("samples", rec, in, "base without samples");
  // A sample takes at least 10 bytes, so this never exceeds the input.
  out.reserve(in.size() / 10);
  while (!in.empty()) {
    int64_t dref;
    int64_t dt;
    uint64_t bits;
    if (!get_varint(in, dref) || !get_varint(in, dt) || !get_fixed64(in, bits)) {
      out.clear();
      return record_corrupt("samples", rec, in, "truncated sample");
    }
    out.push_back(sample_record{base_ref + static_cast<uint64_t>(dref),
                                static_cast<int64_t>(static_cast<uint64_t>(base_t)
                                                     + static_cast<uint64_t>(dt)),
                                float_from_bits(bits)});
  }
  return status::ok();
}

}  // namespace nl::storage

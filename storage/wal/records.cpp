// WAL record content (storage/FORMAT.md, "WAL records"):
//
//   series  := 0x01 ( ref<uvarint> n<uvarint> ( len<uvarint> name len<uvarint> value ){n} )*
//   samples := 0x02 [ base_ref<uvarint> base_t<varint>
//                     ( dref<varint> dt<varint> value<8b LE IEEE-754 bits> )+ ]
//   tombstones := 0x03 ( ref<uvarint> mint<varint> (maxt - mint)<uvarint> )*
//   metadata := 0x04 ( seen_ms<varint> type<1b> family<lp> help<lp> unit<lp> )*
//               (<lp>: uvarint length, then the bytes)
//
// Sample refs and timestamps are deltas to the base, which is the first
// sample (so it encodes as 0, 0), computed with wrap-around 64-bit
// arithmetic. Values are raw bits: no float operation touches them, so
// StaleNaN and every other NaN payload survive.
//
// Decoders read bytes from disk, so they assume nothing: every count is
// checked against the bytes left before anything is reserved.
#include "storage/wal/records.hpp"

#include "storage/coding.hpp"
#include "storage/label_key.hpp"
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
    append_label_key(out, s.labels.labels().data(), s.labels.size());
  }
}

void append_series_entry(std::string& out, uint64_t ref, std::string_view label_key) {
  put_uvarint(out, ref);
  out.append(label_key.data(), label_key.size());
}

void encode_samples(const std::vector<sample_record>& samples, std::string& out) {
  samples_record_writer w(out, samples.size());
  for (const auto& s : samples)
    w.add(s.ref, s.t, float_bits(s.v));
}

void encode_tombstone_records(const std::vector<tombstone_record>& stones, std::string& out) {
  out.push_back(static_cast<char>(wal_record_type::tombstones));
  for (const auto& s : stones) {
    put_uvarint(out, s.ref);
    put_varint(out, s.mint);
    put_uvarint(out, static_cast<uint64_t>(s.maxt) - static_cast<uint64_t>(s.mint));
  }
}

void append_metadata_entry(std::string& out, const metadata_record& e) {
  const auto& m = e.metadata;
  put_varint(out, e.seen_ms);
  out.push_back(static_cast<char>(m.type));
  put_length_prefixed(out, m.metric_family_name);
  put_length_prefixed(out, m.help);
  put_length_prefixed(out, m.unit);
}

void encode_metadata_records(const std::vector<metadata_record>& entries, std::string& out) {
  out.push_back(static_cast<char>(wal_record_type::metadata));
  for (const auto& e : entries)
    append_metadata_entry(out, e);
}

samples_record_writer::samples_record_writer(std::string& out, size_t expected) : out_(out) {
  out_.push_back(static_cast<char>(wal_record_type::samples));
  // Typical size (nearby refs and times); larger deltas just grow the string.
  out_.reserve(out_.size() + 2 * max_varint64_bytes + expected * 12);
}

void samples_record_writer::add(uint64_t ref, int64_t t, uint64_t value_bits) {
  if (count_++ == 0) {
    base_ref_ = ref;
    base_t_ = static_cast<uint64_t>(t);
    put_uvarint(out_, ref);
    put_varint(out_, t);
  }
  // One append per sample from a stack buffer: appending byte by byte
  // dominated the encoding time.
  char buf[2 * max_varint64_bytes + 8];
  char* p = encode_varint(buf, static_cast<int64_t>(ref - base_ref_));
  p = encode_varint(p, static_cast<int64_t>(static_cast<uint64_t>(t) - base_t_));
  encode_fixed64(p, value_bits);
  out_.append(buf, p + 8 - buf);
}

result<wal_record_type> record_type(std::string_view rec) {
  if (rec.empty())
    return status::corruption("empty WAL record");
  auto t = static_cast<uint8_t>(rec[0]);
  switch (t) {
    case static_cast<uint8_t>(wal_record_type::series):
    case static_cast<uint8_t>(wal_record_type::samples):
    case static_cast<uint8_t>(wal_record_type::tombstones):
    case static_cast<uint8_t>(wal_record_type::metadata):
      return static_cast<wal_record_type>(t);
    default:
      return status::corruption("unknown WAL record type " + std::to_string(t));
  }
}

status decode_series_keys(std::string_view rec, std::vector<series_key_record>& out) {
  out.clear();
  if (rec.empty() || static_cast<uint8_t>(rec[0]) != static_cast<uint8_t>(wal_record_type::series))
    return status::corruption("not a series record");
  auto in = rec.substr(1);
  while (!in.empty()) {
    series_key_record r;
    if (!get_uvarint(in, r.ref)) {
      out.clear();
      return record_corrupt("series", rec, in, "truncated series header");
    }
    if (auto st = next_label_key(in, r.key, r.hash); !st) {
      out.clear();
      return record_corrupt("series", rec, in, st.message());
    }
    out.push_back(r);
  }
  return status::ok();
}

status decode_series(std::string_view rec, std::vector<series_record>& out) {
  out.clear();
  std::vector<series_key_record> keys;
  if (auto st = decode_series_keys(rec, keys); !st)
    return st;
  out.reserve(keys.size());
  for (const auto& k : keys)
    out.push_back(series_record{k.ref, std::move(*label_set_from_key(k.key))});  // checked above
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

status decode_tombstone_records(std::string_view rec, std::vector<tombstone_record>& out) {
  out.clear();
  if (rec.empty() || static_cast<uint8_t>(rec[0]) != static_cast<uint8_t>(wal_record_type::tombstones))
    return status::corruption("not a tombstones record");
  auto in = rec.substr(1);
  while (!in.empty()) {
    uint64_t ref;
    int64_t mint;
    uint64_t len;
    if (!get_uvarint(in, ref) || !get_varint(in, mint) || !get_uvarint(in, len)) {
      out.clear();
      return record_corrupt("tombstones", rec, in, "truncated entry");
    }
    // INT64_MAX - mint, exact in modular arithmetic for every mint.
    if (len > static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(mint)) {
      out.clear();
      return record_corrupt("tombstones", rec, in, "range ends past the largest time");
    }
    out.push_back(tombstone_record{ref, mint, static_cast<int64_t>(static_cast<uint64_t>(mint) + len)});
  }
  return status::ok();
}

namespace {

// Appends the entries of `in` to `out`; on damage `out` keeps what it had.
status decode_metadata_into(std::string_view whole, std::string_view in, std::vector<metadata_record>& out) {
  const size_t before = out.size();
  auto fail = [&](const std::string& what) {
    out.resize(before);
    return record_corrupt("metadata", whole, in, what);
  };
  while (!in.empty()) {
    metadata_record e;
    std::string_view family;
    std::string_view help;
    std::string_view unit;
    if (!get_varint(in, e.seen_ms) || in.empty())
      return fail("truncated entry");
    auto type = metric_type_of(static_cast<uint8_t>(in[0]));
    if (!type)
      return fail("unknown metric type " + std::to_string(static_cast<uint8_t>(in[0])));
    in.remove_prefix(1);
    if (!get_length_prefixed(in, family) || !get_length_prefixed(in, help) || !get_length_prefixed(in, unit))
      return fail("truncated entry");
    if (family.empty())
      return fail("empty metric family name");
    e.metadata.type = *type;
    e.metadata.metric_family_name = family;
    e.metadata.help = help;
    e.metadata.unit = unit;
    out.push_back(std::move(e));
  }
  return status::ok();
}

}  // namespace

status decode_metadata_records(std::string_view rec, std::vector<metadata_record>& out) {
  out.clear();
  if (rec.empty() || static_cast<uint8_t>(rec[0]) != static_cast<uint8_t>(wal_record_type::metadata))
    return status::corruption("not a metadata record");
  return decode_metadata_into(rec, rec.substr(1), out);
}

status decode_metadata_entries(std::string_view entries, std::vector<metadata_record>& out) {
  return decode_metadata_into(entries, entries, out);
}

}  // namespace nl::storage

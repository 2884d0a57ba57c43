#include "protocol/remote_write.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "promql/literals.hpp"
#include "protocol/pb_wire.hpp"
#include "protocol/prompb_writer.hpp"
#include "protocol/snappy_block.hpp"
#include "protocol/utf8.hpp"
#include "storage/quote.hpp"

// Field numbers (prompb, see shared/spec/prometheus-api.md §1.3):
//   WriteRequest   { 1: TimeSeries (msg), 3: MetricMetadata (msg) }
//   TimeSeries     { 1: Label, 2: Sample, 3: Exemplar, 4: Histogram }
//   Label          { 1: name (bytes), 2: value (bytes) }
//   Sample         { 1: value (fixed64 double), 2: timestamp (varint int64) }
//   MetricMetadata { 1: type (varint), 2: family name, 4: help, 5: unit }
// A known field number with an unexpected wire type is skipped like an
// unknown field, which is what libprotobuf does.

namespace nl::protocol {

namespace {

using storage::go_quote;
// True when every byte is ASCII, which is what senders put in label values:
// whole words, the tail as one overlapping word. valid_utf8 takes bytes one
// at a time after its last whole word, which made it the costliest check.
bool ascii_only(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t acc = 0;
  uint64_t w;
  if (n >= 8) {
    for (size_t i = 0; i + 8 <= n; i += 8) {
      std::memcpy(&w, p + i, 8);
      acc |= w;
    }
    std::memcpy(&w, p + n - 8, 8);
    acc |= w;
  } else {
    for (size_t i = 0; i < n; ++i)
      acc |= static_cast<unsigned char>(p[i]);
  }
  return (acc & 0x8080808080808080ULL) == 0;
}

std::string quoted(std::string_view s) { return go_quote(s); }

// Prometheus text form of the (possibly invalid) labels, for messages.
// Capped so a 1 MiB label value does not end up in a log line.
std::string series_text(const label_ref* ls, size_t n) {
  constexpr size_t cap = 512;
  std::string_view name;
  for (size_t i = 0; i < n; ++i)
    if (ls[i].name == storage::metric_name_label)
      name = ls[i].value;
  const bool name_outside = valid_utf8(name) && promql::is_legacy_metric_name(name);
  std::string out(name_outside ? name : std::string_view{});
  std::string pairs;
  for (size_t i = 0; i < n && pairs.size() <= cap; ++i) {
    if (name_outside && ls[i].name == storage::metric_name_label)
      continue;
    if (!pairs.empty())
      pairs += ", ";
    pairs += valid_utf8(ls[i].name) && promql::is_legacy_label_name(ls[i].name) ? std::string(ls[i].name)
                                                                       : quoted(ls[i].name);
    pairs += '=';
    pairs += quoted(ls[i].value);
  }
  if (pairs.size() > cap) {
    size_t cut = cap;
    while (cut > 0 && (static_cast<unsigned char>(pairs[cut]) & 0xc0) == 0x80)
      --cut;
    pairs.resize(cut);
    pairs += "...";
  }
  if (!pairs.empty() || out.empty())
    out += '{' + pairs + '}';
  return out;
}

class decoder {
 public:
  decoder(write_batch& b, int64_t now_ms, const write_settings& st)
    : b_(b), st_(st), now_ms_(now_ms) {}

  storage::status run(std::string_view msg) {
    pb::reader r(msg);
    pb::field f;
    while (r.next(f)) {
      if (f.type != pb::length_delimited)
        continue;
      if (f.number == 1) {
        if (!series(pb::reader(f.bytes, r)))
          return storage::status::corruption(error_);
      } else if (f.number == 3) {
        if (!metadata(pb::reader(f.bytes, r)))
          return storage::status::corruption(error_);
      }
    }
    if (r.failed())
      return storage::status::corruption(r.error());
    return storage::status::ok();
  }

 private:
  bool failed(const pb::reader& r) {
    error_ = r.error();
    return false;
  }

  bool series(pb::reader r) {
    size_t lb = b_.labels.size();
    series_labels_begin_ = lb;
    labels_over_limit_ = 0;
    size_t sb = b_.samples.size();
    size_t histograms = 0;
    pb::field f;
    while (r.next(f)) {
      if (f.type != pb::length_delimited)
        continue;
      switch (f.number) {
        case 1:
          if (!label_fast(f.bytes) && !label(pb::reader(f.bytes, r)))
            return false;
          break;
        case 2:
          if (!sample_fast(f.bytes) && !sample(pb::reader(f.bytes, r)))
            return false;
          break;
        case 3:
          // Exemplars are not stored; their bytes were bound-checked above.
          ++b_.report.exemplars_ignored;
          break;
        case 4:
          ++histograms;
          break;
        default:
          break;
      }
    }
    if (r.failed())
      return failed(r);
    finish_series(lb, sb, histograms);
    return true;
  }

  // Fast paths for the canonical encodings every sender produces: Label as
  // exactly `0a len name 12 len value` (either part may be absent), Sample
  // as `09 value8 10 varint`. Anything else (other order, repeats, unknown
  // fields, errors) returns false and goes through the general reader.
  static bool short_len(const char*& p, const char* end, size_t& n) {
    uint64_t v = 0;
    if (!pb::reader::decode_varint(p, end, v) || v > static_cast<uint64_t>(end - p))
      return false;
    n = static_cast<size_t>(v);
    return true;
  }

  bool label_fast(std::string_view m) {
    const char* p = m.data();
    const char* end = p + m.size();
    size_t n = 0;
    std::string_view name;
    std::string_view value;
    if (p < end && *p == 0x0a) {
      ++p;
      if (!short_len(p, end, n))
        return false;
      name = std::string_view(p, n);
      p += n;
    }
    if (p < end && *p == 0x12) {
      ++p;
      if (!short_len(p, end, n))
        return false;
      value = std::string_view(p, n);
      p += n;
    }
    if (p != end)
      return false;
    add_label(name, value);
    return true;
  }

  // Empty values mean "absent" and are dropped right here, and past the
  // per-series limit labels are only counted (the series gets rejected), so
  // a body of tiny label messages cannot inflate memory 16-fold.
  void add_label(std::string_view name, std::string_view value) {
    if (value.empty())
      return;
    if (b_.labels.size() - series_labels_begin_ >= st_.max_labels_per_series) {
      ++labels_over_limit_;
      return;
    }
    // Filled in place: building a temporary and copying it made GCC 12 do
    // 8-byte stores then a 16-byte reload (a store-forwarding stall that
    // cost more than the rest of the walk).
    auto& l = b_.labels.emplace_back();
    l.name = name;
    l.value = value;
  }

  bool sample_fast(std::string_view m) {
    const char* p = m.data();
    const char* end = p + m.size();
    storage::sample s;
    if (p < end && *p == 0x09) {
      if (end - p < 9)
        return false;
      uint64_t bits;
      std::memcpy(&bits, p + 1, 8);
      s.v = storage::float_from_bits(bits);
      p += 9;
    }
    if (p < end && *p == 0x10) {
      ++p;
      uint64_t t = 0;
      if (!pb::reader::decode_varint(p, end, t))
        return false;
      s.t = static_cast<int64_t>(t);
    }
    if (p != end)
      return false;
    auto& out = b_.samples.emplace_back();
    out.t = s.t;
    out.v = s.v;
    return true;
  }

  bool label(pb::reader r) {
    label_ref l;
    pb::field f;
    while (r.next(f)) {
      if (f.type != pb::length_delimited)
        continue;
      if (f.number == 1)
        l.name = f.bytes;
      else if (f.number == 2)
        l.value = f.bytes;
    }
    if (r.failed())
      return failed(r);
    add_label(l.name, l.value);
    return true;
  }

  bool sample(pb::reader r) {
    storage::sample s;
    pb::field f;
    while (r.next(f)) {
      if (f.number == 1 && f.type == pb::fixed64)
        s.v = storage::float_from_bits(f.value);
      else if (f.number == 2 && f.type == pb::varint)
        s.t = static_cast<int64_t>(f.value);
    }
    if (r.failed())
      return failed(r);
    b_.samples.push_back(s);
    return true;
  }

  bool metadata(pb::reader r) {
    metadata_entry m;
    pb::field f;
    while (r.next(f)) {
      if (f.number == 1 && f.type == pb::varint) {
        // proto3 enums are open: a number this version does not know is
        // read as unknown, as Go's Prometheus reads it.
        m.type = storage::metric_type_of(f.value).value_or(metric_type::unknown);
      } else if (f.type == pb::length_delimited) {
        if (f.number == 2)
          m.metric_family_name = f.bytes;
        else if (f.number == 4)
          m.help = f.bytes;
        else if (f.number == 5)
          m.unit = f.bytes;
      }
    }
    if (r.failed())
      return failed(r);
    if (auto why = metadata_fault(m); !why.empty()) {
      auto& rep = b_.report;
      ++rep.metadata_rejected;
      if (rep.rejections.size() < st_.max_reported_rejections)
        rep.rejections.push_back({reject_reason::invalid_metadata, "metadata " + capped_quote(m.metric_family_name),
                                  std::move(why)});
      else
        ++rep.rejections_omitted;
      return true;
    }
    b_.metadata.push_back(std::move(m));
    return true;
  }

  // Why a metadata entry cannot be stored ("" when it can): a family needs
  // the name its series have (the __name__ rules), and every string must
  // be valid UTF-8 (the API answers JSON) of bounded size.
  std::string metadata_fault(const metadata_entry& m) const {
    const auto& name = m.metric_family_name;
    if (name.empty())
      return "metadata without a metric family name";
    if (name.size() > st_.max_label_value_length)
      return "metric family name of " + std::to_string(name.size()) + " bytes is longer than the limit of "
             + std::to_string(st_.max_label_value_length);
    if (!valid_utf8(name))
      return "metric family name is not valid UTF-8";
    if (!st_.allow_utf8_names && !promql::is_legacy_metric_name(name))
      return "invalid metric family name " + quoted(name);
    if (m.help.size() > st_.max_help_length)
      return "help of " + std::to_string(m.help.size()) + " bytes is longer than the limit of "
             + std::to_string(st_.max_help_length);
    if (!valid_utf8(m.help))
      return "help is not valid UTF-8";
    if (m.unit.size() > st_.max_label_value_length)
      return "unit of " + std::to_string(m.unit.size()) + " bytes is longer than the limit of "
             + std::to_string(st_.max_label_value_length);
    if (!valid_utf8(m.unit))
      return "unit is not valid UTF-8";
    return {};
  }

  // A family name for a message: quoted, at most ~128 bytes of it.
  static std::string capped_quote(std::string_view name) {
    constexpr size_t cap = 128;
    if (name.size() <= cap)
      return quoted(name);
    size_t cut = cap;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xc0) == 0x80)
      --cut;
    return quoted(name.substr(0, cut)) + "...";
  }

  void reject(reject_reason why, const label_ref* ls, size_t n, std::string message) {
    auto& rep = b_.report;
    last_reason_ = why;
    if (rep.rejections.size() < st_.max_reported_rejections)
      rep.rejections.push_back({why, series_text(ls, n), std::move(message)});
    else
      ++rep.rejections_omitted;
  }

  // Cheap checks that every label of a well-behaved sender passes; the
  // detailed (and slower) explain_label names the failure.
  bool label_ok(const label_ref& l) const {
    if (l.name.empty() || l.name.size() > st_.max_label_name_length ||
        l.value.size() > st_.max_label_value_length)
      return false;
    if (st_.allow_utf8_names ? !valid_utf8(l.name) : !promql::is_legacy_label_name(l.name))
      return false;
    return ascii_only(l.value) || valid_utf8(l.value);
  }

  // Records why `l` failed label_ok.
  void explain_label(const label_ref& l, const label_ref* ls, size_t n) {
    if (l.name.empty())
      return reject(reject_reason::invalid_label_name, ls, n, "empty label name");
    if (l.name.size() > st_.max_label_name_length)
      return reject(reject_reason::label_name_too_long, ls, n,
                    "label name of " + std::to_string(l.name.size()) +
                      " bytes is longer than the limit of " +
                      std::to_string(st_.max_label_name_length));
    if (l.value.size() > st_.max_label_value_length)
      return reject(reject_reason::label_value_too_long, ls, n,
                    "value of label " + quoted(l.name) + " is " + std::to_string(l.value.size()) +
                      " bytes, longer than the limit of " +
                      std::to_string(st_.max_label_value_length));
    if (!valid_utf8(l.name))
      return reject(reject_reason::invalid_utf8, ls, n,
                    "label name " + quoted(l.name) + " is not valid UTF-8");
    if (!st_.allow_utf8_names && !promql::is_legacy_label_name(l.name))
      return reject(reject_reason::invalid_label_name, ls, n, "invalid label name " + quoted(l.name));
    return reject(reject_reason::invalid_utf8, ls, n,
                  "value of label " + quoted(l.name) + " is not valid UTF-8");
  }

  static bool name_less(std::string_view a, std::string_view b) {
    // Inline byte loop: label names are short and usually differ early, so
    // this beats a memcmp call per neighbour pair.
    size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i)
      if (a[i] != b[i])
        return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
    return a.size() < b.size();
  }

  static bool is_metric_name_label(std::string_view name) {
    return name.size() == 8 && std::memcmp(name.data(), "__name__", 8) == 0;
  }

  // Validates the labels of the entry that starts at `lb` (empty values are
  // already gone); on failure records the rejection and returns false.
  // Sorts the labels.
  bool check_labels(size_t lb) {
    label_ref* ls = b_.labels.data() + lb;
    size_t n = b_.labels.size() - lb;
    if (labels_over_limit_ > 0)
      return reject(reject_reason::too_many_labels, ls, n,
                    "series has " + std::to_string(n + labels_over_limit_) +
                      " labels, more than the limit of " +
                      std::to_string(st_.max_labels_per_series)),
             false;
    bool strictly_sorted = true;  // sorted and duplicate-free, what senders send
    bool all_ok = true;
    const label_ref* name = nullptr;
    for (size_t i = 0; i < n; ++i) {
      const label_ref& l = ls[i];
      if (i > 0)
        strictly_sorted = strictly_sorted && name_less(ls[i - 1].name, l.name);
      all_ok = all_ok && label_ok(l);
      if (is_metric_name_label(l.name))
        name = &l;
    }
    if (!strictly_sorted) {
      std::sort(ls, ls + n, [](const label_ref& a, const label_ref& b) { return a.name < b.name; });
      for (size_t i = 1; i < n; ++i)
        if (ls[i].name == ls[i - 1].name)
          return reject(reject_reason::duplicate_label_name, ls, n,
                        "duplicate label name " + quoted(ls[i].name)),
                 false;
      name = nullptr;  // moved by the sort
      for (size_t i = 0; i < n && name == nullptr; ++i)
        if (is_metric_name_label(ls[i].name))
          name = ls + i;
    }
    if (!all_ok) {
      for (size_t i = 0; i < n; ++i)
        if (!label_ok(ls[i]))
          return explain_label(ls[i], ls, n), false;
    }
    if (name == nullptr)
      return reject(reject_reason::missing_metric_name, ls, n, "series has no __name__ label"),
             false;
    if (!st_.allow_utf8_names && !promql::is_legacy_metric_name(name->value))
      return reject(reject_reason::invalid_metric_name, ls, n,
                    "invalid metric name " + quoted(name->value)),
             false;
    return true;
  }

  void finish_series(size_t lb, size_t sb, size_t histograms) {
    auto& rep = b_.report;
    size_t ns = b_.samples.size() - sb;
    auto drop = [&] {
      b_.labels.resize(lb);
      b_.samples.resize(sb);
    };
    if (histograms > 0) {
      rep.histograms_rejected += histograms;
      ++rep.series_rejected;
      rep.samples_rejected += ns;
      rep.samples_rejected_by[static_cast<size_t>(reject_reason::native_histogram)] += ns;
      reject(reject_reason::native_histogram, b_.labels.data() + lb, b_.labels.size() - lb,
             "native histograms are not supported");
      return drop();
    }
    if (ns == 0)  // exemplar-only (or empty) entry: nothing to store
      return drop();
    if (!check_labels(lb)) {
      ++rep.series_rejected;
      rep.samples_rejected += ns;
      rep.samples_rejected_by[static_cast<size_t>(last_reason_)] += ns;
      return drop();
    }
    storage::sample* s = b_.samples.data() + sb;
    size_t kept = 0;
    size_t future = 0;
    const bool future_check = st_.max_future_ms >= 0;
    const int64_t limit = future_check && now_ms_ > INT64_MAX - st_.max_future_ms
                            ? INT64_MAX
                            : now_ms_ + (future_check ? st_.max_future_ms : 0);
    for (size_t i = 0; i < ns; ++i) {
      if (future_check && s[i].t > limit) {
        ++future;
        continue;
      }
      if (st_.drop_non_finite && !std::isfinite(s[i].v) && !storage::is_stale_nan(s[i].v)) {
        ++rep.non_finite_dropped;
        continue;
      }
      s[kept++] = s[i];
    }
    const label_ref* ls = b_.labels.data() + lb;
    size_t nl = b_.labels.size() - lb;
    if (future > 0) {
      rep.samples_rejected += future;
      rep.samples_rejected_by[static_cast<size_t>(reject_reason::too_far_in_future)] += future;
      reject(reject_reason::too_far_in_future, ls, nl,
             "out of bounds: timestamp is too far in the future");
    }
    if (kept == 0) {
      if (future > 0)
        ++rep.series_rejected;
      return drop();
    }
    b_.samples.resize(sb + kept);
    b_.series.push_back({static_cast<uint32_t>(lb), static_cast<uint32_t>(nl),
                         static_cast<uint32_t>(sb), static_cast<uint32_t>(kept)});
    ++rep.series_accepted;
    rep.samples_accepted += kept;
  }

  write_batch& b_;
  const write_settings& st_;
  int64_t now_ms_;
  std::string error_;
  size_t series_labels_begin_ = 0;  // first label of the TimeSeries being read
  size_t labels_over_limit_ = 0;    // its labels beyond max_labels_per_series
  reject_reason last_reason_ = reject_reason::invalid_label_name;  // of the latest reject()
};

}  // namespace

std::string_view to_string(reject_reason r) {
  switch (r) {
    case reject_reason::missing_metric_name: return "missing_metric_name";
    case reject_reason::invalid_metric_name: return "invalid_metric_name";
    case reject_reason::invalid_label_name: return "invalid_label_name";
    case reject_reason::duplicate_label_name: return "duplicate_label_name";
    case reject_reason::invalid_utf8: return "invalid_utf8";
    case reject_reason::label_name_too_long: return "label_name_too_long";
    case reject_reason::label_value_too_long: return "label_value_too_long";
    case reject_reason::too_many_labels: return "too_many_labels";
    case reject_reason::native_histogram: return "native_histogram";
    case reject_reason::too_far_in_future: return "too_far_in_future";
    case reject_reason::invalid_metadata: return "invalid_metadata";
    case reject_reason::count_: break;
  }
  return "unknown";
}

std::string write_report::summary() const {
  if (!any_rejected())
    return {};
  std::string out;
  auto count = [&out](size_t n, const char* what) {
    if (!out.empty())
      out += ", ";
    out += std::to_string(n) + what;
  };
  if (series_rejected > 0)
    count(series_rejected, " series rejected");
  if (samples_rejected > 0 || series_rejected > 0 || metadata_rejected == 0)
    count(samples_rejected, " samples rejected");
  if (metadata_rejected > 0)
    count(metadata_rejected, " metadata entries rejected");
  char sep = ':';
  for (const auto& r : rejections) {
    out += sep;
    out += ' ';
    out += r.series;
    out += ": ";
    out += r.message;
    sep = ';';
  }
  if (rejections_omitted > 0)
    out += "; and " + std::to_string(rejections_omitted) + " more";
  return out;
}

uint64_t hash_labels(const label_ref* labels, size_t n) {
  storage::label_hasher h;
  for (size_t i = 0; i < n; ++i)
    h.add(labels[i].name, labels[i].value);
  return h.value();
}

storage::result<write_batch> decode_write_request(std::shared_ptr<const std::string> body,
                                                  int64_t now_ms, const write_settings& settings) {
  write_batch b;
  b.body = std::move(body);
  std::string_view msg = b.body ? std::string_view(*b.body) : std::string_view{};
  // Rough reservations from the typical shape (one sample and ~8 labels of
  // ~20 bytes per ~150-byte entry) save most regrowth on the hot path.
  b.series.reserve(msg.size() / 128);
  b.samples.reserve(msg.size() / 128);
  b.labels.reserve(msg.size() / 20);
  decoder d(b, now_ms, settings);
  if (auto st = d.run(msg); !st)
    return st;
  return b;
}

storage::result<write_batch> decode_remote_write(std::string_view compressed, int64_t now_ms,
                                                 const write_settings& settings,
                                                 size_t max_decoded_bytes) {
  auto body = std::make_shared<std::string>();
  if (auto st = snappy_decode(compressed, *body, max_decoded_bytes); !st)
    return st;
  return decode_write_request(std::move(body), now_ms, settings);
}

std::string encode_write_request(const std::vector<write_series>& series,
                                 const std::vector<metadata_entry>& metadata) {
  std::string out;
  pb::writer w(out);
  for (const auto& ts : series)
    prompb::put_timeseries(w, 1, ts.labels, ts.samples.data(), ts.samples.size());
  for (const auto& m : metadata)
    prompb::put_metadata(w, 3, static_cast<uint64_t>(m.type), m.metric_family_name, m.help, m.unit);
  return out;
}

}  // namespace nl::protocol

#include "protocol/api_json.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "protocol/utf8.hpp"

namespace nl::protocol {

namespace {

// Bytes that cannot be copied verbatim into a Go-escaped JSON string.
struct escape_table {
  bool special[256] = {};
  constexpr escape_table() {
    for (int i = 0; i < 0x20; ++i)
      special[i] = true;
    for (int i = 0x80; i < 0x100; ++i)
      special[i] = true;  // checked for validity and U+2028/2029
    special[static_cast<int>('"')] = true;
    special[static_cast<int>('\\')] = true;
    special[static_cast<int>('<')] = true;
    special[static_cast<int>('>')] = true;
    special[static_cast<int>('&')] = true;
  }
};
constexpr escape_table escapes{};

void append_u_escape(std::string& out, unsigned c) {
  static const char hex[] = "0123456789abcdef";
  char buf[6] = {'\\', 'u', hex[(c >> 12) & 15], hex[(c >> 8) & 15], hex[(c >> 4) & 15],
                 hex[c & 15]};
  out.append(buf, 6);
}

// Go's strconv.AppendFloat(v, fmt, -1, 64) for fmt 'f' or 'e'.
void append_go_float(std::string& out, double v, bool exponent) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  // Shortest round-trip digits in the chosen notation; fixed notation of
  // 5e-324 or 1.8e308 needs ~330 characters.
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof buf, v,
                         exponent ? std::chars_format::scientific : std::chars_format::fixed);
  out.append(buf, r.ptr);
}

void append_int(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  auto end = p + s.size();
  const unsigned char* run = p;
  while (p < end) {
    unsigned c = *p;
    if (!escapes.special[c]) {
      ++p;
      continue;
    }
    if (c >= 0x80) {
      size_t n = utf8_sequence_length(p, end);
      if (n == 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
        out.append(reinterpret_cast<const char*>(run), p - run);
        append_u_escape(out, p[2] == 0xa8 ? 0x2028 : 0x2029);
        p += 3;
        run = p;
      } else if (n > 0) {
        p += n;
      } else {
        out.append(reinterpret_cast<const char*>(run), p - run);
        out += "\\ufffd";
        ++p;
        run = p;
      }
      continue;
    }
    out.append(reinterpret_cast<const char*>(run), p - run);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: append_u_escape(out, c);  // <, >, & and other control bytes (Go 1.19)
    }
    ++p;
    run = p;
  }
  out.append(reinterpret_cast<const char*>(run), p - run);
  out += '"';
}

void append_json_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += '0';
    return;
  }
  double a = std::fabs(v);
  bool exponent = a != 0 && (a < 1e-6 || a >= 1e21);
  size_t at = out.size();
  append_go_float(out, v, exponent);
  // encoding/json cleans "e-07" up to "e-7".
  if (exponent) {
    auto e = out.find('e', at);
    if (e != std::string::npos && e + 2 < out.size() && out[e + 1] == '-' && out[e + 2] == '0')
      out.erase(e + 2, 1);
  }
}

void append_sample_value(std::string& out, double v) {
  double a = std::fabs(v);
  out += '"';
  append_go_float(out, v, a != 0 && (a < 1e-6 || a >= 1e21));
  out += '"';
}

void append_scalar_value(std::string& out, double v) {
  out += '"';
  append_go_float(out, v, false);
  out += '"';
}

void append_timestamp(std::string& out, int64_t t_ms) {
  // Integer arithmetic, never exponent notation: client_golang splits the
  // number on '.' and would fail on 1.7e9.
  uint64_t t = static_cast<uint64_t>(t_ms);
  if (t_ms < 0) {
    out += '-';
    t = 0 - t;
  }
  append_int(out, t / 1000);
  unsigned frac = static_cast<unsigned>(t % 1000);
  if (frac != 0) {
    char buf[4] = {'.', static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
                   static_cast<char>('0' + frac % 10)};
    out.append(buf, 4);
  }
}

void append_timestamp_shortest(std::string& out, int64_t t_ms) {
  // Go: json.Marshal(float64(t) / 1000); |t/1000| never reaches the
  // exponent range (< 1e-6 or >= 1e21) for a non-zero int64 of ms.
  append_go_float(out, static_cast<double>(t_ms) / 1000, false);
}

void append_labels(std::string& out, const storage::label_set& labels) {
  out += '{';
  bool first = true;
  for (const auto& l : labels) {
    if (!first)
      out += ',';
    first = false;
    append_json_string(out, l.name);
    out += ':';
    append_json_string(out, l.value);
  }
  out += '}';
}

std::string_view to_string(api_error e) {
  switch (e) {
    case api_error::bad_data: return "bad_data";
    case api_error::execution: return "execution";
    case api_error::timeout: return "timeout";
    case api_error::canceled: return "canceled";
    case api_error::internal: return "internal";
    case api_error::unavailable: return "unavailable";
    case api_error::not_found: return "not_found";
    case api_error::method_not_allowed: return "method_not_allowed";
  }
  return "internal";
}

int http_status(api_error e) {
  switch (e) {
    case api_error::bad_data: return 400;
    case api_error::execution: return 422;
    case api_error::timeout: return 503;
    case api_error::canceled: return 503;
    case api_error::internal: return 500;
    case api_error::unavailable: return 500;
    case api_error::not_found: return 404;
    case api_error::method_not_allowed: return 405;
  }
  return 500;
}

std::string error_body(api_error e, std::string_view message) {
  std::string out = R"({"status":"error","errorType":")";
  out += to_string(e);
  out += R"(","error":)";
  append_json_string(out, message);
  out += '}';
  return out;
}

void begin_success(std::string& out) { out += R"({"status":"success","data":)"; }

void end_success(std::string& out, const std::vector<std::string>& warnings) {
  if (!warnings.empty()) {
    out += R"(,"warnings":)";
    append_string_list(out, warnings);
  }
  out += '}';
}

void append_string_list(std::string& out, const std::vector<std::string>& values) {
  out += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0)
      out += ',';
    append_json_string(out, values[i]);
  }
  out += ']';
}

void append_series_list(std::string& out, const std::vector<storage::label_set>& series) {
  out += '[';
  for (size_t i = 0; i < series.size(); ++i) {
    if (i > 0)
      out += ',';
    append_labels(out, series[i]);
  }
  out += ']';
}

void append_vector_result(std::string& out, const std::vector<vector_element>& elements) {
  out += R"({"resultType":"vector","result":[)";
  bool first = true;
  for (const auto& [labels, s] : elements) {
    if (!first)
      out += ',';
    first = false;
    out += R"({"metric":)";
    append_labels(out, *labels);
    out += R"(,"value":[)";
    append_timestamp(out, s.t);
    out += ',';
    append_sample_value(out, s.v);
    out += "]}";
  }
  out += "]}";
}

void append_matrix_result(std::string& out, const std::vector<matrix_series>& series) {
  out += R"({"resultType":"matrix","result":[)";
  bool first = true;
  for (const auto& s : series) {
    if (s.count == 0)
      continue;
    if (!first)
      out += ',';
    first = false;
    out += R"({"metric":)";
    append_labels(out, *s.labels);
    out += R"(,"values":[)";
    for (size_t i = 0; i < s.count; ++i) {
      if (i > 0)
        out += ',';
      out += '[';
      append_timestamp(out, s.points[i].t);
      out += ',';
      append_sample_value(out, s.points[i].v);
      out += ']';
    }
    out += "]}";
  }
  out += "]}";
}

void append_scalar_result(std::string& out, int64_t t_ms, double v) {
  out += R"({"resultType":"scalar","result":[)";
  append_timestamp_shortest(out, t_ms);
  out += ',';
  append_scalar_value(out, v);
  out += "]}";
}

void append_string_result(std::string& out, int64_t t_ms, std::string_view s) {
  out += R"({"resultType":"string","result":[)";
  append_timestamp_shortest(out, t_ms);
  out += ',';
  append_json_string(out, s);
  out += "]}";
}

void append_metadata(std::string& out, const std::vector<metadata_entry>& entries) {
  out += '{';
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    const bool first_of_family = i == 0 || entries[i - 1].metric_family_name != e.metric_family_name;
    if (first_of_family) {
      if (i > 0)
        out += "],";
      append_json_string(out, e.metric_family_name);
      out += ":[";
    } else {
      out += ',';
    }
    out += R"({"type":)";
    append_json_string(out, to_string(e.type));
    out += R"(,"help":)";
    append_json_string(out, e.help);
    out += R"(,"unit":)";
    append_json_string(out, e.unit);
    out += '}';
  }
  if (!entries.empty())
    out += ']';
  out += '}';
}

namespace {

void append_stat_list(std::string& out, const char* key, const std::vector<storage::cardinality_stat>& xs) {
  out += ",\"";
  out += key;
  out += "\":[";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += ',';
    out += R"({"name":)";
    append_json_string(out, xs[i].name);
    out += R"(,"value":)";
    append_int(out, xs[i].value);
    out += '}';
  }
  out += ']';
}

}  // namespace

void append_tsdb_status(std::string& out, const storage::tsdb_status& s) {
  out += R"({"headStats":{"numSeries":)";
  append_int(out, s.num_series);
  out += R"(,"numLabelPairs":)";
  append_int(out, s.num_label_pairs);
  out += R"(,"chunkCount":)";
  append_int(out, s.chunk_count);
  out += R"(,"minTime":)";
  out += std::to_string(s.min_time);
  out += R"(,"maxTime":)";
  out += std::to_string(s.max_time);
  out += '}';
  append_stat_list(out, "seriesCountByMetricName", s.series_count_by_metric_name);
  append_stat_list(out, "labelValueCountByLabelName", s.label_value_count_by_label_name);
  append_stat_list(out, "memoryInBytesByLabelName", s.memory_in_bytes_by_label_name);
  append_stat_list(out, "seriesCountByLabelValuePair", s.series_count_by_label_value_pair);
  out += '}';
}

void append_wal_replay_status(std::string& out, int64_t min, int64_t max, int64_t current) {
  out += R"({"min":)";
  out += std::to_string(min);
  out += R"(,"max":)";
  out += std::to_string(max);
  out += R"(,"current":)";
  out += std::to_string(current);
  out += '}';
}

void append_string_map(std::string& out, const std::map<std::string, std::string>& m) {
  out += '{';
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first)
      out += ',';
    first = false;
    append_json_string(out, k);
    out += ':';
    append_json_string(out, v);
  }
  out += '}';
}

void append_rfc3339_nano(std::string& out, int64_t unix_ns) {
  int64_t secs = unix_ns / 1000000000;
  int64_t ns = unix_ns % 1000000000;
  if (ns < 0) {
    ns += 1000000000;
    secs -= 1;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  out.append(buf, n);
  if (ns != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09lld", static_cast<long long>(ns));
    std::string_view f{frac};
    while (f.back() == '0')
      f.remove_suffix(1);
    out += f;
  }
  out += 'Z';
}

void append_runtime_info(std::string& out, const runtime_info& r) {
  out += R"({"startTime":")";
  append_rfc3339_nano(out, r.start_time_ns);
  out += R"(","CWD":)";
  append_json_string(out, r.cwd);
  out += R"(,"reloadConfigSuccess":)";
  out += r.reload_config_success ? "true" : "false";
  out += R"(,"lastConfigTime":")";
  append_rfc3339_nano(out, r.last_config_time_s * 1000000000);
  out += R"(","corruptionCount":)";
  out += std::to_string(r.corruption_count);
  out += R"(,"goroutineCount":)";
  out += std::to_string(r.goroutine_count);
  out += R"(,"GOMAXPROCS":)";
  out += std::to_string(r.gomaxprocs);
  out += R"(,"GOGC":)";
  append_json_string(out, r.gogc);
  out += R"(,"GODEBUG":)";
  append_json_string(out, r.godebug);
  out += R"(,"storageRetention":)";
  append_json_string(out, r.storage_retention);
  out += '}';
}

std::string format_base2_bytes(uint64_t bytes) {
  if (bytes == 0)
    return "0B";
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  std::string out;
  for (int i = 0; bytes != 0; ++i) {
    if (bytes % 1024 != 0)
      out = std::to_string(bytes % 1024) + units[i] + out;
    bytes /= 1024;
  }
  return out;
}

}  // namespace nl::protocol

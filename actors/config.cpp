#include "actors/config.hpp"

#include <yaml-cpp/yaml.h>

#include "protocol/authorization.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <string_view>
#include <vector>

namespace nl::actors {

namespace {

// Every accepted key is one row: its dotted name and a setter that converts
// the YAML node, checks the range and stores the value. Errors throw with the
// key's line, so the table is the whole schema (and the source of
// README.md, "Configuration").
struct key_spec {
  std::string name;
  std::function<void(const YAML::Node&, settings&, const std::string& where)> set;
};

[[noreturn]] void fail(const std::string& where, const std::string& msg) {
  throw config_error(where + ": " + msg);
}

std::string where_of(const std::string& source, const YAML::Node& n, const std::string& key) {
  auto m = n.Mark();
  std::string w = source;
  if (m.line >= 0)
    w += ":" + std::to_string(m.line + 1);
  return w + ": " + key;
}

std::string scalar_of(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar())
    fail(where, "expected a scalar value");
  return n.Scalar();
}

uint64_t parse_uint(const YAML::Node& n, const std::string& where, uint64_t lo, uint64_t hi) {
  auto s = scalar_of(n, where);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size())
    fail(where, "expected a non-negative integer, got \"" + s + "\"");
  if (v < lo || v > hi)
    fail(where, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + s);
  return v;
}

bool parse_bool(const YAML::Node& n, const std::string& where) {
  auto s = scalar_of(n, where);
  if (s == "true")
    return true;
  if (s == "false")
    return false;
  fail(where, "expected true or false, got \"" + s + "\"");
}

std::string parse_string(const YAML::Node& n, const std::string& where) {
  return scalar_of(n, where);
}

// A YAML sequence of non-empty strings ([a, b] or one "- a" per line).
std::vector<std::string> parse_string_list(const YAML::Node& n, const std::string& where) {
  if (!n.IsSequence())
    fail(where, "expected a list of strings like [writer, reader]");
  std::vector<std::string> out;
  for (const auto& item : n) {
    auto v = scalar_of(item, where);
    if (v.empty())
      fail(where, "empty name in the list");
    out.push_back(std::move(v));
  }
  return out;
}

// Prometheus durations: one or more <int><unit>, units y w d h m s ms, in
// descending order ("1h30m", "5m", "90s"); a bare "0" is zero, as in
// Prometheus' model.ParseDuration.
int64_t parse_duration_ms(const YAML::Node& n, const std::string& where) {
  auto s = scalar_of(n, where);
  auto bad = [&] { fail(where, "expected a duration like 5m or 1h30m, got \"" + s + "\""); };
  if (s.empty())
    bad();
  if (s == "0")
    return 0;
  static const std::pair<const char*, int64_t> units[] = {
    {"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000}, {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000}, {"m", 60LL * 1000}, {"s", 1000}, {"ms", 1}};
  int64_t total = 0;
  size_t pos = 0;
  size_t last_unit = 0;  // index+1 of the previous unit, enforces descending order
  while (pos < s.size()) {
    int64_t num = 0;
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + s.size(), num);
    if (ec != std::errc{} || num < 0)
      bad();
    pos = static_cast<size_t>(p - s.data());
    size_t u = 0;
    for (; u < std::size(units); ++u) {
      std::string_view name = units[u].first;
      // "m" must not swallow the "m" of "ms".
      if (s.compare(pos, name.size(), name) == 0
          && !(name == "m" && pos + 1 < s.size() && s[pos + 1] == 's'))
        break;
    }
    if (u == std::size(units) || u + 1 <= last_unit)
      bad();
    last_unit = u + 1;
    pos += std::string_view{units[u].first}.size();
    if (num > std::numeric_limits<int64_t>::max() / units[u].second
        || total > std::numeric_limits<int64_t>::max() - num * units[u].second)
      bad();
    total += num * units[u].second;
  }
  return total;
}

// A duration between lo and hi (inclusive); the message repeats the bounds
// as written in the README.
int64_t parse_duration_in(const YAML::Node& n, const std::string& where, int64_t lo, const char* lo_text,
                          int64_t hi, const char* hi_text) {
  auto v = parse_duration_ms(n, where);
  if (v < lo || v > hi)
    fail(where, std::string{"must be between "} + lo_text + " and " + hi_text + ", got " + n.Scalar());
  return v;
}

// A byte size as Prometheus' --storage.tsdb.retention.size takes it: an
// integer and a base-2 unit (B KB MB GB TB PB EB; 1KB = 1024B), e.g. 512MB;
// a bare "0" is zero.
uint64_t parse_byte_size(const YAML::Node& n, const std::string& where) {
  auto s = scalar_of(n, where);
  static constexpr const char* unit_list = "B, KB, MB, GB, TB, PB or EB";
  if (s == "0")
    return 0;
  if (!s.empty() && s[0] == '-')
    fail(where, "must not be negative, got \"" + s + "\"");
  uint64_t num = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), num);
  if (ec == std::errc::result_out_of_range)
    fail(where, "too large: \"" + s + "\" is more than 2^64-1 bytes");
  if (s.empty() || ec != std::errc{} || *p == '.' || *p == ',')
    fail(where, std::string{"expected a whole number and a unit like 512MB or 50GB, got \""} + s + "\"");
  std::string_view unit{p, static_cast<size_t>(s.data() + s.size() - p)};
  if (unit.empty())
    fail(where, "missing unit in \"" + s + "\" (use " + unit_list + ")");
  static const std::pair<std::string_view, unsigned> units[] = {
    {"B", 0}, {"KB", 10}, {"MB", 20}, {"GB", 30}, {"TB", 40}, {"PB", 50}, {"EB", 60}};
  for (auto& [name, shift] : units) {
    if (unit != name)
      continue;
    if (num > (std::numeric_limits<uint64_t>::max() >> shift))
      fail(where, "too large: \"" + s + "\" is more than 2^64-1 bytes");
    return num << shift;
  }
  fail(where, "unknown unit \"" + std::string{unit} + "\" in \"" + s + "\" (use " + unit_list + ")");
}

// cluster.nodes: a list of {name, addr} mappings, names unique.
std::vector<cluster_node> parse_cluster_nodes(const YAML::Node& n, const std::string& where) {
  if (!n.IsSequence())
    fail(where, "expected a list of {name: ..., addr: host:port}");
  std::vector<cluster_node> out;
  for (const auto& item : n) {
    if (!item.IsMap())
      fail(where, "expected a list of {name: ..., addr: host:port}");
    cluster_node node;
    for (auto kv : item) {
      auto key = kv.first.Scalar();
      if (key == "name")
        node.name = scalar_of(kv.second, where + ".name");
      else if (key == "addr")
        node.addr = scalar_of(kv.second, where + ".addr");
      else
        fail(where, "unknown key \"" + key + "\" in a node (name, addr)");
    }
    if (node.name.empty())
      fail(where, "a node without a name");
    if (node.addr.empty())
      fail(where, "node \"" + node.name + "\" has no addr");
    split_host_port(node.addr, where + " (node " + node.name + ")");
    for (auto& other : out)
      if (other.name == node.name)
        fail(where, "node name \"" + node.name + "\" appears twice");
    out.push_back(std::move(node));
  }
  if (out.size() > 64)
    fail(where, "at most 64 nodes, got " + std::to_string(out.size()));
  return out;
}

// Checks of the cluster section as a whole (after every key is read).
void validate_cluster(const cluster_settings& c, const std::string& source) {
  auto bad = [&](const std::string& key, const std::string& msg) { throw config_error(source + ": " + key + ": " + msg); };
  bool any = !c.self.empty() || !c.listen_addr.empty() || !c.cert_file.empty() || !c.key_file.empty()
             || !c.ca_file.empty();
  if (!c.enabled()) {
    if (any)
      bad("cluster.nodes", "required when other cluster keys are set");
    return;
  }
  if (c.self.empty())
    bad("cluster.self", "required with cluster.nodes (this node's name)");
  bool found = std::any_of(c.nodes.begin(), c.nodes.end(), [&](auto& n) { return n.name == c.self; });
  if (!found)
    bad("cluster.self", "\"" + c.self + "\" is not one of cluster.nodes");
  int tls_files = !c.cert_file.empty() + !c.key_file.empty() + !c.ca_file.empty();
  if (tls_files != 0 && tls_files != 3)
    bad("cluster.cert_file", "cert_file, key_file and ca_file go together (mutual TLS between nodes)");
  if (c.write_quorum > c.effective_replication_factor())
    bad("cluster.write_quorum", "must not exceed the replication factor (" + std::to_string(c.effective_replication_factor())
                                  + "), got " + std::to_string(c.write_quorum));
  if (c.connection_timeout_ms <= c.heartbeat_interval_ms)
    bad("cluster.connection_timeout", "must be longer than cluster.heartbeat_interval, or healthy idle links are dropped");
}

std::vector<key_spec> schema() {
  std::vector<key_spec> t;
  auto add_uint = [&](std::string name, auto member_ptr, uint64_t lo, uint64_t hi) {
    t.push_back({name, [=](const YAML::Node& n, settings& s, const std::string& w) {
                   auto& field = member_ptr(s);
                   field = static_cast<std::remove_reference_t<decltype(field)>>(parse_uint(n, w, lo, hi));
                 }});
  };
  auto add = [&](std::string name, auto fn) { t.push_back({std::move(name), fn}); };
  constexpr uint64_t u32 = std::numeric_limits<uint32_t>::max();
  constexpr int64_t minute_ms = 60 * 1000;
  constexpr int64_t day_ms = 24 * 3600 * 1000;

  add("server.grpc_addr", [](auto& n, settings& s, auto& w) {
    s.server.grpc_addr = parse_string(n, w);
    split_host_port(s.server.grpc_addr, w);
  });
  add("server.http_addr", [](auto& n, settings& s, auto& w) {
    s.server.http_addr = parse_string(n, w);
    split_host_port(s.server.http_addr, w);
  });
  add_uint("server.max_concurrent_streams", [](settings& s) -> auto& { return s.server.max_concurrent_streams; }, 1, 100000);
  add_uint("server.query_timeout_seconds", [](settings& s) -> auto& { return s.server.query_timeout_seconds; }, 1, 86400);
  add_uint("server.max_samples_per_query", [](settings& s) -> auto& { return s.server.max_samples_per_query; }, 1, UINT64_MAX);
  add_uint("server.max_concurrent_queries", [](settings& s) -> auto& { return s.server.max_concurrent_queries; }, 0, 4096);
  add_uint("server.max_request_bytes", [](settings& s) -> auto& { return s.server.max_request_bytes; }, 1024, 1ull << 32);
  add_uint("server.max_decoded_bytes", [](settings& s) -> auto& { return s.server.max_decoded_bytes; }, 1024, 1ull << 32);
  add("server.overload_status", [](auto& n, settings& s, auto& w) {
    auto v = parse_uint(n, w, 0, u32);
    if (v != 503 && v != 429)
      fail(w, "must be 503 or 429, got " + std::to_string(v));
    s.server.overload_status = static_cast<uint32_t>(v);
  });
  add_uint("server.max_inflight_samples", [](settings& s) -> auto& { return s.server.max_inflight_samples; }, 1000, UINT64_MAX);
  add_uint("server.retry_after_seconds", [](settings& s) -> auto& { return s.server.retry_after_seconds; }, 1, 3600);
  add("server.lookback_delta", [](auto& n, settings& s, auto& w) {
    auto v = parse_duration_ms(n, w);
    if (v <= 0)
      fail(w, "must be positive");
    s.server.lookback_delta_ms = v;
  });
  add_uint("server.http_threads", [](settings& s) -> auto& { return s.server.http_threads; }, 0, 256);
  add("server.enable_admin_api", [](auto& n, settings& s, auto& w) { s.server.enable_admin_api = parse_bool(n, w); });
  add_uint("server.remote_read_sample_limit", [](settings& s) -> auto& { return s.server.remote_read_sample_limit; }, 0, UINT64_MAX);
  add_uint("server.remote_read_concurrent_limit", [](settings& s) -> auto& { return s.server.remote_read_concurrent_limit; }, 0, 100000);
  add_uint("server.remote_read_max_bytes_in_frame", [](settings& s) -> auto& { return s.server.remote_read_max_bytes_in_frame; }, 1024, 1ull << 30);

  add("storage.data_dir", [](auto& n, settings& s, auto& w) {
    s.storage.data_dir = parse_string(n, w);
    if (s.storage.data_dir.empty())
      fail(w, "must not be empty");
  });
  add_uint("storage.retention_days", [](settings& s) -> auto& { return s.storage.retention_days; }, 1, 100000);
  // Takes precedence over retention_days (effective_retention_ms()).
  add("storage.retention", [](auto& n, settings& s, auto& w) {
    auto v = parse_duration_ms(n, w);
    if (v < minute_ms)
      fail(w, "must be at least 1m, got " + n.Scalar());
    s.storage.retention_ms = v;
  });
  add("storage.retention_size", [](auto& n, settings& s, auto& w) { s.storage.retention_bytes = parse_byte_size(n, w); });
  add_uint("storage.wal_segment_size_mb", [](settings& s) -> auto& { return s.storage.wal_segment_size_mb; }, 1, 4096);
  add_uint("storage.block_duration_hours", [](settings& s) -> auto& { return s.storage.block_duration_hours; }, 1, 24 * 31);
  // Takes precedence over block_duration_hours (effective_block_duration_ms()).
  add("storage.block_duration", [](auto& n, settings& s, auto& w) {
    s.storage.block_duration_ms = parse_duration_in(n, w, minute_ms, "1m", 31 * day_ms, "31d");
  });
  add_uint("storage.max_head_samples", [](settings& s) -> auto& { return s.storage.max_head_samples; }, 1000, UINT64_MAX);
  add_uint("storage.compaction_interval_seconds", [](settings& s) -> auto& { return s.storage.compaction_interval_seconds; }, 1, 7 * 86400);
  add_uint("storage.head_shards", [](settings& s) -> auto& { return s.storage.head_shards; }, 0, 256);
  add("storage.snapshot_on_shutdown", [](auto& n, settings& s, auto& w) { s.storage.snapshot_on_shutdown = parse_bool(n, w); });
  add("storage.fsync", [](auto& n, settings& s, auto& w) {
    auto v = parse_string(n, w);
    if (v == "interval")
      s.storage.fsync = fsync_policy::interval;
    else if (v == "always")
      s.storage.fsync = fsync_policy::always;
    else
      fail(w, "must be \"interval\" or \"always\", got \"" + v + "\"");
  });
  add_uint("storage.fsync_interval_ms", [](settings& s) -> auto& { return s.storage.fsync_interval_ms; }, 1, 600000);
  add("storage.out_of_bounds_window", [](auto& n, settings& s, auto& w) {
    auto v = parse_duration_ms(n, w);
    if (v <= 0)
      fail(w, "must be positive");
    s.storage.out_of_bounds_window_ms = v;
  });
  add("storage.wal_write_timeout", [](auto& n, settings& s, auto& w) {
    s.storage.wal_write_timeout_ms = parse_duration_in(n, w, 100, "100ms", 600000, "10m");
  });
  add("storage.out_of_order_window", [](auto& n, settings& s, auto& w) {
    s.storage.out_of_order_window_ms = parse_duration_in(n, w, 0, "0s", 7 * day_ms, "7d");
  });
  add("storage.max_metadata_bytes", [](auto& n, settings& s, auto& w) {
    auto v = parse_byte_size(n, w);
    if (v < (uint64_t{1} << 20))
      fail(w, "must be at least 1MB, got \"" + n.Scalar() + "\"");
    s.storage.max_metadata_bytes = v;
  });

  add("tls.cert_file", [](auto& n, settings& s, auto& w) { s.tls.cert_file = parse_string(n, w); });
  add("tls.key_file", [](auto& n, settings& s, auto& w) { s.tls.key_file = parse_string(n, w); });
  add("tls.ca_file", [](auto& n, settings& s, auto& w) { s.tls.ca_file = parse_string(n, w); });
  add("tls.require_client_cert", [](auto& n, settings& s, auto& w) { s.tls.require_client_cert = parse_bool(n, w); });
  add("tls.allowed_writers", [](auto& n, settings& s, auto& w) { s.tls.allowed_writers = parse_string_list(n, w); });
  add("tls.allowed_readers", [](auto& n, settings& s, auto& w) { s.tls.allowed_readers = parse_string_list(n, w); });
  add("tls.allowed_admins", [](auto& n, settings& s, auto& w) { s.tls.allowed_admins = parse_string_list(n, w); });
  add("tls.open_endpoints_for_any_client", [](auto& n, settings& s, auto& w) { s.tls.open_endpoints_for_any_client = parse_bool(n, w); });
  add("server.plaintext_loopback_addr", [](auto& n, settings& s, auto& w) {
    auto v = parse_string(n, w);
    if (v.empty())
      return;  // "" keeps the listener off
    auto host = split_host_port(v, w).first;
    // Plain HTTP skips client certificates; only this host may reach it.
    if (!protocol::is_loopback_host(host))
      fail(w, "must be a loopback address (127.0.0.0/8, [::1] or localhost), got \"" + v + "\"");
    s.server.plaintext_loopback_addr = v;
  });

  add("ingest.drop_non_finite", [](auto& n, settings& s, auto& w) { s.ingest.drop_non_finite = parse_bool(n, w); });
  add_uint("ingest.max_future_seconds", [](settings& s) -> auto& { return s.ingest.max_future_seconds; }, 0, 10 * 365 * 86400);
  add("ingest.allow_utf8_names", [](auto& n, settings& s, auto& w) { s.ingest.allow_utf8_names = parse_bool(n, w); });

  add("cluster.name", [](auto& n, settings& s, auto& w) {
    s.cluster.name = parse_string(n, w);
    if (s.cluster.name.empty())
      fail(w, "must not be empty");
  });
  add("cluster.self", [](auto& n, settings& s, auto& w) { s.cluster.self = parse_string(n, w); });
  add("cluster.listen_addr", [](auto& n, settings& s, auto& w) {
    s.cluster.listen_addr = parse_string(n, w);
    split_host_port(s.cluster.listen_addr, w);
  });
  add("cluster.nodes", [](auto& n, settings& s, auto& w) { s.cluster.nodes = parse_cluster_nodes(n, w); });
  add_uint("cluster.replication_factor", [](settings& s) -> auto& { return s.cluster.replication_factor; }, 1, 16);
  add_uint("cluster.write_quorum", [](settings& s) -> auto& { return s.cluster.write_quorum; }, 0, 16);
  add("cluster.cert_file", [](auto& n, settings& s, auto& w) { s.cluster.cert_file = parse_string(n, w); });
  add("cluster.key_file", [](auto& n, settings& s, auto& w) { s.cluster.key_file = parse_string(n, w); });
  add("cluster.ca_file", [](auto& n, settings& s, auto& w) { s.cluster.ca_file = parse_string(n, w); });
  add("cluster.heartbeat_interval", [](auto& n, settings& s, auto& w) {
    s.cluster.heartbeat_interval_ms = parse_duration_in(n, w, 50, "50ms", 60000, "1m");
  });
  add("cluster.connection_timeout", [](auto& n, settings& s, auto& w) {
    s.cluster.connection_timeout_ms = parse_duration_in(n, w, 100, "100ms", 600000, "10m");
  });
  add("cluster.request_timeout", [](auto& n, settings& s, auto& w) {
    s.cluster.request_timeout_ms = parse_duration_in(n, w, 100, "100ms", 600000, "10m");
  });
  add("cluster.reconnect_backoff_max", [](auto& n, settings& s, auto& w) {
    s.cluster.reconnect_backoff_max_ms = parse_duration_in(n, w, 50, "50ms", 600000, "10m");
  });
  add_uint("cluster.max_inflight_samples", [](settings& s) -> auto& { return s.cluster.max_inflight_samples; }, 1000, UINT64_MAX);
  add("cluster.partial_response", [](auto& n, settings& s, auto& w) { s.cluster.partial_response = parse_bool(n, w); });
  add("cluster.write_linger", [](auto& n, settings& s, auto& w) {
    s.cluster.write_linger_ms = parse_duration_in(n, w, 0, "0s", 100, "100ms");
  });

  add("log.level", [](auto& n, settings& s, auto& w) {
    auto v = parse_string(n, w);
    if (v == "debug")
      s.log = log_level::debug;
    else if (v == "info")
      s.log = log_level::info;
    else if (v == "warn")
      s.log = log_level::warn;
    else if (v == "error")
      s.log = log_level::error;
    else
      fail(w, "must be one of debug, info, warn, error, got \"" + v + "\"");
  });
  return t;
}

// A byte size in the largest unit that divides it exactly ("512MB",
// "1536KB", "7B"); 0 is "0", as the README writes the default.
std::string format_byte_size(uint64_t bytes) {
  if (bytes == 0)
    return "0";
  static const std::pair<const char*, unsigned> units[] = {
    {"EB", 60}, {"PB", 50}, {"TB", 40}, {"GB", 30}, {"MB", 20}, {"KB", 10}};
  for (auto& [name, shift] : units)
    if (bytes % (uint64_t{1} << shift) == 0)
      return std::to_string(bytes >> shift) + name;
  return std::to_string(bytes) + "B";
}

const char* level_name(log_level l) {
  switch (l) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
  }
  return "info";
}

}  // namespace

std::string format_duration(int64_t ms) {
  if (ms == 0)
    return "0s";
  std::string out;
  if (ms < 0) {  // not produced by the config; spelled like Go would
    out += '-';
    ms = -ms;
  }
  auto unit = [&](const char* name, int64_t size, bool exact_only) {
    if (exact_only && ms % size != 0)
      return;
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  };
  constexpr int64_t day = 24LL * 3600 * 1000;
  unit("y", 365 * day, true);
  unit("w", 7 * day, true);
  unit("d", day, false);
  unit("h", 3600LL * 1000, false);
  unit("m", 60LL * 1000, false);
  unit("s", 1000, false);
  unit("ms", 1, false);
  return out;
}

std::vector<shown_setting> shown_settings(const settings& s) {
  std::vector<shown_setting> out;
  auto one = [&](const char* key, std::string v) { out.push_back({key, {std::move(v)}, false, true}); };
  auto num = [&](const char* key, uint64_t v) { one(key, std::to_string(v)); };
  auto flag = [&](const char* key, bool v) { one(key, v ? "true" : "false"); };
  auto optional = [&](const char* key, std::string v) {
    bool set = !v.empty();
    out.push_back({key, set ? std::vector<std::string>{std::move(v)} : std::vector<std::string>{}, false, set});
  };
  auto list = [&](const char* key, const std::vector<std::string>& v) { out.push_back({key, v, true, true}); };
  const auto& sv = s.server;
  const auto& st = s.storage;
  const auto& tls = s.tls;
  // In the schema's order (config_keys(); a test holds the two together).
  one("server.grpc_addr", sv.grpc_addr);
  one("server.http_addr", sv.http_addr);
  num("server.max_concurrent_streams", sv.max_concurrent_streams);
  num("server.query_timeout_seconds", sv.query_timeout_seconds);
  num("server.max_samples_per_query", sv.max_samples_per_query);
  num("server.max_concurrent_queries", sv.max_concurrent_queries);
  num("server.max_request_bytes", sv.max_request_bytes);
  num("server.max_decoded_bytes", sv.max_decoded_bytes);
  num("server.overload_status", sv.overload_status);
  num("server.max_inflight_samples", sv.max_inflight_samples);
  num("server.retry_after_seconds", sv.retry_after_seconds);
  one("server.lookback_delta", format_duration(sv.lookback_delta_ms));
  num("server.http_threads", sv.http_threads);
  flag("server.enable_admin_api", sv.enable_admin_api);
  num("server.remote_read_sample_limit", sv.remote_read_sample_limit);
  num("server.remote_read_concurrent_limit", sv.remote_read_concurrent_limit);
  num("server.remote_read_max_bytes_in_frame", sv.remote_read_max_bytes_in_frame);
  one("storage.data_dir", st.data_dir);
  num("storage.retention_days", st.retention_days);
  optional("storage.retention", st.retention_ms != 0 ? format_duration(st.retention_ms) : "");
  one("storage.retention_size", format_byte_size(st.retention_bytes));
  num("storage.wal_segment_size_mb", st.wal_segment_size_mb);
  num("storage.block_duration_hours", st.block_duration_hours);
  optional("storage.block_duration", st.block_duration_ms != 0 ? format_duration(st.block_duration_ms) : "");
  num("storage.max_head_samples", st.max_head_samples);
  num("storage.compaction_interval_seconds", st.compaction_interval_seconds);
  num("storage.head_shards", st.head_shards);
  flag("storage.snapshot_on_shutdown", st.snapshot_on_shutdown);
  one("storage.fsync", st.fsync == fsync_policy::always ? "always" : "interval");
  num("storage.fsync_interval_ms", st.fsync_interval_ms);
  one("storage.out_of_bounds_window", format_duration(st.out_of_bounds_window_ms));
  one("storage.wal_write_timeout", format_duration(st.wal_write_timeout_ms));
  one("storage.out_of_order_window", format_duration(st.out_of_order_window_ms));
  one("storage.max_metadata_bytes", format_byte_size(st.max_metadata_bytes));
  optional("tls.cert_file", tls.cert_file);
  optional("tls.key_file", tls.key_file.empty() ? "" : redacted_value);
  optional("tls.ca_file", tls.ca_file);
  flag("tls.require_client_cert", tls.require_client_cert);
  list("tls.allowed_writers", tls.allowed_writers);
  list("tls.allowed_readers", tls.allowed_readers);
  list("tls.allowed_admins", tls.allowed_admins);
  flag("tls.open_endpoints_for_any_client", tls.open_endpoints_for_any_client);
  optional("server.plaintext_loopback_addr", sv.plaintext_loopback_addr);
  flag("ingest.drop_non_finite", s.ingest.drop_non_finite);
  num("ingest.max_future_seconds", s.ingest.max_future_seconds);
  flag("ingest.allow_utf8_names", s.ingest.allow_utf8_names);
  // The cluster section exists only in cluster mode (with nodes).
  const auto& c = s.cluster;
  bool clustered = c.enabled();
  auto cluster_key = [&](const char* key, std::string v) {
    bool set = clustered && !v.empty();
    out.push_back({key, set ? std::vector<std::string>{std::move(v)} : std::vector<std::string>{}, false, set});
  };
  cluster_key("cluster.name", c.name);
  cluster_key("cluster.self", c.self);
  cluster_key("cluster.listen_addr", c.listen_addr);
  {
    shown_setting nodes{"cluster.nodes", {}, true, clustered, true};
    for (const auto& n : c.nodes) {
      YAML::Emitter e;
      e << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << n.name << YAML::Key << "addr"
        << YAML::Value << n.addr << YAML::EndMap;
      nodes.values.push_back(e.c_str());
    }
    out.push_back(std::move(nodes));
  }
  cluster_key("cluster.replication_factor", std::to_string(c.replication_factor));
  cluster_key("cluster.write_quorum", std::to_string(c.write_quorum));
  cluster_key("cluster.cert_file", c.cert_file);
  cluster_key("cluster.key_file", c.key_file.empty() ? "" : redacted_value);
  cluster_key("cluster.ca_file", c.ca_file);
  cluster_key("cluster.heartbeat_interval", format_duration(c.heartbeat_interval_ms));
  cluster_key("cluster.connection_timeout", format_duration(c.connection_timeout_ms));
  cluster_key("cluster.request_timeout", format_duration(c.request_timeout_ms));
  cluster_key("cluster.reconnect_backoff_max", format_duration(c.reconnect_backoff_max_ms));
  cluster_key("cluster.max_inflight_samples", std::to_string(c.max_inflight_samples));
  cluster_key("cluster.partial_response", c.partial_response ? "true" : "false");
  cluster_key("cluster.write_linger", format_duration(c.write_linger_ms));
  one("log.level", level_name(s.log));
  return out;
}

namespace {

// A list item as YAML: a flow mapping (cluster.nodes) or a string.
// A scalar as YAML that reads back to exactly `v`. yaml-cpp writes plain
// scalars with control characters in them as they are, and a carriage
// return before the line's end then reads back as the line break
// (fuzz_config found "./data\r\r\n" shown as a data_dir of one CR fewer):
// such values are double-quoted, where yaml-cpp escapes them.
void emit_scalar(YAML::Emitter& e, const std::string& v) {
  bool control = std::any_of(v.begin(), v.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
  if (control)
    e << YAML::DoubleQuoted << v;
  else
    e << v;
}

void emit_item(YAML::Emitter& e, const shown_setting& k, const std::string& v) {
  if (k.mapping_items)
    e << YAML::Load(v);
  else
    emit_scalar(e, v);
}

}  // namespace

std::string effective_yaml(const settings& s) {
  auto shown = shown_settings(s);
  // Sections in the order their first key appears; one without a set key
  // (cluster on a single node) is left out.
  std::vector<std::string> sections;
  for (const auto& k : shown) {
    if (!k.set)
      continue;
    auto sec = k.key.substr(0, k.key.find('.'));
    if (std::find(sections.begin(), sections.end(), sec) == sections.end())
      sections.push_back(sec);
  }
  YAML::Emitter e;
  e << YAML::BeginMap;
  for (const auto& sec : sections) {
    e << YAML::Key << sec << YAML::Value << YAML::BeginMap;
    for (const auto& k : shown) {
      if (!k.set || k.key.compare(0, sec.size() + 1, sec + ".") != 0)
        continue;
      e << YAML::Key << k.key.substr(sec.size() + 1) << YAML::Value;
      if (k.list) {
        e << YAML::Flow << YAML::BeginSeq;
        for (const auto& v : k.values)
          emit_item(e, k, v);
        e << YAML::EndSeq;
      } else {
        emit_scalar(e, k.values.front());
      }
    }
    e << YAML::EndMap;
  }
  e << YAML::EndMap;
  return std::string{e.c_str()} + "\n";
}

std::vector<std::string> config_keys() {
  std::vector<std::string> out;
  for (const auto& k : schema())
    out.push_back(k.name);
  return out;
}

std::pair<std::string, uint16_t> split_host_port(const std::string& addr, const std::string& key) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == addr.size())
    fail(key, "expected host:port, got \"" + addr + "\"");
  auto host = addr.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  uint32_t port = 0;
  auto ps = std::string_view{addr}.substr(colon + 1);
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc{} || p != ps.data() + ps.size() || port > 65535)
    fail(key, "invalid port in \"" + addr + "\"");
  return {host, static_cast<uint16_t>(port)};
}

settings parse_settings(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    std::string w = source;
    if (e.mark.line >= 0)
      w += ":" + std::to_string(e.mark.line + 1);
    throw config_error(w + ": invalid YAML: " + e.msg);
  }
  settings s;
  if (!root || root.IsNull())
    return s;
  if (!root.IsMap())
    throw config_error(source + ": the top level must be a mapping of sections");
  auto table = schema();
  for (auto sec : root) {
    auto sec_name = sec.first.Scalar();
    bool known = false;
    for (auto& k : table)
      known |= k.name.compare(0, sec_name.size() + 1, sec_name + ".") == 0;
    if (!known)
      fail(where_of(source, sec.first, sec_name), "unknown section");
    if (!sec.second.IsMap()) {
      auto w = where_of(source, sec.first, sec_name);
      if (sec.second.IsNull())
        continue;  // an empty section keeps its defaults
      fail(w, "expected a mapping of keys");
    }
    for (auto kv : sec.second) {
      auto full = sec_name + "." + kv.first.Scalar();
      auto w = where_of(source, kv.first, full);
      auto it = std::find_if(table.begin(), table.end(), [&](auto& k) { return k.name == full; });
      if (it == table.end())
        fail(w, "unknown key");
      if (kv.second.IsNull())
        fail(w, "missing value");
      try {
        it->set(kv.second, s, w);
      } catch (const YAML::Exception& e) {
        fail(w, e.msg);
      }
    }
  }
  if (s.tls.enabled() && s.tls.key_file.empty())
    throw config_error(source + ": tls.key_file: required when tls.cert_file is set");
  if (!s.tls.enabled() && (!s.tls.key_file.empty() || !s.tls.ca_file.empty() || s.tls.require_client_cert))
    throw config_error(source + ": tls.cert_file: required when other tls keys are set");
  if (s.tls.require_client_cert && s.tls.ca_file.empty())
    throw config_error(source + ": tls.ca_file: required when tls.require_client_cert is true");
  // Allow lists name certificate identities; without client verification
  // nobody could ever match them.
  if (s.tls.ca_file.empty()) {
    std::pair<const char*, const std::vector<std::string>*> lists[] = {
      {"tls.allowed_writers", &s.tls.allowed_writers},
      {"tls.allowed_readers", &s.tls.allowed_readers},
      {"tls.allowed_admins", &s.tls.allowed_admins}};
    for (auto& [name, list] : lists)
      if (!list->empty())
        throw config_error(source + ": tls.ca_file: required when " + name + " is set");
  }
  validate_cluster(s.cluster, source);
  return s;
}

size_t cluster_settings::self_index() const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == self)
      return i;
  return nodes.size();
}

settings load_settings(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw config_error(path + ": cannot open the configuration file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_settings(ss.str(), path);
}

std::map<std::string, std::string> shown_flags(const settings& s, const cli_options& cli) {
  std::map<std::string, std::string> out;
  for (const auto& k : shown_settings(s)) {
    if (!k.set) {
      out[k.key] = "";
    } else if (k.list) {
      YAML::Emitter e;
      e << YAML::Flow << YAML::BeginSeq;
      for (const auto& v : k.values)
        emit_item(e, k, v);
      e << YAML::EndSeq;
      out[k.key] = e.c_str();
    } else {
      out[k.key] = k.values.front();
    }
  }
  out["config"] = cli.config_path;
  out["wal-repair"] = cli.wal_repair ? "true" : "false";
  return out;
}

cli_options parse_cli(int argc, char** argv) {
  cli_options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a == "--version") {
      o.version = true;
    } else if (a == "--wal-repair") {
      o.wal_repair = true;
    } else if (a == "--config") {
      if (i + 1 >= argc)
        throw config_error("--config: missing PATH");
      o.config_path = argv[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      o.config_path = a.substr(9);
    } else {
      throw config_error("unknown option \"" + a + "\" (see --help)");
    }
  }
  return o;
}

std::string usage_text() {
  return "usage: nightlight [--config PATH] [--wal-repair] [--help] [--version]\n"
         "\n"
         "  --config PATH   YAML configuration (see the README, Configuration); built-in\n"
         "                  defaults when absent\n"
         "  --wal-repair    truncate the WAL at the first corrupt record and start\n"
         "                  (the records after it are lost)\n"
         "  --help          this text\n"
         "  --version       print the version and exit\n"
         "\n"
         "Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad configuration.\n";
}

}  // namespace nl::actors

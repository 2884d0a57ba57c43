#define CAF_SUITE actors.config
#include "test_support.hpp"

#include "actors/config.hpp"

using namespace nl::actors;

namespace {

// The message of the config_error thrown for `yaml`, or "" when it parses.
std::string error_of(const std::string& yaml) {
  try {
    parse_settings(yaml, "t.yaml");
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

CAF_TEST(an empty file gives every default) {
  auto s = parse_settings("", "t.yaml");
  CAF_CHECK_EQUAL(s.server.http_addr, "127.0.0.1:9101");
  CAF_CHECK_EQUAL(s.server.grpc_addr, "127.0.0.1:9100");
  CAF_CHECK_EQUAL(s.server.max_request_bytes, 32u << 20);
  CAF_CHECK_EQUAL(s.server.overload_status, 503u);
  CAF_CHECK_EQUAL(s.server.lookback_delta_ms, 300000);
  CAF_CHECK_EQUAL(s.server.max_concurrent_queries, 0u);  // from the cores
  CAF_CHECK_EQUAL(s.storage.data_dir, "./data");
  CAF_CHECK(s.storage.fsync == fsync_policy::interval);
  CAF_CHECK(!s.tls.enabled());
}

CAF_TEST(every kind of value is read) {
  auto s = parse_settings("server:\n"
                          "  http_addr: 0.0.0.0:19101\n"
                          "  overload_status: 429\n"
                          "  lookback_delta: 1m30s\n"
                          "  max_concurrent_queries: 3\n"
                          "storage:\n"
                          "  data_dir: /tmp/x\n"
                          "  fsync: always\n"
                          "  head_shards: 4\n"
                          "  out_of_bounds_window: 2h\n"
                          "ingest:\n"
                          "  drop_non_finite: true\n"
                          "log:\n"
                          "  level: debug\n",
                          "t.yaml");
  CAF_CHECK_EQUAL(s.server.http_addr, "0.0.0.0:19101");
  CAF_CHECK_EQUAL(s.server.overload_status, 429u);
  CAF_CHECK_EQUAL(s.server.lookback_delta_ms, 90000);
  CAF_CHECK_EQUAL(s.server.max_concurrent_queries, 3u);
  CAF_CHECK_EQUAL(s.storage.data_dir, "/tmp/x");
  CAF_CHECK(s.storage.fsync == fsync_policy::always);
  CAF_CHECK_EQUAL(s.storage.head_shards, 4u);
  CAF_CHECK_EQUAL(s.storage.out_of_bounds_window_ms, 7200000);
  CAF_CHECK(s.ingest.drop_non_finite);
  CAF_CHECK(s.log == log_level::debug);
}

CAF_TEST(bad keys and values name the key and its line) {
  struct row {
    const char* yaml;
    const char* expected;  // substring of the message
  };
  row rows[] = {
    {"server:\n  http_adr: x\n", "t.yaml:2: server.http_adr: unknown key"},
    {"srv:\n  a: 1\n", "t.yaml:1: srv: unknown section"},
    {"server:\n  query_timeout_seconds: abc\n", "t.yaml:2: server.query_timeout_seconds: expected a non-negative integer"},
    {"server:\n  query_timeout_seconds: -5\n", "t.yaml:2: server.query_timeout_seconds: expected a non-negative integer"},
    {"server:\n  query_timeout_seconds: [1, 2]\n", "t.yaml:2: server.query_timeout_seconds: expected a scalar"},
    {"storage:\n  retention_days: 0\n", "t.yaml:2: storage.retention_days: must be between 1 and"},
    {"server:\n  max_concurrent_queries: 5000\n", "t.yaml:2: server.max_concurrent_queries: must be between 0 and 4096"},
    {"server:\n  max_concurrent_queries: -1\n", "t.yaml:2: server.max_concurrent_queries: expected a non-negative integer"},
    {"\n\nserver:\n  overload_status: 500\n", "t.yaml:4: server.overload_status: must be 503 or 429, got 500"},
    {"storage:\n  fsync: sometimes\n", "t.yaml:2: storage.fsync: must be \"interval\" or \"always\""},
    {"server:\n  lookback_delta: 5 minutes\n", "t.yaml:2: server.lookback_delta: expected a duration"},
    {"server:\n  lookback_delta: 5s1m\n", "t.yaml:2: server.lookback_delta: expected a duration"},
    {"server:\n  http_addr: localhost\n", "t.yaml:2: server.http_addr: expected host:port"},
    {"server:\n  http_addr: h:99999\n", "t.yaml:2: server.http_addr: invalid port"},
    {"tls:\n  require_client_cert: yes please\n", "t.yaml:2: tls.require_client_cert: expected true or false"},
    {"log:\n  level: loud\n", "t.yaml:2: log.level: must be one of"},
    {"server:\n  max_request_bytes:\n", "t.yaml:2: server.max_request_bytes: missing value"},
    {"server: [1]\n", "t.yaml:1: server: expected a mapping"},
    {"server:\n  a: [\n", "t.yaml"},
    {"- 1\n- 2\n", "t.yaml: the top level must be a mapping"},
    {"tls:\n  cert_file: a.pem\n", "tls.key_file: required"},
    {"tls:\n  require_client_cert: true\n", "tls.cert_file: required"},
  };
  for (auto& r : rows) {
    auto msg = error_of(r.yaml);
    CAF_MESSAGE("yaml: " << r.yaml << " -> " << msg);
    CAF_CHECK(msg.find(r.expected) != std::string::npos);
  }
}

CAF_TEST(tls allow lists and the loopback listener are read and checked) {
  auto s = parse_settings("tls:\n"
                          "  cert_file: s.pem\n"
                          "  key_file: k.pem\n"
                          "  ca_file: ca.pem\n"
                          "  allowed_writers: [writer, \"spiffe://prod/prom\"]\n"
                          "  allowed_readers:\n"
                          "    - reader\n"
                          "  open_endpoints_for_any_client: false\n"
                          "server:\n"
                          "  plaintext_loopback_addr: 127.0.0.1:19102\n",
                          "t.yaml");
  CAF_REQUIRE_EQUAL(s.tls.allowed_writers.size(), 2u);
  CAF_CHECK_EQUAL(s.tls.allowed_writers[1], "spiffe://prod/prom");
  CAF_REQUIRE_EQUAL(s.tls.allowed_readers.size(), 1u);
  CAF_CHECK(!s.tls.open_endpoints_for_any_client);
  CAF_CHECK_EQUAL(s.server.plaintext_loopback_addr, "127.0.0.1:19102");
  CAF_CHECK(parse_settings("", "t.yaml").tls.open_endpoints_for_any_client);
  CAF_CHECK(parse_settings("server:\n  plaintext_loopback_addr: \"[::1]:1\"\n", "t.yaml")
              .server.plaintext_loopback_addr == "[::1]:1");
  CAF_CHECK(parse_settings("server:\n  plaintext_loopback_addr: localhost:1\n", "t.yaml")
              .server.plaintext_loopback_addr == "localhost:1");
  struct row {
    const char* yaml;
    const char* expected;
  };
  row rows[] = {
    {"server:\n  plaintext_loopback_addr: 0.0.0.0:9102\n",
     "t.yaml:2: server.plaintext_loopback_addr: must be a loopback address"},
    {"server:\n  plaintext_loopback_addr: 10.1.2.3:9102\n", "must be a loopback address"},
    {"server:\n  plaintext_loopback_addr: \"[::]:9102\"\n", "must be a loopback address"},
    {"server:\n  plaintext_loopback_addr: 127.0.0.1\n", "expected host:port"},
    {"tls:\n  allowed_writers: writer\n", "t.yaml:2: tls.allowed_writers: expected a list"},
    {"tls:\n  allowed_readers: [\"\"]\n", "tls.allowed_readers: empty name"},
    {"tls:\n  allowed_readers: [[a]]\n", "tls.allowed_readers: expected a scalar"},
    {"tls:\n  cert_file: s.pem\n  key_file: k.pem\n  allowed_writers: [w]\n",
     "tls.ca_file: required when tls.allowed_writers"},
  };
  for (auto& r : rows) {
    auto msg = error_of(r.yaml);
    CAF_MESSAGE("yaml: " << r.yaml << " -> " << msg);
    CAF_CHECK(msg.find(r.expected) != std::string::npos);
  }
}

CAF_TEST(storage durations sizes and the admin api have their defaults) {
  auto s = parse_settings("", "t.yaml");
  CAF_CHECK_EQUAL(s.storage.block_duration_ms, 0);
  CAF_CHECK_EQUAL(s.storage.block_duration_hours, 2u);
  CAF_CHECK_EQUAL(s.storage.effective_block_duration_ms(), 7200000);
  CAF_CHECK_EQUAL(s.storage.retention_ms, 0);
  CAF_CHECK_EQUAL(s.storage.retention_days, 15u);
  CAF_CHECK_EQUAL(s.storage.effective_retention_ms(), 15LL * 86400000);
  CAF_CHECK_EQUAL(s.storage.retention_bytes, 0u);
  CAF_CHECK_EQUAL(s.storage.out_of_order_window_ms, 0);
  CAF_CHECK_EQUAL(s.storage.wal_write_timeout_ms, 25000);
  CAF_CHECK_EQUAL(s.storage.max_metadata_bytes, 64ull << 20);
  CAF_CHECK_EQUAL(s.storage.compaction_interval_seconds, 3600u);
  CAF_CHECK(!s.server.enable_admin_api);
  CAF_CHECK(s.tls.allowed_admins.empty());
}

CAF_TEST(storage durations sizes and the admin api are read) {
  auto s = parse_settings("server:\n"
                          "  enable_admin_api: true\n"
                          "storage:\n"
                          "  block_duration: 90m\n"
                          "  retention: 1w2d\n"
                          "  retention_size: 50GB\n"
                          "  out_of_order_window: 30m\n"
                          "  compaction_interval_seconds: 60\n",
                          "t.yaml");
  CAF_CHECK(s.server.enable_admin_api);
  CAF_CHECK_EQUAL(s.storage.block_duration_ms, 5400000);
  CAF_CHECK_EQUAL(s.storage.effective_block_duration_ms(), 5400000);
  CAF_CHECK_EQUAL(s.storage.retention_ms, 9LL * 86400000);
  CAF_CHECK_EQUAL(s.storage.effective_retention_ms(), 9LL * 86400000);
  CAF_CHECK_EQUAL(s.storage.retention_bytes, 50ull << 30);
  CAF_CHECK_EQUAL(s.storage.out_of_order_window_ms, 1800000);
  CAF_CHECK_EQUAL(s.storage.compaction_interval_seconds, 60u);
  auto at = [](const std::string& yaml) { return parse_settings(yaml, "t.yaml").storage; };
  // Bounds are inclusive.
  CAF_CHECK_EQUAL(at("storage:\n  block_duration: 1m\n").block_duration_ms, 60000);
  CAF_CHECK_EQUAL(at("storage:\n  block_duration: 60s\n").block_duration_ms, 60000);
  CAF_CHECK_EQUAL(at("storage:\n  block_duration: 31d\n").block_duration_ms, 31LL * 86400000);
  CAF_CHECK_EQUAL(at("storage:\n  block_duration: 2h\n").effective_block_duration_ms(), 7200000);
  CAF_CHECK_EQUAL(at("storage:\n  retention: 1m\n").retention_ms, 60000);
  CAF_CHECK_EQUAL(at("storage:\n  retention: 10y\n").retention_ms, 10LL * 365 * 86400000);
  CAF_CHECK_EQUAL(at("storage:\n  out_of_order_window: 0s\n").out_of_order_window_ms, 0);
  CAF_CHECK_EQUAL(at("storage:\n  out_of_order_window: 0\n").out_of_order_window_ms, 0);
  CAF_CHECK_EQUAL(at("storage:\n  out_of_order_window: 7d\n").out_of_order_window_ms, 7LL * 86400000);
  CAF_CHECK_EQUAL(at("storage:\n  wal_write_timeout: 2s\n").wal_write_timeout_ms, 2000);
  CAF_CHECK_EQUAL(at("storage:\n  wal_write_timeout: 100ms\n").wal_write_timeout_ms, 100);
  CAF_CHECK_EQUAL(at("storage:\n  out_of_order_window: 1w\n").out_of_order_window_ms, 7LL * 86400000);
  // Sizes use base-2 units, as Prometheus' --storage.tsdb.retention.size.
  CAF_CHECK_EQUAL(at("storage:\n  retention_size: 0\n").retention_bytes, 0u);
  CAF_CHECK_EQUAL(at("storage:\n  retention_size: 0GB\n").retention_bytes, 0u);
  CAF_CHECK_EQUAL(at("storage:\n  retention_size: 100B\n").retention_bytes, 100u);
  CAF_CHECK_EQUAL(at("storage:\n  retention_size: 1KB\n").retention_bytes, 1024u);
  CAF_CHECK_EQUAL(at("storage:\n  retention_size: 512MB\n").retention_bytes, 512ull << 20);
  CAF_CHECK_EQUAL(at("storage:\n  retention_size: 3TB\n").retention_bytes, 3ull << 40);
  CAF_CHECK_EQUAL(at("storage:\n  retention_size: 2PB\n").retention_bytes, 2ull << 50);
  CAF_CHECK_EQUAL(at("storage:\n  retention_size: 15EB\n").retention_bytes, 15ull << 60);
  CAF_CHECK_EQUAL(at("storage:\n  max_metadata_bytes: 1MB\n").max_metadata_bytes, 1ull << 20);
  CAF_CHECK_EQUAL(at("storage:\n  max_metadata_bytes: 2GB\n").max_metadata_bytes, 2ull << 30);
  CAF_CHECK_EQUAL(at("storage:\n  retention_size: 18446744073709551615B\n").retention_bytes, UINT64_MAX);
}

CAF_TEST(block_duration and retention take precedence over hours and days) {
  auto at = [](const std::string& yaml) { return parse_settings(yaml, "t.yaml").storage; };
  // Only the old keys: they decide.
  auto old_keys = at("storage:\n  block_duration_hours: 6\n  retention_days: 3\n");
  CAF_CHECK_EQUAL(old_keys.block_duration_ms, 0);
  CAF_CHECK_EQUAL(old_keys.effective_block_duration_ms(), 6LL * 3600000);
  CAF_CHECK_EQUAL(old_keys.retention_ms, 0);
  CAF_CHECK_EQUAL(old_keys.effective_retention_ms(), 3LL * 86400000);
  // Both: the duration keys win, whichever comes first in the file.
  for (auto yaml : {"storage:\n  block_duration_hours: 6\n  block_duration: 30m\n"
                    "  retention_days: 3\n  retention: 12h\n",
                    "storage:\n  block_duration: 30m\n  block_duration_hours: 6\n"
                    "  retention: 12h\n  retention_days: 3\n"}) {
    auto s = at(yaml);
    CAF_CHECK_EQUAL(s.block_duration_hours, 6u);
    CAF_CHECK_EQUAL(s.effective_block_duration_ms(), 1800000);
    CAF_CHECK_EQUAL(s.retention_days, 3u);
    CAF_CHECK_EQUAL(s.effective_retention_ms(), 12LL * 3600000);
  }
  // The effective values are set directly too (code building settings by hand).
  storage_settings st;
  st.block_duration_hours = 744;
  st.retention_days = 100000;
  CAF_CHECK_EQUAL(st.effective_block_duration_ms(), 744LL * 3600000);
  CAF_CHECK_EQUAL(st.effective_retention_ms(), 100000LL * 86400000);
  st.block_duration_ms = 1;
  st.retention_ms = 2;
  CAF_CHECK_EQUAL(st.effective_block_duration_ms(), 1);
  CAF_CHECK_EQUAL(st.effective_retention_ms(), 2);
}

CAF_TEST(bad storage durations sizes and admin settings name the key and its line) {
  struct row {
    const char* yaml;
    const char* expected;  // substring of the message
  };
  row rows[] = {
    // storage.block_duration
    {"storage:\n  block_duration: 59s\n", "t.yaml:2: storage.block_duration: must be between 1m and 31d, got 59s"},
    {"storage:\n  block_duration: 0s\n", "t.yaml:2: storage.block_duration: must be between 1m and 31d"},
    {"storage:\n  block_duration: 0\n", "t.yaml:2: storage.block_duration: must be between 1m and 31d"},
    {"storage:\n  block_duration: 31d1ms\n", "t.yaml:2: storage.block_duration: must be between 1m and 31d, got 31d1ms"},
    {"storage:\n  block_duration: 1y\n", "t.yaml:2: storage.block_duration: must be between 1m and 31d"},
    {"storage:\n  block_duration: 2\n", "t.yaml:2: storage.block_duration: expected a duration"},
    {"storage:\n  block_duration: 2 hours\n", "t.yaml:2: storage.block_duration: expected a duration"},
    {"storage:\n  block_duration: -2h\n", "t.yaml:2: storage.block_duration: expected a duration"},
    {"storage:\n  block_duration: 30m2h\n", "t.yaml:2: storage.block_duration: expected a duration"},
    {"storage:\n  block_duration: 2H\n", "t.yaml:2: storage.block_duration: expected a duration"},
    {"storage:\n  block_duration: [2h]\n", "t.yaml:2: storage.block_duration: expected a scalar"},
    {"storage:\n  block_duration:\n", "t.yaml:2: storage.block_duration: missing value"},
    {"storage:\n  block_duration: 99999999999999999999h\n", "t.yaml:2: storage.block_duration: expected a duration"},
    // storage.retention
    {"\nstorage:\n  retention: 0s\n", "t.yaml:3: storage.retention: must be at least 1m, got 0s"},
    {"storage:\n  retention: 0\n", "t.yaml:2: storage.retention: must be at least 1m, got 0"},
    {"storage:\n  retention: 59s999ms\n", "t.yaml:2: storage.retention: must be at least 1m"},
    {"storage:\n  retention: 15\n", "t.yaml:2: storage.retention: expected a duration"},
    {"storage:\n  retention: -1d\n", "t.yaml:2: storage.retention: expected a duration"},
    {"storage:\n  retention: 15days\n", "t.yaml:2: storage.retention: expected a duration"},
    {"storage:\n  retention: 292000000y99999999w\n", "t.yaml:2: storage.retention: expected a duration"},
    // storage.retention_size
    {"storage:\n  retention_size: lots\n", "t.yaml:2: storage.retention_size: expected a whole number and a unit"},
    {"storage:\n  retention_size: \"\"\n", "t.yaml:2: storage.retention_size: expected a whole number and a unit"},
    {"storage:\n  retention_size: GB\n", "t.yaml:2: storage.retention_size: expected a whole number and a unit"},
    {"storage:\n  retention_size: 1.5GB\n", "t.yaml:2: storage.retention_size: expected a whole number and a unit"},
    {"storage:\n  retention_size: -1GB\n", "t.yaml:2: storage.retention_size: must not be negative"},
    {"storage:\n  retention_size: -0\n", "t.yaml:2: storage.retention_size: must not be negative"},
    {"storage:\n  retention_size: 1024\n", "t.yaml:2: storage.retention_size: missing unit in \"1024\""},
    {"storage:\n  retention_size: 50XB\n", "t.yaml:2: storage.retention_size: unknown unit \"XB\" in \"50XB\""},
    {"storage:\n  retention_size: 50gb\n", "t.yaml:2: storage.retention_size: unknown unit \"gb\""},
    {"storage:\n  retention_size: 50GiB\n", "t.yaml:2: storage.retention_size: unknown unit \"GiB\""},
    {"storage:\n  retention_size: 50 GB\n", "t.yaml:2: storage.retention_size: unknown unit \" GB\""},
    {"storage:\n  retention_size: 5GB5MB\n", "t.yaml:2: storage.retention_size: unknown unit \"GB5MB\""},
    {"storage:\n  retention_size: 16EB\n", "t.yaml:2: storage.retention_size: too large"},
    {"storage:\n  retention_size: 18446744073709551616B\n", "t.yaml:2: storage.retention_size: too large"},
    {"storage:\n  retention_size: 99999999999999999999999GB\n", "t.yaml:2: storage.retention_size: too large"},
    {"storage:\n  retention_size: [1GB]\n", "t.yaml:2: storage.retention_size: expected a scalar"},
    // storage.max_metadata_bytes
    {"storage:\n  max_metadata_bytes: 1023KB\n", "t.yaml:2: storage.max_metadata_bytes: must be at least 1MB, got \"1023KB\""},
    {"storage:\n  max_metadata_bytes: 0\n", "t.yaml:2: storage.max_metadata_bytes: must be at least 1MB"},
    {"storage:\n  max_metadata_bytes: 64\n", "t.yaml:2: storage.max_metadata_bytes: missing unit"},
    // storage.out_of_order_window
    {"storage:\n  out_of_order_window: 7d1ms\n", "t.yaml:2: storage.out_of_order_window: must be between 0s and 7d, got 7d1ms"},
    {"storage:\n  out_of_order_window: 2w\n", "t.yaml:2: storage.out_of_order_window: must be between 0s and 7d"},
    {"storage:\n  wal_write_timeout: 50ms\n", "t.yaml:2: storage.wal_write_timeout: must be between 100ms and 10m"},
    {"storage:\n  out_of_order_window: -5m\n", "t.yaml:2: storage.out_of_order_window: expected a duration"},
    {"storage:\n  out_of_order_window: off\n", "t.yaml:2: storage.out_of_order_window: expected a duration"},
    {"storage:\n  out_of_order_window: 10\n", "t.yaml:2: storage.out_of_order_window: expected a duration"},
    // server.enable_admin_api
    {"server:\n  enable_admin_api: yes\n", "t.yaml:2: server.enable_admin_api: expected true or false"},
    {"server:\n  enable_admin_api: 1\n", "t.yaml:2: server.enable_admin_api: expected true or false"},
    {"storage:\n  enable_admin_api: true\n", "t.yaml:2: storage.enable_admin_api: unknown key"},
    // tls.allowed_admins
    {"tls:\n  allowed_admins: admin\n", "t.yaml:2: tls.allowed_admins: expected a list"},
    {"tls:\n  allowed_admins: [\"\"]\n", "t.yaml:2: tls.allowed_admins: empty name"},
    {"tls:\n  allowed_admins: [[a]]\n", "t.yaml:2: tls.allowed_admins: expected a scalar"},
    {"tls:\n  cert_file: s.pem\n  key_file: k.pem\n  allowed_admins: [admin]\n",
     "t.yaml: tls.ca_file: required when tls.allowed_admins is set"},
  };
  for (auto& r : rows) {
    auto msg = error_of(r.yaml);
    CAF_MESSAGE("yaml: " << r.yaml << " -> " << msg);
    CAF_CHECK(msg.find(r.expected) != std::string::npos);
  }
}

CAF_TEST(tls allowed_admins is read) {
  auto s = parse_settings("server:\n"
                          "  enable_admin_api: true\n"
                          "tls:\n"
                          "  cert_file: s.pem\n"
                          "  key_file: k.pem\n"
                          "  ca_file: ca.pem\n"
                          "  require_client_cert: true\n"
                          "  allowed_admins:\n"
                          "    - admin\n"
                          "    - \"spiffe://prod/ops\"\n"
                          "    - \"@loopback\"\n",
                          "t.yaml");
  CAF_CHECK(s.server.enable_admin_api);
  CAF_REQUIRE_EQUAL(s.tls.allowed_admins.size(), 3u);
  CAF_CHECK_EQUAL(s.tls.allowed_admins[0], "admin");
  CAF_CHECK_EQUAL(s.tls.allowed_admins[1], "spiffe://prod/ops");
  CAF_CHECK_EQUAL(s.tls.allowed_admins[2], "@loopback");
  CAF_CHECK(s.tls.allowed_writers.empty());
  CAF_CHECK(s.tls.allowed_readers.empty());
  auto flow = parse_settings("tls:\n  cert_file: s.pem\n  key_file: k.pem\n  ca_file: ca.pem\n"
                             "  allowed_admins: [a, b]\n",
                             "t.yaml");
  CAF_CHECK_EQUAL(flow.tls.allowed_admins.size(), 2u);
  CAF_CHECK(parse_settings("tls:\n  allowed_admins: []\n", "t.yaml").tls.allowed_admins.empty());
}

CAF_TEST(remote read limits mirror prometheus flags) {
  auto d = parse_settings("", "t.yaml");
  CAF_CHECK_EQUAL(d.server.remote_read_sample_limit, 50000000u);
  CAF_CHECK_EQUAL(d.server.remote_read_concurrent_limit, 10u);
  CAF_CHECK_EQUAL(d.server.remote_read_max_bytes_in_frame, 1048576u);
  auto s = parse_settings("server:\n"
                          "  remote_read_sample_limit: 0\n"
                          "  remote_read_concurrent_limit: 0\n"
                          "  remote_read_max_bytes_in_frame: 4096\n",
                          "t.yaml");
  CAF_CHECK_EQUAL(s.server.remote_read_sample_limit, 0u);  // no limit
  CAF_CHECK_EQUAL(s.server.remote_read_concurrent_limit, 0u);
  CAF_CHECK_EQUAL(s.server.remote_read_max_bytes_in_frame, 4096u);
  CAF_CHECK(error_of("server:\n  remote_read_max_bytes_in_frame: 10\n")
              .find("t.yaml:2: server.remote_read_max_bytes_in_frame: must be between 1024 and 1073741824")
            != std::string::npos);
  CAF_CHECK(error_of("server:\n  remote_read_concurrent_limit: -1\n")
              .find("server.remote_read_concurrent_limit: expected a non-negative integer")
            != std::string::npos);
  CAF_CHECK(error_of("server:\n  remote_read_sample_limit: 5e7\n")
              .find("server.remote_read_sample_limit: expected a non-negative integer")
            != std::string::npos);
}

CAF_TEST(a missing file is a config error) {
  try {
    load_settings("/nonexistent/nightlight.yaml");
    CAF_CHECK(false);
  } catch (const config_error& e) {
    CAF_CHECK(std::string{e.what()}.find("/nonexistent/nightlight.yaml") != std::string::npos);
  }
}

CAF_TEST(the shipped configuration files parse) {
  // NL_TEST_DATA_DIR is tests/testdata of the source tree (an absolute
  // path, unlike __FILE__ under ccache's base_dir).
  std::string conf = NL_TEST_DATA_DIR "/../../conf/";
  try {
    auto s = load_settings(conf + "nightlight.yaml");
    CAF_CHECK_EQUAL(s.server.http_addr, "127.0.0.1:9101");
    // The shipped file shows the defaults: same result as an empty file.
    CAF_CHECK_EQUAL(s.storage.effective_block_duration_ms(), 7200000);
    CAF_CHECK_EQUAL(s.storage.effective_retention_ms(), 15LL * 86400000);
    CAF_CHECK_EQUAL(s.storage.retention_bytes, 0u);
    CAF_CHECK_EQUAL(s.storage.out_of_order_window_ms, 0);
    CAF_CHECK(!s.server.enable_admin_api);
    auto m = load_settings(conf + "nightlight-mtls.yaml");
    CAF_CHECK(m.tls.enabled());
    CAF_CHECK(m.tls.require_client_cert);
  } catch (const config_error& e) {
    CAF_FAIL(e.what());
  }
}

CAF_TEST(command line options) {
  const char* a1[] = {"nl", "--config", "x.yaml", "--wal-repair"};
  auto o = parse_cli(4, const_cast<char**>(a1));
  CAF_CHECK_EQUAL(o.config_path, "x.yaml");
  CAF_CHECK(o.wal_repair);
  const char* a2[] = {"nl", "--bogus"};
  try {
    parse_cli(2, const_cast<char**>(a2));
    CAF_CHECK(false);
  } catch (const config_error& e) {
    CAF_CHECK(std::string{e.what()}.find("--bogus") != std::string::npos);
  }
  const char* a3[] = {"nl", "--config"};
  try {
    parse_cli(2, const_cast<char**>(a3));
    CAF_CHECK(false);
  } catch (const config_error&) {
    CAF_CHECK(true);
  }
}

// --- cluster section ---------------------------------------------------------

namespace {

const std::string three_nodes = "cluster:\n"
                                "  self: b\n"
                                "  nodes:\n"
                                "    - {name: a, addr: 127.0.0.1:7001}\n"
                                "    - {name: b, addr: 127.0.0.1:7002}\n"
                                "    - {name: c, addr: 127.0.0.1:7003}\n";

}  // namespace

CAF_TEST(without a cluster section the node runs alone) {
  auto s = parse_settings("", "t.yaml");
  CAF_CHECK(!s.cluster.enabled());
  CAF_CHECK_EQUAL(s.cluster.nodes.size(), 0u);
}

CAF_TEST(a three node cluster gets rf 2 and a quorum of 2) {
  auto s = parse_settings(three_nodes, "t.yaml");
  CAF_CHECK(s.cluster.enabled());
  CAF_CHECK_EQUAL(s.cluster.self_index(), 1u);
  CAF_CHECK_EQUAL(s.cluster.nodes[2].addr, "127.0.0.1:7003");
  CAF_CHECK_EQUAL(s.cluster.effective_replication_factor(), 2u);
  CAF_CHECK_EQUAL(s.cluster.effective_write_quorum(), 2u);
  CAF_CHECK_EQUAL(s.cluster.name, "nightlight");
  CAF_CHECK(!s.cluster.tls());
  CAF_CHECK(s.cluster.partial_response);
}

CAF_TEST(the replication factor is capped at the node count) {
  auto s = parse_settings("cluster:\n  self: a\n  replication_factor: 5\n  nodes: [{name: a, addr: h:1}, {name: b, addr: h:2}]\n",
                          "t.yaml");
  CAF_CHECK_EQUAL(s.cluster.effective_replication_factor(), 2u);
  CAF_CHECK_EQUAL(s.cluster.effective_write_quorum(), 2u);
}

CAF_TEST(every cluster key is read) {
  auto s = parse_settings(three_nodes
                            + "  name: prod\n  listen_addr: 0.0.0.0:7002\n  replication_factor: 3\n  write_quorum: 2\n"
                              "  cert_file: n.pem\n  key_file: n.key\n  ca_file: ca.pem\n  heartbeat_interval: 200ms\n"
                              "  connection_timeout: 1s\n  request_timeout: 3s\n  reconnect_backoff_max: 2s\n"
                              "  max_inflight_samples: 5000\n  partial_response: false\n  write_linger: 2ms\n",
                          "t.yaml");
  CAF_CHECK_EQUAL(s.cluster.name, "prod");
  CAF_CHECK_EQUAL(s.cluster.listen_addr, "0.0.0.0:7002");
  CAF_CHECK_EQUAL(s.cluster.effective_replication_factor(), 3u);
  CAF_CHECK_EQUAL(s.cluster.effective_write_quorum(), 2u);
  CAF_CHECK(s.cluster.tls());
  CAF_CHECK_EQUAL(s.cluster.heartbeat_interval_ms, 200);
  CAF_CHECK_EQUAL(s.cluster.connection_timeout_ms, 1000);
  CAF_CHECK_EQUAL(s.cluster.request_timeout_ms, 3000);
  CAF_CHECK_EQUAL(s.cluster.reconnect_backoff_max_ms, 2000);
  CAF_CHECK_EQUAL(s.cluster.max_inflight_samples, 5000u);
  CAF_CHECK(!s.cluster.partial_response);
  CAF_CHECK_EQUAL(s.cluster.write_linger_ms, 2);
  CAF_CHECK_EQUAL(parse_settings(three_nodes, "t.yaml").cluster.write_linger_ms, 1);
}

CAF_TEST(bad cluster sections name the key) {
  auto has = [](const std::string& yaml, const std::string& part) {
    auto e = error_of(yaml);
    if (e.find(part) == std::string::npos) {
      CAF_MESSAGE("got: " << e);
      return false;
    }
    return true;
  };
  CAF_CHECK(has("cluster:\n  nodes: [{name: a, addr: h:1}]\n", "cluster.self: required"));
  CAF_CHECK(has("cluster:\n  self: z\n  nodes: [{name: a, addr: h:1}]\n", "\"z\" is not one of cluster.nodes"));
  CAF_CHECK(has("cluster:\n  self: a\n", "cluster.nodes: required"));
  CAF_CHECK(has("cluster:\n  self: a\n  nodes: [{name: a, addr: h:1}, {name: a, addr: h:2}]\n", "appears twice"));
  CAF_CHECK(has("cluster:\n  self: a\n  nodes: [{name: a, addr: nohost}]\n", "expected host:port"));
  CAF_CHECK(has("cluster:\n  self: a\n  nodes: [{name: a}]\n", "has no addr"));
  CAF_CHECK(has("cluster:\n  self: a\n  nodes: [{name: a, addr: h:1, port: 3}]\n", "unknown key \"port\""));
  CAF_CHECK(has("cluster:\n  self: a\n  nodes: a\n", "expected a list"));
  CAF_CHECK(has(three_nodes + "  cert_file: x.pem\n", "go together"));
  CAF_CHECK(has(three_nodes + "  write_quorum: 3\n", "must not exceed the replication factor (2)"));
  CAF_CHECK(has(three_nodes + "  replication_factor: 0\n", "cluster.replication_factor: must be between 1"));
  CAF_CHECK(has(three_nodes + "  heartbeat_interval: 2s\n  connection_timeout: 1s\n", "must be longer than"));
  CAF_CHECK(has(three_nodes + "  name: \"\"\n", "cluster.name: must not be empty"));
  CAF_CHECK(has(three_nodes + "  colour: red\n", "cluster.colour: unknown key"));
  CAF_CHECK(has(three_nodes + "  write_linger: 1s\n", "cluster.write_linger: must be between 0s and 100ms"));
}

CAF_TEST(the shipped cluster example parses on every node) {
  std::string conf = NL_TEST_DATA_DIR "/../../conf/";
  try {
    for (std::string n : {"a", "b", "c"}) {
      auto s = load_settings(conf + "cluster-" + n + ".yaml");
      CAF_CHECK_EQUAL(s.cluster.self, n);
      CAF_CHECK_EQUAL(s.cluster.nodes.size(), 3u);
      CAF_CHECK_EQUAL(s.cluster.effective_replication_factor(), 2u);
    }
  } catch (const config_error& e) {
    CAF_FAIL(e.what());
  }
}

// -- what /api/v1/status/config and /api/v1/status/flags show ---------------

CAF_TEST(every key of the schema is shown in schema order) {
  std::vector<std::string> shown;
  for (const auto& k : shown_settings(settings{}))
    shown.push_back(k.key);
  CAF_CHECK_EQUAL(shown, config_keys());
  auto flags = shown_flags(settings{}, cli_options{});
  for (const auto& k : config_keys())
    CAF_CHECK(flags.count(k) == 1);
  CAF_CHECK_EQUAL(flags.size(), config_keys().size() + 2);  // plus config, wal-repair
}

CAF_TEST(durations are printed as Prometheus prints them) {
  CAF_CHECK_EQUAL(format_duration(0), "0s");
  CAF_CHECK_EQUAL(format_duration(300000), "5m");
  CAF_CHECK_EQUAL(format_duration(5400000), "1h30m");
  CAF_CHECK_EQUAL(format_duration(1500), "1s500ms");
  CAF_CHECK_EQUAL(format_duration(15 * 86400000LL), "15d");  // not 2w1d
  CAF_CHECK_EQUAL(format_duration(14 * 86400000LL), "2w");
  CAF_CHECK_EQUAL(format_duration(90 * 86400000LL), "90d");
  CAF_CHECK_EQUAL(format_duration(365 * 86400000LL), "1y");
  CAF_CHECK_EQUAL(format_duration(36 * 3600000LL), "1d12h");
}

CAF_TEST(the effective yaml of the defaults) {
  CAF_CHECK_EQUAL(effective_yaml(settings{}),
                  "server:\n"
                  "  grpc_addr: 127.0.0.1:9100\n"
                  "  http_addr: 127.0.0.1:9101\n"
                  "  max_concurrent_streams: 100\n"
                  "  query_timeout_seconds: 120\n"
                  "  max_samples_per_query: 50000000\n"
                  "  max_concurrent_queries: 0\n"
                  "  max_request_bytes: 33554432\n"
                  "  max_decoded_bytes: 67108864\n"
                  "  overload_status: 503\n"
                  "  max_inflight_samples: 1000000\n"
                  "  retry_after_seconds: 1\n"
                  "  lookback_delta: 5m\n"
                  "  http_threads: 0\n"
                  "  enable_admin_api: false\n"
                  "  remote_read_sample_limit: 50000000\n"
                  "  remote_read_concurrent_limit: 10\n"
                  "  remote_read_max_bytes_in_frame: 1048576\n"
                  "storage:\n"
                  "  data_dir: ./data\n"
                  "  retention_days: 15\n"
                  "  retention_size: 0\n"
                  "  wal_segment_size_mb: 128\n"
                  "  block_duration_hours: 2\n"
                  "  max_head_samples: 200000000\n"
                  "  compaction_interval_seconds: 3600\n"
                  "  head_shards: 0\n" "  snapshot_on_shutdown: true\n"
                  "  fsync: interval\n"
                  "  fsync_interval_ms: 1000\n"
                  "  out_of_bounds_window: 1h\n"
                  "  wal_write_timeout: 25s\n"
                  "  out_of_order_window: 0s\n"
                  "  max_metadata_bytes: 64MB\n"
                  "tls:\n"
                  "  require_client_cert: false\n"
                  "  allowed_writers: []\n"
                  "  allowed_readers: []\n"
                  "  allowed_admins: []\n"
                  "  open_endpoints_for_any_client: true\n"
                  "ingest:\n"
                  "  drop_non_finite: false\n"
                  "  max_future_seconds: 600\n"
                  "  allow_utf8_names: true\n"
                  "log:\n"
                  "  level: info\n");
}

CAF_TEST(values with control characters are shown quoted and read back the same) {
  // fuzz_config found it: yaml-cpp reads "./data" followed by carriage
  // returns as a data_dir ending in them, but wrote it back plain, so the
  // last one before the line's end read back as part of the line break.
  auto s = parse_settings("storage:\n  data_dir: ./data\r\r\r\n  retention_days: 7\n"
                          "tls:\n  cert_file: c.pem\n  key_file: k.pem\n  ca_file: ca.pem\n"
                          "  allowed_writers: [\"a\\tb\", plain]\n",
                          "t.yaml");
  CAF_CHECK_EQUAL(s.storage.data_dir, "./data\r\r");
  auto yaml = effective_yaml(s);
  CAF_CHECK(yaml.find("data_dir: \"./data\\r\\r\"\n") != std::string::npos);
  CAF_CHECK(yaml.find("retention_days: 7\n") != std::string::npos);  // plain values stay plain
  auto again = parse_settings(yaml, "effective.yaml");
  CAF_CHECK_EQUAL(again.storage.data_dir, s.storage.data_dir);
  CAF_CHECK_EQUAL(again.tls.allowed_writers, s.tls.allowed_writers);
  CAF_CHECK_EQUAL(effective_yaml(again), yaml);
}

CAF_TEST(the effective yaml reads back to the same settings with the key redacted) {
  auto s = parse_settings("server:\n"
                          "  http_addr: \"[::1]:19101\"\n"
                          "  lookback_delta: 90s\n"
                          "  plaintext_loopback_addr: 127.0.0.1:9102\n"
                          "  enable_admin_api: true\n"
                          "storage:\n"
                          "  data_dir: \"/srv/night light: data\"\n"
                          "  retention: 36h\n"
                          "  retention_size: 1536MB\n"
                          "  block_duration: 90m\n"
                          "  fsync: always\n"
                          "  out_of_order_window: 10m\n"
                          "tls:\n"
                          "  cert_file: /etc/nl/server.pem\n"
                          "  key_file: /etc/nl/server-key.pem\n"
                          "  ca_file: /etc/nl/ca.pem\n"
                          "  require_client_cert: true\n"
                          "  allowed_writers: [prometheus-eu1, \"spiffe://prod/a b\"]\n"
                          "  allowed_readers: ['@loopback', grafana]\n"
                          "ingest:\n"
                          "  allow_utf8_names: false\n"
                          "log:\n"
                          "  level: debug\n",
                          "t.yaml");
  auto yaml = effective_yaml(s);
  CAF_CHECK(yaml.find("server-key.pem") == std::string::npos);
  CAF_CHECK(yaml.find("key_file: <secret>\n") != std::string::npos);
  CAF_CHECK(yaml.find("cert_file: /etc/nl/server.pem\n") != std::string::npos);
  CAF_CHECK(yaml.find("retention: 1d12h\n") != std::string::npos);
  CAF_CHECK(yaml.find("retention_size: 1536MB\n") != std::string::npos);
  auto again = parse_settings(yaml, "effective.yaml");
  auto a = shown_settings(s);
  auto b = shown_settings(again);
  CAF_REQUIRE_EQUAL(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CAF_CHECK_EQUAL(a[i].key, b[i].key);
    CAF_CHECK_EQUAL(a[i].values, b[i].values);
    CAF_CHECK_EQUAL(a[i].set, b[i].set);
  }
  CAF_CHECK_EQUAL(again.storage.data_dir, "/srv/night light: data");
  CAF_CHECK_EQUAL(again.tls.allowed_writers, (std::vector<std::string>{"prometheus-eu1", "spiffe://prod/a b"}));
  CAF_CHECK_EQUAL(again.tls.key_file, redacted_value);
  auto flags = shown_flags(s, cli_options{"/etc/nl/nightlight.yaml", false, false, true});
  CAF_CHECK_EQUAL(flags["tls.key_file"], "<secret>");
  CAF_CHECK_EQUAL(flags["tls.cert_file"], "/etc/nl/server.pem");
  CAF_CHECK_EQUAL(flags["tls.allowed_readers"], R"(["@loopback", grafana])");
  CAF_CHECK_EQUAL(flags["storage.retention"], "1d12h");
  CAF_CHECK_EQUAL(flags["storage.block_duration"], "1h30m");
  CAF_CHECK_EQUAL(flags["storage.fsync"], "always");
  CAF_CHECK_EQUAL(flags["server.lookback_delta"], "1m30s");
  CAF_CHECK_EQUAL(flags["config"], "/etc/nl/nightlight.yaml");
  CAF_CHECK_EQUAL(flags["wal-repair"], "true");
  CAF_CHECK_EQUAL(flags["log.level"], "debug");
  // Unset optional keys: "" among the flags, absent from the YAML.
  auto defaults = shown_flags(settings{}, cli_options{});
  CAF_CHECK_EQUAL(defaults["storage.retention"], "");
  CAF_CHECK_EQUAL(defaults["tls.key_file"], "");
  CAF_CHECK_EQUAL(defaults["config"], "");
  CAF_CHECK(effective_yaml(settings{}).find("key_file") == std::string::npos);
}

CAF_TEST(a cluster section is shown and its effective yaml reads back) {
  auto s = parse_settings(three_nodes + "  name: prod\n  key_file: /k.pem\n  cert_file: /c.pem\n  ca_file: /ca.pem\n"
                                        "  request_timeout: 3s\n  partial_response: false\n  write_linger: 1ms\n",
                          "t.yaml");
  auto yaml = effective_yaml(s);
  CAF_MESSAGE(yaml);
  CAF_CHECK(yaml.find("cluster:\n") != std::string::npos);
  CAF_CHECK(yaml.find("nodes: [{name: a, addr: \"127.0.0.1:7001\"}") != std::string::npos
            || yaml.find("nodes: [{name: a, addr: 127.0.0.1:7001}") != std::string::npos);
  CAF_CHECK(yaml.find("/k.pem") == std::string::npos);
  auto again = parse_settings(yaml, "effective.yaml");
  CAF_CHECK_EQUAL(again.cluster.nodes.size(), 3u);
  CAF_CHECK_EQUAL(again.cluster.nodes[2].addr, "127.0.0.1:7003");
  CAF_CHECK_EQUAL(again.cluster.self, "b");
  CAF_CHECK_EQUAL(again.cluster.name, "prod");
  CAF_CHECK_EQUAL(again.cluster.request_timeout_ms, 3000);
  CAF_CHECK(!again.cluster.partial_response);
  CAF_CHECK_EQUAL(again.cluster.write_linger_ms, 1);
  auto flags = shown_flags(s, cli_options{});
  CAF_CHECK_EQUAL(flags["cluster.key_file"], "<secret>");
  CAF_CHECK_EQUAL(flags["cluster.self"], "b");
  // A single node shows no cluster section, and its flags are empty.
  CAF_CHECK(effective_yaml(settings{}).find("cluster") == std::string::npos);
  CAF_CHECK_EQUAL(shown_flags(settings{}, cli_options{})["cluster.nodes"], "");
}

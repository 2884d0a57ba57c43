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
  CAF_CHECK_EQUAL(s.storage.data_dir, "./data");
  CAF_CHECK(s.storage.fsync == fsync_policy::interval);
  CAF_CHECK(!s.tls.enabled());
}

CAF_TEST(every kind of value is read) {
  auto s = parse_settings("server:\n"
                          "  http_addr: 0.0.0.0:19101\n"
                          "  overload_status: 429\n"
                          "  lookback_delta: 1m30s\n"
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

#define CAF_SUITE protocol.client.client_tls
#include "test_support.hpp"

#include "protocol/client/client_tls.hpp"
#include "protocol/tls_test_pki.hpp"

using namespace nightlight::api::detail;
using nightlight::api::errc;
using nightlight::api::tls_options;
using namespace nl::test;

namespace {

struct fixture {
  pki p;
  pki_dir dir;
  key_ptr client_key = make_key();
  cert_ptr client = p.client({"writer", -3600, 86400, false, eku::client, {"writer"}, {}},
                             client_key.get());
  std::string ca = dir.write("ca.pem", pem_of(p.ca.get()));
  std::string cert = dir.write("writer.pem", pem_of(client.get()));
  std::string key = dir.write("writer-key.pem", pem_of(client_key.get()));

  tls_options opts() const { return {true, ca, cert, key, "localhost"}; }
};

std::string message_of(const tls_options& o) {
  auto m = load_tls_material(o);
  CAF_REQUIRE(!m.ok());
  CAF_CHECK(m.err().code == errc::invalid_argument);
  return m.err().message;
}

bool contains(const std::string& s, const std::string& part) {
  if (s.find(part) != std::string::npos)
    return true;
  CAF_MESSAGE("'" << s << "' lacks '" << part << "'");
  return false;
}

}  // namespace

CAF_TEST_FIXTURE_SCOPE(client_tls_tests, fixture)

CAF_TEST(good files load and make a client context) {
  auto m = load_tls_material(opts());
  CAF_REQUIRE(m.ok());
  CAF_CHECK(contains(m->ca_pem, "BEGIN CERTIFICATE"));
  CAF_CHECK(contains(m->cert_pem, "BEGIN CERTIFICATE"));
  CAF_CHECK(contains(m->key_pem, "PRIVATE KEY"));
  CAF_CHECK_EQUAL(m->server_name, "localhost");
  CAF_CHECK(make_client_context(*m).ok());
  // Server verification only (no client certificate), system trust store.
  tls_options only_ca{true, ca, "", "", ""};
  CAF_CHECK(load_tls_material(only_ca).ok());
  auto system = load_tls_material(tls_options{true, "", "", "", ""});
  CAF_REQUIRE(system.ok());
  CAF_CHECK(system->ca_pem.empty());
  CAF_CHECK(make_client_context(*system).ok());
}

CAF_TEST(bad files are named with the problem) {
  auto o = opts();
  o.ca_file = dir.file("missing.pem");
  CAF_CHECK(contains(message_of(o), "tls ca_file '" + o.ca_file + "': cannot open: No such file"));
  o = opts();
  o.ca_file = dir.write("empty.pem", "");
  CAF_CHECK(contains(message_of(o), "file is empty"));
  o.ca_file = dir.write("junk.pem", "hello");
  CAF_CHECK(contains(message_of(o), "not a PEM file"));
  o.ca_file = key;  // a key where certificates belong
  CAF_CHECK(contains(message_of(o), "contains no certificates"));
  o = opts();
  o.cert_file = dir.write("junk-cert.pem", "-----BEGIN CERTIFICATE-----\nnope\n");
  CAF_CHECK(contains(message_of(o), "tls cert_file"));
  o = opts();
  o.key_file = dir.write("other-key.pem", pem_of(make_key().get()));
  CAF_CHECK(contains(message_of(o), "key does not match the certificate in tls cert_file"));
  o = opts();
  o.key_file = dir.write("enc-key.pem", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nx\n");
  CAF_CHECK(contains(message_of(o), "private key is encrypted"));
  o = opts();
  o.key_file = cert;
  CAF_CHECK(contains(message_of(o), "no usable PEM private key"));
  o = opts();
  o.key_file.clear();
  CAF_CHECK(contains(message_of(o), "cert_file and key_file must be given together"));
}

CAF_TEST_FIXTURE_SCOPE_END()

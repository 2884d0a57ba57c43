#include "protocol/authorization.hpp"

#include "protocol/exposition.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace nl::protocol {

namespace {

/// Text of an ASN.1 string, or nothing when it hides a NUL byte (the
/// classic "CN=good.example\0.evil" trick must not match "good.example").
bool asn1_text(const ASN1_STRING* s, std::string& out) {
  const auto* data = reinterpret_cast<const char*>(ASN1_STRING_get0_data(s));
  auto len = static_cast<size_t>(ASN1_STRING_length(s));
  if (data == nullptr || std::memchr(data, '\0', len) != nullptr)
    return false;
  out.assign(data, len);
  return true;
}

std::string_view strip_query(std::string_view target) {
  auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool listed(const std::vector<std::string>& list, const peer_identity& who) {
  if (who.source == peer_identity::kind::loopback)
    return std::find(list.begin(), list.end(), loopback_identity) != list.end();
  if (who.source != peer_identity::kind::certificate)
    return false;
  // A certificate naming itself "@loopback" must not pass for the listener.
  return std::any_of(list.begin(), list.end(), [&](const std::string& name) {
    return name != loopback_identity && who.has_name(name);
  });
}

// The counter slots: one per endpoint of the table (in its order, the
// CORS preflight aside), then "other".
size_t path_slot(std::string_view target) {
  auto ep = endpoint_of_path(strip_query(target));
  size_t i = 0;
  for (auto* e = endpoint_table_begin(); e != endpoint_table_end(); ++e) {
    if (e->ep == endpoint::cors_preflight)
      continue;
    if (ep && e->ep == *ep)
      return i;
    ++i;
  }
  return i;  // "other"
}

std::string_view slot_label(size_t slot) {
  size_t i = 0;
  for (auto* e = endpoint_table_begin(); e != endpoint_table_end(); ++e) {
    if (e->ep == endpoint::cors_preflight)
      continue;
    if (i++ == slot)
      return e->path;
  }
  return "other";
}

size_t slot_count() { return path_slot("") + 1; }

}  // namespace

bool peer_identity::has_name(std::string_view name) const {
  if (name.empty())
    return false;
  if (common_name == name)
    return true;
  auto eq = [&](const std::string& s) { return s == name; };
  return std::any_of(dns_names.begin(), dns_names.end(), eq)
         || std::any_of(uris.begin(), uris.end(), eq);
}

std::string peer_identity::describe() const {
  switch (source) {
    case kind::anonymous: return "-";
    case kind::loopback: return "loopback";
    case kind::certificate: break;
  }
  std::string out = "CN=" + common_name;
  for (auto& d : dns_names)
    out += " DNS=" + d;
  for (auto& u : uris)
    out += " URI=" + u;
  return out;
}

peer_identity identity_of(X509* cert) {
  peer_identity out;
  if (cert == nullptr)
    return out;
  out.source = peer_identity::kind::certificate;
  if (X509_NAME* subject = X509_get_subject_name(cert)) {
    // The most specific (last) CN wins, as in every TLS hostname check.
    int idx = -1;
    for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
         i = X509_NAME_get_index_by_NID(subject, NID_commonName, i))
      idx = i;
    if (idx >= 0) {
      unsigned char* utf8 = nullptr;
      int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)));
      if (n >= 0 && std::memchr(utf8, '\0', static_cast<size_t>(n)) == nullptr)
        out.common_name.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
      OPENSSL_free(utf8);
    }
  }
  auto* names = static_cast<GENERAL_NAMES*>(
    X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
      std::string text;
      if (gn->type == GEN_DNS && asn1_text(gn->d.dNSName, text))
        out.dns_names.push_back(std::move(text));
      else if (gn->type == GEN_URI && asn1_text(gn->d.uniformResourceIdentifier, text))
        out.uris.push_back(std::move(text));
    }
    GENERAL_NAMES_free(names);
  }
  return out;
}

peer_identity identity_of(SSL* ssl) {
  if (ssl == nullptr || SSL_get_verify_result(ssl) != X509_V_OK)
    return {};
  // Without a verified chain a certificate proves nothing; OpenSSL reports
  // X509_V_OK also when no certificate was sent, which gives nullptr here.
  X509* cert = SSL_get1_peer_certificate(ssl);
  peer_identity out = identity_of(cert);
  X509_free(cert);
  return out;
}

peer_identity identity_of_pem(std::string_view pem) {
  if (pem.empty())
    return {};
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr)
    return {};
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  peer_identity out = identity_of(cert);
  X509_free(cert);
  return out;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost")
    return true;
  std::string text{host};
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, text.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

endpoint_access access_of(std::string_view target) {
  auto path = strip_query(target);
  if (auto ep = endpoint_of_path(path))
    return info(*ep).access;
  return starts_with(path, "/api/v1/admin/") ? endpoint_access::admin : endpoint_access::read;
}

authorizer::authorizer(authorization_options opts) : opts_(std::move(opts)) {
  // nop
}

authorization_decision authorizer::check(const peer_identity& who,
                                         std::string_view target) const {
  auto access = access_of(target);
  if (access == endpoint_access::admin && !opts_.admin_api_enabled)
    access = endpoint_access::read;  // to be answered "admin APIs disabled"
  if (access == endpoint_access::open && opts_.open_endpoints_for_any_client)
    return {};
  if (access == endpoint_access::admin) {
    if (listed(opts_.allowed_admins, who))
      return {};
    authorization_decision no;
    no.allowed = false;
    no.reason = who.source == peer_identity::kind::anonymous
                  ? std::string{"client presented no verified certificate"}
                  : "client " + who.describe() + " is not in tls.allowed_admins";
    return no;
  }
  const bool write = access == endpoint_access::write;
  const auto& list = write ? opts_.allowed_writers : opts_.allowed_readers;
  if (list.empty() || listed(list, who))
    return {};
  authorization_decision no;
  no.allowed = false;
  no.reason = who.source == peer_identity::kind::anonymous
                ? std::string{"client presented no verified certificate"}
                : "client " + who.describe() + " is not in "
                    + (write ? "tls.allowed_writers" : "tls.allowed_readers");
  return no;
}

forbidden_response make_forbidden_response(std::string_view target,
                                           const authorization_decision& decision) {
  auto path = strip_query(target);
  std::string message = "forbidden: " + decision.reason;
  if (starts_with(path, "/api/") && path != "/api/v1/write" && path != "/api/v1/read") {
    nlohmann::json body = {{"status", "error"}, {"errorType", "forbidden"}, {"error", message}};
    return {"application/json", body.dump()};
  }
  return {"text/plain; charset=utf-8", message + "\n"};
}

std::string_view forbidden_path_label(std::string_view target) {
  return slot_label(path_slot(target));
}

void forbidden_counters::add(std::string_view target) {
  counts_[path_slot(target)].fetch_add(1, std::memory_order_relaxed);
}

uint64_t forbidden_counters::get(std::string_view path_label) const {
  for (size_t i = 0; i < slot_count(); ++i)
    if (slot_label(i) == path_label)
      return counts_[i].load(std::memory_order_relaxed);
  return 0;
}

void forbidden_counters::append_metrics(std::string& out) const {
  append_metric_header(out, "nightlight_http_forbidden_total", "counter",
                       "Requests refused by tls.allowed_writers/readers/admins.");
  for (size_t i = 0; i < slot_count(); ++i)
    append_metric_line(out, "nightlight_http_forbidden_total", "path=\"" + std::string{slot_label(i)} + "\"",
                       counts_[i].load(std::memory_order_relaxed));
}

}  // namespace nl::protocol

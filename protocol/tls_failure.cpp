#include "protocol/tls_failure.hpp"

#include "protocol/exposition.hpp"

#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace nl::protocol {

std::string_view to_string(tls_failure reason) {
  switch (reason) {
    case tls_failure::no_certificate: return "no_certificate";
    case tls_failure::unknown_ca: return "unknown_ca";
    case tls_failure::expired: return "expired";
    case tls_failure::not_yet_valid: return "not_yet_valid";
    case tls_failure::bad_usage: return "bad_usage";
    case tls_failure::plaintext_http: return "plaintext_http";
    case tls_failure::other: return "other";
  }
  return "other";
}

tls_failure classify_handshake_failure(const boost::system::error_code& ec, long verify_result) {
  // The verify result is the precise answer whenever the chain was refused.
  switch (verify_result) {
    case X509_V_OK: break;
    case X509_V_ERR_CERT_HAS_EXPIRED: return tls_failure::expired;
    case X509_V_ERR_CERT_NOT_YET_VALID: return tls_failure::not_yet_valid;
    case X509_V_ERR_INVALID_PURPOSE: return tls_failure::bad_usage;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return tls_failure::unknown_ca;
    default: return tls_failure::other;
  }
  if (ec.category() != boost::asio::error::get_ssl_category())
    return tls_failure::other;
  auto code = static_cast<unsigned long>(ec.value());
  if (ERR_GET_LIB(code) != ERR_LIB_SSL)
    return tls_failure::other;
  switch (ERR_GET_REASON(code)) {
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE: return tls_failure::no_certificate;
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST: return tls_failure::plaintext_http;
    default: return tls_failure::other;
  }
}

bool looks_like_plaintext_http(std::string_view bytes) {
  // A TLS connection opens with a handshake record (0x16). Every HTTP
  // method starts with an upper-case letter, and no TLS record type is in
  // 'A'..'Z' (they are 20..24), so one byte decides.
  return !bytes.empty() && bytes.front() >= 'A' && bytes.front() <= 'Z';
}

std::string_view plaintext_http_response() {
  return "HTTP/1.0 400 Bad Request\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "Connection: close\r\n"
         "\r\n"
         "Client sent an HTTP request to an HTTPS server.\n";
}

void tls_failure_counters::add(tls_failure reason) {
  counts_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
}

uint64_t tls_failure_counters::get(tls_failure reason) const {
  return counts_[static_cast<size_t>(reason)].load(std::memory_order_relaxed);
}

void tls_failure_counters::append_metrics(std::string& out, std::string_view name, std::string_view help) const {
  append_metric_header(out, name, "counter", help);
  for (size_t i = 0; i < tls_failure_count; ++i)
    append_metric_line(out, name,
                       "reason=\"" + std::string{to_string(static_cast<tls_failure>(i))} + "\"",
                       counts_[i].load(std::memory_order_relaxed));
}

}  // namespace nl::protocol

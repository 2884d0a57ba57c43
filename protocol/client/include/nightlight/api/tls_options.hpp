#pragma once
// TLS settings shared by the query client (gRPC) and the remote-write
// client (HTTPS). All files are PEM.
#include <string>

namespace nightlight::api {

struct tls_options {
  /// Use TLS at all. The remote-write client also switches it on for
  /// https:// URLs.
  bool enabled = false;
  /// CA certificate(s) the server certificate must chain to. Empty: the
  /// system's trust store.
  std::string ca_file;
  /// Client certificate (leaf first, then intermediates) and its
  /// unencrypted key, for mutual TLS. Both or neither.
  std::string cert_file;
  std::string key_file;
  /// The name the server certificate must carry (DNS name or IP address),
  /// also sent as SNI for DNS names. Empty: the host of the address.
  std::string server_name;
};

}  // namespace nightlight::api

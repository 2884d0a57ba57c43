#pragma once
// The client side of TLS, one loader for both clients: the PEM files of
// tls_options are read and checked once, then handed to gRPC as strings
// (query client) or turned into an OpenSSL context (remote-write client),
// so both accept and refuse the same files with the same messages.
#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "nightlight/api/error.hpp"
#include "nightlight/api/tls_options.hpp"

namespace nightlight::api::detail {

/// The PEM texts of a tls_options; an empty ca_pem means "system trust store".
struct tls_material {
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
  std::string server_name;
};

/// Reads the files and checks them: CA and certificate files hold PEM
/// certificates, the key is an unencrypted PEM private key matching the
/// certificate, cert_file and key_file come together. Errors
/// (invalid_argument) name the option and file, e.g. "tls cert_file
/// '/etc/x.pem': cannot open: No such file or directory".
result<tls_material> load_tls_material(const tls_options& opts);

/// A client context: TLS 1.2+, the server verified against ca_pem (or the
/// system store), the client certificate presented when given.
result<std::shared_ptr<boost::asio::ssl::context>> make_client_context(const tls_material& m);

}  // namespace nightlight::api::detail

#pragma once
// The remote-write URL, taken apart: http(s)://host[:port][/path[?query]].
#include <string>
#include <string_view>

#include "nightlight/api/error.hpp"

namespace nightlight::api::detail {

struct endpoint_url {
  bool tls = false;       ///< https
  std::string host;       ///< name or address, IPv6 without brackets
  std::string port;       ///< digits; 80 or 443 when the URL has none
  std::string target;     ///< path and query, at least "/"
  std::string host_header;  ///< the URL's host[:port] as written (Go's Host header)
  /// host:port as the Host header and messages write it ([v6]:port).
  std::string authority() const;
};

/// Errors (invalid_argument) say what is wrong, e.g. "url
/// \"ftp://x\": scheme must be http or https". User info, fragments,
/// spaces and control characters are refused.
result<endpoint_url> parse_url(std::string_view url);

}  // namespace nightlight::api::detail

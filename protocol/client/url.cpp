#include "protocol/client/url.hpp"

namespace nightlight::api::detail {

namespace {

error bad_url(std::string_view url, const std::string& why) {
  return {errc::invalid_argument, "url \"" + std::string(url) + "\": " + why};
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i])
      return false;
  }
  return true;
}

}  // namespace

std::string endpoint_url::authority() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + port;
}

result<endpoint_url> parse_url(std::string_view url) {
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return bad_url(url, "contains a space or control character");
  auto sep = url.find("://");
  if (sep == std::string_view::npos)
    return bad_url(url, "missing scheme (http:// or https://)");
  endpoint_url out;
  std::string_view scheme = url.substr(0, sep);
  if (iequals(scheme, "https"))
    out.tls = true;
  else if (!iequals(scheme, "http"))
    return bad_url(url, "scheme must be http or https");
  std::string_view rest = url.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos)
    return bad_url(url, "fragments (#...) are not sent to servers");
  auto path_at = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_at);
  std::string_view target = path_at == std::string_view::npos ? "/" : rest.substr(path_at);
  if (authority.find('@') != std::string_view::npos)
    return bad_url(url, "user info (user@host) is not supported");
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return bad_url(url, "IPv6 address without closing ']'");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return bad_url(url, "unexpected text after the IPv6 address");
      port = after.substr(1);
      if (port.empty())
        return bad_url(url, "empty port");
    }
  } else {
    auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty())
        return bad_url(url, "empty port");
    }
  }
  if (out.host.empty())
    return bad_url(url, "missing host");
  out.host_header = std::string(authority);
  if (!port.empty()) {
    unsigned long n = 0;
    for (char c : port) {
      if (c < '0' || c > '9')
        return bad_url(url, "port must be a number");
      n = n * 10 + static_cast<unsigned long>(c - '0');
      if (n > 65535)
        break;
    }
    if (n == 0 || n > 65535)
      return bad_url(url, "port must be 1..65535");
    out.port = std::to_string(n);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  out.target = target.front() == '?' ? "/" + std::string(target) : std::string(target);
  return out;
}

}  // namespace nightlight::api::detail

// libFuzzer target: the client library's parsers of text it does not
// control: a server's Retry-After header (seconds or HTTP date, read at a
// few clock readings, including the extremes) and the remote-write URL.
// The input is split at the first '\n': Retry-After, then URL; the whole
// input also goes through both. Nothing may crash, overflow or hang.
#include <chrono>
#include <string_view>

#include "protocol/client/retry_policy.hpp"
#include "protocol/client/url.hpp"

namespace {

using namespace nightlight::api::detail;
using std::chrono::system_clock;

void retry_after(std::string_view s) {
  const system_clock::time_point nows[] = {
    system_clock::time_point(std::chrono::seconds(1796464800)),
    system_clock::time_point(),
    system_clock::time_point::min(),
    system_clock::time_point::max(),
  };
  retry_settings settings;
  settings.retry_on_http_429 = true;
  settings.retry_after_on_5xx = true;
  for (auto now : nows) {
    auto wait = parse_retry_after(s, now);
    backoff_schedule b(settings);
    (void)b.next_wait(wait);
    (void)b.next_wait(wait);
    (void)classify_attempt(429, s, now, settings);
  }
}

void url(std::string_view s) {
  auto u = parse_url(s);
  if (u.ok())
    (void)u->authority();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  retry_after(in.substr(0, nl));
  if (nl != std::string_view::npos)
    url(in.substr(nl + 1));
  retry_after(in);
  url(in);
  return 0;
}

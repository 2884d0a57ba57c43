#include "nightlight/api/remote_write_client.hpp"

#include <thread>

#include "protocol/client/client_tls.hpp"
#include "protocol/client/http_connection.hpp"
#include "protocol/client/retry_policy.hpp"
#include "protocol/snappy_block.hpp"

namespace nightlight::api {

using namespace std::chrono;

struct remote_write_client::impl {
  remote_write_options options;
  detail::retry_settings retry;
  std::unique_ptr<detail::http_connection> connection;
};

namespace {

/// Prometheus' Store() message: the status line and the first line of the
/// body, at most 1024 bytes of it.
std::string refusal_message(const detail::http_response& r) {
  std::string line = r.body.substr(0, 1024);
  line = line.substr(0, line.find('\n'));
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  std::string reason = r.reason.empty() ? std::string(detail::http_status_text(r.status))
                                        : r.reason;
  return "server returned HTTP status " + std::to_string(r.status) + " " + reason + ": " + line;
}

/// The error a final answer stands for.
errc code_of_http_status(int status) {
  switch (status) {
    case 400: return errc::invalid_argument;
    case 401: return errc::unauthenticated;
    case 403: return errc::permission_denied;
    case 404:
    case 405: return errc::unimplemented;
    case 413:
    case 429: return errc::resource_exhausted;
    case 415: return errc::invalid_argument;
    default: break;
  }
  if (status / 100 == 5)
    return errc::unavailable;
  return errc::unknown;
}

bool valid_header_token(const std::string& s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == ':')
      return false;
  return true;
}

bool valid_header_value(const std::string& s) {
  for (char c : s)
    if (c == '\r' || c == '\n' || c == '\0')
      return false;
  return true;
}

}  // namespace

result<remote_write_client> remote_write_client::create(remote_write_options options) {
  auto url = detail::parse_url(options.url);
  if (!url)
    return url.err();
  if (options.timeout <= milliseconds::zero())
    return error{errc::invalid_argument, "timeout must be positive"};
  if (options.min_backoff <= milliseconds::zero() || options.max_backoff < options.min_backoff)
    return error{errc::invalid_argument, "backoff: need 0 < min_backoff <= max_backoff"};
  if (options.give_up_after < milliseconds::zero())
    return error{errc::invalid_argument, "give_up_after must not be negative"};
  for (const auto& [name, value] : options.headers)
    if (!valid_header_token(name) || !valid_header_value(value))
      return error{errc::invalid_argument, "header '" + name + "': invalid name or value"};
  std::shared_ptr<boost::asio::ssl::context> tls;
  if (url->tls) {
    auto material = detail::load_tls_material(options.tls);
    if (!material)
      return material.err();
    auto ctx = detail::make_client_context(*material);
    if (!ctx)
      return ctx.err();
    tls = std::move(*ctx);
  } else if (options.tls.enabled || !options.tls.cert_file.empty() || !options.tls.ca_file.empty()) {
    return error{errc::invalid_argument,
                 "tls options given but the url \"" + options.url + "\" is not https://"};
  }
  if (options.user_agent.empty())
    options.user_agent = "nightlight-api/" NL_API_VERSION;
  auto p = std::make_unique<impl>();
  p->retry.min_backoff = options.min_backoff;
  p->retry.max_backoff = options.max_backoff;
  p->retry.retry_on_http_429 = options.retry_on_http_429;
  p->retry.retry_after_on_5xx = options.retry_after_on_5xx;
  p->connection = std::make_unique<detail::http_connection>(std::move(*url), std::move(tls),
                                                            options.tls.server_name);
  p->options = std::move(options);
  return remote_write_client(std::move(p));
}

remote_write_client::remote_write_client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
remote_write_client::remote_write_client(remote_write_client&&) noexcept = default;
remote_write_client& remote_write_client::operator=(remote_write_client&&) noexcept = default;
remote_write_client::~remote_write_client() = default;

const remote_write_options& remote_write_client::options() const {
  return impl_->options;
}

write_report remote_write_client::write(const std::vector<time_series>& series,
                                        const std::vector<metric_metadata>& metadata) {
  const auto& opts = impl_->options;
  write_report report;
  report.series = series.size();
  for (const auto& s : series)
    report.samples += s.samples.size();
  report.metadata = metadata.size();
  std::string body = encode_write_request(series, metadata);
  report.encoded_bytes = body.size();
  body = nl::protocol::snappy_encode(body);
  report.compressed_bytes = body.size();

  std::vector<std::pair<std::string, std::string>> headers = {
    {"Content-Encoding", "snappy"},
    {"Content-Type", "application/x-protobuf"},
    {"User-Agent", opts.user_agent},
    {"X-Prometheus-Remote-Write-Version", "0.1.0"},
  };
  for (const auto& h : opts.headers)
    headers.push_back(h);

  detail::backoff_schedule backoff(impl_->retry);
  auto first = steady_clock::now();
  for (;;) {
    write_attempt attempt;
    auto answer = impl_->connection->post(headers, body, opts.timeout);
    error failure;
    if (answer) {
      attempt.http_status = answer->status;
      attempt.retry_after = answer->retry_after;
      if (answer->status / 100 != 2) {
        attempt.message = refusal_message(*answer);
        failure = {code_of_http_status(answer->status), attempt.message, answer->status};
      }
    } else {
      attempt.message = answer.err().message;
      failure = answer.err();
    }
    auto decision = detail::classify_attempt(attempt.http_status, attempt.retry_after,
                                             system_clock::now(), impl_->retry);
    if (decision.verdict == detail::attempt_verdict::accepted) {
      report.attempts.push_back(std::move(attempt));
      return report;
    }
    auto finish = [&](error e) {
      report.attempts.push_back(std::move(attempt));
      report.failed = true;
      report.failure = std::move(e);
      return report;
    };
    if (decision.verdict == detail::attempt_verdict::give_up)
      return finish(std::move(failure));
    attempt.wait = backoff.next_wait(decision.retry_after);
    attempt.waited_for_retry_after = decision.retry_after > milliseconds::zero();
    if (opts.give_up_after > milliseconds::zero() &&
        steady_clock::now() + attempt.wait - first >= opts.give_up_after) {
      attempt.wait = milliseconds::zero();
      attempt.waited_for_retry_after = false;
      failure.message = "giving up after " + std::to_string(report.attempts.size() + 1) +
                        " attempts (give_up_after " + std::to_string(opts.give_up_after.count()) +
                        " ms), last: " + failure.message;
      return finish(std::move(failure));
    }
    std::this_thread::sleep_for(attempt.wait);
    report.attempts.push_back(std::move(attempt));
  }
}

}  // namespace nightlight::api

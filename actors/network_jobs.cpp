#include "actors/network_jobs.hpp"

#include <utility>

#include "actors/errors.hpp"
#include "protocol/api_json.hpp"
#include "protocol/query_json.hpp"

namespace nl::actors {

using protocol::http_reply;
using protocol::http_request;
using protocol::http_response;

/// The answer a job gives when the actors go away before it was answered
/// (shutdown or an actor restart): 503, which every client retries.
void answer_dropped(const http_reply& reply, bool json, const char* what) {
  http_response r;
  r.status = 503;
  if (json) {
    r.content_type = "application/json";
    r.body = std::string(R"({"status":"error","errorType":"unavailable","error":")") + what
             + R"( dropped during shutdown or restart"})";
  } else {
    r.content_type = "text/plain; charset=utf-8";
    r.body = std::string(what) + " dropped during shutdown or restart; retry";
    r.headers.emplace_back("Retry-After", "1");
  }
  reply(std::move(r));
}

http_response json_success(std::string data, const std::vector<std::string>& warnings) {
  http_response r;
  r.status = 200;
  r.content_type = "application/json";
  protocol::begin_success(r.body);
  r.body += data;
  protocol::end_success(r.body, warnings);
  return r;
}

http_response json_error(protocol::api_error e, std::string_view msg) {
  http_response r;
  r.status = static_cast<unsigned>(protocol::http_status(e));
  r.content_type = "application/json";
  r.body = protocol::error_body(e, msg);
  return r;
}

http_response unavailable(std::string_view msg) {
  auto r = json_error(protocol::api_error::unavailable, msg);
  r.status = 503;
  return r;
}

http_response api_error_response(const caf::error& err) {
  using protocol::api_error;
  auto msg = message_of(err);
  switch (code_of(err)) {
    case error_code::bad_input: return json_error(api_error::bad_data, msg);
    case error_code::timeout: return json_error(api_error::timeout, msg);
    case error_code::too_many_samples: return json_error(api_error::execution, msg);
    case error_code::execution: return json_error(api_error::execution, msg);
    case error_code::canceled: return json_error(api_error::canceled, msg);
    case error_code::internal: return json_error(api_error::internal, msg);
    default: return unavailable(msg);
  }
}

http_response query_success(query_answer a) {
  http_response r;
  r.status = 200;
  r.content_type = "application/json";
  r.encode = [answer = std::make_shared<query_answer>(std::move(a))](http_response& out) {
    out.body = protocol::render_query_result(answer->value, answer->warnings,
                                             answer->stats ? &*answer->stats : nullptr);
  };
  return r;
}

http_response query_failure(const caf::error& err, uint32_t retry_after_s) {
  auto r = api_error_response(err);
  if (r.status == 503)
    r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  return r;
}

}  // namespace nl::actors

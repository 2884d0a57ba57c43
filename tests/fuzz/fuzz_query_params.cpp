// libFuzzer target: the HTTP API's request parameters from arbitrary bytes.
// The input is up to four fields separated by '\n': URL query string, form
// body, request path, Content-Type. The query string and body are merged as
// Go's r.Form is, then every API parameter is read from them (time, start,
// end, step, timeout, lookback_delta, limit, match[], a label name) with
// the same parsers the handlers use, and the typed range check the gRPC
// API shares with them; the path is routed and classified, and each field also
// goes through the literal parsers of promql/literals directly. Nothing may
// crash or hang; errors are fine.
#include <string>
#include <string_view>

#include "promql/literals.hpp"
#include "protocol/authorization.hpp"
#include "protocol/query_params.hpp"
#include "protocol/router.hpp"

namespace {

std::string_view field(std::string_view& in) {
  auto nl = in.find('\n');
  auto out = in.substr(0, nl);
  in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  return out;
}

void literals(std::string_view s) {
  std::string err;
  (void)nl::promql::parse_number(s, err);
  (void)nl::promql::parse_float(s, &err);
  (void)nl::promql::parse_duration(s, err);
  (void)nl::protocol::parse_time("time", s);
  (void)nl::protocol::parse_duration("step", s);
  (void)nl::protocol::parse_limit(s);
  (void)nl::protocol::parse_bool_or("skip_head", s, false);
  (void)nl::protocol::query_unescape(s);
  (void)nl::protocol::path_unescape(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nl::protocol;
  std::string_view in{reinterpret_cast<const char*>(data), size};
  auto query = field(in);
  auto body = field(in);
  auto path = field(in);
  auto content_type = field(in);

  auto form = form_params::parse(query, is_form_content_type(content_type) ? body : std::string_view{});
  (void)form.error();
  (void)parse_time_or("time", form.value("time"), 0);
  (void)parse_time_or("start", form.value("start"), min_time_ms);
  (void)parse_time_or("end", form.value("end"), max_time_ms);
  (void)parse_range_params(form.value("start"), form.value("end"), form.value("step"));
  (void)parse_duration("timeout", form.value("timeout"));
  (void)parse_duration("lookback_delta", form.value("lookback_delta"));
  (void)parse_limit(form.value("limit"));
  (void)parse_bool_or("skip_head", form.value("skip_head"), false);
  (void)parse_match_params(form.get_all("match[]"), true);
  (void)check_label_name_param(form.value("name"), false);
  // The typed checks the gRPC API uses, on times the HTTP parsers gave.
  auto start = parse_time_or("start", form.value("start"), min_time_ms);
  auto end = parse_time_or("end", form.value("end"), max_time_ms);
  auto step = parse_duration("step", form.value("step"));
  if (start && end && step)
    (void)check_range(*start, *end, *step * 1000000);

  for (const char* method : {"GET", "POST", "OPTIONS"})
    (void)match_route(method, path);
  (void)is_api_path(path);
  (void)access_of(path);
  (void)forbidden_path_label(path);

  literals(query);
  literals(body);
  return 0;
}

#include "protocol/router.hpp"

#include "protocol/query_params.hpp"

#include <array>
#include <utility>

namespace nl::protocol {

namespace {

struct fixed_route {
  std::string_view path;
  endpoint ep;
  bool get;
  bool post;
  bool head;
};

// GET-only endpoints in Prometheus (rules, alerts, status) also answer 405
// to POST; reads that Grafana may POST accept both.
constexpr std::array<fixed_route, 15> fixed_routes{{
  {"/api/v1/write", endpoint::write, false, true, false},
  {"/api/v1/query", endpoint::query, true, true, false},
  {"/api/v1/query_range", endpoint::query_range, true, true, false},
  {"/api/v1/format_query", endpoint::format_query, true, true, false},
  {"/api/v1/query_exemplars", endpoint::query_exemplars, true, true, false},
  {"/api/v1/series", endpoint::series, true, true, false},
  {"/api/v1/labels", endpoint::labels, true, true, false},
  {"/api/v1/status/buildinfo", endpoint::buildinfo, true, false, false},
  {"/api/v1/status/tsdb", endpoint::tsdb_status, true, false, false},
  {"/api/v1/status/walreplay", endpoint::walreplay, true, false, false},
  {"/api/v1/rules", endpoint::rules, true, false, false},
  {"/api/v1/alerts", endpoint::alerts, true, false, false},
  {"/metrics", endpoint::metrics, true, false, false},
  {"/-/healthy", endpoint::healthy, true, false, true},
  {"/-/ready", endpoint::ready, true, false, true},
}};

constexpr std::pair<std::string_view, endpoint> admin_routes[] = {
  {"/api/v1/admin/tsdb/snapshot", endpoint::admin_snapshot},
  {"/api/v1/admin/tsdb/delete_series", endpoint::admin_delete_series},
  {"/api/v1/admin/tsdb/clean_tombstones", endpoint::admin_clean_tombstones},
};

std::string allow_list(bool get, bool post, bool head) {
  std::string s;
  auto add = [&](const char* m) {
    if (!s.empty())
      s += ", ";
    s += m;
  };
  if (get)
    add("GET");
  if (head)
    add("HEAD");
  if (post)
    add("POST");
  add("OPTIONS");
  return s;
}

route decide(std::string_view method, endpoint ep, bool get, bool post, bool head) {
  route r;
  r.ep = ep;
  bool ok = (method == "GET" && get) || (method == "POST" && post) || (method == "HEAD" && head);
  r.result = ok ? route::outcome::found : route::outcome::method_not_allowed;
  if (!ok)
    r.allow = allow_list(get, post, head);
  return r;
}

}  // namespace

bool is_api_path(std::string_view path) {
  return path.substr(0, 5) == "/api/";
}

route match_route(std::string_view method, std::string_view path) {
  if (method == "OPTIONS" && is_api_path(path)) {
    route r;
    r.result = route::outcome::found;
    r.ep = endpoint::cors_preflight;
    return r;
  }
  for (auto& f : fixed_routes)
    if (f.path == path)
      return decide(method, f.ep, f.get, f.post, f.head);
  // The admin API takes POST and PUT, as Prometheus registers it.
  for (auto [admin_path, ep] : admin_routes)
    if (admin_path == path) {
      route r;
      r.ep = ep;
      r.result = method == "POST" || method == "PUT" ? route::outcome::found : route::outcome::method_not_allowed;
      if (r.result != route::outcome::found)
        r.allow = "POST, PUT, OPTIONS";
      return r;
    }
  // /api/v1/label/<name>/values: exactly one non-empty segment in between.
  constexpr std::string_view prefix = "/api/v1/label/";
  constexpr std::string_view suffix = "/values";
  if (path.size() > prefix.size() + suffix.size() && path.substr(0, prefix.size()) == prefix
      && path.substr(path.size() - suffix.size()) == suffix) {
    auto raw = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
    auto name = raw.find('/') == std::string_view::npos ? path_unescape(raw) : std::nullopt;
    if (name) {
      auto r = decide(method, endpoint::label_values, true, true, false);
      r.param = std::move(*name);
      return r;
    }
  }
  return {};
}

}  // namespace nl::protocol

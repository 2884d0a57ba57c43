#include "protocol/router.hpp"

#include "protocol/query_params.hpp"

#include <algorithm>
#include <iterator>

namespace nl::protocol {

namespace {

constexpr auto open = endpoint_access::open;
constexpr auto read = endpoint_access::read;
constexpr auto write = endpoint_access::write;
constexpr auto admin = endpoint_access::admin;

// GET-only endpoints in Prometheus (rules, alerts, status) also answer 405
// to POST; reads that Grafana may POST accept both; the admin API takes POST
// and PUT, as Prometheus registers it.
// Columns: endpoint, path, GET, HEAD, POST, PUT, access.
constexpr endpoint_info table[] = {
  {endpoint::write, "/api/v1/write", false, false, true, false, write},
  {endpoint::remote_read, "/api/v1/read", false, false, true, false, read},
  {endpoint::query, "/api/v1/query", true, false, true, false, read},
  {endpoint::query_range, "/api/v1/query_range", true, false, true, false, read},
  {endpoint::format_query, "/api/v1/format_query", true, false, true, false, read},
  {endpoint::query_exemplars, "/api/v1/query_exemplars", true, false, true, false, read},
  {endpoint::series, "/api/v1/series", true, false, true, false, read},
  {endpoint::labels, "/api/v1/labels", true, false, true, false, read},
  {endpoint::label_values, "/api/v1/label/:name/values", true, false, true, false, read},
  {endpoint::metadata, "/api/v1/metadata", true, false, true, false, read},
  {endpoint::buildinfo, "/api/v1/status/buildinfo", true, false, false, false, read},
  {endpoint::tsdb_status, "/api/v1/status/tsdb", true, false, false, false, read},
  {endpoint::walreplay, "/api/v1/status/walreplay", true, false, false, false, read},
  {endpoint::status_flags, "/api/v1/status/flags", true, false, false, false, read},
  {endpoint::status_runtimeinfo, "/api/v1/status/runtimeinfo", true, false, false, false, read},
  {endpoint::status_config, "/api/v1/status/config", true, false, false, false, read},
  {endpoint::cluster_status, "/api/v1/status/cluster", true, false, false, false, read},
  {endpoint::rules, "/api/v1/rules", true, false, false, false, read},
  {endpoint::alerts, "/api/v1/alerts", true, false, false, false, read},
  // GET only, as Prometheus registers it (a scraper GETs).
  {endpoint::federate, "/federate", true, false, false, false, read},
  {endpoint::metrics, "/metrics", true, false, false, false, open},
  {endpoint::healthy, "/-/healthy", true, true, false, false, open},
  {endpoint::ready, "/-/ready", true, true, false, false, open},
  {endpoint::admin_snapshot, "/api/v1/admin/tsdb/snapshot", false, false, true, true, admin},
  {endpoint::admin_delete_series, "/api/v1/admin/tsdb/delete_series", false, false, true, true, admin},
  {endpoint::admin_clean_tombstones, "/api/v1/admin/tsdb/clean_tombstones", false, false, true, true, admin},
  // The web UI: static files only, so any client that may read may load
  // it (Prometheus serves its UI to whoever may use its API).
  {endpoint::ui_root, "/", true, true, false, false, read},
  {endpoint::ui_page, "/:page", true, true, false, false, read},
  {endpoint::ui_static, "/static/:file", true, true, false, false, read},
  {endpoint::cors_preflight, "OPTIONS", false, false, false, false, read},
};

// The pages of web/app.js's page table; each path serves web/index.html.
constexpr std::string_view ui_pages[] = {
  "/graph", "/browse", "/ingestion", "/tsdb-status", "/status", "/flags", "/config",
};

constexpr std::string_view static_prefix = "/static/";

// The <file> of /static/<file>: non-empty, percent-decoded, no empty, "."
// or ".." segment (the files are looked up by name, never on disk, but a
// name that could climb out of the folder is refused all the same).
std::optional<std::string> static_file_name(std::string_view path) {
  if (path.size() <= static_prefix.size() || path.substr(0, static_prefix.size()) != static_prefix)
    return std::nullopt;
  auto name = path_unescape(path.substr(static_prefix.size()));
  if (!name)
    return std::nullopt;
  std::string_view rest = *name;
  while (true) {
    auto slash = rest.find('/');
    auto segment = rest.substr(0, slash);
    if (segment.empty() || segment == "." || segment == "..")
      return std::nullopt;
    if (slash == std::string_view::npos)
      return name;
    rest.remove_prefix(slash + 1);
  }
}

constexpr std::string_view label_prefix = "/api/v1/label/";
constexpr std::string_view label_suffix = "/values";

// The <name> of /api/v1/label/<name>/values: exactly one non-empty
// segment, percent-decoded.
std::optional<std::string> label_values_name(std::string_view path) {
  if (path.size() <= label_prefix.size() + label_suffix.size() || path.substr(0, label_prefix.size()) != label_prefix
      || path.substr(path.size() - label_suffix.size()) != label_suffix)
    return std::nullopt;
  auto raw = path.substr(label_prefix.size(), path.size() - label_prefix.size() - label_suffix.size());
  if (raw.find('/') != std::string_view::npos)
    return std::nullopt;
  return path_unescape(raw);
}

// In alphabetical order, as Prometheus' router lists them.
std::string allow_list(const endpoint_info& e) {
  std::string s;
  auto add = [&](bool allowed, const char* m) {
    if (!allowed)
      return;
    if (!s.empty())
      s += ", ";
    s += m;
  };
  add(e.get, "GET");
  add(e.head, "HEAD");
  add(true, "OPTIONS");
  add(e.post, "POST");
  add(e.put, "PUT");
  return s;
}

}  // namespace

const endpoint_info& info(endpoint ep) {
  for (const auto& e : table)
    if (e.ep == ep)
      return e;
  return table[std::size(table) - 1];  // unreachable: every endpoint has a row
}

const endpoint_info* endpoint_table_begin() { return std::begin(table); }
const endpoint_info* endpoint_table_end() { return std::end(table); }

const std::string_view* ui_pages_begin() { return std::begin(ui_pages); }
const std::string_view* ui_pages_end() { return std::end(ui_pages); }

std::optional<endpoint> endpoint_of_path(std::string_view path) {
  for (const auto& e : table)
    if (e.path == path && e.ep != endpoint::label_values && e.ep != endpoint::cors_preflight
        && e.ep != endpoint::ui_page && e.ep != endpoint::ui_static)
      return e.ep;
  if (label_values_name(path))
    return endpoint::label_values;
  if (std::find(std::begin(ui_pages), std::end(ui_pages), path) != std::end(ui_pages))
    return endpoint::ui_page;
  if (static_file_name(path))
    return endpoint::ui_static;
  return std::nullopt;
}

bool is_api_path(std::string_view path) {
  return path.substr(0, 5) == "/api/";
}

route match_route(std::string_view method, std::string_view path) {
  route r;
  if (method == "OPTIONS" && is_api_path(path)) {
    r.result = route::outcome::found;
    r.ep = endpoint::cors_preflight;
    return r;
  }
  auto ep = endpoint_of_path(path);
  if (!ep)
    return r;
  const auto& e = info(*ep);
  r.ep = *ep;
  bool ok = (method == "GET" && e.get) || (method == "HEAD" && e.head) || (method == "POST" && e.post)
            || (method == "PUT" && e.put);
  r.result = ok ? route::outcome::found : route::outcome::method_not_allowed;
  if (!ok)
    r.allow = allow_list(e);
  if (*ep == endpoint::label_values)
    r.param = *label_values_name(path);
  else if (*ep == endpoint::ui_static)
    r.param = *static_file_name(path);
  return r;
}

}  // namespace nl::protocol

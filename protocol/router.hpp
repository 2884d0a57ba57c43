#pragma once
// The one table of the HTTP endpoints: for each, its path, the methods it
// takes, the access it needs (authorization) and its label in metrics. The
// router maps an HTTP method and path to an endpoint, with Prometheus'
// answers for the misses: an unknown path is 404 "404 page not found"
// (text/plain) and a known path with a foreign method is 405 with an Allow
// header.
#include <optional>
#include <string>
#include <string_view>

namespace nl::protocol {

enum class endpoint {
  write,             ///< POST /api/v1/write
  remote_read,       ///< POST /api/v1/read
  query,             ///< GET|POST /api/v1/query
  query_range,       ///< GET|POST /api/v1/query_range
  format_query,      ///< GET|POST /api/v1/format_query
  query_exemplars,   ///< GET|POST /api/v1/query_exemplars
  series,            ///< GET|POST /api/v1/series
  labels,            ///< GET|POST /api/v1/labels
  label_values,      ///< GET|POST /api/v1/label/<name>/values
  metadata,          ///< GET|POST /api/v1/metadata
  buildinfo,         ///< GET /api/v1/status/buildinfo
  tsdb_status,       ///< GET /api/v1/status/tsdb
  walreplay,         ///< GET /api/v1/status/walreplay
  status_flags,        ///< GET /api/v1/status/flags
  status_runtimeinfo,  ///< GET /api/v1/status/runtimeinfo
  status_config,       ///< GET /api/v1/status/config
  cluster_status,    ///< GET /api/v1/status/cluster (cluster mode)
  rules,             ///< GET /api/v1/rules
  alerts,            ///< GET /api/v1/alerts
  federate,          ///< GET /federate
  metrics,           ///< GET /metrics
  healthy,           ///< GET|HEAD /-/healthy
  ready,             ///< GET|HEAD /-/ready
  cors_preflight,    ///< OPTIONS on any /api/v1 path
  admin_snapshot,          ///< POST|PUT /api/v1/admin/tsdb/snapshot
  admin_delete_series,     ///< POST|PUT /api/v1/admin/tsdb/delete_series
  admin_clean_tombstones,  ///< POST|PUT /api/v1/admin/tsdb/clean_tombstones
  ui_root,    ///< GET|HEAD / (redirects to the graph page)
  ui_page,    ///< GET|HEAD /graph and the UI's other pages (ui_pages)
  ui_static,  ///< GET|HEAD /static/<file>: the web UI's embedded files
};

/// What a request path needs.
enum class endpoint_access {
  open,   ///< /metrics, /-/healthy, /-/ready
  read,   ///< everything else that reads: /api/v1/query*, series, labels, /federate,
          ///< ..., and the web UI (the same rule as its API calls)
  write,  ///< /api/v1/write
  admin,  ///< /api/v1/admin/... (server.enable_admin_api)
};

/// One row of the table.
struct endpoint_info {
  endpoint ep;
  /// The path; ":name" stands for the label name of label_values. Also the
  /// endpoint's label in metrics (handler, path).
  std::string_view path;
  bool get, head, post, put;
  endpoint_access access;
};

/// The row of `ep` (cors_preflight has path "OPTIONS" and no methods).
const endpoint_info& info(endpoint ep);

/// Every row, in a fixed order (metrics list them in this order).
const endpoint_info* endpoint_table_begin();
const endpoint_info* endpoint_table_end();

/// The endpoint whose path `path` is (the raw target up to '?'), whatever
/// the method; nullopt for an unknown path.
std::optional<endpoint> endpoint_of_path(std::string_view path);

/// The paths of the web UI's pages (/graph, /browse, ...). Each answers the
/// same HTML shell; its script draws the page the path names.
const std::string_view* ui_pages_begin();
const std::string_view* ui_pages_end();

/// True for the admin endpoints (server.enable_admin_api).
inline bool is_admin(endpoint ep) {
  return ep == endpoint::admin_snapshot || ep == endpoint::admin_delete_series
         || ep == endpoint::admin_clean_tombstones;
}

struct route {
  enum class outcome { found, not_found, method_not_allowed };
  outcome result = outcome::not_found;
  endpoint ep = endpoint::healthy;
  /// The <name> of /api/v1/label/<name>/values, percent-decoded; for
  /// ui_static the <file> of /static/<file> (may contain '/').
  std::string param;
  /// For method_not_allowed: the methods the path accepts, e.g.
  /// "GET, OPTIONS, POST".
  std::string allow;
};

/// Routes `path` (the raw target up to '?'). Methods are compared exactly
/// (HTTP methods are case-sensitive).
route match_route(std::string_view method, std::string_view path);

/// True for the API paths that carry CORS headers (everything under /api/).
bool is_api_path(std::string_view path);

}  // namespace nl::protocol

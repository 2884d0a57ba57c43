// nightlight-tsdb import-prometheus: the command-line face of
// nl::storage::import_prometheus (storage/prometheus/import.hpp).
#include "storage/prometheus/import.hpp"
#include "storage/tool/commands.hpp"
#include "storage/tool/data_dir.hpp"

namespace nl::storage::tool {

int import_prometheus(const std::string& prom_dir, const std::string& dir, std::ostream& out, std::ostream& err) {
  // New blocks appearing under a running server would race with its
  // compactor (import.hpp): refuse.
  if (lock_held(dir)) {
    err << "nightlight-tsdb import-prometheus: a server is running on " << dir << " (" << dir
        << "/LOCK is held); stop it first\n";
    return exit_failed;
  }
  auto r = storage::import_prometheus(prom_dir, dir + "/blocks", [&](const std::string& line) { out << line << "\n"; });
  if (!r) {
    err << "nightlight-tsdb import-prometheus: " << r.error().message() << "\n";
    return exit_failed;
  }
  out << "imported " << r->blocks << (r->blocks == 1 ? " block: " : " blocks: ") << r->series << " series, "
      << r->samples << " samples, " << r->chunks << " chunks";
  if (r->skipped_chunks > 0)
    out << "; " << r->skipped_chunks << " native histogram chunks skipped (not supported)";
  out << "\n";
  return exit_ok;
}

}  // namespace nl::storage::tool

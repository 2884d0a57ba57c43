#define CAF_SUITE protocol.tls_material_files
#include "test_support.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include "protocol/tls_material_files.hpp"

using namespace nl::protocol;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

CAF_TEST(the files hold the material and follow each replacement) {
  tls_material first{"cert one", "key one", "ca one"};
  auto made = tls_material_files::create(first);
  CAF_REQUIRE(made.is_ok());
  auto& files = **made;
  CAF_CHECK_EQUAL(slurp(files.cert_path()), "cert one");
  CAF_CHECK_EQUAL(slurp(files.key_path()), "key one");
  CAF_CHECK_EQUAL(slurp(files.ca_path()), "ca one");
  // A reader that opened the old file keeps reading the old bytes.
  std::ifstream before{files.cert_path(), std::ios::binary};
  CAF_REQUIRE(files.replace({"cert two, longer", "key two", ""}).is_ok());
  CAF_CHECK_EQUAL(slurp(files.cert_path()), "cert two, longer");
  CAF_CHECK_EQUAL(slurp(files.key_path()), "key two");
  CAF_CHECK_EQUAL(slurp(files.ca_path()), "");
  std::ostringstream old;
  old << before.rdbuf();
  CAF_CHECK_EQUAL(old.str(), "cert one");
  // The paths stay the same: a file watcher keeps its names.
  auto path = files.cert_path();
  CAF_REQUIRE(files.replace({"cert three", "key three", "ca three"}).is_ok());
  CAF_CHECK_EQUAL(files.cert_path(), path);
  CAF_CHECK_EQUAL(slurp(path), "cert three");
}

#define CAF_SUITE storage.file
#include "test_support.hpp"

#include "storage/file.hpp"

using namespace nl::storage;

CAF_TEST(remove_file_durably removes a file and takes a missing one as done) {
  nl::test::temp_dir d;
  d.put("a", "x");
  CAF_REQUIRE(path_exists(d.path + "/a").value());
  CAF_CHECK(remove_file_durably(d.path + "/a").is_ok());
  CAF_CHECK(!path_exists(d.path + "/a").value());
  CAF_CHECK(remove_file_durably(d.path + "/a").is_ok());  // gone already
  // A directory is no file: unlink fails, and says so.
  d.put("dir/b", "y");
  auto st = remove_file_durably(d.path + "/dir");
  CAF_CHECK_EQUAL(st.error_code(), status::code::io_error);
  CAF_CHECK(st.message().find(d.path + "/dir") != std::string::npos);
  CAF_CHECK(path_exists(d.path + "/dir/b").value());
}

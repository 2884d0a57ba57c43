#define CAF_SUITE storage.data_dir_lock
#include "test_support.hpp"

#include <string>
#include <utility>

#include "storage/data_dir_lock.hpp"
#include "storage/file.hpp"

using namespace nl::storage;
using nl::test::temp_dir;

CAF_TEST(second lock on the same directory is refused until the first is released) {
  temp_dir d;
  auto first = data_dir_lock::acquire(d.path);
  CAF_REQUIRE(first.is_ok());
  CAF_CHECK(first->held());
  CAF_CHECK(path_exists(d.path + "/LOCK").value());
  auto second = data_dir_lock::acquire(d.path);
  CAF_REQUIRE(!second.is_ok());
  CAF_CHECK(second.error().error_code() == status::code::io_error);
  CAF_CHECK(second.error().message().find("in use by another process") != std::string::npos);
  first->release();
  CAF_CHECK(!first->held());
  first->release();  // idempotent
  CAF_CHECK(data_dir_lock::acquire(d.path).is_ok());
}

CAF_TEST(the lock moves with the object and ends with it) {
  temp_dir d;
  {
    auto a = data_dir_lock::acquire(d.path);
    CAF_REQUIRE(a.is_ok());
    data_dir_lock b = std::move(*a);
    CAF_CHECK(!a->held());
    CAF_CHECK(b.held());
    CAF_CHECK(!data_dir_lock::acquire(d.path).is_ok());
  }
  CAF_CHECK(data_dir_lock::acquire(d.path).is_ok());
}

CAF_TEST(missing directory is an io_error) {
  temp_dir d;
  auto l = data_dir_lock::acquire(d.path + "/nope");
  CAF_REQUIRE(!l.is_ok());
  CAF_CHECK(l.error().error_code() == status::code::io_error);
}

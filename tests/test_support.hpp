#pragma once
// Shared includes for suites. caf-test 0.17.6's dsl.hpp calls an undefined
// FAIL(); map it to CAF_FAIL before including the DSL.
#include <caf/test/unit_test.hpp>
#ifndef FAIL
#define FAIL(msg) CAF_FAIL(msg)
#endif

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace nl::test {

/// A fresh directory under /tmp, removed with everything in it when the
/// test ends.
struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/nl-test-XXXXXX";
    CAF_REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  /// The WAL directory of a data dir here.
  std::string wal() const { return path + "/wal"; }
  /// Writes `text` to path/rel, creating the directories on the way.
  void put(const std::string& rel, const std::string& text) const {
    std::filesystem::create_directories(std::filesystem::path(path + "/" + rel).parent_path());
    std::ofstream{path + "/" + rel} << text;
  }
};

}  // namespace nl::test

// Runs every Prometheus PromQL .test file in a directory against the engine
// and prints per-file and total pass counts; exits 0 only if all pass.
// Usage: promql_script_runner <dir> [file.test ...]
// tests/CMakeLists.txt also compiles this file into promql_tests; there it
// is the suite promql.script_runner, which runs the same files.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "promql/test_script.hpp"

namespace fs = std::filesystem;

namespace {

// Returns 0 when every eval passed, 1 on failures, 2 when nothing ran.
int run_dir(const fs::path& dir, const std::vector<std::string>& only) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".test") files.push_back(entry.path());
  if (ec || files.empty()) {
    std::fprintf(stderr, "no .test files in %s\n", dir.c_str());
    return 2;
  }
  std::sort(files.begin(), files.end());
  size_t total = 0, passed = 0;
  bool file_error = false;
  for (auto& f : files) {
    std::string name = f.filename().string();
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    auto script = nl::promql::test_script::parse(ss.str());
    if (!script) {
      std::printf("%s: parse error: %s\n", name.c_str(), script.error().message().c_str());
      file_error = true;
      continue;
    }
    auto results = script->run();
    size_t ok = 0;
    for (auto& r : results) {
      if (r.passed) {
        ++ok;
        continue;
      }
      std::printf("FAIL %s:%d: %s\n", name.c_str(), r.eval->line, r.eval->text.c_str());
      std::printf("    expected:");
      if (r.eval->mode == nl::promql::test_eval::fail) std::printf(" an error");
      if (r.eval->expect_scalar) std::printf(" scalar %.17g", r.eval->scalar_value);
      for (auto& [ls, v] : r.eval->expected) std::printf("\n      %s %.17g", ls.to_string().c_str(), v);
      std::printf("\n    %s\n", r.detail.c_str());
    }
    std::printf("%s: %zu/%zu evals passed\n", name.c_str(), ok, results.size());
    total += results.size();
    passed += ok;
  }
  std::printf("total: %zu/%zu evals passed\n", passed, total);
  if (total == 0) return 2;
  return (passed == total && !file_error) ? 0 : 1;
}

}  // namespace

#ifdef NL_SCRIPT_RUNNER_MAIN
int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <dir with .test files> [only.test ...]\n", argv[0]);
    return 2;
  }
  return run_dir(argv[1], std::vector<std::string>(argv + 2, argv + argc));
}
#else
#define CAF_SUITE promql.script_runner
#include "test_support.hpp"

CAF_TEST(every eval of the Prometheus test files passes) {
  CAF_CHECK_EQUAL(run_dir(fs::path(NL_SHARED_DIR) / "promql-testdata", {}), 0);
}
#endif

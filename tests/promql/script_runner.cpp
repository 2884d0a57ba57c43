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

#include "storage/sample.hpp"

using nl::promql::test_script;

CAF_TEST(every eval of the Prometheus test files passes) {
  CAF_CHECK_EQUAL(run_dir(fs::path(NL_SHARED_DIR) / "promql-testdata", {}), 0);
}

CAF_TEST(value lists expand as upstream does) {
  auto s = test_script::parse("load 1m\n  m{a=\"b\"} 1+2x2 _ _x2 stale 0x1 -1-1x1\n");
  CAF_REQUIRE(s.is_ok());
  auto& series = s->commands().at(0).load_cmd.series;
  CAF_REQUIRE_EQUAL(series.size(), 1u);
  auto& smp = series[0].second;
  // 1 3 5 _ _ _ stale 0 0 -1 -2 at slots 0..10.
  std::vector<int64_t> ts;
  for (auto& x : smp) ts.push_back(x.t / 60000);
  CAF_CHECK_EQUAL(ts, (std::vector<int64_t>{0, 1, 2, 6, 7, 8, 9, 10}));
  CAF_CHECK_EQUAL(smp[2].v, 5);
  CAF_CHECK(nl::storage::is_stale_nan(smp[3].v));
  CAF_CHECK_EQUAL(smp[7].v, -2);
}

CAF_TEST(malformed scripts give a clean error) {
  const char* bad[] = {
      "load\n m 1\n",                            // no step
      "load 5x\n m 1\n",                         // bad step
      "load 1m\n m{a=\"b} 1\n",                  // unterminated string
      "load 1m\n m{a=\"b\" 1\n",                // unterminated braces
      "load 1m\n m 1x99999999999999999999\n",     // absurd repeat
      "load 1m\n m NaNx3\n",                      // repeat on NaN
      "load 1m\n m 0x\n",                         // missing count
      "eval instant at 1m sum(\n",                 // PromQL syntax error
      "eval instant 1m x\n",                       // missing 'at'
      "eval_wrong instant at 1m x\n",              // unknown eval form
      "eval instant at 1m x\n  {a=\"b\"} 1 2\n", // two expected values
      "stray line\n",                              // not a command
  };
  for (auto* text : bad) {
    auto s = test_script::parse(text);
    CAF_CHECK(!s.is_ok());
  }
}

CAF_TEST(garbage and flipped bytes never crash the script parser) {
  std::string base =
      "load 5m\n  http_requests{job=\"api\", instance=\"0\"} 0+10x10\n\n"
      "eval instant at 50m sum by (job) (http_requests)\n  {job=\"api\"} 100\n";
  uint32_t seed = 12345;
  auto next = [&] {
    seed = seed * 1103515245 + 12345;
    return seed >> 16;
  };
  for (int round = 0; round < 2000; ++round) {
    std::string s = base;
    int flips = 1 + static_cast<int>(next() % 4);
    for (int f = 0; f < flips; ++f) s[next() % s.size()] = static_cast<char>(next() & 0xff);
    if (round % 3 == 0) s.resize(next() % s.size());  // truncated
    auto parsed = test_script::parse(s);
    if (parsed.is_ok()) parsed->run();  // must not crash either
  }
  CAF_CHECK(test_script::parse(base).is_ok());
}
#endif

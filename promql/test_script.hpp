#pragma once
// Runner for Prometheus' PromQL `.test` scripts (v2.42 format, see
// /work/shared/promql-testdata/FORMAT.md): `load`, `clear`, `eval`,
// `eval_ordered`, `eval_fail`, with upstream's implicit checks (the @-pinned
// re-runs at other times and the 3-step range-query cross-check).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "promql/ast.hpp"
#include "promql/engine.hpp"
#include "storage/labels.hpp"
#include "storage/sample.hpp"
#include "storage/status.hpp"

namespace nl::promql {

struct test_load {
  int64_t step = 0;  ///< ms
  std::vector<std::pair<storage::label_set, std::vector<storage::sample>>> series;
};

struct test_eval {
  enum mode_t { plain, ordered, fail } mode = plain;
  int line = 0;             ///< 1-based line of the eval command
  std::string text;         ///< the command line as written
  int64_t time = 0;         ///< ms
  std::string query;
  expr_ptr parsed;
  bool expect_scalar = false;
  double scalar_value = 0;
  std::vector<std::pair<storage::label_set, double>> expected;  ///< vector expectation
};

struct test_command {
  enum kind_t { load, clear, eval } kind = clear;
  test_load load_cmd;
  test_eval eval_cmd;
};

/// Outcome of one eval command.
struct test_eval_result {
  const test_eval* eval = nullptr;
  bool passed = false;
  std::string detail;  ///< why it failed: which variant, expected vs got
};

class test_script {
 public:
  /// Parses a whole file; any malformed line or PromQL syntax error fails it.
  static storage::result<test_script> parse(std::string_view text);

  /// Runs the commands in order on fresh in-memory storage. Unlike upstream
  /// it keeps going after a failed eval so every eval gets a verdict.
  std::vector<test_eval_result> run() const;

  const std::vector<test_command>& commands() const { return commands_; }
  size_t eval_count() const;

 private:
  std::vector<test_command> commands_;
};

/// Upstream's almostEqual (relative tolerance 1e-6, exact near 0, NaN==NaN).
bool almost_equal(double a, double b);

}  // namespace nl::promql

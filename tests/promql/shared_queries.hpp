#pragma once
// Reads every query of the shared PromQL test files at test time (never
// copied into the repository): the `eval` lines of
// ../shared/promql-testdata/*.test and the compliance tester's query lists,
// with their {{.variant}} placeholders expanded from the tester's value table.
#include <algorithm>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace nl::promql::testing {

struct shared_query {
  std::string text;
  std::string origin;        ///< file name
  bool should_fail = false;  ///< compliance case marked should_fail
};

// NL_SHARED_DIR is ../shared next to the checkout; a checkout elsewhere (a
// git worktree) points to the folder with the NL_SHARED_DIR variable.
inline std::string shared_dir() {
  if (const char* env = std::getenv("NL_SHARED_DIR"))
    return env;
  return NL_SHARED_DIR;
}

inline std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

inline std::vector<std::string> test_files() {
  std::vector<std::string> out;
  std::string dir = shared_dir() + "/promql-testdata";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.size() > 5 && name.substr(name.size() - 5) == ".test")
        out.push_back(dir + "/" + name);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Splits off the first whitespace-separated word of s.
inline std::string next_word(std::string& s) {
  s = trim(s);
  size_t end = s.find_first_of(" \t");
  std::string w = s.substr(0, end);
  s = end == std::string::npos ? std::string() : s.substr(end);
  return w;
}

// Prometheus 2.42's eval pattern:
//   eval[_fail|_ordered] instant [at <time>] <expr>
inline void read_test_file(const std::string& path, std::vector<shared_query>& out) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::string rest = trim(line);
    std::string cmd = next_word(rest);
    if (cmd != "eval" && cmd != "eval_fail" && cmd != "eval_ordered")
      continue;
    if (next_word(rest) != "instant")
      continue;
    std::string probe = rest;
    if (next_word(probe) == "at") {
      next_word(probe);  // the evaluation time
      rest = probe;
    }
    rest = trim(rest);
    if (!rest.empty())
      out.push_back({rest, path, false});
  }
}

// The compliance tester's variant table (values per placeholder).
inline const std::map<std::string, std::vector<std::string>>& variants() {
  static const std::map<std::string, std::vector<std::string>> table{
      {"range", {"1s", "15s", "1m", "5m", "15m", "1h"}},
      {"offset", {"1m", "5m", "10m"}},
      {"simpleAggrOp", {"sum", "avg", "max", "min", "count", "stddev", "stdvar"}},
      {"simpleTimeAggrOp",
       {"sum", "avg", "max", "min", "count", "stddev", "stdvar", "absent", "last"}},
      {"topBottomOp", {"topk", "bottomk"}},
      {"quantile", {"-0.5", "0.1", "0.5", "0.75", "0.95", "0.90", "0.99", "1", "1.5"}},
      {"arithBinOp", {"+", "-", "*", "/", "%", "^"}},
      {"compBinOp", {"==", "!=", "<", ">", "<=", ">="}},
      {"binOp", {"+", "-", "*", "/", "%", "^", "==", "!=", "<", ">", "<=", ">="}},
      {"simpleMathFunc",
       {"abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "round"}},
      {"extrapolatedRateFunc", {"delta", "rate", "increase"}},
      {"clampFunc", {"clamp_min", "clamp_max"}},
      {"instantRateFunc", {"idelta", "irate"}},
      {"dateFunc",
       {"day_of_month", "day_of_week", "days_in_month", "hour", "minute", "month", "year"}},
      {"smoothingFactor", {"0.1", "0.5", "0.8"}},
      {"trendFactor", {"0.1", "0.5", "0.8"}},
  };
  return table;
}

inline std::string yaml_scalar(std::string v) {
  v = trim(v);
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
    std::string out;
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      out += v[i];
      if (v[i] == '\'' && v[i + 1] == '\'')
        ++i;
    }
    return out;
  }
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    std::string out;
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      if (v[i] == '\\' && i + 2 < v.size())
        ++i;
      out += v[i];
    }
    return out;
  }
  return v;
}

inline void expand(const std::string& tmpl, const std::vector<std::string>& args, size_t i,
                   std::string cur, std::vector<std::string>& out) {
  if (i == args.size()) {
    out.push_back(cur);
    return;
  }
  auto it = variants().find(args[i]);
  if (it == variants().end())
    return;
  for (const auto& v : it->second) {
    std::string s = cur;
    std::string key = "{{." + args[i] + "}}";
    for (size_t p; (p = s.find(key)) != std::string::npos;)
      s.replace(p, key.size(), v);
    expand(tmpl, args, i + 1, s, out);
  }
}

// Line-based reading of the compliance YAML: "- query: ...", optionally
// followed by "variant_args: [...]" and "should_fail: true".
inline void read_compliance_file(const std::string& path, std::vector<shared_query>& out) {
  std::ifstream in(path);
  std::string line;
  struct entry {
    std::string query;
    std::vector<std::string> args;
    bool should_fail = false;
  };
  std::vector<entry> entries;
  auto value_after = [](const std::string& l, const std::string& key, std::string& v) {
    std::string t = trim(l);
    if (t.rfind("- ", 0) == 0)
      t = trim(t.substr(2));
    if (t.rfind(key, 0) != 0)
      return false;
    v = trim(t.substr(key.size()));
    return true;
  };
  while (std::getline(in, line)) {
    std::string v;
    if (value_after(line, "query:", v)) {
      entries.push_back({yaml_scalar(v), {}, false});
    } else if (!entries.empty() && value_after(line, "variant_args:", v) && v.size() >= 2 &&
               v.front() == '[' && v.back() == ']') {
      std::string list = v.substr(1, v.size() - 2);
      size_t pos = 0;
      while (pos < list.size()) {
        size_t comma = list.find(',', pos);
        if (comma == std::string::npos)
          comma = list.size();
        entries.back().args.push_back(yaml_scalar(list.substr(pos, comma - pos)));
        pos = comma + 1;
      }
    } else if (!entries.empty() && value_after(line, "should_fail:", v) && v == "true") {
      entries.back().should_fail = true;
    }
  }
  for (const auto& e : entries) {
    std::vector<std::string> expanded;
    expand(e.query, e.args, 0, e.query, expanded);
    for (auto& q : expanded)
      out.push_back({q, path, e.should_fail});
  }
}

/// Every distinct query of the shared files, in file order.
inline std::vector<shared_query> shared_queries() {
  std::vector<shared_query> all;
  for (const auto& f : test_files())
    read_test_file(f, all);
  std::string dir = shared_dir() + "/promql-compliance/";
  read_compliance_file(dir + "promql-test-queries.at-3710358.yml", all);
  read_compliance_file(dir + "promql-test-queries.yml", all);
  std::vector<shared_query> out;
  std::set<std::string> seen;
  for (auto& q : all)
    if (seen.insert(q.text).second)
      out.push_back(std::move(q));
  return out;
}

}  // namespace nl::promql::testing

#include "promql/test_script.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "promql/functions.hpp"
#include "promql/literals.hpp"
#include "promql/memory_queryable.hpp"
#include "promql/parser.hpp"

namespace nl::promql {

namespace {

using storage::status;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A decimal float or Inf/NaN with an optional sign, consumed from the front
// of `s`. Hex is not accepted: `0x10` is a repeat, not sixteen.
std::optional<double> take_number(std::string_view& s, bool allow_sign) {
  size_t i = 0;
  bool neg = false;
  if (allow_sign && i < s.size() && (s[i] == '+' || s[i] == '-')) {
    neg = s[i] == '-';
    ++i;
  }
  std::string_view rest = s.substr(i);
  for (std::string_view word : {"inf", "nan"}) {
    if (rest.size() >= 3 && iequals(rest.substr(0, 3), word)) {
      s.remove_prefix(i + 3);
      double v = word == "inf" ? INFINITY : NAN;
      return neg ? -v : v;
    }
  }
  size_t start = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  if (i == start || (i == start + 1 && s[start] == '.')) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    size_t digits = j;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j > digits) i = j;
  }
  std::string_view num = s.substr(0, i);
  s.remove_prefix(i);
  return parse_float(num);
}

std::optional<uint64_t> parse_count(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// Repeat counts beyond this are rejected rather than exhausting memory.
constexpr uint64_t max_repeat = 1000000;

// One value-list item; nullopt entries are omitted slots.
bool expand_item(std::string_view item, std::vector<std::optional<double>>& out) {
  if (item == "_") {
    out.push_back(std::nullopt);
    return true;
  }
  if (item.substr(0, 2) == "_x") {
    auto k = parse_count(item.substr(2));
    if (!k || *k > max_repeat) return false;
    out.insert(out.end(), *k, std::nullopt);
    return true;
  }
  if (item == "stale") {
    out.push_back(storage::stale_nan());
    return true;
  }
  std::string_view s = item;
  bool special = s.size() >= 3 && (iequals(s.substr(s[0] == '+' || s[0] == '-' ? 1 : 0, 3), "inf") ||
                                   iequals(s.substr(s[0] == '+' || s[0] == '-' ? 1 : 0, 3), "nan"));
  auto a = take_number(s, true);
  if (!a) return false;
  if (s.empty()) {
    out.push_back(*a);
    return true;
  }
  if (special) return false;
  double inc = 0;
  if (s[0] == '+' || s[0] == '-') {
    bool neg = s[0] == '-';
    s.remove_prefix(1);
    auto b = take_number(s, false);
    if (!b) return false;
    inc = neg ? -*b : *b;
  }
  if (s.empty() || s[0] != 'x') return false;
  auto k = parse_count(s.substr(1));
  if (!k || *k > max_repeat) return false;
  double v = *a;
  for (uint64_t i = 0; i <= *k; ++i) {
    out.push_back(v);
    v += inc;
  }
  return true;
}

// Reads a quoted PromQL string at s[i] (", ' or `), advancing i.
std::optional<std::string> take_string(std::string_view s, size_t& i) {
  char q = s[i++];
  std::string out;
  while (i < s.size()) {
    char c = s[i++];
    if (c == q) return out;
    if (c == '\\' && q != '`') {
      if (i >= s.size()) return std::nullopt;
      char e = s[i++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\\': out += '\\'; break;
        case '"': out += '"'; break;
        case '\'': out += '\''; break;
        default: return std::nullopt;
      }
      continue;
    }
    out += c;
  }
  return std::nullopt;
}

bool is_name_char(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

// `name{a="b", ...}` / `name` / `{...}` at the front of s; returns the label
// set and the rest of the line.
std::optional<std::pair<storage::label_set, std::string_view>> take_series(std::string_view s) {
  std::vector<storage::label> labels;
  size_t i = 0;
  while (i < s.size() && is_name_char(s[i], i == 0)) ++i;
  if (i > 0) labels.push_back({std::string(storage::metric_name_label), std::string(s.substr(0, i))});
  if (i < s.size() && s[i] == '{') {
    ++i;
    for (;;) {
      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
      if (i < s.size() && s[i] == '}') {
        ++i;
        break;
      }
      size_t n0 = i;
      while (i < s.size() && is_name_char(s[i], i == n0) && s[i] != ':') ++i;
      if (i == n0) return std::nullopt;
      std::string name(s.substr(n0, i - n0));
      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
      if (i >= s.size() || s[i] != '=') return std::nullopt;
      ++i;
      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
      if (i >= s.size() || (s[i] != '"' && s[i] != '\'' && s[i] != '`')) return std::nullopt;
      auto v = take_string(s, i);
      if (!v) return std::nullopt;
      labels.push_back({std::move(name), std::move(*v)});
      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
      if (i < s.size() && s[i] == ',') {
        ++i;
        continue;
      }
      if (i < s.size() && s[i] == '}') {
        ++i;
        break;
      }
      return std::nullopt;
    }
  } else if (i == 0) {
    return std::nullopt;
  }
  return std::make_pair(storage::label_set::from_unsorted(std::move(labels)), s.substr(i));
}

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// A bare expected number: Go ParseInt(s, 0, 64) then ParseFloat.
std::optional<double> parse_bare_number(std::string_view s) {
  std::string str(s);
  if (str.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long iv = std::strtoll(str.c_str(), &end, 0);
  if (end == str.c_str() + str.size() && errno == 0) return static_cast<double>(iv);
  std::string_view rest = s;
  auto v = take_number(rest, true);
  if (v && rest.empty()) return v;
  return std::nullopt;
}

status line_error(int line, const std::string& msg) {
  return status::invalid_argument("line " + std::to_string(line) + ": " + msg);
}

}  // namespace

bool almost_equal(double a, double b) {
  constexpr double epsilon = 1e-6;
  constexpr double min_normal = 2.2250738585072014e-308;
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  double diff = std::fabs(a - b);
  if (a == 0 || b == 0 || diff < min_normal) return diff < epsilon * min_normal;
  return diff / (std::fabs(a) + std::fabs(b)) < epsilon;
}

size_t test_script::eval_count() const {
  return static_cast<size_t>(std::count_if(commands_.begin(), commands_.end(),
                                           [](auto& c) { return c.kind == test_command::eval; }));
}

storage::result<test_script> test_script::parse(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view l = trim(text.substr(pos, nl - pos));
    if (!l.empty() && l[0] == '#') l = {};
    lines.push_back(l);
    pos = nl + 1;
  }
  test_script script;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    if (l.empty()) continue;
    const int line_no = static_cast<int>(i + 1);
    auto words = split_ws(l);
    std::string first(words[0]);
    std::transform(first.begin(), first.end(), first.begin(), ::tolower);
    if (first == "clear") {
      script.commands_.push_back(test_command{test_command::clear, {}, {}});
      continue;
    }
    if (first == "load") {
      test_command cmd;
      cmd.kind = test_command::load;
      std::string_view arg = trim(l.substr(4));
      std::string error;
      auto step = parse_duration(arg, error);
      if (!step) return line_error(line_no, "invalid step definition \"" + std::string(arg) + "\"");
      cmd.load_cmd.step = *step;
      std::map<storage::label_set, size_t> index;
      while (i + 1 < lines.size() && !lines[i + 1].empty()) {
        ++i;
        auto ser = take_series(lines[i]);
        if (!ser) return line_error(static_cast<int>(i + 1), "invalid series description");
        std::vector<std::optional<double>> values;
        for (auto item : split_ws(ser->second))
          if (!expand_item(item, values))
            return line_error(static_cast<int>(i + 1), "invalid value \"" + std::string(item) + "\"");
        std::vector<storage::sample> samples;
        for (size_t k = 0; k < values.size(); ++k)
          if (values[k]) samples.push_back({static_cast<int64_t>(k) * *step, *values[k]});
        auto it = index.find(ser->first);
        if (it != index.end()) {
          cmd.load_cmd.series[it->second].second = std::move(samples);
        } else {
          index.emplace(ser->first, cmd.load_cmd.series.size());
          cmd.load_cmd.series.emplace_back(ser->first, std::move(samples));
        }
      }
      script.commands_.push_back(std::move(cmd));
      continue;
    }
    if (first.rfind("eval", 0) == 0) {
      test_command cmd;
      cmd.kind = test_command::eval;
      auto& ev = cmd.eval_cmd;
      ev.line = line_no;
      ev.text = std::string(l);
      if (first == "eval")
        ev.mode = test_eval::plain;
      else if (first == "eval_ordered")
        ev.mode = test_eval::ordered;
      else if (first == "eval_fail")
        ev.mode = test_eval::fail;
      else
        return line_error(line_no, "invalid eval command \"" + first + "\"");
      // eval[_x] instant at <duration> <expr>
      std::string_view rest = trim(l.substr(words[0].size()));
      if (rest.substr(0, 7) != "instant") return line_error(line_no, "expected 'instant'");
      rest = trim(rest.substr(7));
      if (rest.substr(0, 2) != "at") return line_error(line_no, "expected 'at <time>'");
      rest = trim(rest.substr(2));
      size_t sp = 0;
      while (sp < rest.size() && !std::isspace(static_cast<unsigned char>(rest[sp]))) ++sp;
      std::string error;
      auto t = parse_duration(rest.substr(0, sp), error);
      if (!t) return line_error(line_no, "invalid evaluation time");
      ev.time = *t;
      ev.query = std::string(trim(rest.substr(sp)));
      auto parsed = promql::parse(ev.query);
      if (!parsed) return line_error(line_no, "parse error in \"" + ev.query + "\": " + parsed.error.message);
      ev.parsed = std::move(parsed.expr);
      while (i + 1 < lines.size() && !lines[i + 1].empty()) {
        ++i;
        std::string_view el = lines[i];
        if (auto num = parse_bare_number(el)) {
          ev.expect_scalar = true;
          ev.scalar_value = *num;
          break;  // a scalar expectation ends the block
        }
        auto ser = take_series(el);
        if (!ser) return line_error(static_cast<int>(i + 1), "invalid expected series");
        std::vector<std::optional<double>> values;
        for (auto item : split_ws(ser->second))
          if (!expand_item(item, values))
            return line_error(static_cast<int>(i + 1), "invalid value \"" + std::string(item) + "\"");
        if (values.size() != 1 || !values[0])
          return line_error(static_cast<int>(i + 1), "expected exactly one value");
        ev.expected.emplace_back(ser->first, *values[0]);
      }
      script.commands_.push_back(std::move(cmd));
      continue;
    }
    return line_error(line_no, "invalid command \"" + std::string(words[0]) + "\"");
  }
  return script;
}

namespace {

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Compares a result with the expectation (upstream compareResult).
std::optional<std::string> compare(const test_eval& ev, const query_value& got) {
  if (std::holds_alternative<matrix>(got)) return "received range result on instant evaluation";
  if (std::holds_alternative<string_value>(got)) return "received string result";
  if (auto* s = std::get_if<scalar>(&got)) {
    if (!ev.expect_scalar) return "expected vector result, got scalar " + fmt(s->v);
    if (!almost_equal(ev.scalar_value, s->v))
      return "expected scalar " + fmt(ev.scalar_value) + " but got " + fmt(s->v);
    return std::nullopt;
  }
  auto& vec = std::get<vector>(got);
  if (ev.expect_scalar) return "expected scalar " + fmt(ev.scalar_value) + ", got a vector";
  std::vector<bool> seen(ev.expected.size(), false);
  for (size_t i = 0; i < vec.size(); ++i) {
    auto& s = vec[i];
    size_t j = 0;
    while (j < ev.expected.size() && ev.expected[j].first != s.labels) ++j;
    if (j == ev.expected.size()) return "unexpected metric " + s.labels.to_string() + " in result";
    if (ev.mode == test_eval::ordered && j != i)
      return "expected metric " + s.labels.to_string() + " with value " + fmt(ev.expected[j].second) +
             " at position " + std::to_string(j + 1) + " but was at " + std::to_string(i + 1);
    if (!almost_equal(ev.expected[j].second, s.v))
      return "expected " + fmt(ev.expected[j].second) + " for " + s.labels.to_string() + " but got " +
             fmt(s.v);
    seen[j] = true;
  }
  for (size_t j = 0; j < ev.expected.size(); ++j)
    if (!seen[j]) return "expected metric " + ev.expected[j].first.to_string() + " not found";
  return std::nullopt;
}

// Upstream's AtModifierUnsafeFunctions.
bool at_unsafe(std::string_view name) {
  static const char* names[] = {"days_in_month", "day_of_month", "day_of_week", "day_of_year",
                                "hour",          "minute",       "month",       "year",
                                "predict_linear", "time",        "timestamp"};
  for (auto* n : names)
    if (name == n) return true;
  return false;
}

// Pins every selector and subquery without @ to `ts`, not descending into
// subqueries that have (or just got) an @. Returns false when the tree
// calls a time-dependent function outside such subqueries.
bool pin_at(expr& e, int64_t ts) {
  bool safe = true;
  std::visit(
      [&](auto& n) {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, vector_selector>) {
          if (n.at == at_modifier::none) {
            n.at = at_modifier::timestamp;
            n.at_timestamp = ts;
          }
        } else if constexpr (std::is_same_v<T, matrix_selector>) {
          auto& vs = std::get<vector_selector>(n.selector->node);
          if (vs.at == at_modifier::none) {
            vs.at = at_modifier::timestamp;
            vs.at_timestamp = ts;
          }
        } else if constexpr (std::is_same_v<T, subquery_expr>) {
          if (n.at == at_modifier::none) {
            n.at = at_modifier::timestamp;
            n.at_timestamp = ts;
          }
        } else if constexpr (std::is_same_v<T, paren_expr> || std::is_same_v<T, unary_expr>) {
          safe = pin_at(*n.inner, ts) && safe;
        } else if constexpr (std::is_same_v<T, binary_expr>) {
          safe = pin_at(*n.lhs, ts) && safe;
          safe = pin_at(*n.rhs, ts) && safe;
        } else if constexpr (std::is_same_v<T, call_expr>) {
          if (at_unsafe(n.func->name)) safe = false;
          for (auto& a : n.args) safe = pin_at(*a, ts) && safe;
        } else if constexpr (std::is_same_v<T, aggregate_expr>) {
          if (n.param) safe = pin_at(*n.param, ts) && safe;
          safe = pin_at(*n.inner, ts) && safe;
        }
      },
      e.node);
  return safe;
}

}  // namespace

std::vector<test_eval_result> test_script::run() const {
  engine_options opts;
  opts.max_samples = 10000;
  opts.lookback_delta = 5 * 60 * 1000;
  opts.default_subquery_step = 60 * 1000;
  opts.timeout = std::chrono::seconds(100);
  engine eng(opts);
  memory_queryable store;
  std::vector<test_eval_result> results;
  for (auto& cmd : commands_) {
    if (cmd.kind == test_command::clear) {
      store.clear();
      continue;
    }
    if (cmd.kind == test_command::load) {
      for (auto& [ls, samples] : cmd.load_cmd.series) store.add(ls, samples);
      continue;
    }
    const test_eval& ev = cmd.eval_cmd;
    test_eval_result res;
    res.eval = &ev;
    struct variant {
      const expr* e;
      int64_t t;
      std::string what;
    };
    std::vector<variant> queries{{ev.parsed.get(), ev.time, "instant"}};
    expr_ptr pinned = ev.parsed->clone();
    if (pin_at(*pinned, ev.time)) {
      int64_t t = ev.time;
      std::vector<int64_t> times = t == 0 ? std::vector<int64_t>{-1000, 0, 1000}
                                          : std::vector<int64_t>{-10 * t, 0, t / 5, t, 10 * t};
      for (int64_t at : times)
        queries.push_back({pinned.get(), at, "@-pinned variant at " + std::to_string(at) + "ms"});
    }
    std::string failure;
    for (auto& q : queries) {
      auto r = eng.instant(*q.e, store, q.t);
      if (!r) {
        if (ev.mode == test_eval::fail) continue;
        failure = q.what + ": error: " + r.error().message;
        break;
      }
      if (ev.mode == test_eval::fail) {
        failure = q.what + ": expected an error but got none";
        break;
      }
      if (auto err = compare(ev, r.value())) {
        failure = q.what + ": " + *err + "\n    got: " + to_string(r.value());
        break;
      }
      auto rr = eng.range(*q.e, store, q.t - 60000, q.t + 60000, 60000);
      if (!rr) {
        failure = q.what + " in range mode: error: " + rr.error().message;
        break;
      }
      if (ev.mode == test_eval::ordered) continue;
      auto& mat = std::get<matrix>(rr.value());
      query_value mid;
      if (std::holds_alternative<scalar>(r.value())) {
        double v = NAN;
        for (auto& p : mat.empty() ? std::vector<point>{} : mat[0].points)
          if (p.t == q.t) v = p.v;
        mid = scalar{q.t, v};
      } else {
        vector vec;
        for (auto& s : mat)
          for (auto& p : s.points)
            if (p.t == q.t) {
              vec.push_back(sample{s.labels, p.t, p.v});
              break;
            }
        mid = std::move(vec);
      }
      if (auto err = compare(ev, mid)) {
        failure = q.what + " in range mode: " + *err + "\n    got: " + to_string(mid);
        break;
      }
    }
    res.passed = failure.empty();
    res.detail = std::move(failure);
    results.push_back(std::move(res));
  }
  return results;
}

}  // namespace nl::promql

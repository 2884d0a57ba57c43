// PromQL functions (Prometheus 2.42 functions.go semantics for floats).
#include <re2/re2.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>

#include "promql/evaluator.hpp"
#include "promql/functions.hpp"

namespace nl::promql::detail {

std::pair<double, double> kahan_add(double inc, double sum, double c) {
  double t = sum + inc;
  if (std::fabs(sum) >= std::fabs(inc))
    c += (sum - t) + inc;
  else
    c += (inc - t) + sum;
  return {t, c};
}

// Sorts with NaN first, then interpolates like Prometheus' quantile().
double quantile(double q, std::vector<double>& values) {
  if (values.empty() || std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::sort(values.begin(), values.end(), [](double a, double b) {
    if (std::isnan(a)) return !std::isnan(b);
    return a < b;
  });
  double n = static_cast<double>(values.size());
  double rank = q * (n - 1);
  double lower = std::max(0.0, std::floor(rank));
  double upper = std::min(n - 1, lower + 1);
  double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

namespace {

// ---- range-vector functions ------------------------------------------------

struct window {
  const point* p;
  size_t n;
  int64_t range_start;  // ms, the window's lower bound
  int64_t range_end;    // ms, the window's upper bound
  int64_t range;        // ms
  int64_t ts;           // evaluation time of the step
  double arg1;          // scalar arguments, where the function has them
  double arg2;
  /// For rate()/increase(): false when the window is known to hold no
  /// counter reset (a point below the one before it), so the reset scan
  /// is skipped.
  bool may_reset = true;
};

using range_fn = std::optional<double> (*)(const window&);

std::optional<double> extrapolated_rate(const window& w, bool is_counter, bool is_rate) {
  if (w.n < 2) return std::nullopt;
  const point* p = w.p;
  double result = p[w.n - 1].v - p[0].v;
  if (is_counter && w.may_reset) {
    double prev = p[0].v;
    for (size_t i = 1; i < w.n; ++i) {
      if (p[i].v < prev) result += prev;
      prev = p[i].v;
    }
  }
  double to_start = static_cast<double>(p[0].t - w.range_start) / 1000;
  double to_end = static_cast<double>(w.range_end - p[w.n - 1].t) / 1000;
  double sampled = static_cast<double>(p[w.n - 1].t - p[0].t) / 1000;
  double avg_step = sampled / static_cast<double>(w.n - 1);
  if (is_counter && result > 0 && p[0].v >= 0) {
    // A counter cannot go below zero: do not extrapolate past that point.
    double to_zero = sampled * (p[0].v / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  double threshold = avg_step * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : avg_step / 2;
  interval += to_end < threshold ? to_end : avg_step / 2;
  double factor = interval / sampled;
  if (is_rate) factor /= static_cast<double>(w.range) / 1000;
  return result * factor;
}

std::optional<double> instant_value(const window& w, bool is_rate) {
  if (w.n < 2) return std::nullopt;
  const point& last = w.p[w.n - 1];
  const point& prev = w.p[w.n - 2];
  double result = (is_rate && last.v < prev.v) ? last.v : last.v - prev.v;
  int64_t dt = last.t - prev.t;
  if (dt == 0) return std::nullopt;
  if (is_rate) result /= static_cast<double>(dt) / 1000;
  return result;
}

std::pair<double, double> linear_regression(const point* p, size_t n, int64_t intercept_time) {
  double cnt = 0, sum_x = 0, c_x = 0, sum_y = 0, c_y = 0, sum_xy = 0, c_xy = 0, sum_x2 = 0,
         c_x2 = 0;
  double init_y = p[0].v;
  bool const_y = true;
  for (size_t i = 0; i < n; ++i) {
    if (const_y && i > 0 && p[i].v != init_y) const_y = false;
    cnt += 1;
    double x = static_cast<double>(p[i].t - intercept_time) / 1e3;
    std::tie(sum_x, c_x) = kahan_add(x, sum_x, c_x);
    std::tie(sum_y, c_y) = kahan_add(p[i].v, sum_y, c_y);
    std::tie(sum_xy, c_xy) = kahan_add(x * p[i].v, sum_xy, c_xy);
    std::tie(sum_x2, c_x2) = kahan_add(x * x, sum_x2, c_x2);
  }
  if (const_y) {
    if (std::isinf(init_y)) return {NAN, NAN};
    return {0, init_y};
  }
  sum_x += c_x;
  sum_y += c_y;
  sum_xy += c_xy;
  sum_x2 += c_x2;
  double cov_xy = sum_xy - sum_x * sum_y / cnt;
  double var_x = sum_x2 - sum_x * sum_x / cnt;
  double slope = cov_xy / var_x;
  double intercept = sum_y / cnt - slope * sum_x / cnt;
  return {slope, intercept};
}

std::optional<double> fn_rate(const window& w) { return extrapolated_rate(w, true, true); }
std::optional<double> fn_increase(const window& w) { return extrapolated_rate(w, true, false); }
std::optional<double> fn_delta(const window& w) { return extrapolated_rate(w, false, false); }
std::optional<double> fn_irate(const window& w) { return instant_value(w, true); }
std::optional<double> fn_idelta(const window& w) { return instant_value(w, false); }

std::optional<double> fn_deriv(const window& w) {
  if (w.n < 2) return std::nullopt;
  return linear_regression(w.p, w.n, w.p[0].t).first;
}

std::optional<double> fn_predict_linear(const window& w) {
  if (w.n < 2) return std::nullopt;
  auto [slope, intercept] = linear_regression(w.p, w.n, w.ts);
  return slope * w.arg1 + intercept;
}

std::optional<double> fn_holt_winters(const window& w) {
  double sf = w.arg1, tf = w.arg2;
  if (sf <= 0 || sf >= 1) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "invalid smoothing factor. Expected: 0 < sf < 1, got: %f", sf);
    fail(buf);
  }
  if (tf <= 0 || tf >= 1) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "invalid trend factor. Expected: 0 < tf < 1, got: %f", tf);
    fail(buf);
  }
  if (w.n < 2) return std::nullopt;
  double s0 = 0, s1 = w.p[0].v, b = w.p[1].v - w.p[0].v;
  for (size_t i = 1; i < w.n; ++i) {
    double x = sf * w.p[i].v;
    if (i - 1 != 0) b = tf * (s1 - s0) + (1 - tf) * b;  // trend, skipped on the first step
    double y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}

std::optional<double> fn_resets(const window& w) {
  int resets = 0;
  double prev = w.p[0].v;
  for (size_t i = 1; i < w.n; ++i) {
    if (w.p[i].v < prev) ++resets;
    prev = w.p[i].v;
  }
  return resets;
}

std::optional<double> fn_changes(const window& w) {
  int changes = 0;
  double prev = w.p[0].v;
  for (size_t i = 1; i < w.n; ++i) {
    double cur = w.p[i].v;
    if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) ++changes;
    prev = cur;
  }
  return changes;
}

std::optional<double> fn_avg_over_time(const window& w) {
  double mean = 0, count = 0, c = 0;
  for (size_t i = 0; i < w.n; ++i) {
    double v = w.p[i].v;
    count++;
    if (std::isinf(mean)) {
      if (std::isinf(v) && (mean > 0) == (v > 0)) continue;
      if (!std::isinf(v) && !std::isnan(v)) continue;
    }
    std::tie(mean, c) = kahan_add(v / count - mean / count, mean, c);
  }
  return std::isinf(mean) ? mean : mean + c;
}

std::optional<double> fn_count_over_time(const window& w) { return static_cast<double>(w.n); }
std::optional<double> fn_last_over_time(const window& w) { return w.p[w.n - 1].v; }
std::optional<double> fn_present_over_time(const window&) { return 1.0; }

std::optional<double> fn_max_over_time(const window& w) {
  double m = w.p[0].v;
  for (size_t i = 0; i < w.n; ++i)
    if (w.p[i].v > m || std::isnan(m)) m = w.p[i].v;
  return m;
}

std::optional<double> fn_min_over_time(const window& w) {
  double m = w.p[0].v;
  for (size_t i = 0; i < w.n; ++i)
    if (w.p[i].v < m || std::isnan(m)) m = w.p[i].v;
  return m;
}

std::optional<double> fn_sum_over_time(const window& w) {
  double sum = 0, c = 0;
  for (size_t i = 0; i < w.n; ++i) std::tie(sum, c) = kahan_add(w.p[i].v, sum, c);
  return std::isinf(sum) ? sum : sum + c;
}

std::optional<double> fn_quantile_over_time(const window& w) {
  std::vector<double> vals(w.n);
  for (size_t i = 0; i < w.n; ++i) vals[i] = w.p[i].v;
  return quantile(w.arg1, vals);
}

double variance_over_time(const window& w) {
  double count = 0, mean = 0, c_mean = 0, aux = 0, c_aux = 0;
  for (size_t i = 0; i < w.n; ++i) {
    double v = w.p[i].v;
    count++;
    double delta = v - (mean + c_mean);
    std::tie(mean, c_mean) = kahan_add(delta / count, mean, c_mean);
    std::tie(aux, c_aux) = kahan_add(delta * (v - (mean + c_mean)), aux, c_aux);
  }
  return (aux + c_aux) / count;
}

std::optional<double> fn_stdvar_over_time(const window& w) { return variance_over_time(w); }
std::optional<double> fn_stddev_over_time(const window& w) {
  return std::sqrt(variance_over_time(w));
}

// Labels absent()/absent_over_time() invent from the selector's equality
// matchers; a label matched twice or by another matcher type is left out.
storage::label_set absent_labels(const expr& arg) {
  const expr& a = unwrap_parens(arg);
  const vector_selector* vs = std::get_if<vector_selector>(&a.node);
  if (auto* ms = std::get_if<matrix_selector>(&a.node))
    vs = &std::get<vector_selector>(ms->selector->node);
  if (!vs) return {};
  storage::label_set_builder b;
  std::vector<std::string> seen;
  for (auto& m : vs->matchers) {
    if (m.name() == storage::metric_name_label) continue;
    bool has = std::find(seen.begin(), seen.end(), m.name()) != seen.end();
    if (m.type() == storage::match_type::equal && !has) {
      b.set(m.name(), m.value());
      seen.push_back(m.name());
    } else {
      b.del(m.name());
    }
  }
  return b.build();
}

// ---- instant-vector functions ----------------------------------------------

// Go's math.Max / math.Min: an infinity wins over NaN, NaN over numbers,
// and +0 is larger than -0.
double go_max(double x, double y) {
  if (std::isinf(x) && x > 0) return x;
  if (std::isinf(y) && y > 0) return y;
  if (std::isnan(x) || std::isnan(y)) return NAN;
  if (x == 0 && x == y) return std::signbit(x) ? y : x;
  return x > y ? x : y;
}

double go_min(double x, double y) {
  if (std::isinf(x) && x < 0) return x;
  if (std::isinf(y) && y < 0) return y;
  if (std::isnan(x) || std::isnan(y)) return NAN;
  if (x == 0 && x == y) return std::signbit(x) ? x : y;
  return x < y ? x : y;
}

double sgn(double v) { return v < 0 ? -1 : v > 0 ? 1 : v; }
double rad(double v) { return v * M_PI / 180; }
double deg(double v) { return v * 180 / M_PI; }

// Go's time.Unix(sec, 0).UTC() broken down; the float is truncated like
// Go's int64(v).
std::tm utc_time(double seconds) {
  int64_t s = (std::isnan(seconds) || std::isinf(seconds)) ? INT64_MIN
                                                           : static_cast<int64_t>(seconds);
  time_t tt = static_cast<time_t>(s);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm;
}

bool is_leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

double fn_year(double s) { return utc_time(s).tm_year + 1900; }
double fn_month(double s) { return utc_time(s).tm_mon + 1; }
double fn_day_of_month(double s) { return utc_time(s).tm_mday; }
double fn_day_of_week(double s) { return utc_time(s).tm_wday; }
double fn_day_of_year(double s) { return utc_time(s).tm_yday + 1; }
double fn_hour(double s) { return utc_time(s).tm_hour; }
double fn_minute(double s) { return utc_time(s).tm_min; }
double fn_days_in_month(double s) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  std::tm tm = utc_time(s);
  if (tm.tm_mon == 1 && is_leap(tm.tm_year + 1900)) return 29;
  return days[tm.tm_mon];
}

const std::string& string_arg(const call_expr& c, size_t i) {
  return std::get<string_literal>(unwrap_parens(*c.args.at(i)).node).value;
}

// Go regexp.Expand semantics for label_replace's replacement: $1, ${1},
// $name, ${name}; $$ is a literal $; an unknown group expands to "".
std::string expand_template(const RE2& re, std::string_view tmpl, const re2::StringPiece* groups,
                            int n_groups) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    char c = tmpl[i];
    if (c != '$' || i + 1 >= tmpl.size()) {
      out += c;
      ++i;
      continue;
    }
    if (tmpl[i + 1] == '$') {
      out += '$';
      i += 2;
      continue;
    }
    std::string_view name;
    size_t next;
    auto is_word = [](char ch) {
      return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '_';
    };
    if (tmpl[i + 1] == '{') {
      size_t close = tmpl.find('}', i + 2);
      size_t j = i + 2;
      while (j < tmpl.size() && is_word(tmpl[j])) ++j;
      if (close == std::string_view::npos || close != j || j == i + 2) {
        out += '$';
        ++i;
        continue;
      }
      name = tmpl.substr(i + 2, j - (i + 2));
      next = close + 1;
    } else {
      size_t j = i + 1;
      while (j < tmpl.size() && is_word(tmpl[j])) ++j;
      if (j == i + 1) {
        out += '$';
        ++i;
        continue;
      }
      name = tmpl.substr(i + 1, j - (i + 1));
      next = j;
    }
    int idx = -1;
    bool numeric = std::all_of(name.begin(), name.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (numeric) {
      // Go parses the number; huge numbers simply match no group.
      if (name.size() < 9) idx = std::atoi(std::string(name).c_str());
    } else {
      auto& named = re.NamedCapturingGroups();
      auto it = named.find(std::string(name));
      if (it != named.end()) idx = it->second;
    }
    if (idx >= 0 && idx < n_groups && groups[idx].data() != nullptr)
      out.append(groups[idx].data(), groups[idx].size());
    i = next;
  }
  return out;
}

struct bucket {
  double upper;
  double count;
};

double bucket_quantile(double q, std::vector<bucket>& b) {
  if (std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::sort(b.begin(), b.end(), [](const bucket& x, const bucket& y) { return x.upper < y.upper; });
  if (!(std::isinf(b.back().upper) && b.back().upper > 0)) return NAN;
  // Merge buckets with the same bound (e.g. "1" and "1.0").
  size_t k = 0;
  for (size_t i = 1; i < b.size(); ++i) {
    if (b[i].upper == b[k].upper)
      b[k].count += b[i].count;
    else
      b[++k] = b[i];
  }
  b.resize(k + 1);
  // Bucket counts may decrease due to scrape races; force monotonicity.
  double mx = b[0].count;
  for (size_t i = 1; i < b.size(); ++i) {
    if (b[i].count > mx)
      mx = b[i].count;
    else if (b[i].count < mx)
      b[i].count = mx;
  }
  if (b.size() < 2) return NAN;
  double observations = b.back().count;
  if (observations == 0) return NAN;
  double rank = q * observations;
  size_t idx = 0;
  // Binary search over all but the last bucket, like sort.Search.
  {
    size_t lo = 0, hi = b.size() - 1;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (!(b[mid].count >= rank))
        lo = mid + 1;
      else
        hi = mid;
    }
    idx = lo;
  }
  if (idx == b.size() - 1) return b[b.size() - 2].upper;
  if (idx == 0 && b[0].upper <= 0) return b[0].upper;
  double start = 0, end = b[idx].upper, count = b[idx].count;
  if (idx > 0) {
    start = b[idx - 1].upper;
    count -= b[idx - 1].count;
    rank -= b[idx - 1].count;
  }
  return start + (end - start) * (rank / count);
}

}  // namespace

// ---- the dispatch table ------------------------------------------------------

// A range-vector function for eval_range_function: the value of one window
// and how the windows are fed.
struct range_function {
  range_fn window = nullptr;
  uint8_t scalar_args = 0;      ///< scalar arguments the window takes (arg1, arg2)
  bool keeps_name = false;      ///< the output keeps __name__
  bool counts_resets = false;   ///< window.may_reset is worked out
  bool absent = false;          ///< absent_over_time: 1 where no input had a window
};

namespace {

struct call_impl;
// An instant-vector function: evaluates its arguments (eval_args) and
// combines them.
using instant_fn = matrix (*)(evaluator& ev, const call_expr& c, const call_impl& f);

// What eval_call does for one function: evaluate windows (range.window
// set) or call `instant`, which may use `point`/`point2`.
struct call_impl {
  range_function range;
  instant_fn instant = nullptr;
  double (*point)(double) = nullptr;          ///< pointwise and date functions
  double (*point2)(double, double) = nullptr;  ///< pointwise with a scalar argument
};

// The evaluated non-string arguments of c, in order.
std::vector<matrix> eval_args(evaluator& ev, const call_expr& c) {
  std::vector<matrix> inputs;
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (c.func->arg_types.size() > 0 &&
        c.func->arg_types[std::min(i, c.func->arg_types.size() - 1)] == value_type::string)
      continue;
    if (unwrap_parens(*c.args[i]).type() == value_type::string) continue;
    inputs.push_back(ev.eval(*c.args[i]));
  }
  return inputs;
}

double scalar_of(const step_vector& v) { return v.empty() ? NAN : v[0].v; }
void drop_name(storage::label_set& ls) { ls = drop_metric_name(ls); }
const storage::label_set empty_labels;

matrix map_values(evaluator& ev, matrix in, double (*f)(double)) {
  return ev.map_series(std::move(in), true, drop_name, [f](double v, size_t, double& out) {
    out = f(v);
    return true;
  });
}

// f.point(value) on every point; the name is dropped.
matrix pointwise(evaluator& ev, const call_expr& c, const call_impl& f) {
  auto inputs = eval_args(ev, c);
  return map_values(ev, std::move(inputs[0]), f.point);
}

// f.point2(value, scalar argument at the step); the argument is 1 when
// omitted (round's to_nearest).
matrix pointwise_with_arg(evaluator& ev, const call_expr& c, const call_impl& f) {
  auto inputs = eval_args(ev, c);
  const std::vector<double> arg =
      inputs.size() > 1 ? ev.scalar_steps(inputs[1]) : std::vector<double>(ev.steps(), 1.0);
  return ev.map_series(
      std::move(inputs[0]), true, drop_name,
      [&](double v, size_t step, double& out) {
        out = f.point2(v, arg[step]);
        return true;
      },
      {inputs.size() > 1 ? &inputs[1] : nullptr});
}

double clamp_min_of(double v, double lo) { return go_max(lo, v); }
double clamp_max_of(double v, double hi) { return go_min(hi, v); }
double round_of(double v, double to_nearest) {
  double inv = 1.0 / to_nearest;
  return std::floor(v * inv + 0.5) / inv;
}

// Date functions: f.point of the argument's values, or of the step time
// without one.
matrix date_function(evaluator& ev, const call_expr& c, const call_impl& f) {
  auto inputs = eval_args(ev, c);
  if (!inputs.empty()) return map_values(ev, std::move(inputs[0]), f.point);
  return ev.combine(inputs, [&](const std::vector<step_vector>&, int64_t ts, step_vector& out) {
    out.push_back({&empty_labels, f.point(static_cast<double>(ts / 1000)), 0});
  });
}

matrix fn_clamp(evaluator& ev, const call_expr& c, const call_impl&) {
  auto inputs = eval_args(ev, c);
  const std::vector<double> lo = ev.scalar_steps(inputs[1]);
  const std::vector<double> hi = ev.scalar_steps(inputs[2]);
  return ev.map_series(
      std::move(inputs[0]), true, drop_name,
      [&](double v, size_t step, double& out) {
        if (hi[step] < lo[step]) return false;  // an empty result at this step
        out = go_max(lo[step], go_min(hi[step], v));
        return true;
      },
      {&inputs[1], &inputs[2]});
}

matrix fn_timestamp(evaluator& ev, const call_expr& c, const call_impl&) {
  // Of a plain selector: the sample times, not the step times.
  const expr& a = unwrap_parens(*c.args.at(0));
  if (auto* vs = std::get_if<vector_selector>(&a.node)) {
    matrix m = ev.eval_vector_selector(*vs, true);
    for (auto& s : m) s.labels = drop_metric_name(s.labels);
    // Prometheus selects the samples step by step inside the function:
    // each step holds them twice (selected, and the output) and reads them.
    std::vector<int64_t> found(ev.steps(), 0);
    ev.count_points(m, found);
    for (size_t step = 0; step < found.size(); ++step) ev.count_read(step, found[step]);
    ev.finish_range_eval(found, found);
    return m;
  }
  // Otherwise every point is taken at its step.
  auto inputs = eval_args(ev, c);
  const int64_t start = ev.start(), interval = ev.interval();
  return ev.map_series(std::move(inputs[0]), true, drop_name, [&](double, size_t step, double& out) {
    out = static_cast<double>(start + static_cast<int64_t>(step) * interval) / 1000;
    return true;
  });
}


matrix fn_scalar(evaluator& ev, const call_expr& c, const call_impl&) {
  auto inputs = eval_args(ev, c);
  return ev.combine(inputs, [](const std::vector<step_vector>& in, int64_t, step_vector& out) {
    out.push_back({&empty_labels, in[0].size() == 1 ? in[0][0].v : NAN, 0});
  });
}

matrix fn_vector(evaluator& ev, const call_expr& c, const call_impl&) {
  auto inputs = eval_args(ev, c);
  return ev.combine(inputs, [](const std::vector<step_vector>& in, int64_t, step_vector& out) {
    out.push_back({&empty_labels, scalar_of(in[0]), 0});
  });
}

matrix fn_time(evaluator& ev, const call_expr& c, const call_impl&) {
  auto inputs = eval_args(ev, c);
  return ev.combine(inputs, [](const std::vector<step_vector>&, int64_t ts, step_vector& out) {
    out.push_back({&empty_labels, static_cast<double>(ts) / 1000, 0});
  });
}

matrix fn_pi(evaluator& ev, const call_expr& c, const call_impl&) {
  auto inputs = eval_args(ev, c);
  return ev.combine(inputs, [](const std::vector<step_vector>&, int64_t, step_vector& out) {
    out.push_back({&empty_labels, M_PI, 0});
  });
}

matrix fn_absent(evaluator& ev, const call_expr& c, const call_impl&) {
  auto inputs = eval_args(ev, c);
  storage::label_set labels = absent_labels(*c.args[0]);
  return ev.combine(inputs, [&](const std::vector<step_vector>& in, int64_t, step_vector& out) {
    if (in[0].empty()) out.push_back({&labels, 1, 0});
  });
}

template <bool Desc>
matrix fn_sort(evaluator& ev, const call_expr& c, const call_impl&) {
  auto inputs = eval_args(ev, c);
  return ev.combine(inputs, [](const std::vector<step_vector>& in, int64_t, step_vector& out) {
    out = in[0];
    // NaN last in both directions, as Prometheus' reversed heaps sort.
    std::stable_sort(out.begin(), out.end(), [](const step_sample& a, const step_sample& b) {
      if (std::isnan(b.v)) return !std::isnan(a.v);
      if (std::isnan(a.v)) return false;
      return Desc ? a.v > b.v : a.v < b.v;
    });
  });
}

matrix fn_label_replace(evaluator& ev, const call_expr& c, const call_impl&) {
  auto inputs = eval_args(ev, c);
  const std::string& dst = string_arg(c, 1);
  const std::string& repl = string_arg(c, 2);
  const std::string& src_label = string_arg(c, 3);
  const std::string& regex = string_arg(c, 4);
  RE2::Options opt;
  opt.set_log_errors(false);
  opt.set_dot_nl(false);
  RE2 re("^(?:" + regex + ")$", opt);
  if (!re.ok()) fail("invalid regular expression in label_replace(): " + regex);
  if (!is_legacy_label_name(dst)) fail("invalid destination label name in label_replace(): " + dst);
  int n_groups = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> groups(static_cast<size_t>(n_groups));
  return ev.map_series(
      std::move(inputs[0]), true,
      [&](storage::label_set& ls) {
        std::string_view src_val = ls.get(src_label);
        re2::StringPiece input(src_val.data(), src_val.size());
        if (!re.Match(input, 0, input.size(), RE2::UNANCHORED, groups.data(), n_groups)) return;
        std::string res = expand_template(re, repl, groups.data(), n_groups);
        storage::label_set_builder b(ls);
        b.del(dst);
        if (!res.empty()) b.set(dst, res);
        ls = b.build();
      },
      [](double v, size_t, double& out) {
        out = v;
        return true;
      });
}

matrix fn_label_join(evaluator& ev, const call_expr& c, const call_impl&) {
  auto inputs = eval_args(ev, c);
  const std::string& dst = string_arg(c, 1);
  const std::string& sep = string_arg(c, 2);
  std::vector<std::string> srcs;
  for (size_t i = 3; i < c.args.size(); ++i) {
    srcs.push_back(string_arg(c, i));
    if (!is_legacy_label_name(srcs.back()))
      fail("invalid source label name in label_join(): " + srcs.back());
  }
  if (!is_legacy_label_name(dst)) fail("invalid destination label name in label_join(): " + dst);
  return ev.map_series(
      std::move(inputs[0]), true,
      [&](storage::label_set& ls) {
        std::string joined;
        for (size_t i = 0; i < srcs.size(); ++i) {
          if (i > 0) joined += sep;
          joined += ls.get(srcs[i]);
        }
        storage::label_set_builder b(ls);
        if (joined.empty())
          b.del(dst);
        else
          b.set(dst, joined);
        ls = b.build();
      },
      [](double v, size_t, double& out) {
        out = v;
        return true;
      });
}

matrix fn_histogram_quantile(evaluator& ev, const call_expr& c, const call_impl&) {
  auto inputs = eval_args(ev, c);
  // Buckets are grouped by their labels without `le` (the name included),
  // and reported without name and `le`.
  struct group {
    const storage::label_set* labels;      // grouping key
    const storage::label_set* out_labels;  // key without __name__
    std::vector<bucket> buckets;
    size_t stamp = SIZE_MAX;
  };
  std::vector<group> groups;
  std::vector<int64_t> series_group;  // input series -> group, -2 unknown, -1 no `le`
  std::vector<double> series_le;
  std::unordered_multimap<uint64_t, size_t> by_hash;
  label_arena arena;
  size_t step_no = 0;
  std::vector<size_t> touched;
  return ev.combine(inputs, [&](const std::vector<step_vector>& in, int64_t, step_vector& out) {
    double q = scalar_of(in[0]);
    ++step_no;
    touched.clear();
    for (auto& s : in[1]) {
      if (s.series >= series_group.size()) {
        series_group.resize(s.series + 1, -2);
        series_le.resize(s.series + 1, 0);
      }
      if (series_group[s.series] == -2) {
        auto le = parse_float(s.labels->get("le"));  // Go's strconv.ParseFloat
        if (!le) {
          series_group[s.series] = -1;
        } else {
          series_le[s.series] = *le;
          storage::label_set_builder b(*s.labels);
          b.del("le");
          storage::label_set key = b.build();
          uint64_t h = key.hash();
          int64_t gi = -1;
          auto r = by_hash.equal_range(h);
          for (auto it = r.first; it != r.second; ++it)
            if (*groups[it->second].labels == key) gi = static_cast<int64_t>(it->second);
          if (gi < 0) {
            arena.push_back(drop_metric_name(key));
            const storage::label_set* out_labels = &arena.back();
            arena.push_back(std::move(key));
            gi = static_cast<int64_t>(groups.size());
            groups.push_back(group{&arena.back(), out_labels, {}, SIZE_MAX});
            by_hash.emplace(h, static_cast<size_t>(gi));
          }
          series_group[s.series] = gi;
        }
      }
      int64_t gi = series_group[s.series];
      if (gi < 0) continue;
      auto& g = groups[static_cast<size_t>(gi)];
      if (g.stamp != step_no) {
        g.stamp = step_no;
        g.buckets.clear();
        touched.push_back(static_cast<size_t>(gi));
      }
      g.buckets.push_back({series_le[s.series], s.v});
    }
    for (size_t gi : touched) {
      auto& g = groups[gi];
      out.push_back({g.out_labels, bucket_quantile(q, g.buckets), 0});
    }
  });
}

// Native histograms only; float series yield nothing.
matrix fn_native_histogram(evaluator& ev, const call_expr& c, const call_impl&) {
  auto inputs = eval_args(ev, c);
  std::vector<int64_t> gathered(ev.steps(), 0);
  for (auto& m : inputs) ev.count_points(m, gathered);
  ev.finish_range_eval(gathered, std::vector<int64_t>(ev.steps(), 0));
  return {};
}

// Every function of functions.cpp's table, by name.
const std::unordered_map<std::string_view, call_impl>& call_table() {
  auto over = [](range_fn w, uint8_t args = 0) {
    return call_impl{{w, args, false, false, false}, nullptr, nullptr, nullptr};
  };
  auto rate_like = [](range_fn w) { return call_impl{{w, 0, false, true, false}, nullptr, nullptr, nullptr}; };
  auto inst = [](instant_fn f) { return call_impl{{}, f, nullptr, nullptr}; };
  auto point = [](double (*f)(double)) { return call_impl{{}, pointwise, f, nullptr}; };
  auto point2 = [](double (*f)(double, double)) { return call_impl{{}, pointwise_with_arg, nullptr, f}; };
  auto date = [](double (*f)(double)) { return call_impl{{}, date_function, f, nullptr}; };
  static const std::unordered_map<std::string_view, call_impl> table = {
      // Range-vector functions: one series at a time, windows sliding forward.
      {"rate", rate_like(fn_rate)},
      {"increase", rate_like(fn_increase)},
      {"delta", over(fn_delta)},
      {"irate", over(fn_irate)},
      {"idelta", over(fn_idelta)},
      {"deriv", over(fn_deriv)},
      {"predict_linear", over(fn_predict_linear, 1)},
      {"holt_winters", over(fn_holt_winters, 2)},
      {"resets", over(fn_resets)},
      {"changes", over(fn_changes)},
      {"avg_over_time", over(fn_avg_over_time)},
      {"count_over_time", over(fn_count_over_time)},
      {"last_over_time", call_impl{{fn_last_over_time, 0, true, false, false}, nullptr, nullptr, nullptr}},
      {"present_over_time", over(fn_present_over_time)},
      {"absent_over_time", call_impl{{fn_present_over_time, 0, false, false, true}, nullptr, nullptr, nullptr}},
      {"max_over_time", over(fn_max_over_time)},
      {"min_over_time", over(fn_min_over_time)},
      {"sum_over_time", over(fn_sum_over_time)},
      {"quantile_over_time", over(fn_quantile_over_time, 1)},
      {"stddev_over_time", over(fn_stddev_over_time)},
      {"stdvar_over_time", over(fn_stdvar_over_time)},
      // Pointwise on instant vectors.
      {"abs", point([](double v) { return std::fabs(v); })},
      {"ceil", point([](double v) { return std::ceil(v); })},
      {"floor", point([](double v) { return std::floor(v); })},
      {"exp", point([](double v) { return std::exp(v); })},
      {"sqrt", point([](double v) { return std::sqrt(v); })},
      {"ln", point([](double v) { return std::log(v); })},
      {"log2", point([](double v) { return std::log2(v); })},
      {"log10", point([](double v) { return std::log10(v); })},
      {"sin", point([](double v) { return std::sin(v); })},
      {"cos", point([](double v) { return std::cos(v); })},
      {"tan", point([](double v) { return std::tan(v); })},
      {"asin", point([](double v) { return std::asin(v); })},
      {"acos", point([](double v) { return std::acos(v); })},
      {"atan", point([](double v) { return std::atan(v); })},
      {"sinh", point([](double v) { return std::sinh(v); })},
      {"cosh", point([](double v) { return std::cosh(v); })},
      {"tanh", point([](double v) { return std::tanh(v); })},
      {"asinh", point([](double v) { return std::asinh(v); })},
      {"acosh", point([](double v) { return std::acosh(v); })},
      {"atanh", point([](double v) { return std::atanh(v); })},
      {"rad", point(rad)},
      {"deg", point(deg)},
      {"sgn", point(sgn)},
      {"clamp_min", point2(clamp_min_of)},
      {"clamp_max", point2(clamp_max_of)},
      {"round", point2(round_of)},
      {"clamp", inst(fn_clamp)},
      {"year", date(fn_year)},
      {"month", date(fn_month)},
      {"day_of_month", date(fn_day_of_month)},
      {"day_of_week", date(fn_day_of_week)},
      {"day_of_year", date(fn_day_of_year)},
      {"hour", date(fn_hour)},
      {"minute", date(fn_minute)},
      {"days_in_month", date(fn_days_in_month)},
      // Step by step.
      {"timestamp", inst(fn_timestamp)},
      {"scalar", inst(fn_scalar)},
      {"vector", inst(fn_vector)},
      {"time", inst(fn_time)},
      {"pi", inst(fn_pi)},
      {"absent", inst(fn_absent)},
      {"sort", inst(fn_sort<false>)},
      {"sort_desc", inst(fn_sort<true>)},
      {"label_replace", inst(fn_label_replace)},
      {"label_join", inst(fn_label_join)},
      {"histogram_quantile", inst(fn_histogram_quantile)},
      {"histogram_count", inst(fn_native_histogram)},
      {"histogram_sum", inst(fn_native_histogram)},
      {"histogram_fraction", inst(fn_native_histogram)},
  };
  return table;
}

}  // namespace

matrix evaluator::eval_call(const call_expr& c) {
  auto it = call_table().find(c.func->name);
  if (it == call_table().end())
    throw eval_error{query_error::internal, "unknown function " + std::string(c.func->name)};
  const call_impl& f = it->second;
  if (f.range.window) return eval_range_function(c, f.range);
  return f.instant(*this, c, f);
}

namespace {

// The first i in [from, to) with !before(pts[i]), where `before` holds for
// a prefix of the points: a step from `from` costs the log of how far it
// moves, so windows that move by one point (dense steps) and by hundreds
// (sparse steps over dense data) both stay cheap.
template <class Before>
size_t gallop(const point* pts, size_t from, size_t to, Before before) {
  if (from >= to || !before(pts[from]))
    return from;
  size_t lo = from, step = 1;  // before(pts[lo]) holds
  while (lo + step < to && before(pts[lo + step])) {
    lo += step;
    step *= 2;
  }
  size_t hi = std::min(lo + step, to);  // !before(pts[hi]) or hi == to
  return static_cast<size_t>(std::partition_point(pts + lo + 1, pts + hi, before) - pts);
}

}  // namespace

matrix evaluator::eval_range_function(const call_expr& c, const range_function& f) {
  size_t mat_idx = 0;
  for (size_t i = 0; i < c.args.size(); ++i) {
    auto& a = unwrap_parens(*c.args[i]);
    if (std::holds_alternative<matrix_selector>(a.node) ||
        std::holds_alternative<subquery_expr>(a.node)) {
      mat_idx = i;
      break;
    }
  }
  const expr& src = unwrap_parens(*c.args[mat_idx]);
  int64_t range, offset;
  std::optional<int64_t> pinned;
  matrix sub;                           // subquery result
  int64_t sub_samples = 0;              // held until this node is done
  const query_context::selected* raw = nullptr;  // matrix selector data
  if (auto* ms = std::get_if<matrix_selector>(&src.node)) {
    auto& vs = std::get<vector_selector>(ms->selector->node);
    auto it = ctx_.data.find(&vs);
    if (it == ctx_.data.end())
      throw eval_error{query_error::internal, "selector was not prepared: " + vs.name};
    raw = &it->second;
    range = ms->range;
    offset = vs.offset;
    pinned = at_time(vs.at, vs.at_timestamp);
  } else {
    // First, as Prometheus evaluates it; its reads count in the windows.
    auto& sq = std::get<subquery_expr>(src.node);
    sub = eval_subquery(sq, false);
    for (auto& s : sub) sub_samples += static_cast<int64_t>(s.points.size());
    range = sq.range;
    offset = sq.offset;
    pinned = at_time(sq.at, sq.at_timestamp);
  }
  // The scalar arguments, held to the end as in Prometheus.
  std::vector<matrix> scalars;
  for (size_t i = 0; i < c.args.size(); ++i)
    if (i != mat_idx) scalars.push_back(eval(*c.args[i]));
  auto scalar_at = [&](size_t which, size_t step) -> double {
    if (which >= scalars.size() || scalars[which].empty()) return 0;
    auto& pts = scalars[which][0].points;
    return step < pts.size() ? pts[step].v : NAN;
  };

  const size_t n_series = raw ? raw->all.size() : sub.size();
  const bool keep_name = f.keeps_name;
  const bool counts_resets = f.counts_resets;
  const size_t n_args = f.scalar_args;
  const range_fn fn = f.window;
  // Samples held: everything before this node, the output of finished
  // series and the current series' window. Prometheus runs the series one
  // by one; the parts here count what they can on their own (a lower
  // bound, to stop early) and the exact peak is worked out after them.
  const int64_t base = ctx_.samples;
  std::atomic<int64_t> published{0};
  std::vector<series_points> results(n_series);
  struct window_sizes {
    int64_t largest = 0;  // the largest window of the series
    int64_t last = 0;     // its window at the last step
  };
  std::vector<window_sizes> windows(n_series);
  struct scratch {
    std::vector<point> decoded, filtered, out;
    std::vector<size_t> reset_at;  // indexes i with p[i].v < p[i - 1].v
    std::vector<int64_t> read;  // window samples by step (per-step stats)
    int64_t read_total = 0;
  };
  std::vector<scratch> scratches(parallel_parts(n_series));
  const bool per_step = !stats_.per_step.empty();
  // Series are independent: with many of them, for_each_series spreads
  // the decoding and the windows over the cores.
  for_each_series(n_series, [&](size_t si, size_t part) {
    auto& sc = scratches[part];
    if (per_step && sc.read.empty()) sc.read.assign(steps(), 0);
    const storage::label_set* labels;
    const point* pts;
    size_t n_pts;
    // Counter resets (rate, increase): where the points go down, found
    // once per series so that windows without one skip the reset scan.
    // Resets are rare: a branch-free pass (which the compiler can
    // vectorize) tells whether there are any, and only then are they
    // listed. The same pass looks for staleness markers.
    auto any_drop = [](const point* p, size_t n, bool& has_stale) {
      if (n == 0) return has_stale = false;
      bool stale = storage::float_bits(p[0].v) == storage::stale_nan_bits, drop = false;
      for (size_t i = 1; i < n; ++i) {
        stale |= storage::float_bits(p[i].v) == storage::stale_nan_bits;
        drop |= p[i].v < p[i - 1].v;
      }
      has_stale = stale;
      return drop;
    };
    auto list_resets = [&](const point* p, size_t n) {
      for (size_t i = 1; i < n; ++i)
        if (p[i].v < p[i - 1].v) sc.reset_at.push_back(i);
    };
    sc.reset_at.clear();
    bool drops = false, drops_known = false;
    if (raw) {
      // Range windows skip staleness markers; copy only when there are any.
      auto& s = raw->all[si];
      labels = &s.labels;
      const auto& smp = ctx_.samples_of(*raw, s, sc.decoded);
      pts = smp.data();
      n_pts = smp.size();
      bool has_stale = false;
      if (counts_resets) {
        drops = any_drop(pts, n_pts, has_stale);
        drops_known = !has_stale;
      } else {
        for (auto& x : smp) has_stale |= storage::float_bits(x.v) == storage::stale_nan_bits;
      }
      if (has_stale) {
        sc.filtered.clear();
        for (auto& x : smp)
          if (!storage::is_stale_nan(x.v)) sc.filtered.push_back(x);
        pts = sc.filtered.data();
        n_pts = sc.filtered.size();
      }
    } else {
      labels = &sub[si].labels;
      pts = sub[si].points.data();
      n_pts = sub[si].points.size();
    }
    if (counts_resets && !drops_known) {
      bool ignored = false;
      drops = any_drop(pts, n_pts, ignored);
    }
    if (drops) list_resets(pts, n_pts);
    size_t next_reset = 0;  // first entry of reset_at above the window's start
    // At most one point per step: the part's scratch holds that many, so
    // the step loop writes without growth checks; the series keeps an
    // exact-size copy.
    sc.out.resize(steps());
    point* out_pts = sc.out.data();
    size_t n_out = 0;
    size_t lo = 0, hi = 0;
    size_t step = 0;
    window_sizes& ws = windows[si];
    for (int64_t ts = start_; ts <= end_; ts += interval_, ++step) {
      // Per step, not only per series: one long series with a costly
      // window function (quantile sorts the window) must still stop
      // within milliseconds of a cancel or deadline.
      ctx_.check();
      int64_t maxt = (pinned ? *pinned : ts) - offset;
      int64_t mint = maxt - range;
      hi = gallop(pts, hi, n_pts, [maxt](const point& p) { return p.t <= maxt; });
      lo = gallop(pts, lo, hi, [mint](const point& p) { return p.t < mint; });
      const auto in_window = static_cast<int64_t>(hi - lo);
      ws.largest = std::max(ws.largest, in_window);
      ws.last = in_window;
      if (lo == hi) continue;
      sc.read_total += in_window;
      if (per_step) sc.read[step] += in_window;
      ctx_.check_held(base + std::max(in_window, published.load(std::memory_order_relaxed)));
      window w{pts + lo, hi - lo, mint, maxt, range, ts, 0, 0};
      if (counts_resets) {
        // A reset at i lies inside when lo < i < hi; window starts only
        // move forward, so the cursor does too.
        while (next_reset < sc.reset_at.size() && sc.reset_at[next_reset] <= lo) ++next_reset;
        w.may_reset = next_reset < sc.reset_at.size() && sc.reset_at[next_reset] < hi;
      }
      if (n_args > 0) w.arg1 = scalar_at(0, step);
      if (n_args > 1) w.arg2 = scalar_at(1, step);
      if (auto v = fn(w)) out_pts[n_out++] = {ts, *v};
    }
    published.fetch_add(static_cast<int64_t>(n_out), std::memory_order_relaxed);
    if (n_out == 0) return;
    series_points sp;
    sp.points.assign(out_pts, out_pts + n_out);
    sp.labels = keep_name ? *labels : drop_metric_name(*labels);
    results[si] = std::move(sp);
  });
  for (auto& sc : scratches) {
    stats_.total += sc.read_total;
    for (size_t i = 0; i < sc.read.size(); ++i) stats_.per_step[i] += sc.read[i];
  }
  // Prometheus' peak: series by series (in label order, as its storage
  // merges them), the output so far plus the series' window, and at the
  // series' end its output plus its last window.
  std::vector<size_t> order(n_series);
  for (size_t i = 0; i < n_series; ++i) order[i] = i;
  if (!raw)  // selected series are sorted already, a subquery's are not
    std::sort(order.begin(), order.end(),
              [&](size_t x, size_t y) { return sub[x].labels < sub[y].labels; });
  int64_t done = 0;
  int64_t peak = base;
  for (size_t i : order) {
    const auto made = static_cast<int64_t>(results[i].points.size());
    peak = std::max(peak, base + done + std::max(windows[i].largest, made + windows[i].last));
    done += made;
  }
  note_held(peak);
  ctx_.samples = base + done - sub_samples;
  matrix out;
  for (auto& r : results)
    if (!r.points.empty()) out.push_back(std::move(r));

  if (f.absent) {
    // One series holding 1 at the steps where no input had a value.
    std::vector<bool> found(steps(), false);
    for (auto& s : out)
      for (auto& p : s.points) found[static_cast<size_t>((p.t - start_) / interval_)] = true;
    series_points res;
    res.labels = absent_labels(src);
    for (size_t i = 0; i < found.size(); ++i)
      if (!found[i]) res.points.push_back({start_ + static_cast<int64_t>(i) * interval_, 1});
    matrix m;
    if (!res.points.empty()) m.push_back(std::move(res));
    return m;
  }
  check_distinct_labels(out);  // dropping the name may merge series
  return out;
}

}  // namespace nl::promql::detail

#include "promql/printer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <vector>

#include "promql/ast.hpp"
#include "promql/functions.hpp"
#include "promql/lexer.hpp"

namespace nl::promql {

std::string format_go_float(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  if (v == 0)
    return std::signbit(v) ? "-0" : "0";
  // Shortest round-trip digits, then Go's %g layout: exponent form when the
  // decimal exponent is < -4 or >= 6 (the "shortest" precision rule).
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  std::string out;
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.')
      digits += c;
  int exp = std::stoi(std::string(sci.substr(e + 1)));
  int nd = static_cast<int>(digits.size());
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (nd > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += exp < 0 ? '-' : '+';
    int a = std::abs(exp);
    if (a < 10)
      out += '0';
    out += std::to_string(a);
    return out;
  }
  int dp = exp + 1;  // digits before the decimal point
  if (dp > 0) {
    out += digits.substr(0, static_cast<size_t>(std::min(dp, nd)));
    for (int i = nd; i < dp; ++i)
      out += '0';
  } else {
    out += '0';
  }
  if (nd > dp) {
    out += '.';
    for (int i = dp; i < 0; ++i)
      out += '0';
    out += digits.substr(static_cast<size_t>(std::max(dp, 0)));
  }
  return out;
}

std::string format_duration(int64_t ms) {
  if (ms < 0)
    return "-" + format_duration(-ms);
  if (ms == 0)
    return "0s";
  std::string out;
  auto unit = [&](const char* name, int64_t mult, bool exact) {
    if (exact && ms % mult != 0)
      return;
    if (int64_t n = ms / mult; n > 0) {
      out += std::to_string(n);
      out += name;
      ms -= n * mult;
    }
  };
  // Years and weeks only when they divide evenly ("90d", not "12w6d").
  unit("y", 365LL * 24 * 3600 * 1000, true);
  unit("w", 7LL * 24 * 3600 * 1000, true);
  unit("d", 24LL * 3600 * 1000, false);
  unit("h", 3600LL * 1000, false);
  unit("m", 60LL * 1000, false);
  unit("s", 1000, false);
  unit("ms", 1, false);
  return out;
}

namespace {

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += ", ";
    out += xs[i];
  }
  return out;
}

std::string at_and_offset(at_modifier at, int64_t at_ts, int64_t offset) {
  std::string out;
  switch (at) {
    case at_modifier::timestamp: {
      char buf[64];
      std::snprintf(buf, sizeof buf, " @ %.3f", static_cast<double>(at_ts) / 1000.0);
      out += buf;
      break;
    }
    case at_modifier::start: out += " @ start()"; break;
    case at_modifier::end: out += " @ end()"; break;
    case at_modifier::none: break;
  }
  if (offset > 0)
    out += " offset " + format_duration(offset);
  else if (offset < 0)
    out += " offset -" + format_duration(-offset);
  return out;
}

// Name and sorted matchers, without modifiers; the __name__ matcher that
// repeats the name is left out.
std::string selector_body(const vector_selector& vs) {
  std::vector<std::string> parts;
  for (const auto& m : vs.matchers) {
    if (m.name() == "__name__" && m.type() == storage::match_type::equal && m.value() == vs.name)
      continue;
    parts.push_back(m.name() + std::string(storage::to_string(m.type())) + go_quote(m.value()));
  }
  if (parts.empty())
    return vs.name;
  std::sort(parts.begin(), parts.end());
  std::string out = vs.name + "{";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0)
      out += ',';
    out += parts[i];
  }
  return out + "}";
}

// "op", " bool" and the matching clause of a binary expression.
std::string operator_text(const binary_expr& b) {
  std::string out(to_string(b.op));
  if (b.return_bool)
    out += " bool";
  // Prometheus prints the matching clause only when it names labels or is
  // on(); "ignoring()" and its group modifier are dropped.
  if (b.matching && (!b.matching->labels.empty() || b.matching->on)) {
    out += b.matching->on ? " on (" : " ignoring (";
    out += join(b.matching->labels) + ")";
    auto card = b.matching->card;
    if (card == vector_match_cardinality::many_to_one ||
        card == vector_match_cardinality::one_to_many) {
      out += card == vector_match_cardinality::many_to_one ? " group_left (" : " group_right (";
      out += join(b.matching->include) + ")";
    }
  }
  return out;
}

// "sum", "sum by (a) " or "sum without (a) " (the trailing space is
// Prometheus').
std::string aggregate_prefix(const aggregate_expr& a) {
  std::string out(to_string(a.op));
  if (a.without)
    out += " without (" + join(a.grouping) + ") ";
  else if (!a.grouping.empty())
    out += " by (" + join(a.grouping) + ") ";
  return out;
}

std::string subquery_suffix(const subquery_expr& sq) {
  return "[" + format_duration(sq.range) + ":" + (sq.step != 0 ? format_duration(sq.step) : "") +
         "]" + at_and_offset(sq.at, sq.at_timestamp, sq.offset);
}

struct printer {
  std::string operator()(const number_literal& n) const { return format_go_float(n.value); }
  std::string operator()(const string_literal& s) const { return go_quote(s.value); }
  std::string operator()(const vector_selector& vs) const {
    return selector_body(vs) + at_and_offset(vs.at, vs.at_timestamp, vs.offset);
  }
  std::string operator()(const matrix_selector& ms) const {
    const auto& vs = std::get<vector_selector>(ms.selector->node);
    return selector_body(vs) + "[" + format_duration(ms.range) + "]" +
           at_and_offset(vs.at, vs.at_timestamp, vs.offset);
  }
  std::string operator()(const subquery_expr& sq) const {
    return sq.inner->to_string() + subquery_suffix(sq);
  }
  std::string operator()(const paren_expr& p) const { return "(" + p.inner->to_string() + ")"; }
  std::string operator()(const unary_expr& u) const {
    return (u.negate ? "-" : "+") + u.inner->to_string();
  }
  std::string operator()(const binary_expr& b) const {
    return b.lhs->to_string() + " " + operator_text(b) + " " + b.rhs->to_string();
  }
  std::string operator()(const call_expr& c) const {
    std::string out = std::string(c.func->name) + "(";
    for (size_t i = 0; i < c.args.size(); ++i) {
      if (i > 0)
        out += ", ";
      out += c.args[i]->to_string();
    }
    return out + ")";
  }
  std::string operator()(const aggregate_expr& a) const {
    std::string out = aggregate_prefix(a) + "(";
    if (a.param)
      out += a.param->to_string() + ", ";
    return out + a.inner->to_string() + ")";
  }
};

// Prometheus' Pretty(level): a node whose one-line form exceeds 100
// characters is split, its children indented two spaces per level.
std::string pretty(const expr& e, int level) {
  constexpr size_t max_line = 100;
  std::string indent(static_cast<size_t>(level) * 2, ' ');
  std::string flat = e.to_string();
  bool split = flat.size() > max_line;
  if (auto* a = std::get_if<aggregate_expr>(&e.node)) {
    if (!split)
      return indent + flat;
    std::string out = indent + aggregate_prefix(*a) + "(\n";
    if (a->param)
      out += pretty(*a->param, level + 1) + ",\n";
    return out + pretty(*a->inner, level + 1) + "\n" + indent + ")";
  }
  if (auto* b = std::get_if<binary_expr>(&e.node)) {
    if (!split)
      return indent + flat;
    return pretty(*b->lhs, level + 1) + "\n" + indent + operator_text(*b) + "\n" +
           pretty(*b->rhs, level + 1);
  }
  if (auto* c = std::get_if<call_expr>(&e.node)) {
    if (!split)
      return indent + flat;
    std::string out = indent + std::string(c->func->name) + "(\n";
    for (size_t i = 0; i < c->args.size(); ++i) {
      if (i > 0)
        out += ",\n";
      out += pretty(*c->args[i], level + 1);
    }
    return out + "\n" + indent + ")";
  }
  if (auto* p = std::get_if<paren_expr>(&e.node)) {
    if (!split)
      return indent + flat;
    return indent + "(\n" + pretty(*p->inner, level + 1) + "\n" + indent + ")";
  }
  if (auto* sq = std::get_if<subquery_expr>(&e.node)) {
    // Prometheus does not indent a subquery that fits on a line.
    if (!split)
      return flat;
    return pretty(*sq->inner, level) + subquery_suffix(*sq);
  }
  if (auto* u = std::get_if<unary_expr>(&e.node)) {
    std::string child = pretty(*u->inner, level);
    auto first = child.find_first_not_of(" \t\r\n");
    auto last = child.find_last_not_of(" \t\r\n");
    child = first == std::string::npos ? std::string() : child.substr(first, last - first + 1);
    return indent + (u->negate ? "-" : "+") + child;
  }
  return indent + flat;
}

expr_ptr clone_ptr(const expr_ptr& e) { return e ? e->clone() : nullptr; }

struct cloner {
  using node_t = decltype(expr::node);
  node_t operator()(const number_literal& n) const { return n; }
  node_t operator()(const string_literal& s) const { return s; }
  node_t operator()(const vector_selector& vs) const { return vs; }
  node_t operator()(const matrix_selector& ms) const {
    return matrix_selector{clone_ptr(ms.selector), ms.range};
  }
  node_t operator()(const subquery_expr& sq) const {
    return subquery_expr{clone_ptr(sq.inner), sq.range, sq.step, sq.offset, sq.at,
                         sq.at_timestamp};
  }
  node_t operator()(const paren_expr& p) const { return paren_expr{clone_ptr(p.inner)}; }
  node_t operator()(const unary_expr& u) const {
    return unary_expr{u.negate, clone_ptr(u.inner)};
  }
  node_t operator()(const binary_expr& b) const {
    return binary_expr{b.op, clone_ptr(b.lhs), clone_ptr(b.rhs), b.return_bool, b.matching};
  }
  node_t operator()(const call_expr& c) const {
    call_expr out;
    out.func = c.func;
    for (const auto& a : c.args)
      out.args.push_back(clone_ptr(a));
    return out;
  }
  node_t operator()(const aggregate_expr& a) const {
    return aggregate_expr{a.op,       clone_ptr(a.inner), clone_ptr(a.param),
                          a.grouping, a.without,          a.has_grouping};
  }
};

}  // namespace

std::string expr::to_string() const { return std::visit(printer{}, node); }

std::string prettify(const expr& e) { return pretty(e, 0); }

expr_ptr expr::clone() const {
  auto e = std::make_unique<expr>();
  e->node = std::visit(cloner{}, node);
  e->pos = pos;
  return e;
}

}  // namespace nl::promql

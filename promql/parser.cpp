#include "promql/parser.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <unordered_map>

#include "promql/check.hpp"
#include "promql/functions.hpp"
#include "promql/lexer.hpp"
#include "promql/literals.hpp"

namespace nl::promql {

namespace {

// Thrown inside the parser, caught once in parse(): the first error ends the
// parse, and it is the one Prometheus reports (it keeps a list but prints
// only the first).
struct failure {
  position_range pos;
  std::string message;
};

[[noreturn]] void fail(position_range pos, std::string message) {
  throw failure{pos, std::move(message)};
}

// "line:col:" the way ParseErr.Error() counts: lines from 1, columns in bytes
// from 1 after the last newline.
std::string position_prefix(std::string_view query, int pos) {
  if (pos < 0 || static_cast<size_t>(pos) > query.size())
    return "invalid position:";
  int line = 1;
  int last_break = -1;
  for (int i = 0; i < pos; ++i) {
    if (query[i] == '\n') {
      last_break = i;
      ++line;
    }
  }
  return std::to_string(line) + ":" + std::to_string(pos - last_break) + ":";
}

parse_error make_error(std::string_view query, const failure& f) {
  return {position_prefix(query, f.pos.start) + " parse error: " + f.message, f.pos};
}

// Go's "%f" (NaN and infinities spelled the Go way).
std::string go_fixed(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  char buf[512];
  std::snprintf(buf, sizeof buf, "%f", v);
  return buf;
}

// A number token's value; errors point at the token.
double number_value(const token& t) {
  std::string error;
  auto v = parse_number(t.text, error);
  if (!v)
    fail({t.pos, t.end()}, "error parsing number: " + error);
  return *v;
}

// A duration token in milliseconds; PromQL durations must be positive.
int64_t duration_value(const token& t) {
  std::string error;
  auto v = parse_duration(t.text, error);
  if (!v)
    fail({t.pos, t.end()}, error);
  if (*v == 0)
    fail({t.pos, t.end()}, "duration must be greater than 0");
  return *v;
}

constexpr std::string_view regexp_prefix = "error parsing regexp: ";

// Go's regexp rejects \C (any byte), which RE2 accepts; returns the error
// Prometheus gives, or nothing.
std::optional<std::string> go_only_regexp_error(std::string_view re) {
  for (size_t i = 0; i + 1 < re.size(); ++i) {
    if (re[i] != '\\')
      continue;
    if (re[i + 1] == 'C')
      return std::string(regexp_prefix) + "invalid escape sequence: `\\C`";
    ++i;  // skip the escaped character
  }
  return std::nullopt;
}

// Go's regexp error texts differ from RE2's for the same faults; translate
// them so users see what Prometheus says. `value` is the matcher's regex.
std::string regexp_error(const std::string& re2_message, std::string_view value) {
  const auto& prefix = regexp_prefix;
  if (re2_message.compare(0, prefix.size(), prefix) != 0)
    return re2_message;
  std::string_view rest(re2_message);
  rest.remove_prefix(prefix.size());
  if (rest.compare(0, 13, "invalid UTF-8") == 0) {
    // Go quotes the anchored expression from the first bad byte on.
    std::string anchored = "^(?:" + std::string(value) + ")$";
    for (size_t i = 0; i < anchored.size();) {
      int w = 1;
      if (decode_rune(anchored, i, w) == 0xfffd && w == 1)
        return std::string(prefix) + "invalid UTF-8: `" + anchored.substr(i) + "`";
      i += w;
    }
  }
  static const std::pair<std::string_view, std::string_view> codes[] = {
      {"missing ]", "missing closing ]"},
      {"missing )", "missing closing )"},
      {"unexpected )", "unexpected )"},
      {"bad repetition operator", "invalid nested repetition operator"},
      {"no argument for repetition operator", "missing argument to repetition operator"},
      {"invalid repetition size", "invalid repeat count"},
      {"invalid escape sequence", "invalid escape sequence"},
      {"invalid character class range", "invalid character class range"},
      {"invalid character class", "invalid character class"},
      {"trailing \\", "trailing backslash at end of expression"},
      {"invalid perl operator", "invalid or unsupported Perl syntax"},
      {"invalid named capture group", "invalid named capture"},
      {"invalid UTF-8", "invalid UTF-8"},
  };
  for (const auto& [re2_code, go_code] : codes) {
    if (rest.compare(0, re2_code.size(), re2_code) == 0 && rest.size() > re2_code.size() + 1 &&
        rest[re2_code.size()] == ':') {
      std::string_view arg = rest.substr(re2_code.size() + 2);
      return std::string(prefix) + std::string(go_code) + ": `" + std::string(arg) + "`";
    }
  }
  return re2_message;
}

bool is_label_name(std::string_view s) {
  if (s.empty())
    return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
      return false;
  }
  return true;
}

// Tokens the grammar accepts as a metric name at the start of a selector.
bool is_metric_identifier(token_kind k) {
  switch (k) {
    case token_kind::identifier:
    case token_kind::metric_identifier:
    case token_kind::by:
    case token_kind::without:
    case token_kind::land:
    case token_kind::lor:
    case token_kind::lunless:
    case token_kind::offset:
    case token_kind::start:
    case token_kind::end:
      return true;
    default:
      return is_aggregator(k);
  }
}

// Tokens accepted as a label name inside by/without/on/ignoring/group_x().
bool is_maybe_label(token_kind k) {
  switch (k) {
    case token_kind::identifier:
    case token_kind::metric_identifier:
    case token_kind::bool_:
    case token_kind::by:
    case token_kind::group_left:
    case token_kind::group_right:
    case token_kind::ignoring:
    case token_kind::land:
    case token_kind::lor:
    case token_kind::lunless:
    case token_kind::offset:
    case token_kind::on:
    case token_kind::start:
    case token_kind::end:
    case token_kind::atan2:
      return true;
    default:
      return is_aggregator(k);
  }
}

// Tokens that can begin an expression. Where an optional part may follow
// (after a comma, after group_left), any other token is reported against
// that optional part, as Prometheus' grammar does.
bool starts_expression(token_kind k) {
  switch (k) {
    case token_kind::number:
    case token_kind::string:
    case token_kind::left_paren:
    case token_kind::left_brace:
    case token_kind::add:
    case token_kind::sub:
      return true;
    default:
      return is_metric_identifier(k);
  }
}

struct binary_info {
  int precedence = 0;  // 0: not a binary operator
  binary_op op = binary_op::add;
};

binary_info binary_of(token_kind k) {
  switch (k) {
    case token_kind::lor: return {1, binary_op::lor};
    case token_kind::land: return {2, binary_op::land};
    case token_kind::lunless: return {2, binary_op::lunless};
    case token_kind::eqlc: return {3, binary_op::eql};
    case token_kind::neq: return {3, binary_op::neq};
    case token_kind::gtr: return {3, binary_op::gtr};
    case token_kind::lss: return {3, binary_op::lss};
    case token_kind::gte: return {3, binary_op::gte};
    case token_kind::lte: return {3, binary_op::lte};
    case token_kind::add: return {4, binary_op::add};
    case token_kind::sub: return {4, binary_op::sub};
    case token_kind::mul: return {5, binary_op::mul};
    case token_kind::div: return {5, binary_op::div};
    case token_kind::mod: return {5, binary_op::mod};
    case token_kind::atan2: return {5, binary_op::atan2};
    case token_kind::pow: return {6, binary_op::pow};
    default: return {};
  }
}

constexpr int pow_precedence = 6;

// Prometheus has no limits here (Go stacks grow); ours keep every pass over
// the tree within a thread's stack, even under sanitizers. Queries written
// by people or Grafana stay far below both: max_nesting bounds parentheses,
// signs and call arguments inside each other (the parser's own recursion),
// max_depth the finished tree, including long operator chains.
constexpr int max_nesting = 256;
constexpr int max_depth = 1000;

aggregate_op aggregate_of(token_kind k) {
  switch (k) {
    case token_kind::sum: return aggregate_op::sum;
    case token_kind::avg: return aggregate_op::avg;
    case token_kind::count: return aggregate_op::count;
    case token_kind::min: return aggregate_op::min;
    case token_kind::max: return aggregate_op::max;
    case token_kind::group: return aggregate_op::group;
    case token_kind::stddev: return aggregate_op::stddev;
    case token_kind::stdvar: return aggregate_op::stdvar;
    case token_kind::topk: return aggregate_op::topk;
    case token_kind::bottomk: return aggregate_op::bottomk;
    case token_kind::count_values: return aggregate_op::count_values;
    default: return aggregate_op::quantile;
  }
}

template <class Node>
expr_ptr make_expr(Node node, position_range pos) {
  auto e = std::make_unique<expr>();
  e->node = std::move(node);
  e->pos = pos;
  return e;
}

class parser {
 public:
  explicit parser(std::string_view input) : in_(input), lex_(input) {}

  expr_ptr parse_query() {
    if (peek().kind == token_kind::eof)
      fail({0, 0}, "no expression found in input");
    auto e = parse_expr(0);
    if (peek().kind != token_kind::eof)
      unexpected_here();
    if (auto error = check_types(*e, in_))
      fail(error->pos, std::move(error->message));
    return e;
  }

  storage::matcher_list parse_selector_only() {
    const token& t = peek();
    expr_ptr e;
    if (is_metric_identifier(t.kind) || t.kind == token_kind::left_brace)
      e = parse_selector();
    else
      unexpected_here();
    if (peek().kind != token_kind::eof)
      unexpected_here();
    return std::get<vector_selector>(e->node).matchers;
  }

 private:
  // The lookahead token; comments are skipped and lexer errors end the
  // parse right here, as they do in Prometheus (reported before any
  // syntax error about the same spot).
  const token& peek() {
    if (!look_) {
      token t = lex_.next();
      while (t.kind == token_kind::comment)
        t = lex_.next();
      if (t.kind == token_kind::error)
        fail({t.pos, static_cast<int>(in_.size())}, t.message);
      look_ = std::move(t);
    }
    return *look_;
  }

  bool at(token_kind k) { return peek().kind == k; }

  token take() {
    token t = peek();
    look_.reset();
    last_end_ = t.end();
    return t;
  }

  [[noreturn]] void unexpected(std::string_view context, std::string_view expected) {
    unexpected(peek(), context, expected);
  }

  [[noreturn]] void unexpected(const token& t, std::string_view context,
                               std::string_view expected) {
    std::string msg = "unexpected " + t.describe();
    if (!context.empty())
      msg += " in " + std::string(context);
    if (!expected.empty())
      msg += ", expected " + std::string(expected);
    fail({t.pos, t.end()}, std::move(msg));
  }

  // A token no rule expects. Prometheus' grammar recovers at the innermost
  // aggregation still open (if any), which names the context.
  [[noreturn]] void unexpected_here() { unexpected(agg_depth_ > 0 ? "aggregation" : "", ""); }

  // Every later pass (type check, printing, evaluation, destruction)
  // recurses over the tree, so its depth is bounded here, where the input
  // is rejected cleanly, rather than by the stack.
  template <class Node>
  expr_ptr make(Node node, position_range pos, int d) {
    if (d > max_depth)
      fail(pos, "expression nests too deeply (more than " + std::to_string(max_depth) +
                    " levels)");
    auto e = make_expr(std::move(node), pos);
    depth_[e.get()] = d;
    return e;
  }

  int depth(const expr_ptr& e) const {
    if (!e)
      return 0;
    auto it = depth_.find(e.get());
    return it == depth_.end() ? 1 : it->second;
  }

  struct nesting_guard {
    parser& p;
    explicit nesting_guard(parser& owner) : p(owner) {
      if (++p.nesting_ > max_nesting)
        p.fail_at_lookahead("expression nests too deeply (more than " +
                            std::to_string(max_nesting) + " levels)");
    }
    ~nesting_guard() { --p.nesting_; }
  };

  [[noreturn]] void fail_at_lookahead(std::string message) {
    const token& t = peek();
    fail({t.pos, t.end()}, std::move(message));
  }

  expr_ptr parse_expr(int min_precedence) {
    nesting_guard guard(*this);
    auto lhs = parse_unary();
    for (;;) {
      binary_info info = binary_of(peek().kind);
      if (info.precedence == 0 || info.precedence < min_precedence)
        return lhs;
      take();
      binary_expr b;
      b.op = info.op;
      b.matching = parse_bin_modifiers(b.return_bool);
      // '^' is right-associative, everything else left-associative.
      int next = info.precedence == pow_precedence ? info.precedence : info.precedence + 1;
      b.rhs = parse_expr(next);
      position_range pos{lhs->pos.start, b.rhs->pos.end};
      int d = 1 + std::max(depth(lhs), depth(b.rhs));
      b.lhs = std::move(lhs);
      lhs = make(std::move(b), pos, d);
    }
  }

  // A sign binds looser than '^' and tighter than '*' (so -2^2 is -4); a
  // signed number literal becomes a negative literal, as in Prometheus.
  expr_ptr parse_unary() {
    if (!at(token_kind::add) && !at(token_kind::sub))
      return parse_postfix(parse_primary());
    token op = take();
    auto operand = parse_expr(pow_precedence);
    if (auto* num = std::get_if<number_literal>(&operand->node)) {
      if (op.kind == token_kind::sub)
        num->value = -num->value;
      operand->pos.start = op.pos;
      return operand;
    }
    position_range pos{op.pos, operand->pos.end};
    int d = 1 + depth(operand);
    return make(unary_expr{op.kind == token_kind::sub, std::move(operand)}, pos, d);
  }

  expr_ptr parse_primary() {
    const token& t = peek();
    switch (t.kind) {
      case token_kind::number: {
        token n = take();
        return make(number_literal{number_value(n)}, {n.pos, n.end()}, 1);
      }
      case token_kind::string: {
        token s = take();
        string_literal lit;
        if (!unquote(s.text, lit.value))
          fail({s.pos, s.end()}, "error unquoting string " + go_quote(s.text) + ": invalid syntax");
        return make(std::move(lit), {s.pos, s.end()}, 1);
      }
      case token_kind::left_paren: {
        token open = take();
        auto inner = parse_expr(0);
        if (!at(token_kind::right_paren))
          unexpected_here();
        take();
        int d = 1 + depth(inner);
        return make(paren_expr{std::move(inner)}, {open.pos, last_end_}, d);
      }
      case token_kind::left_brace:
        return parse_selector();
      default:
        break;
    }
    if (is_aggregator(t.kind)) {
      // An aggregation needs "(", "by" or "without" next; otherwise the
      // word is a metric name.
      token op = take();
      if (at(token_kind::left_paren) || at(token_kind::by) || at(token_kind::without))
        return parse_aggregate(op);
      return parse_selector(&op);
    }
    if (t.kind == token_kind::identifier) {
      token name = take();
      if (at(token_kind::left_paren))
        return parse_call(name);
      return parse_selector(&name);
    }
    if (is_metric_identifier(t.kind)) {
      token name = take();
      return parse_selector(&name);
    }
    unexpected_here();
  }

  // Optional name (already taken), then optional {matchers}.
  expr_ptr parse_selector(const token* name = nullptr) {
    if (!name && !at(token_kind::left_brace)) {
      token n = take();
      return parse_selector(&n);
    }
    vector_selector vs;
    position_range pos{name ? name->pos : peek().pos, name ? name->end() : 0};
    if (at(token_kind::left_brace)) {
      take();
      parse_matchers(vs.matchers);
      pos.end = last_end_;
    }
    if (name) {
      vs.name = std::string(name->text);
      auto m = storage::matcher::make(storage::match_type::equal, "__name__", vs.name);
      vs.matchers.push_back(std::move(m.value()));
    }
    return make(std::move(vs), pos, 1);
  }

  // After '{': matchers up to and including '}'; a trailing comma is fine.
  void parse_matchers(storage::matcher_list& out) {
    if (at(token_kind::right_brace)) {
      take();
      return;
    }
    for (;;) {
      if (!at(token_kind::identifier))
        unexpected("label matching", "identifier or \"}\"");
      token name = take();
      storage::match_type type;
      switch (peek().kind) {
        case token_kind::eql: type = storage::match_type::equal; break;
        case token_kind::neq: type = storage::match_type::not_equal; break;
        case token_kind::eql_regex: type = storage::match_type::regex; break;
        case token_kind::neq_regex: type = storage::match_type::not_regex; break;
        default: unexpected("label matching", "label matching operator");
      }
      take();
      if (!at(token_kind::string))
        unexpected("label matching", "string");
      token value = take();
      std::string text;
      if (!unquote(value.text, text))
        fail({value.pos, value.end()},
             "error unquoting string " + go_quote(value.text) + ": invalid syntax");
      bool is_regex = type == storage::match_type::regex || type == storage::match_type::not_regex;
      if (is_regex) {
        if (auto go_error = go_only_regexp_error(text))
          fail({name.pos, value.end()}, *go_error);
      }
      auto m = storage::matcher::make(type, std::string(name.text), text);
      if (!m)
        fail({name.pos, value.end()}, regexp_error(m.error().message(), text));
      out.push_back(std::move(m.value()));
      if (at(token_kind::comma)) {
        take();
        if (at(token_kind::right_brace)) {
          take();
          return;
        }
        continue;
      }
      if (at(token_kind::right_brace)) {
        take();
        return;
      }
      unexpected("label matching", "\",\" or \"}\"");
    }
  }

  // "(" expr {"," expr} ")" or "()".
  std::vector<expr_ptr> parse_call_body() {
    std::vector<expr_ptr> args;
    take();  // "(", checked by the caller
    if (at(token_kind::right_paren)) {
      take();
      return args;
    }
    for (;;) {
      args.push_back(parse_expr(0));
      if (at(token_kind::comma)) {
        token comma = take();
        if (!starts_expression(peek().kind))
          fail({comma.pos, comma.end()}, "trailing commas not allowed in function call args");
        continue;
      }
      if (at(token_kind::right_paren)) {
        take();
        return args;
      }
      unexpected_here();
    }
  }

  expr_ptr parse_call(const token& name) {
    auto args = parse_call_body();
    const function_info* fn = find_function(name.text);
    if (!fn)
      fail({name.pos, name.end()}, "unknown function with name " + go_quote(name.text));
    call_expr call;
    call.func = fn;
    int d = 1;
    for (const auto& a : args)
      d = std::max(d, 1 + depth(a));
    call.args = std::move(args);
    return make(std::move(call), {name.pos, last_end_}, d);
  }

  // "(" label {"," label} [","] ")" or "()".
  std::vector<std::string> parse_grouping_labels() {
    if (!at(token_kind::left_paren))
      unexpected("grouping opts", "\"(\"");
    take();
    std::vector<std::string> labels;
    if (at(token_kind::right_paren)) {
      take();
      return labels;
    }
    for (;;) {
      if (!is_maybe_label(peek().kind))
        unexpected("grouping opts", "label");
      token label = take();
      if (!is_label_name(label.text))
        unexpected(label, "grouping opts", "label");
      labels.emplace_back(label.text);
      if (at(token_kind::comma)) {
        take();
        if (at(token_kind::right_paren)) {
          take();
          return labels;
        }
        continue;
      }
      if (at(token_kind::right_paren)) {
        take();
        return labels;
      }
      unexpected("grouping opts", "\",\" or \")\"");
    }
  }

  // [bool] [on|ignoring (labels) [group_left|group_right [(labels)]]]
  vector_matching parse_bin_modifiers(bool& return_bool) {
    vector_matching vm;
    if (at(token_kind::bool_)) {
      take();
      return_bool = true;
    }
    if (at(token_kind::on) || at(token_kind::ignoring)) {
      vm.on = take().kind == token_kind::on;
      vm.labels = parse_grouping_labels();
      if (at(token_kind::group_left) || at(token_kind::group_right)) {
        vm.card = take().kind == token_kind::group_left ? vector_match_cardinality::many_to_one
                                                        : vector_match_cardinality::one_to_many;
        if (at(token_kind::left_paren) || !starts_expression(peek().kind))
          vm.include = parse_grouping_labels();
      }
    }
    return vm;
  }

  expr_ptr parse_aggregate(const token& op) {
    ++agg_depth_;
    aggregate_expr agg;
    agg.op = aggregate_of(op.kind);
    auto modifier = [&] {
      agg.without = take().kind == token_kind::without;
      agg.has_grouping = true;
      agg.grouping = parse_grouping_labels();
    };
    std::vector<expr_ptr> args;
    if (at(token_kind::by) || at(token_kind::without)) {
      modifier();
      if (!at(token_kind::left_paren))
        unexpected("aggregation", "");
      args = parse_call_body();
    } else {
      args = parse_call_body();
      if (at(token_kind::by) || at(token_kind::without))
        modifier();
    }
    --agg_depth_;
    position_range pos{op.pos, last_end_};
    if (args.empty())
      fail(pos, "no arguments for aggregate expression provided");
    bool with_param = agg.op == aggregate_op::topk || agg.op == aggregate_op::bottomk ||
                      agg.op == aggregate_op::count_values || agg.op == aggregate_op::quantile;
    size_t want = with_param ? 2 : 1;
    if (args.size() != want)
      fail(pos, "wrong number of arguments for aggregate expression provided, expected " +
                    std::to_string(want) + ", got " + std::to_string(args.size()));
    if (with_param)
      agg.param = std::move(args[0]);
    agg.inner = std::move(args[want - 1]);
    int d = 1 + std::max(depth(agg.inner), depth(agg.param));
    return make(std::move(agg), pos, d);
  }

  // Ranges, subqueries, offsets and @ bind to the expression just parsed,
  // tighter than any operator.
  expr_ptr parse_postfix(expr_ptr e) {
    for (;;) {
      switch (peek().kind) {
        case token_kind::left_bracket: e = parse_range(std::move(e)); break;
        case token_kind::offset: parse_offset(*e); break;
        case token_kind::at: parse_at(*e); break;
        default: return e;
      }
    }
  }

  expr_ptr parse_range(expr_ptr e) {
    token open = take();
    if (!at(token_kind::duration))
      unexpected("subquery selector", "duration");
    int64_t range = duration_value(take());
    if (at(token_kind::right_bracket)) {
      take();
      position_range brackets{open.pos, last_end_};
      auto* vs = std::get_if<vector_selector>(&e->node);
      if (!vs)
        fail(brackets, "ranges only allowed for vector selectors");
      if (vs->offset != 0)
        fail(brackets, "no offset modifiers allowed before range");
      // Prometheus only looks at a numeric @ here: "x @ start() [5m]" is
      // accepted and means "x[5m] @ start()".
      if (vs->at == at_modifier::timestamp)
        fail(brackets, "no @ modifiers allowed before range");
      position_range pos{e->pos.start, last_end_};
      int d = 1 + depth(e);
      return make(matrix_selector{std::move(e), range}, pos, d);
    }
    if (!at(token_kind::colon))
      unexpected("subquery or range", "\":\" or \"]\"");
    take();
    int64_t step = 0;
    if (at(token_kind::duration)) {
      step = duration_value(take());
      if (!at(token_kind::right_bracket))
        unexpected("subquery selector", "\"]\"");
    } else if (!at(token_kind::right_bracket)) {
      unexpected("subquery selector", "duration or \"]\"");
    }
    take();
    subquery_expr sq;
    sq.range = range;
    sq.step = step;
    position_range pos{e->pos.start, last_end_};
    int d = 1 + depth(e);
    sq.inner = std::move(e);
    return make(std::move(sq), pos, d);
  }

  void parse_offset(expr& e) {
    take();
    bool negative = false;
    if (at(token_kind::sub)) {
      take();
      negative = true;
    }
    if (!at(token_kind::duration))
      unexpected("offset", "duration");
    int64_t d = duration_value(take());
    int64_t* target = nullptr;
    if (auto* vs = std::get_if<vector_selector>(&e.node))
      target = &vs->offset;
    else if (auto* ms = std::get_if<matrix_selector>(&e.node))
      target = &std::get<vector_selector>(ms->selector->node).offset;
    else if (auto* sq = std::get_if<subquery_expr>(&e.node))
      target = &sq->offset;
    else
      fail(e.pos,
           "offset modifier must be preceded by an instant vector selector or range vector "
           "selector or a subquery");
    if (*target != 0)
      fail(e.pos, "offset may not be set multiple times");
    *target = negative ? -d : d;
    e.pos.end = last_end_;
  }

  void parse_at(expr& e) {
    take();
    at_modifier kind = at_modifier::timestamp;
    double ts = 0;
    if (at(token_kind::start) || at(token_kind::end)) {
      kind = take().kind == token_kind::start ? at_modifier::start : at_modifier::end;
      if (!at(token_kind::left_paren))
        unexpected("@", "timestamp");
      take();
      if (!at(token_kind::right_paren))
        unexpected("@", "timestamp");
      take();
    } else {
      bool negative = false;
      if (at(token_kind::add) || at(token_kind::sub))
        negative = take().kind == token_kind::sub;
      if (!at(token_kind::number))
        unexpected("@", "timestamp");
      ts = number_value(take());
      if (negative)
        ts = -ts;
      if (std::isnan(ts) || std::isinf(ts) ||
          ts >= static_cast<double>(std::numeric_limits<int64_t>::max()) ||
          ts <= static_cast<double>(std::numeric_limits<int64_t>::min()))
        fail(e.pos, "timestamp out of bounds for @ modifier: " + go_fixed(ts));
    }
    at_modifier* target = nullptr;
    int64_t* target_ts = nullptr;
    if (auto* vs = std::get_if<vector_selector>(&e.node)) {
      target = &vs->at, target_ts = &vs->at_timestamp;
    } else if (auto* ms = std::get_if<matrix_selector>(&e.node)) {
      auto& inner = std::get<vector_selector>(ms->selector->node);
      target = &inner.at, target_ts = &inner.at_timestamp;
    } else if (auto* sq = std::get_if<subquery_expr>(&e.node)) {
      target = &sq->at, target_ts = &sq->at_timestamp;
    } else {
      fail(e.pos,
           "@ modifier must be preceded by an instant vector selector or range vector selector "
           "or a subquery");
    }
    if (*target != at_modifier::none)
      fail(e.pos, "@ <timestamp> may not be set multiple times");
    *target = kind;
    if (kind == at_modifier::timestamp) {
      // timestamp.FromFloatSeconds. Go's float->int64 conversion on amd64
      // yields MinInt64 when the milliseconds do not fit; do the same
      // instead of undefined behaviour.
      double ms = std::round(ts * 1000.0);
      constexpr double two63 = 9223372036854775808.0;
      *target_ts = (ms >= two63 || ms < -two63) ? std::numeric_limits<int64_t>::min()
                                                : static_cast<int64_t>(ms);
    }
    e.pos.end = last_end_;
  }

  std::string_view in_;
  lexer lex_;
  std::optional<token> look_;
  int last_end_ = 0;   // end of the last consumed token
  int agg_depth_ = 0;  // aggregations whose closing ")" is not yet consumed
  int nesting_ = 0;    // parse_expr calls in progress
  std::unordered_map<const expr*, int> depth_;  // tree depth of each node built
};

}  // namespace

parse_result parse(std::string_view query) {
  parse_result out;
  try {
    parser p(query);
    out.expr = p.parse_query();
  } catch (const failure& f) {
    out.expr.reset();
    out.error = make_error(query, f);
  }
  return out;
}

selector_result parse_metric_selector(std::string_view selector) {
  selector_result out;
  try {
    parser p(selector);
    out.matchers = p.parse_selector_only();
  } catch (const failure& f) {
    out.matchers.clear();
    out.error = make_error(selector, f);
  }
  return out;
}

bool has_non_empty_matcher(const storage::matcher_list& ms) {
  for (const auto& m : ms)
    if (!m.matches_empty())
      return true;
  return false;
}

}  // namespace nl::promql

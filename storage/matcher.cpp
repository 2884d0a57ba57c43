#include "storage/matcher.hpp"

#include <re2/re2.h>

namespace nl::storage {

std::string_view to_string(match_type t) {
  switch (t) {
    case match_type::equal: return "=";
    case match_type::not_equal: return "!=";
    case match_type::regex: return "=~";
    case match_type::not_regex: return "!~";
  }
  return "?";
}

namespace {

// "a|b|c" made only of literal characters -> {"a","b","c"}.
std::vector<std::string> literal_alternatives(const std::string& re) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : re) {
    if (c == '|') {
      out.push_back(cur);
      cur.clear();
      continue;
    }
    if (std::string_view("\\.+*?()[]{}^$").find(c) != std::string_view::npos)
      return {};
    cur += c;
  }
  out.push_back(cur);
  return out;
}

}  // namespace

result<matcher> matcher::make(match_type type, std::string name, std::string value) {
  matcher m;
  m.type_ = type;
  m.name_ = std::move(name);
  m.value_ = std::move(value);
  if (type == match_type::regex || type == match_type::not_regex) {
    RE2::Options opts;
    opts.set_log_errors(false);
    auto re = std::make_shared<RE2>("^(?:" + m.value_ + ")$", opts);
    if (!re->ok())
      return status::invalid_argument("error parsing regexp: " + re->error());
    m.re_ = std::move(re);
    m.set_matches_ = literal_alternatives(m.value_);
  }
  return m;
}

bool matcher::matches(std::string_view v) const {
  switch (type_) {
    case match_type::equal: return v == value_;
    case match_type::not_equal: return v != value_;
    case match_type::regex: return RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
    case match_type::not_regex: return !RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
  }
  return false;
}

std::string matcher::to_string() const {
  std::string out = name_;
  out += nl::storage::to_string(type_);
  out += quote_label_value(value_);
  return out;
}

bool matches_all(const matcher_list& ms, const label_set& ls) {
  for (const auto& m : ms)
    if (!m.matches(ls.get(m.name())))
      return false;
  return true;
}

}  // namespace nl::storage

#include "storage/matcher.hpp"

#include <re2/re2.h>

#include <mutex>
#include <unordered_map>

#include "storage/quote.hpp"

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

// The compiled, anchored form of `value`, or null with `error` set. A
// query's regexes are compiled once, by its parser (or when a message
// carrying them arrives from another node), but dashboards send the same
// ones again and again, while RE2 takes tens of microseconds per pattern:
// a small process-wide cache answers repeats. Bounded (cleared when
// full, long patterns not kept); thread-safe, as shards compile concurrently
// and a compiled RE2 may be matched from several threads.
std::shared_ptr<const RE2> compile_anchored(const std::string& value, std::string& error) {
  constexpr size_t max_entries = 256;
  constexpr size_t max_cached_length = 4096;
  static std::mutex mu;
  static std::unordered_map<std::string, std::shared_ptr<const RE2>> cache;
  {
    std::lock_guard<std::mutex> lock{mu};
    if (auto it = cache.find(value); it != cache.end())
      return it->second;
  }
  RE2::Options opts;
  opts.set_log_errors(false);
  auto re = std::make_shared<const RE2>("^(?:" + value + ")$", opts);
  if (!re->ok()) {
    error = re->error();
    return nullptr;
  }
  if (value.size() <= max_cached_length) {
    std::lock_guard<std::mutex> lock{mu};
    if (cache.size() >= max_entries)
      cache.clear();
    cache.emplace(value, re);
  }
  return re;
}

}  // namespace

result<matcher> matcher::make(match_type type, std::string name, std::string value) {
  matcher m;
  m.type_ = type;
  m.name_ = std::move(name);
  m.value_ = std::move(value);
  if (type == match_type::regex || type == match_type::not_regex) {
    std::string error;
    m.re_ = compile_anchored(m.value_, error);
    if (!m.re_)
      return status::invalid_argument("error parsing regexp: " + error);
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
  out += go_quote(value_);
  return out;
}

bool matches_all(const matcher_list& ms, const label_set& ls) {
  for (const auto& m : ms)
    if (!m.matches(ls.get(m.name())))
      return false;
  return true;
}

}  // namespace nl::storage

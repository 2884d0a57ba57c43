#pragma once
// Label matchers (=, !=, =~, !~). Regular expressions are RE2, fully anchored
// exactly as Prometheus 2.42 anchors them: ^(?:re)$, so "." does not match a
// newline (Prometheus 3 added the s flag; clients of 2.42 expect this).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/labels.hpp"
#include "storage/status.hpp"

namespace re2 {
class RE2;
}

namespace nl::storage {

enum class match_type : uint8_t { equal, not_equal, regex, not_regex };

/// "=", "!=", "=~" or "!~".
std::string_view to_string(match_type t);

class matcher {
 public:
  matcher() = default;
  /// Compiles the regex for regex types; an invalid one is invalid_argument
  /// with RE2's message ("error parsing regexp: ...").
  static result<matcher> make(match_type type, std::string name, std::string value);

  match_type type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }

  bool matches(std::string_view v) const;
  /// Whether this matcher accepts a series that lacks the label.
  bool matches_empty() const { return matches(std::string_view{}); }
  /// For an anchored regex that is a plain alternation of literals
  /// ("a|b|c"), the literals; empty otherwise. Lets the index look values up
  /// instead of scanning.
  const std::vector<std::string>& set_matches() const { return set_matches_; }

  /// name="value" with the value quoted (PromQL syntax).
  std::string to_string() const;

  friend bool operator==(const matcher& a, const matcher& b) {
    return a.type_ == b.type_ && a.name_ == b.name_ && a.value_ == b.value_;
  }

 private:
  match_type type_ = match_type::equal;
  std::string name_;
  std::string value_;
  std::shared_ptr<const re2::RE2> re_;  // shared: matchers are copied freely
  std::vector<std::string> set_matches_;
};

using matcher_list = std::vector<matcher>;

/// True when every matcher accepts the label set (absent labels read as "").
bool matches_all(const matcher_list& ms, const label_set& ls);

}  // namespace nl::storage

#include "protocol/federation.hpp"

#include <algorithm>

#include "promql/printer.hpp"

namespace nl::protocol {

namespace {

// expfmt's escaping of label values in the text format.
void append_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

}  // namespace

void append_federation(std::string& out, std::vector<federated_sample>& samples) {
  std::stable_sort(samples.begin(), samples.end(), [](const auto& a, const auto& b) {
    return a.labels.metric_name() < b.labels.metric_name();
  });
  std::string_view family;
  bool in_family = false;
  for (const auto& s : samples) {
    auto name = s.labels.metric_name();
    if (name.empty())
      continue;
    if (!in_family || name != family) {
      out += "# TYPE ";
      out += name;
      out += " untyped\n";
      family = name;
      in_family = true;
    }
    out += name;
    out += '{';
    bool first = true;
    bool has_instance = false;
    for (const auto& l : s.labels) {
      if (l.name == storage::metric_name_label)
        continue;
      has_instance |= l.name == "instance";
      if (!first)
        out += ',';
      first = false;
      out += l.name;
      out += "=\"";
      append_escaped(out, l.value);
      out += '"';
    }
    if (!has_instance)
      out += first ? "instance=\"\"" : ",instance=\"\"";
    out += "} ";
    // expfmt writes every zero as "0" (-0 included), the rest with 'g'.
    out += s.v == 0 ? std::string{"0"} : promql::format_go_float(s.v);
    out += ' ';
    out += std::to_string(s.t);
    out += '\n';
  }
}

}  // namespace nl::protocol

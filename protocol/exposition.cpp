#include "protocol/exposition.hpp"

#include <charconv>
#include <cmath>

namespace nl::protocol {

void append_exposition_float(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (v == 0) {  // expfmt writes 0 and -0 as "0"
    out += '0';
    return;
  }
  // The shortest round-trip digits, in exponent form: [-]d[.ddd]e±XX.
  char buf[48];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view s{buf, static_cast<size_t>(r.ptr - buf)};
  auto e = s.find('e');
  int exp = 0;
  std::from_chars(s.data() + e + (s[e + 1] == '+' ? 2 : 1), s.data() + s.size(), exp);
  if (exp < -4 || exp >= 6) {  // Go's %g with shortest precision switches here
    out.append(s);
    return;
  }
  // Fixed notation from the same digits.
  std::string_view mant = s.substr(0, e);
  if (mant.front() == '-') {
    out += '-';
    mant.remove_prefix(1);
  }
  std::string digits;
  for (char c : mant)
    if (c != '.')
      digits += c;
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exp - 1), '0');
    out += digits;
    return;
  }
  auto int_len = static_cast<size_t>(exp) + 1;
  if (digits.size() <= int_len) {
    out += digits;
    out.append(int_len - digits.size(), '0');
    return;
  }
  out.append(digits, 0, int_len);
  out += '.';
  out.append(digits, int_len);
}

std::string exposition_float(double v) {
  std::string s;
  append_exposition_float(s, v);
  return s;
}

void append_metric_header(std::string& out, std::string_view name, std::string_view type,
                          std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

namespace {

void begin_line(std::string& out, std::string_view name, std::string_view labels) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
}

}  // namespace

void append_metric_line(std::string& out, std::string_view name, std::string_view labels, uint64_t v) {
  begin_line(out, name, labels);
  out += std::to_string(v);
  out += '\n';
}

void append_metric_line(std::string& out, std::string_view name, std::string_view labels, int64_t v) {
  begin_line(out, name, labels);
  out += std::to_string(v);
  out += '\n';
}

void append_metric_float_line(std::string& out, std::string_view name, std::string_view labels, double v) {
  begin_line(out, name, labels);
  append_exposition_float(out, v);
  out += '\n';
}

}  // namespace nl::protocol

#include "protocol/exposition.hpp"

#include "promql/printer.hpp"

namespace nl::protocol {

void append_exposition_float(std::string& out, double v) {
  // expfmt's writeFloat: 0 (and -0) is "0", everything else strconv's 'g'.
  if (v == 0)
    out += '0';
  else
    out += promql::format_go_float(v);
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

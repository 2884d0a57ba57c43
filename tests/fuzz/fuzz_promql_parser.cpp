// libFuzzer target: PromQL text from arbitrary bytes, parsed and printed
// back (the printer must accept every tree the parser makes). Nothing may
// crash, recurse without bound or hang.
#include "promql/parser.hpp"
#include "promql/printer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view q{reinterpret_cast<const char*>(data), size};
  auto r = nl::promql::parse(q);
  if (r)
    (void)nl::promql::prettify(*r.expr);
  (void)nl::promql::parse_metric_selector(q);
  return 0;
}

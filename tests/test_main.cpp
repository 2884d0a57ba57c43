// The single translation unit of each test binary that instantiates caf-test's
// runner (main, option parsing, summary line).
#include <caf/test/unit_test_impl.hpp>

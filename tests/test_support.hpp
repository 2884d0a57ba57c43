#pragma once
// Shared includes for suites. caf-test 0.17.6's dsl.hpp calls an undefined
// FAIL(); map it to CAF_FAIL before including the DSL.
#include <caf/test/unit_test.hpp>
#ifndef FAIL
#define FAIL(msg) CAF_FAIL(msg)
#endif

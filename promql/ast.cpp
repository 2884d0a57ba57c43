#include "promql/ast.hpp"
// Node printing and cloning live in printer.cpp; type() and the op names here.

// Placeholder entry point, replaced by the supervisor start-up.
#include <cstdio>
int main() { std::puts("nightlight " NL_VERSION); }

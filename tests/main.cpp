// The unit-test runner. The allocation counter the tests use (alloc_counter.hpp) is defined in
// alloc_hooks.cpp, linked into this executable.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

int main(int argc, char** argv) {
  doctest::Context ctx;
  ctx.applyCommandLine(argc, argv);
  return ctx.run();
}

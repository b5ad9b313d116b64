// examples/mcu/heap_canary.cpp - a firmware that DOES allocate, built only to prove that
// scripts/mcu.sh's heap checks catch it: the allocator symbols show up in its image (the link
// check) and the wrapped malloc traps at run time (semihosting exit code 3, "HEAP TOUCHED").
#include <cstdlib>

#include "platform.hpp"

int plat::app_main() noexcept {
  void* volatile p = std::malloc(16);
  plat::write(p != nullptr ? "allocated\n" : "malloc returned null\n");
  return 0;
}

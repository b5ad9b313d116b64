// examples/mcu/platform_host.cpp - platform.hpp for the host build of the same program: stdout,
// and no instruction counter or stack measurement (those numbers come from the MCU build).
#include <cstdio>
#include <cstdlib>

#include "platform.hpp"

namespace plat {

const char* name() noexcept { return "host"; }
void write(const char* text) noexcept { std::fputs(text, stdout); }
void exit(int code) noexcept {
  std::fflush(stdout);
  std::exit(code);
}
bool has_counter() noexcept { return false; }
std::uint64_t instructions() noexcept { return 0; }
void spin(std::uint32_t iterations) noexcept {
  for (volatile std::uint32_t i = 0; i < iterations; i = i + 1) {
  }
}
std::size_t stack_reserved() noexcept { return 0; }
std::size_t stack_high_water() noexcept { return 0; }
std::size_t stack_mark() noexcept { return 0; }
std::size_t stack_since(std::size_t) noexcept { return 0; }

}  // namespace plat

int main() { return plat::app_main(); }

// examples/mcu/platform.hpp - the little that main.cpp needs from the machine it runs on, so that
// the very same main.cpp builds for the Cortex-M4F (platform_m4.cpp: semihosting, SysTick, a
// painted stack) and for the host (platform_host.cpp: stdout, no counters) and their outputs can
// be compared line by line.
#pragma once

#include <cstddef>
#include <cstdint>

namespace plat {

/// The program (main.cpp). The host's main() calls it; on the MCU, Reset_Handler does (C++ does
/// not allow calling main()). Its return value is the exit code.
int app_main() noexcept;

/// "cortex-m4f" or "host".
const char* name() noexcept;

/// Writes NUL-terminated text (semihosting SYS_WRITE0 on the MCU, stdout on the host).
void write(const char* text) noexcept;

/// Ends the program with this exit code (semihosting SYS_EXIT_EXTENDED on the MCU).
[[noreturn]] void exit(int code) noexcept;

/// Whether instructions() counts anything (false on the host).
bool has_counter() noexcept;

/// Instructions retired since start-up, from SysTick under QEMU's -icount shift=0: the virtual
/// clock advances exactly 1 ns per instruction and SysTick runs on the board's 25 MHz CPU clock,
/// so one tick = 40 instructions (the resolution). 0 on the host.
std::uint64_t instructions() noexcept;

/// Runs a loop of exactly `iterations` x 2 instructions (subs; bne): the counter's calibration.
void spin(std::uint32_t iterations) noexcept;

/// Stack bytes reserved by the linker script, and the most ever used since start-up (the stack
/// is painted with a pattern before main(); the first overwritten word marks the high-water
/// mark; stack_mark()'s repaints do not lose it). Both 0 on the host.
std::size_t stack_reserved() noexcept;
std::size_t stack_high_water() noexcept;
/// The stack one call uses: `m = stack_mark(); call(); stack_since(m)` (to within a few words).
/// stack_mark() paints the stack again below the caller and returns its depth there. 0 on the host.
std::size_t stack_mark() noexcept;
std::size_t stack_since(std::size_t mark) noexcept;

}  // namespace plat

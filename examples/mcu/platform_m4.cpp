// examples/mcu/platform_m4.cpp - bare-metal start-up and platform.hpp for a Cortex-M4F under
// QEMU (-M mps2-an386 -semihosting-config enable=on,target=native -icount shift=0):
//   - the vector table (initial stack pointer, reset, faults, SysTick),
//   - Reset_Handler: FPU on (CPACR), .data copied from flash, .bss zeroed, the stack painted,
//     C++ static constructors, app_main() (main.cpp), then its return value as the semihosting exit code,
//   - ARM semihosting (bkpt 0xAB): SYS_WRITE0 for text, SYS_EXIT_EXTENDED for the exit code,
//   - SysTick as a 64-bit instruction counter (see platform.hpp),
//   - heap traps: the link wraps malloc & co. (--wrap, see CMakeLists.txt) to functions that
//     report and exit with code 3. scripts/mcu.sh also checks that no allocator symbol (and so
//     no trap) is in the final image at all, i.e. nothing can reach the heap.
#include <cstddef>
#include <cstdint>

#include "platform.hpp"

extern "C" {
// From the linker script (sections.ld).
extern std::uint32_t __stack_limit[], __stack_top[];
extern std::uint32_t __data_start[], __data_end[], __data_load[];
extern std::uint32_t __bss_start[], __bss_end[];
extern void (*__preinit_array_start[])();
extern void (*__preinit_array_end[])();
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();

void Reset_Handler();
void Fault_Handler();
void SysTick_Handler();
void Default_Handler();
void ppghr_mcu_start();
}

namespace {

constexpr std::uint32_t kStackPaint = 0xC0FFEE5Au;

// ---- semihosting -----------------------------------------------------------------------------
constexpr int kSysWrite0 = 0x04;
constexpr int kSysExitExtended = 0x20;
constexpr std::uint32_t kAdpStoppedApplicationExit = 0x20026;

inline int semihost(int op, const void* arg) noexcept {
  register int r0 __asm__("r0") = op;
  register const void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

[[noreturn]] void semihost_exit(int code) noexcept {
  const std::uint32_t block[2] = {kAdpStoppedApplicationExit, static_cast<std::uint32_t>(code)};
  semihost(kSysExitExtended, block);
  for (;;) __asm__ volatile("wfi");  // not reached under QEMU
}

void write_hex(std::uint32_t v) noexcept {
  char s[11] = {'0', 'x'};
  for (int i = 0; i < 8; ++i) s[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xFu];
  s[10] = '\0';
  semihost(kSysWrite0, s);
}

// ---- system registers ------------------------------------------------------------------------
volatile std::uint32_t& reg(std::uint32_t addr) noexcept { return *reinterpret_cast<volatile std::uint32_t*>(addr); }
constexpr std::uint32_t kSystCsr = 0xE000E010u, kSystRvr = 0xE000E014u, kSystCvr = 0xE000E018u;
constexpr std::uint32_t kCfsr = 0xE000ED28u, kHfsr = 0xE000ED2Cu, kMmfar = 0xE000ED34u, kBfar = 0xE000ED38u;
constexpr std::uint32_t kSysTickReload = 0x00FFFFFFu;  // 24 bits: a wrap every 2^24 ticks
constexpr std::uint32_t kInstructionsPerTick = 40;      // -icount shift=0 (1 ns) at 25 MHz (40 ns)

volatile std::uint32_t g_systick_wraps = 0;

void systick_start() noexcept {
  reg(kSystRvr) = kSysTickReload;
  reg(kSystCvr) = 0;
  reg(kSystCsr) = 0x7u;  // CLKSOURCE = processor clock, TICKINT, ENABLE
}

// Paints the stack from its limit up to a little below the current stack pointer.
__attribute__((noinline)) void paint_stack() noexcept {
  std::uint32_t* sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  for (volatile std::uint32_t* p = __stack_limit; p < sp - 16; ++p) *p = kStackPaint;
}

}  // namespace

// ---- vector table ----------------------------------------------------------------------------
// 16 system exceptions; the mps2-an386's external interrupts are never enabled here.
__attribute__((section(".isr_vector"), used)) void (*const g_vectors[16])() = {
    reinterpret_cast<void (*)()>(__stack_top),  // initial stack pointer
    Reset_Handler,
    Fault_Handler,  // NMI
    Fault_Handler,  // HardFault
    Fault_Handler,  // MemManage
    Fault_Handler,  // BusFault
    Fault_Handler,  // UsageFault
    nullptr, nullptr, nullptr, nullptr,
    Default_Handler,  // SVCall
    Default_Handler,  // DebugMon
    nullptr,
    Default_Handler,  // PendSV
    SysTick_Handler,
};

// Called by Reset_Handler once the FPU is on.
extern "C" __attribute__((noinline, used, noreturn)) void ppghr_mcu_start() {
  for (std::uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;) *dst++ = *src++;
  for (std::uint32_t* dst = __bss_start; dst < __bss_end;) *dst++ = 0;
  paint_stack();
  systick_start();
  for (auto** f = __preinit_array_start; f < __preinit_array_end; ++f) (*f)();
  for (auto** f = __init_array_start; f < __init_array_end; ++f) (*f)();
  semihost_exit(plat::app_main());
}

// The FPU is switched on before any C++ runs: with -mfloat-abi=hard the compiler may use the FP
// registers anywhere, and an FP instruction with CP10/CP11 disabled is a UsageFault.
extern "C" __attribute__((naked, noreturn)) void Reset_Handler() {
  __asm__ volatile(
      "ldr r0, =0xE000ED88\n"  // CPACR
      "ldr r1, [r0]\n"
      "orr r1, r1, #(0xF << 20)\n"  // CP10, CP11: full access
      "str r1, [r0]\n"
      "dsb\n"
      "isb\n"
      "b ppghr_mcu_start\n");
}

extern "C" void Fault_Handler() {
  semihost(kSysWrite0, "FAULT: CFSR ");
  write_hex(reg(kCfsr));
  semihost(kSysWrite0, " HFSR ");
  write_hex(reg(kHfsr));
  semihost(kSysWrite0, " MMFAR ");
  write_hex(reg(kMmfar));
  semihost(kSysWrite0, " BFAR ");
  write_hex(reg(kBfar));
  semihost(kSysWrite0, "\n");
  semihost_exit(2);
}

extern "C" void Default_Handler() {
  semihost(kSysWrite0, "FAULT: unexpected exception\n");
  semihost_exit(2);
}

extern "C" void SysTick_Handler() { g_systick_wraps = g_systick_wraps + 1; }

// ---- heap traps ------------------------------------------------------------------------------
// Reached only if something calls the allocator: the link redirects malloc, calloc, realloc,
// free and their reentrant _r forms here (-Wl,--wrap=...). Unreferenced, --gc-sections drops them.
namespace {
[[noreturn]] void heap_touched(const char* what) noexcept {
  semihost(kSysWrite0, "HEAP TOUCHED: ");
  semihost(kSysWrite0, what);
  semihost(kSysWrite0, "\n");
  semihost_exit(3);
}
}  // namespace

extern "C" {
void* __wrap_malloc(std::size_t) { heap_touched("malloc"); }
void* __wrap_calloc(std::size_t, std::size_t) { heap_touched("calloc"); }
void* __wrap_realloc(void*, std::size_t) { heap_touched("realloc"); }
void __wrap_free(void*) { heap_touched("free"); }
void* __wrap__malloc_r(void*, std::size_t) { heap_touched("_malloc_r"); }
void* __wrap__calloc_r(void*, std::size_t, std::size_t) { heap_touched("_calloc_r"); }
void* __wrap__realloc_r(void*, void*, std::size_t) { heap_touched("_realloc_r"); }
void __wrap__free_r(void*, void*) { heap_touched("_free_r"); }
}

// assert() failures (the library's invariants; the example builds with NDEBUG, but a debug build
// must not pull in newlib's fiprintf-based __assert_func, which allocates).
extern "C" [[noreturn]] void __assert_func(const char* file, int, const char*, const char* expr) {
  semihost(kSysWrite0, "ASSERT: ");
  semihost(kSysWrite0, expr);
  semihost(kSysWrite0, " in ");
  semihost(kSysWrite0, file);
  semihost(kSysWrite0, "\n");
  semihost_exit(4);
}

// ---- platform.hpp ----------------------------------------------------------------------------
namespace plat {

const char* name() noexcept { return "cortex-m4f"; }

void write(const char* text) noexcept { semihost(kSysWrite0, text); }

void exit(int code) noexcept { semihost_exit(code); }

bool has_counter() noexcept { return true; }

std::uint64_t instructions() noexcept {
  // Re-read when a wrap (SysTick exception) happened between the two reads.
  std::uint32_t wraps, value;
  do {
    wraps = g_systick_wraps;
    value = reg(kSystCvr);
  } while (wraps != g_systick_wraps);
  const std::uint64_t ticks = std::uint64_t(wraps) * (kSysTickReload + 1u) + (kSysTickReload - value);
  return ticks * kInstructionsPerTick;
}

void spin(std::uint32_t iterations) noexcept {
  if (iterations == 0) return;
  __asm__ volatile(
      "1: subs %0, %0, #1\n"
      "   bne 1b\n"
      : "+r"(iterations)::"cc");
}

std::size_t stack_reserved() noexcept {
  return static_cast<std::size_t>(reinterpret_cast<const char*>(__stack_top) - reinterpret_cast<const char*>(__stack_limit));
}

namespace {
std::size_t g_stack_peak = 0;  // the high-water mark before the last repaint
std::size_t stack_scan() noexcept {
  const std::uint32_t* p = __stack_limit;
  while (p < __stack_top && *p == kStackPaint) ++p;
  const auto used = static_cast<std::size_t>(reinterpret_cast<const char*>(__stack_top) - reinterpret_cast<const char*>(p));
  if (used > g_stack_peak) g_stack_peak = used;
  return used;
}
}  // namespace

std::size_t stack_high_water() noexcept {
  stack_scan();
  return g_stack_peak;
}

std::size_t stack_mark() noexcept {
  stack_scan();
  paint_stack();
  std::uint32_t* sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  return static_cast<std::size_t>(reinterpret_cast<const char*>(__stack_top) - reinterpret_cast<const char*>(sp));
}

std::size_t stack_since(std::size_t mark) noexcept {
  const std::size_t used = stack_scan();
  return used > mark ? used - mark : 0;
}

}  // namespace plat

// The runner of a test executable compiled for one x86 instruction set (PPGHR_TEST_ISA: "avx2",
// "avx-vnni", "avx512-vnni"; tests/CMakeLists.txt): on a CPU without it every test is skipped,
// saying so, instead of dying of an illegal instruction.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>

namespace {
bool cpu_has_isa() {
#if defined(__x86_64__) || defined(__i386__)
  const char* isa = PPGHR_TEST_ISA;
  if (std::strcmp(isa, "avx512-vnni") == 0)
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2");
  if (std::strcmp(isa, "avx-vnni") == 0) return __builtin_cpu_supports("avxvnni") && __builtin_cpu_supports("avx2");
  if (std::strcmp(isa, "avx2") == 0) return __builtin_cpu_supports("avx2");
#endif
  return false;
}
}  // namespace

int main(int argc, char** argv) {
  if (!cpu_has_isa()) {
    std::printf("SKIPPED: this CPU lacks the instruction set of this build (%s)\n", PPGHR_TEST_ISA);
    return 0;
  }
  doctest::Context ctx;
  ctx.applyCommandLine(argc, argv);
  return ctx.run();
}

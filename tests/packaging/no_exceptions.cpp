// tests/packaging/no_exceptions.cpp - the library in a -fno-exceptions -fno-rtti build, the way a
// microcontroller or real-time host builds it: include the umbrella header, instantiate a network,
// write a blob with ppghr::blob::write_blob into a buffer, load it, predict, check the result.
// Built twice by tests/packaging/CMakeLists.txt: with the default kernels, and with
// PPGHR_NO_SIMD + PPGHR_NO_EIGEN + PPGHR_NO_ERROR_STRINGS (plain reference kernels, no message text).
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#error "this translation unit must be compiled with -fno-exceptions"
#endif
#if defined(__GXX_RTTI) || defined(__cpp_rtti)
#error "this translation unit must be compiled with -fno-rtti"
#endif

#include <cstdio>

#include <ppghr/ppghr.hpp>

#include "known_answer.hpp"

int main() {
#if defined(PPGHR_NO_ERROR_STRINGS)
  if (ppghr::status_name(ppghr::Status::checksum_mismatch)[0] != '\0' ||
      ppghr::status_name(ppghr::SignalStatus::non_finite)[0] != '\0' ||
      ppghr::signal_status_name(ppghr::SignalStatus::gap)[0] != '\0') {
    std::printf("no_exceptions: PPGHR_NO_ERROR_STRINGS still yields message text\n");
    return 1;
  }
#endif
#if defined(PPGHR_NO_SIMD)
  static_assert(PPGHR_HAS_SIMD == 0, "PPGHR_NO_SIMD must select the reference kernels");
#endif
  const int line = ppghr_packaging::check_network<ppghr::ResNet1d<2>>();
  if (line != 0) {
    std::printf("no_exceptions: FAILED at known_answer.hpp:%d\n", line);
    return 1;
  }
  std::printf("no_exceptions: ok (simd %d, error strings %s)\n", int(PPGHR_HAS_SIMD),
              ppghr::status_name(ppghr::Status::ok)[0] ? "on" : "off");
  return 0;
}

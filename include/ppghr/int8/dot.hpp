// ppghr/int8/dot.hpp - the one hot loop of every int8 network (docs/int8.md): many int8 dot
// products with a zero-point offset, exact in int32.
//
//   acc[p * rows + o] = base[o] + sum over j < win.chunks, i < win.len of
//                       w[o * w_step + j * win.len + i] * (x[p * pos_step + j * win.chunk_step + i] - z)
//   for p in [0, npos), o in [0, rows); base[o] = bias[o], or acc[p * rows + o] itself when bias
//   is nullptr (accumulate).
//
// One call covers: a CONV1D over a time-major input x[t][c] (a window of kernel * c_in contiguous
// values when dilation is 1: chunks 1; with dilation d: `kernel` chunks of c_in values, d * c_in
// apart), each row of a ROW_CONV, a MODALITY_CONV (rows chunks of c_in values, one row apart) and
// a LINEAR (one position, one chunk). The weights of one output are contiguous (w_q
// [c_out][kernel][c_in], CMSIS-NN's OHWI).
//
// The result is exact integer arithmetic (|x - z| <= 255, |w| <= 127; the quantiser bounds every
// accumulator below 2^31), so every implementation gives the same bits:
//   dot_ref()   the portable reference (plain loops), always available;
//   dot()       the fastest one this translation unit is compiled for: the Cortex-M DSP extension
//               (SMLAD, ppghr/int8/dot_m4.hpp) where __ARM_FEATURE_DSP is defined, AVX2 / AVX-VNNI /
//               AVX-512 VNNI (ppghr/int8/dot_x86.hpp) where the compiler targets them, else dot_ref.
//               PPGHR_Q8_REFERENCE forces dot_ref.
// No allocation, no exceptions; x, w and acc may have any alignment.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ppghr::q8 {

/// The input values one output position reads: `chunks` runs of `len` int8 values, the start of
/// run j at j * chunk_step from the position's start.
struct Window {
  int chunks = 1;
  int len = 0;
  std::ptrdiff_t chunk_step = 0;
};

/// The portable reference of dot() (see the header comment).
inline void dot_ref(const std::int8_t* x, std::ptrdiff_t pos_step, int npos, const Window& win, std::int32_t z,
                    const std::int8_t* w, std::ptrdiff_t w_step, int rows, const std::int32_t* bias,
                    std::int32_t* acc) noexcept {
  for (int p = 0; p < npos; ++p) {
    const std::int8_t* xp = x + p * pos_step;
    for (int o = 0; o < rows; ++o) {
      std::int32_t a = bias != nullptr ? bias[o] : acc[p * rows + o];
      const std::int8_t* wo = w + o * w_step;
      for (int j = 0; j < win.chunks; ++j) {
        const std::int8_t* xj = xp + j * win.chunk_step;
        const std::int8_t* wj = wo + j * win.len;
        for (int i = 0; i < win.len; ++i) a += std::int32_t(wj[i]) * (std::int32_t(xj[i]) - z);
      }
      acc[p * rows + o] = a;
    }
  }
}

}  // namespace ppghr::q8

#define PPGHR_Q8_INCLUDING_KERNEL 1  // the kernel headers below are included from here
#if !defined(PPGHR_Q8_REFERENCE) && defined(__ARM_FEATURE_DSP) && defined(__has_include)
#if __has_include("ppghr/int8/dot_m4.hpp")
#include "ppghr/int8/dot_m4.hpp"  // defines ppghr::q8::dot and PPGHR_Q8_DOT_KIND
#endif
#elif !defined(PPGHR_Q8_REFERENCE) && defined(__AVX2__) && defined(__has_include)
#if __has_include("ppghr/int8/dot_x86.hpp")
#include "ppghr/int8/dot_x86.hpp"  // defines ppghr::q8::dot and PPGHR_Q8_DOT_KIND
#endif
#endif

#if !defined(PPGHR_Q8_DOT_KIND)
#define PPGHR_Q8_DOT_KIND "reference"
namespace ppghr::q8 {
/// The dot products of this build (here: the reference; see the header comment).
inline void dot(const std::int8_t* x, std::ptrdiff_t pos_step, int npos, const Window& win, std::int32_t z,
                const std::int8_t* w, std::ptrdiff_t w_step, int rows, const std::int32_t* bias,
                std::int32_t* acc) noexcept {
  dot_ref(x, pos_step, npos, win, z, w, w_step, rows, bias, acc);
}
}  // namespace ppghr::q8
#endif

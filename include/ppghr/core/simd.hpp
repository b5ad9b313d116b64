// ppghr/core/simd.hpp - the SIMD shim. The kernels use xsimd's default batch for the instruction
// set the consumer compiles for (SSE2, AVX2, AVX-512, NEON, ...). When none is available, or
// PPGHR_NO_SIMD is defined, PPGHR_HAS_SIMD is 0 and the reference kernels are used.
#pragma once

#include "ppghr/core/config.hpp"

#if !defined(PPGHR_NO_SIMD)
#include <xsimd/xsimd.hpp>
#if defined(XSIMD_NO_SUPPORTED_ARCHITECTURE)
#define PPGHR_HAS_SIMD 0
#else
#define PPGHR_HAS_SIMD 1
#endif
#else
#define PPGHR_HAS_SIMD 0
#endif

namespace ppghr {
namespace detail {

#if PPGHR_HAS_SIMD
template <class T>
using simd_batch = xsimd::batch<T>;
template <class T>
inline constexpr int simd_width = static_cast<int>(xsimd::batch<T>::size);
#else
template <class T>
inline constexpr int simd_width = 1;
#endif

}  // namespace detail
}  // namespace ppghr

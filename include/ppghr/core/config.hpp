// ppghr/core/config.hpp - configuration macros and the library's basic constants.
//
// Macros a consumer may define before including ppghr:
//   PPGHR_NO_ERROR_STRINGS  status_name() returns "" for every code, so no message text is linked
//                           (saves flash on microcontrollers).
//   PPGHR_NO_SIMD           use the plain reference kernels everywhere (no xsimd include).
// No macro here changes an instruction set: the SIMD kernels use whatever the consumer compiles for.
#pragma once

#include <cstddef>
#include <cstdint>

#if !defined(PPGHR_NO_SIMD)
#if defined(__has_include)
#if !__has_include(<xsimd/xsimd.hpp>)
#define PPGHR_NO_SIMD 1
#endif
#endif
#endif

// Before a loop with a small constant trip count: unroll it completely (register tiles).
#if defined(__clang__)
#define PPGHR_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define PPGHR_UNROLL _Pragma("GCC unroll 16")
#else
#define PPGHR_UNROLL
#endif

#if defined(__GNUC__) || defined(__clang__)
#define PPGHR_ALWAYS_INLINE inline __attribute__((always_inline))
#define PPGHR_NOINLINE __attribute__((noinline))
#define PPGHR_RESTRICT __restrict__
#else
#define PPGHR_ALWAYS_INLINE inline
#define PPGHR_NOINLINE
#define PPGHR_RESTRICT
#endif

namespace ppghr {

/// Heart-rate classes shared by every classification network: class k means (30 + k) BPM.
inline constexpr int kNumClasses = 180;
inline constexpr int kMinBpm = 30;

/// Alignment (bytes) of every weight and activation array inside a network object.
inline constexpr std::size_t kAlign = 64;

}  // namespace ppghr

// ppghr/core/simd.hpp - the SIMD shim. The kernels use xsimd's default batch for the instruction
// set the consumer compiles for (SSE2, AVX2, AVX-512, NEON, ...). When none is available, or
// PPGHR_NO_SIMD is defined, PPGHR_HAS_SIMD is 0 and the reference kernels are used.
#pragma once

#include <type_traits>

#include "ppghr/core/config.hpp"

#if !defined(PPGHR_NO_SIMD)
#include <xsimd/xsimd.hpp>
#if defined(XSIMD_NO_SUPPORTED_ARCHITECTURE)
#define PPGHR_HAS_SIMD 0
#elif defined(__AVX512BW__) && !(defined(__AVX512DQ__) && defined(__AVX512CD__))
// xsimd 8 makes AVX-512BW its default architecture, whose batches need AVX-512DQ and CD too: with
// -mavx512bw but without -mavx512dq -mavx512cd no batch type compiles, so the plain loops serve
// (-march=... of any AVX-512BW CPU sets all three)
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

// The widest batch of T whose width divides N: the default batch, else a narrower one the
// consumer's instruction set also has (AVX2's 8 floats inside an AVX-512 build, SSE's 4 inside
// AVX), else void (the caller falls back to scalar code).
template <class T, int N, int Width>
struct dividing_batch {
  using sized = xsimd::make_sized_batch_t<T, std::size_t(Width)>;
  using type = std::conditional_t<(N % Width == 0) && !std::is_void<sized>::value, sized,
                                  typename dividing_batch<T, N, Width / 2>::type>;
};
template <class T, int N>
struct dividing_batch<T, N, 1> {
  using type = void;
};
template <class T, int N>
using dividing_batch_t = typename dividing_batch<T, N, simd_width<T>>::type;
/// The width of a batch type, 0 for void.
template <class B>
inline constexpr int batch_width = 0;
template <class T, class A>
inline constexpr int batch_width<xsimd::batch<T, A>> = int(xsimd::batch<T, A>::size);
#else
template <class T>
inline constexpr int simd_width = 1;
#endif

/// Vector registers of the instruction set the consumer compiles for (register tiles are sized
/// from it): 32 with AVX-512 and on AArch64, 16 otherwise (SSE, AVX2, 32-bit ARM).
#if defined(__AVX512F__) || defined(__aarch64__) || defined(_M_ARM64)
inline constexpr int simd_registers = 32;
#else
inline constexpr int simd_registers = 16;
#endif

}  // namespace detail
}  // namespace ppghr

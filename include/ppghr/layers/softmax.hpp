// ppghr/layers/softmax.hpp - numerically safe softmax (max subtracted) and argmax.
#pragma once

#include <cmath>
#include <cstddef>

#include "ppghr/core/config.hpp"
#include "ppghr/core/simd.hpp"

namespace ppghr {

namespace detail {

// max over s[0, N) (exact in any order: no NaN here)
template <class T, int N>
PPGHR_ALWAYS_INLINE T max_of(const T* s) noexcept {
  int j = 0;
  T m = s[0];
#if PPGHR_HAS_SIMD
  constexpr int W = simd_width<T>;
  if constexpr (N >= W) {
    simd_batch<T> mb = simd_batch<T>::load_unaligned(s);
    for (j = W; j + W <= N; j += W) mb = xsimd::max(mb, simd_batch<T>::load_unaligned(s + j));
    alignas(kAlign) T lanes[W];
    mb.store_aligned(lanes);
    m = lanes[0];
    for (int k = 1; k < W; ++k) m = lanes[k] > m ? lanes[k] : m;
  }
#endif
  for (; j < N; ++j) m = s[j] > m ? s[j] : m;
  return m;
}

// y[j] <- exp(x[j] - m) for j < N (y may be x); returns the sum. With SIMD, xsimd::exp and a
// vector sum (a few ulp from std::exp and the sequential sum).
template <class T, int N>
PPGHR_ALWAYS_INLINE T exp_shifted_sum(const T* x, T* y, T m) noexcept {
  int j = 0;
  T sum = T(0);
#if PPGHR_HAS_SIMD
  constexpr int W = simd_width<T>;
  if constexpr (N >= W) {
    const simd_batch<T> mb(m);
    simd_batch<T> acc(T(0));
    for (; j + W <= N; j += W) {
      const simd_batch<T> e = xsimd::exp(simd_batch<T>::load_unaligned(x + j) - mb);
      e.store_unaligned(y + j);
      acc += e;
    }
    sum = xsimd::hadd(acc);
  }
#endif
  for (; j < N; ++j) {
    y[j] = std::exp(x[j] - m);
    sum += y[j];
  }
  return sum;
}

// y = softmax(x) given m = max x (y may be x).
template <class T, int N>
inline void softmax_with_max(const T* x, T* y, T m) noexcept {
  const T inv = T(1) / exp_shifted_sum<T, N>(x, y, m);
  for (int i = 0; i < N; ++i) y[i] *= inv;
}

}  // namespace detail

namespace reference {
template <class T>
void softmax(const T* x, int n, T* y) noexcept {
  double m = x[0];
  for (int i = 1; i < n; ++i) m = x[i] > m ? x[i] : m;
  double s = 0;
  for (int i = 0; i < n; ++i) s += std::exp(x[i] - m);
  for (int i = 0; i < n; ++i) y[i] = static_cast<T>(std::exp(x[i] - m) / s);
}
}  // namespace reference

/// y = exp(x - max x) / sum; y may equal x. Finite for any finite x.
template <class T, int N>
struct Softmax {
  static_assert(N > 0, "Softmax: size must be positive");
  static constexpr int size = N;
  static constexpr std::size_t param_count = 0;
  void forward(const T* x, T* y) const noexcept { detail::softmax_with_max<T, N>(x, y, detail::max_of<T, N>(x)); }
};

/// Index of the largest value (the first one on ties).
template <class T>
[[nodiscard]] inline int argmax(const T* x, int n) noexcept {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

namespace detail {
/// argmax(x, n) for NaN-free x whose maximum m is known: the first index holding m.
template <class T>
[[nodiscard]] inline int first_index_of(const T* x, T m) noexcept {
  int i = 0;
  while (x[i] != m) ++i;
  return i;
}
}  // namespace detail

}  // namespace ppghr

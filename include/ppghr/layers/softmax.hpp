// ppghr/layers/softmax.hpp - numerically safe softmax (max subtracted) and argmax.
#pragma once

#include <cmath>
#include <cstddef>

namespace ppghr {

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
  void forward(const T* x, T* y) const noexcept {
    T m = x[0];
    for (int i = 1; i < N; ++i) m = x[i] > m ? x[i] : m;
    T s = T(0);
    for (int i = 0; i < N; ++i) {
      y[i] = std::exp(x[i] - m);
      s += y[i];
    }
    const T inv = T(1) / s;
    for (int i = 0; i < N; ++i) y[i] *= inv;
  }
};

/// Index of the largest value (the first one on ties).
template <class T>
[[nodiscard]] inline int argmax(const T* x, int n) noexcept {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

}  // namespace ppghr

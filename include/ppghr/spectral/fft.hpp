// ppghr/spectral/fft.hpp - a fixed-size radix-2 complex FFT: no heap, no exceptions.
//
// Why not Eigen's FFT module (already a dependency): its kissfft back end keeps its plans and
// scratch in std::vector / std::map, allocated on the first transform of each size, which neither
// the no-heap rule of include/ nor the heap-less Cortex-M4 build (scripts/mcu.sh) accepts. This one
// holds everything in the object: N/2 complex twiddles (4 KB at N = 1024), computed once in double
// by the constructor, and works in place on split real / imaginary arrays. benchmarks/bench_spectral.cpp
// times it beside Eigen's FFT of the same size.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>

namespace ppghr {

template <int N>
class RadixTwoFft {
  static_assert(N >= 2 && (N & (N - 1)) == 0, "RadixTwoFft: N must be a power of two");

 public:
  static constexpr int size = N;

  RadixTwoFft() noexcept {
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    for (int k = 0; k < N / 2; ++k) {
      const double a = kTwoPi * double(k) / double(N);
      cos_[k] = static_cast<float>(std::cos(a));
      sin_[k] = static_cast<float>(std::sin(a));
    }
  }

  /// In place: (re, im) <- sum_n (re[n] + i im[n]) exp(-2 pi i k n / N), k = 0..N-1.
  void forward(float* re, float* im) const noexcept {
    // Bit-reversal permutation.
    for (int i = 1, j = 0; i < N; ++i) {
      int bit = N >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) {
        const float tr = re[i], ti = im[i];
        re[i] = re[j];
        im[i] = im[j];
        re[j] = tr;
        im[j] = ti;
      }
    }
    // Butterflies, decimation in time.
    for (int len = 2; len <= N; len <<= 1) {
      const int half = len >> 1;
      const int step = N / len;
      for (int start = 0; start < N; start += len) {
        for (int k = 0; k < half; ++k) {
          const float wr = cos_[k * step], wi = -sin_[k * step];
          const int a = start + k, b = a + half;
          const float xr = re[b] * wr - im[b] * wi;
          const float xi = re[b] * wi + im[b] * wr;
          re[b] = re[a] - xr;
          im[b] = im[a] - xi;
          re[a] += xr;
          im[a] += xi;
        }
      }
    }
  }

 private:
  std::array<float, N / 2> cos_{};
  std::array<float, N / 2> sin_{};
};

}  // namespace ppghr

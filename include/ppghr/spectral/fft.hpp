// ppghr/spectral/fft.hpp - a fixed-size radix-2 complex FFT: no heap, no exceptions.
//
// Why not Eigen's FFT module (already a dependency): its kissfft back end keeps its plans and
// scratch in std::vector / std::map, allocated on the first transform of each size, which neither
// the no-heap rule of include/ nor the heap-less Cortex-M4 build (scripts/mcu.sh) accepts. This one
// holds everything in the object and works in place on split real / imaginary arrays.
//
// Layout, for speed: the twiddles of every stage are stored contiguously (stage with half-length h
// at [h, 2h): exp(-2 pi i k / 2h), k < h), so the butterfly loops read them with unit stride and
// vectorise; the bit-reversal permutation is a table of the swapped pairs; two radix-2 stages are
// done per pass over the data. These are the same butterflies in the same order, so forward()'s
// result is bit for bit that of the plain radix-2 loop (and within 1.5e-7 of max |X| of a double DFT,
// tests/test_spectral.cpp); only loads, stores and index arithmetic are saved. forward_padded() is
// for zero-padded input (at most N / 4 samples, as the spectral estimator's 200 in 1024): the caller
// writes the input in bit-reversed order, and the first two stages become copies; same result.
// Memory: 2 N floats of twiddles, computed once in double by the constructor (N / 2 sin + N / 2
// cos) into the object, except at N = 1024 (the spectral estimator's size): there they are the
// constants of fft_tables.hpp (8 KiB of read-only memory, flash on a microcontroller; the object
// is then empty); + (N - 2^ceil(log2(N) / 2)) uint16 of swaps, a compile-time constant (1,984 B at
// N = 1024), read-only too.
// Cost, N = 1024, complex, one core (benchmarks/bench_spectral.cpp BM_fft, Release, SSE2, loaded
// 2-core x86-64, CPU time, median of 5): forward() 4.4 us (the plain radix-2 loop with strided
// twiddles: 8.1-8.9 us), Eigen's FFT (kissfft) 12.1 us; forward_padded() on 200 samples ~2.1 us
// (timed apart, with its input's scatter).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "ppghr/spectral/fft_tables.hpp"

// The butterfly loop's four streams are disjoint (GCC does not vectorise it otherwise).
#if defined(__clang__)
#define PPGHR_FFT_INDEPENDENT _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define PPGHR_FFT_INDEPENDENT _Pragma("GCC ivdep")
#else
#define PPGHR_FFT_INDEPENDENT
#endif

namespace ppghr {

template <int N>
class RadixTwoFft {
  static_assert(N >= 2 && (N & (N - 1)) == 0, "RadixTwoFft: N must be a power of two");
  static_assert(N <= 65536, "RadixTwoFft: N must be at most 65536 (16-bit permutation table)");

 public:
  static constexpr int size = N;

  RadixTwoFft() noexcept = default;

  /// Stage h's twiddles at [h, 2h): exp(-2 pi i k / 2h) = (re[k], im[k]), k < h; entry 0 = (1, 0).
  /// Computed in double, rounded to float32 (the same argument for every stage: the values are
  /// (N / 2h)-strided from one table of N / 2). fft_tables.hpp holds N = 1024's as constants.
  static void twiddles(float* re, float* im) noexcept {
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    re[0] = 1.f;
    im[0] = 0.f;
    for (int k = 0; k < N / 2; ++k) {
      const double a = kTwoPi * double(k) / double(N);
      const float c = static_cast<float>(std::cos(a)), s = static_cast<float>(std::sin(a));
      for (int h = N / 2; h >= 1; h >>= 1) {
        const int stride = N / (2 * h);
        if (k % stride != 0) break;
        re[h + k / stride] = c;
        im[h + k / stride] = -s;
      }
    }
  }

  /// In place: (re, im) <- sum_n (re[n] + i im[n]) exp(-2 pi i k n / N), k = 0..N-1.
  void forward(float* re, float* im) const noexcept {
    for (int p = 0; p < kSwaps; p += 2) {  // the bit-reversal permutation
      const int i = kSwapTable[std::size_t(p)], j = kSwapTable[std::size_t(p) + 1];
      const float tr = re[i], ti = im[i];
      re[i] = re[j];
      im[i] = im[j];
      re[j] = tr;
      im[j] = ti;
    }
    int h = 1;
    if ((log2n() & 1) != 0) {  // an odd number of stages: one radix-2 stage (twiddle 1) first
      for (int a = 0; a < N; a += 2) {
        const float xr = re[a + 1], xi = im[a + 1];
        re[a + 1] = re[a] - xr;
        im[a + 1] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
      h = 2;
    }
    for (; h < N; h <<= 2) two_stages(re, im, h);
  }

  /// Index n's place in the bit-reversed order: forward_padded() takes x[n] at re[bit_reverse(n)].
  [[nodiscard]] static constexpr int bit_reverse(int n) noexcept {
    int r = 0;
    for (int b = 1; b < N; b <<= 1) r = (r << 1) | ((n & b) != 0 ? 1 : 0);
    return r;
  }

  /// forward() of a zero-padded input of at most N / 4 samples (x[n] = 0 for n >= N / 4), given
  /// already in bit-reversed order: x[n] at re[bit_reverse(n)] (im likewise), which for n < N / 4 are
  /// the multiples of 4; only those entries are read (0 where x[n] = 0), the others are overwritten.
  /// The same result as forward() (the same butterflies), less the permutation and the first two
  /// stages, whose butterflies only copy when three of every four inputs are 0.
  void forward_padded(float* re, float* im) const noexcept {
    static_assert(N >= 4, "RadixTwoFft::forward_padded: N >= 4");
    for (int a = 0; a < N; a += 4) {  // bit_reverse(n) = 0 mod 4 for n < N / 4: the only nonzero ones
      re[a + 1] = re[a + 2] = re[a + 3] = re[a];
      im[a + 1] = im[a + 2] = im[a + 3] = im[a];
    }
    int h = 4;
    if ((log2n() & 1) != 0 && h < N) {  // an odd number of stages left: one radix-2 stage first
      one_stage(re, im, h);
      h <<= 1;
    }
    for (; h < N; h <<= 2) two_stages(re, im, h);
  }

 private:
  static constexpr int log2n() noexcept {
    int l = 0;
    while ((1 << l) < N) ++l;
    return l;
  }
  // Indices i < rev(i) in pairs: N - 2^ceil(log2(N) / 2) of them (rev(i) = i for the others).
  static constexpr int kSwaps = N - (1 << ((log2n() + 1) / 2));
  static constexpr std::array<std::uint16_t, kSwaps> swap_table() noexcept {
    std::array<std::uint16_t, kSwaps> t{};
    int p = 0;
    for (int i = 0, j = 0; i < N; ++i) {
      if (i < j) {
        t[std::size_t(p++)] = static_cast<std::uint16_t>(i);
        t[std::size_t(p++)] = static_cast<std::uint16_t>(j);
      }
      int bit = N >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
    }
    return t;
  }
  // (i, rev(i)) for every i < rev(i): a constant (read-only memory)
  static constexpr std::array<std::uint16_t, kSwaps> kSwapTable = swap_table();

  // The twiddles: computed into the object, or N = 1024's constants (fft_tables.hpp).
  struct Computed {
    std::array<float, N> re{}, im{};
    Computed() noexcept { twiddles(re.data(), im.data()); }
    const float* r() const noexcept { return re.data(); }
    const float* i() const noexcept { return im.data(); }
  };
  struct Constant {
    static const float* r() noexcept { return fft_tables::kRe; }
    static const float* i() noexcept { return fft_tables::kIm; }
  };
  using Twiddles = std::conditional_t<N == fft_tables::kSize, Constant, Computed>;

  // The radix-2 stage of half-length h.
  void one_stage(float* re, float* im, int h) const noexcept {
    const float* wr = tw_.r() + h;
    const float* wi = tw_.i() + h;
    for (int s = 0; s < N; s += 2 * h) {
      float* r0 = re + s;
      float* i0 = im + s;
      float* r1 = re + s + h;
      float* i1 = im + s + h;
      PPGHR_FFT_INDEPENDENT
      for (int k = 0; k < h; ++k) {
        const float xr = r1[k] * wr[k] - i1[k] * wi[k], xi = r1[k] * wi[k] + i1[k] * wr[k];
        r1[k] = r0[k] - xr;
        i1[k] = i0[k] - xi;
        r0[k] += xr;
        i0[k] += xi;
      }
    }
  }

  // The radix-2 stages of half-length h and 2h in one pass: per group of 4h points and k < h, the
  // points k, k + h, k + 2h, k + 3h.
  void two_stages(float* re, float* im, int h) const noexcept {
    const float* w1r = tw_.r() + h;
    const float* w1i = tw_.i() + h;
    const float* w2r = tw_.r() + 2 * h;
    const float* w2i = tw_.i() + 2 * h;
    const float* w3r = tw_.r() + 3 * h;
    const float* w3i = tw_.i() + 3 * h;
    for (int s = 0; s < N; s += 4 * h) {
      float* r0 = re + s;
      float* i0 = im + s;
      float* r1 = re + s + h;
      float* i1 = im + s + h;
      float* r2 = re + s + 2 * h;
      float* i2 = im + s + 2 * h;
      float* r3 = re + s + 3 * h;
      float* i3 = im + s + 3 * h;
      PPGHR_FFT_INDEPENDENT
      for (int k = 0; k < h; ++k) {
        // Stage h: (0, 1) and (2, 3), twiddle w1[k].
        const float ar = w1r[k], ai = w1i[k];
        float xr = r1[k] * ar - i1[k] * ai, xi = r1[k] * ai + i1[k] * ar;
        const float b1r = r0[k] - xr, b1i = i0[k] - xi, b0r = r0[k] + xr, b0i = i0[k] + xi;
        xr = r3[k] * ar - i3[k] * ai;
        xi = r3[k] * ai + i3[k] * ar;
        const float b3r = r2[k] - xr, b3i = i2[k] - xi, b2r = r2[k] + xr, b2i = i2[k] + xi;
        // Stage 2h: (0, 2) with w2[k], (1, 3) with w2[k + h].
        xr = b2r * w2r[k] - b2i * w2i[k];
        xi = b2r * w2i[k] + b2i * w2r[k];
        r2[k] = b0r - xr;
        i2[k] = b0i - xi;
        r0[k] = b0r + xr;
        i0[k] = b0i + xi;
        xr = b3r * w3r[k] - b3i * w3i[k];
        xi = b3r * w3i[k] + b3i * w3r[k];
        r3[k] = b1r - xr;
        i3[k] = b1i - xi;
        r1[k] = b1r + xr;
        i1[k] = b1i + xi;
      }
    }
  }

  Twiddles tw_{};
};

}  // namespace ppghr

// ppghr/layers/pooling.hpp - max pooling, average pooling, global average pooling.
// Layout [Length][Channels] in and out.
#pragma once

#include <array>
#include <cstddef>
#include <limits>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"

namespace ppghr {

/// What a padded position holds in max pooling. PyTorch's MaxPool1d pads with -inf; the ResNet's
/// shortcut pads ONE ZERO on the right first (F.pad) and then max-pools (networks.md).
enum class PadValue : std::uint32_t { zero = 0, neg_inf = 1 };

namespace reference {

template <class T>
void maxpool1d(const T* x, int channels, int lin, int k, int s, int pad_l, int pad_r, PadValue pv, T* y) noexcept {
  const int lout = (lin + pad_l + pad_r - k) / s + 1;
  const T pad = pv == PadValue::zero ? T(0) : -std::numeric_limits<T>::infinity();
  for (int t = 0; t < lout; ++t)
    for (int c = 0; c < channels; ++c) {
      T m = -std::numeric_limits<T>::infinity();
      for (int j = 0; j < k; ++j) {
        const int ti = t * s + j - pad_l;
        const T v = (ti < 0 || ti >= lin) ? pad : x[ti * channels + c];
        if (v > m) m = v;
      }
      y[t * channels + c] = m;
    }
}

template <class T>
void avgpool1d(const T* x, int channels, int lin, int k, int s, T* y) noexcept {
  const int lout = (lin - k) / s + 1;
  for (int t = 0; t < lout; ++t)
    for (int c = 0; c < channels; ++c) {
      double acc = 0;
      for (int j = 0; j < k; ++j) acc += x[(t * s + j) * channels + c];
      y[t * channels + c] = static_cast<T>(acc / k);
    }
}

template <class T>
void global_avg_pool(const T* x, int channels, int length, T* y) noexcept {
  for (int c = 0; c < channels; ++c) {
    double acc = 0;
    for (int t = 0; t < length; ++t) acc += x[t * channels + c];
    y[c] = static_cast<T>(acc / length);
  }
}

}  // namespace reference

/// nn.MaxPool1d(Kernel, Stride) after padding PadL / PadR positions holding `Pad`.
template <class T, int Channels, int LIn, int Kernel, int Stride, int PadL = 0, int PadR = 0,
          PadValue Pad = PadValue::neg_inf>
class MaxPool1d {
  static_assert(Channels > 0 && LIn > 0, "MaxPool1d: channels and length must be positive");
  static_assert(Kernel > 0 && Stride > 0, "MaxPool1d: kernel and stride must be positive");
  static_assert(PadL >= 0 && PadR >= 0 && PadL < Kernel && PadR < Kernel,
                "MaxPool1d: padding must be in [0, kernel)");
  static_assert(LIn + PadL + PadR >= Kernel, "MaxPool1d: kernel longer than the padded input");

 public:
  static constexpr int channels = Channels, in_length = LIn;
  static constexpr int out_length = (LIn + PadL + PadR - Kernel) / Stride + 1;
  static constexpr std::size_t param_count = 0;
  static constexpr auto descriptor() noexcept {
    return detail::words(Op::maxpool1d, Channels, LIn, out_length, Kernel, Stride, PadL, PadR, Pad);
  }

  /// Value of output (t, c); x: [LIn][Channels].
  static PPGHR_ALWAYS_INLINE T at(const T* x, int t, int c) noexcept {
    const T pad = Pad == PadValue::zero ? T(0) : -std::numeric_limits<T>::infinity();
    T m = -std::numeric_limits<T>::infinity();
    for (int j = 0; j < Kernel; ++j) {
      const int ti = t * Stride + j - PadL;
      const T v = (ti < 0 || ti >= LIn) ? pad : x[std::size_t(ti) * Channels + c];
      m = v > m ? v : m;
    }
    return m;
  }
  void forward(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y) const noexcept {
    for (int t = 0; t < out_length; ++t)
      for (int c = 0; c < Channels; ++c) y[std::size_t(t) * Channels + c] = at(x, t, c);
  }
};

/// nn.AvgPool1d(Kernel, Stride), no padding.
template <class T, int Channels, int LIn, int Kernel, int Stride = Kernel>
class AvgPool1d {
  static_assert(Channels > 0 && LIn > 0, "AvgPool1d: channels and length must be positive");
  static_assert(Kernel > 0 && Stride > 0 && Kernel <= LIn, "AvgPool1d: need 0 < kernel <= length, stride > 0");

 public:
  static constexpr int channels = Channels, in_length = LIn;
  static constexpr int out_length = (LIn - Kernel) / Stride + 1;
  static constexpr std::size_t param_count = 0;
  static constexpr auto descriptor() noexcept {
    return detail::words(Op::avgpool1d, Channels, LIn, out_length, Kernel, Stride);
  }
  void forward(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y) const noexcept {
    constexpr T inv = T(1) / T(Kernel);
    for (int t = 0; t < out_length; ++t) {
      T* yt = y + std::size_t(t) * Channels;
      for (int c = 0; c < Channels; ++c) yt[c] = T(0);
      for (int j = 0; j < Kernel; ++j) {
        const T* xt = x + std::size_t(t * Stride + j) * Channels;
        for (int c = 0; c < Channels; ++c) yt[c] += xt[c];
      }
      for (int c = 0; c < Channels; ++c) yt[c] *= inv;
    }
  }
};

/// Mean over time: [Length][Channels] -> [Channels].
template <class T, int Channels, int Length>
class GlobalAvgPool {
  static_assert(Channels > 0 && Length > 0, "GlobalAvgPool: channels and length must be positive");

 public:
  static constexpr int channels = Channels, in_length = Length;
  static constexpr std::size_t param_count = 0;
  static constexpr std::size_t in_size = std::size_t(Channels) * Length, out_size = Channels;
  static constexpr auto descriptor() noexcept { return detail::words(Op::global_avg_pool, Channels, Length); }
  void forward(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y) const noexcept {
    for (int c = 0; c < Channels; ++c) y[c] = T(0);
    for (int t = 0; t < Length; ++t)
      for (int c = 0; c < Channels; ++c) y[c] += x[std::size_t(t) * Channels + c];
    constexpr T inv = T(1) / T(Length);
    for (int c = 0; c < Channels; ++c) y[c] *= inv;
  }
};

}  // namespace ppghr

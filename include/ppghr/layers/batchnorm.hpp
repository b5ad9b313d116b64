// ppghr/layers/batchnorm.hpp - BatchNorm at inference.
//
// Where a BatchNorm follows a conv it is folded into that conv's weight and bias (fold_batchnorm,
// done by the exporter in float64, and available here for weights built in C++). Where it cannot
// be folded (the pre-activation BNs: BN -> ReLU -> conv, and the head's BN -> ReLU -> mean) it
// runs as a per-channel affine y = act(x * scale + shift), with scale = gamma / sqrt(var + eps)
// and shift = beta - mean * scale. Layout [Length][Channels].
#pragma once

#include <array>
#include <cmath>
#include <cstddef>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/storage.hpp"
#include "ppghr/core/tensor.hpp"

namespace ppghr {

inline constexpr double kBatchNormEps = 1e-5;

/// Folds BN(gamma, beta, mean, var) into a preceding conv whose weight is in PyTorch order
/// [cout][fan_in] (fan_in = cin/groups * kernel); all arrays are modified in place.
template <class T>
void fold_batchnorm(T* weight, T* bias, int cout, int fan_in, const T* gamma, const T* beta, const T* mean,
                    const T* var, double eps = kBatchNormEps) noexcept {
  for (int o = 0; o < cout; ++o) {
    const double s = static_cast<double>(gamma[o]) / std::sqrt(static_cast<double>(var[o]) + eps);
    for (int i = 0; i < fan_in; ++i) weight[o * fan_in + i] = static_cast<T>(weight[o * fan_in + i] * s);
    bias[o] = static_cast<T>((static_cast<double>(bias[o]) - mean[o]) * s + beta[o]);
  }
}

/// The affine of an unfoldable BN: scale and shift from its statistics.
template <class T>
void batchnorm_to_affine(int channels, const T* gamma, const T* beta, const T* mean, const T* var, T* scale,
                         T* shift, double eps = kBatchNormEps) noexcept {
  for (int c = 0; c < channels; ++c) {
    const double s = static_cast<double>(gamma[c]) / std::sqrt(static_cast<double>(var[c]) + eps);
    scale[c] = static_cast<T>(s);
    shift[c] = static_cast<T>(beta[c] - mean[c] * s);
  }
}

namespace reference {

/// Naive BatchNorm from its statistics, the oracle for both fold_batchnorm and BatchNormAffine.
template <class T>
void batchnorm(const T* x, int channels, int length, const T* gamma, const T* beta, const T* mean, const T* var,
               Act act, T* y, double eps = kBatchNormEps) noexcept {
  for (int t = 0; t < length; ++t)
    for (int c = 0; c < channels; ++c) {
      const double v = (x[t * channels + c] - static_cast<double>(mean[c])) /
                           std::sqrt(static_cast<double>(var[c]) + eps) * gamma[c] + beta[c];
      y[t * channels + c] = static_cast<T>(act == Act::relu && v < 0 ? 0.0 : v);
    }
}

}  // namespace reference

/// Unfoldable BatchNorm as a per-channel affine, optionally followed by ReLU. Works in place.
template <class T, int Channels, int Length, Act Activation = Act::none, class S = Owned>
class BatchNormAffine {
  static_assert(Channels > 0 && Length > 0, "BatchNormAffine: channels and length must be positive");

 public:
  static constexpr int channels = Channels;
  static constexpr int length = Length;
  static constexpr std::size_t param_count = 2 * std::size_t(Channels);
  static constexpr std::size_t size = std::size_t(Channels) * Length;
  static constexpr std::size_t in_size = size, out_size = size;

  static constexpr auto descriptor() noexcept { return detail::words(Op::affine, Channels, Length, Activation); }

  Param<T, Channels, S> scale{};
  Param<T, Channels, S> shift{};

  template <class V>
  void visit_tensors(V& v, const TensorName& prefix) noexcept {
    visit_param(v, TensorSpec(prefix.plus(".scale"), {Channels}), scale);
    visit_param(v, TensorSpec(prefix.plus(".shift"), {Channels}), shift);
  }

  /// y = act(x * scale + shift); x: [Length][Channels]; y may equal x.
  void forward(const T* x, T* y) const noexcept {
    for (int t = 0; t < Length; ++t) {
      const T* xt = x + std::size_t(t) * Channels;
      T* yt = y + std::size_t(t) * Channels;
      for (int c = 0; c < Channels; ++c) {
        T v = xt[c] * scale[c] + shift[c];
        if constexpr (Activation == Act::relu) v = v < T(0) ? T(0) : v;
        yt[c] = v;
      }
    }
  }
};

}  // namespace ppghr

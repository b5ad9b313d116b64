// ppghr/layers/layer_norm.hpp - LayerNorm over the last dimension (PyTorch nn.LayerNorm(Features)):
// for each of Tokens rows, y = (x - mean) / sqrt(var + eps) * weight + bias, biased variance,
// eps = 1e-5. Layout [Tokens][Features], features contiguous.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/storage.hpp"
#include "ppghr/core/tensor.hpp"

namespace ppghr {

inline constexpr double kLayerNormEps = 1e-5;

namespace reference {

/// Naive LayerNorm in double; x, y: [tokens][features]; w, b: [features].
template <class T>
void layer_norm(const T* x, int tokens, int features, const T* w, const T* b, T* y,
                double eps = kLayerNormEps) noexcept {
  for (int i = 0; i < tokens; ++i) {
    const T* xi = x + std::size_t(i) * features;
    double mean = 0, var = 0;
    for (int f = 0; f < features; ++f) mean += xi[f];
    mean /= features;
    for (int f = 0; f < features; ++f) var += (xi[f] - mean) * (xi[f] - mean);
    var /= features;
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int f = 0; f < features; ++f)
      y[std::size_t(i) * features + f] = static_cast<T>((xi[f] - mean) * inv * w[f] + b[f]);
  }
}

}  // namespace reference

template <class T, int Tokens, int Features, class S = Owned>
class LayerNorm {
  static_assert(Tokens > 0 && Features > 0, "LayerNorm: the token and feature counts must be positive");

 public:
  static constexpr int tokens = Tokens, features = Features;
  static constexpr std::size_t param_count = 2 * std::size_t(Features);
  static constexpr std::size_t size = std::size_t(Tokens) * Features;
  static constexpr std::size_t in_size = size, out_size = size;
  static constexpr auto descriptor() noexcept { return detail::words(Op::layer_norm, Tokens, Features); }

  Param<T, Features, S> weight{};
  Param<T, Features, S> bias{};

  template <class V>
  void visit_tensors(V& v, const TensorName& prefix) noexcept {
    visit_param(v, TensorSpec(prefix.plus(".weight"), {Features}), weight);
    visit_param(v, TensorSpec(prefix.plus(".bias"), {Features}), bias);
  }

  /// x, y: [Tokens][Features]; y may equal x. Two passes per token (mean, then the centred
  /// variance), so a large common offset costs no precision.
  void forward(const T* x, T* y) const noexcept {
    constexpr T inv_n = T(1) / T(Features);
    for (int i = 0; i < Tokens; ++i) {
      const T* xi = x + std::size_t(i) * Features;
      T* yi = y + std::size_t(i) * Features;
      T mean = T(0);
      for (int f = 0; f < Features; ++f) mean += xi[f];
      mean *= inv_n;
      T var = T(0);
      for (int f = 0; f < Features; ++f) var += (xi[f] - mean) * (xi[f] - mean);
      var *= inv_n;
      const T inv = T(1) / std::sqrt(var + static_cast<T>(kLayerNormEps));
      for (int f = 0; f < Features; ++f) yi[f] = (xi[f] - mean) * inv * weight[f] + bias[f];
    }
  }
};

}  // namespace ppghr

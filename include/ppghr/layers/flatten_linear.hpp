// ppghr/layers/flatten_linear.hpp - nn.Flatten() followed by nn.Linear on a [channels][length]
// PyTorch tensor, run on the library's time-major activation [Length][Channels].
//
// PyTorch flattens channel-major (feature index c * Length + t); the activation here is
// time-major (index t * Channels + c). Rather than transposing the activation on every call, the
// layer permutes the weight's columns once, at load: it stores W'[o][t * Channels + c] =
// W[o][c * Length + t], so forward() is a plain Linear on the activation as it lies. The blob
// tensor is the PyTorch weight [Out][Channels * Length], unchanged; the descriptor is LINEAR's.
#pragma once

#include <cstddef>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/storage.hpp"
#include "ppghr/core/tensor.hpp"
#include "ppghr/layers/linear.hpp"

namespace ppghr {

template <class T, int Channels, int Length, int Out, Act Activation = Act::none, class S = Owned>
class FlattenLinear {
  static_assert(Channels > 0 && Length > 0, "FlattenLinear: channels and length must be positive");

 public:
  using Dense = Linear<T, Channels * Length, Out, Activation, S>;
  static constexpr int channels = Channels, length = Length;
  static constexpr int in_features = Channels * Length, out_features = Out;
  static constexpr std::size_t param_count = Dense::param_count;
  static constexpr std::size_t in_size = std::size_t(Channels) * Length, out_size = Out;
  static constexpr std::size_t macs = Dense::macs;
  static constexpr auto descriptor() noexcept { return Dense::descriptor(); }

  /// The Linear, its weight columns in the activation's order (t * Channels + c).
  Dense dense;

  /// Sets the weight from PyTorch order [Out][Channels * Length] (column c * Length + t).
  template <class Src>
  void set_weight(const Src& w) noexcept {
    for (int o = 0; o < Out; ++o)
      for (int c = 0; c < Channels; ++c)
        for (int t = 0; t < Length; ++t)
          dense.weight[std::size_t(o) * in_features + std::size_t(t) * Channels + c] =
              static_cast<T>(w[std::size_t(o) * in_features + std::size_t(c) * Length + t]);
  }
  /// The weight back in PyTorch order, element (o, c * Length + t).
  [[nodiscard]] T torch_weight(int o, int c, int t) const noexcept {
    return dense.weight[std::size_t(o) * in_features + std::size_t(t) * Channels + c];
  }

  template <class V>
  void visit_tensors(V& v, const TensorName& prefix) noexcept {
    visit_param(v, TensorSpec(prefix.plus(".weight"), {Out, in_features}), dense.weight,
                [this](const auto& s) { this->set_weight(s); });
    visit_param(v, TensorSpec(prefix.plus(".bias"), {Out}), dense.bias);
  }

  /// x: [Length][Channels] (time-major), y: [Out]; must not overlap.
  void forward(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y) const noexcept { dense.forward(x, y); }
};

}  // namespace ppghr

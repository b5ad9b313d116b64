// ppghr/layers/linear.hpp - fully connected layer (PyTorch nn.Linear), optional fused ReLU.
// Weight [Out][In] row-major (PyTorch order, also the stored order); y = act(W x + b).
// The fast path is Eigen's matrix-vector product on fixed-size maps (no allocation).
#pragma once

#include <array>
#include <cstddef>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/storage.hpp"
#include "ppghr/core/tensor.hpp"

#if !defined(PPGHR_NO_EIGEN)
#include <Eigen/Core>
#endif

namespace ppghr {

namespace reference {
template <class T>
void linear(const T* x, int in, const T* w, const T* b, int out, Act act, T* y) noexcept {
  for (int o = 0; o < out; ++o) {
    T acc = b[o];
    for (int i = 0; i < in; ++i) acc += w[o * in + i] * x[i];
    y[o] = (act == Act::relu && acc < T(0)) ? T(0) : acc;
  }
}
}  // namespace reference

template <class T, int In, int Out, Act Activation = Act::none, class S = Owned>
class Linear {
  static_assert(In > 0 && Out > 0, "Linear: feature counts must be positive");

 public:
  static constexpr int in_features = In, out_features = Out;
  static constexpr std::size_t param_count = std::size_t(In) * Out + Out;
  static constexpr std::size_t in_size = In, out_size = Out;
  static constexpr std::size_t macs = std::size_t(In) * Out;
  static constexpr auto descriptor() noexcept { return detail::words(Op::linear, In, Out, Activation); }

  Param<T, std::size_t(In) * Out, S> weight{};
  Param<T, Out, S> bias{};

  template <class V>
  void visit_tensors(V& v, const TensorName& prefix) noexcept {
    visit_param(v, TensorSpec(prefix.plus(".weight"), {Out, In}), weight);
    visit_param(v, TensorSpec(prefix.plus(".bias"), {Out}), bias);
  }

  /// x: [In], y: [Out]; must not overlap.
  void forward(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y) const noexcept {
#if !defined(PPGHR_NO_EIGEN)
    if constexpr (In < 8 || Out < 8) {  // too small for a GEMV kernel to pay off
      reference::linear(x, In, weight.data(), bias.data(), Out, Activation, y);
      return;
    }
    // Runtime-sized maps: Eigen's fixed-size GEMV trips GCC 12's loop-bound analysis (a false
    // -Waggressive-loop-optimizations inside Eigen) and is not faster at these sizes.
    using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
    Eigen::Map<const Mat, Eigen::Aligned16> w(weight.data(), Out, In);
    Eigen::Map<const Vec> xv(x, In);
    Eigen::Map<const Vec, Eigen::Aligned16> bv(bias.data(), Out);
    Eigen::Map<Vec> yv(y, Out);
    yv.noalias() = bv;
    yv.noalias() += w * xv;
    if constexpr (Activation == Act::relu) yv = yv.cwiseMax(T(0));
#else
    reference::linear(x, In, weight.data(), bias.data(), Out, Activation, y);
#endif
  }
};

}  // namespace ppghr

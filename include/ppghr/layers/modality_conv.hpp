// ppghr/layers/modality_conv.hpp - modality-wise convolution: a kernel spanning all rows x 1 time
// step that fuses the rows (PyTorch nn.Conv2d with kernel (Rows, 1), no padding, on
// [channels][rows][time]; the PULSE student's conv4, networks.md section 3):
//     y[o][t] = b[o] + sum over c, h of w[o][c][h][0] * x[c][h][t].
//
// Layout: input [Rows][Length][CIn] (as row_conv.hpp), output [Length][COut] (the library's 1-D
// layout). The blob holds the weight in PyTorch order [COut][CIn][Rows][1]; the layer stores it
// repacked as [Rows][CIn][COut] so the output channels are contiguous (Conv1d's packed order, the
// rows as the taps: forward() is Conv1d's scalar register tile).
#pragma once

#include <array>
#include <cstddef>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/storage.hpp"
#include "ppghr/core/tensor.hpp"
#include "ppghr/layers/conv1d.hpp"

namespace ppghr {

namespace reference {

/// Naive modality-wise conv. x: [rows][length][cin]; w: PyTorch order [cout][cin][rows][1];
/// b: [cout]; y: [length][cout].
template <class T>
void modality_conv(const T* x, int rows, int cin, int length, const T* w, const T* b, int cout, Act act,
                   T* y) noexcept {
  for (int t = 0; t < length; ++t)
    for (int o = 0; o < cout; ++o) {
      T acc = b[o];
      for (int c = 0; c < cin; ++c)
        for (int h = 0; h < rows; ++h)
          acc += w[(std::size_t(o) * cin + c) * rows + h] * x[(std::size_t(h) * length + t) * cin + c];
      if (act == Act::relu && acc < T(0)) acc = T(0);
      y[std::size_t(t) * cout + o] = acc;
    }
}

}  // namespace reference

template <class T, int CIn, int COut, int Rows, int Length, Act Activation = Act::none, class S = Owned>
class ModalityConv {
  static_assert(CIn > 0 && COut > 0, "ModalityConv: channel counts must be positive");
  static_assert(Rows > 0 && Length > 0, "ModalityConv: the row count and the length must be positive");

 public:
  using value_type = T;
  static constexpr int in_channels = CIn, out_channels = COut, rows = Rows, length = Length;
  static constexpr std::size_t weight_count = std::size_t(COut) * CIn * Rows;
  static constexpr std::size_t param_count = weight_count + COut;
  static constexpr std::size_t in_size = std::size_t(Rows) * Length * CIn;
  static constexpr std::size_t out_size = std::size_t(Length) * COut;
  static constexpr std::size_t macs = std::size_t(Length) * COut * CIn * Rows;

  static constexpr auto descriptor() noexcept {
    return detail::words(Op::modality_conv, CIn, COut, Rows, Length, Activation);
  }

  /// Weights in the layer's packed order [Rows][CIn][COut].
  Param<T, weight_count, S> weight{};
  Param<T, COut, S> bias{};

  /// Sets the weight from PyTorch order [COut][CIn][Rows][1] (any indexable source).
  template <class Src>
  void set_weight(const Src& w) noexcept {
    for (int o = 0; o < COut; ++o)
      for (int c = 0; c < CIn; ++c)
        for (int h = 0; h < Rows; ++h)
          weight[packed_index(h, c, o)] = static_cast<T>(w[(std::size_t(o) * CIn + c) * Rows + h]);
  }
  template <class Src>
  void set_bias(const Src& b) noexcept {
    for (int o = 0; o < COut; ++o) bias[o] = static_cast<T>(b[o]);
  }
  /// The weight back in PyTorch order, element (o, c, h, 0).
  [[nodiscard]] T torch_weight(int o, int c, int h) const noexcept { return weight[packed_index(h, c, o)]; }

  template <class V>
  void visit_tensors(V& v, const TensorName& prefix) noexcept {
    visit_param(v, TensorSpec(prefix.plus(".weight"), {COut, CIn, Rows, 1}), weight,
                [this](const auto& s) { this->set_weight(s); });
    visit_param(v, TensorSpec(prefix.plus(".bias"), {COut}), bias);
  }

  /// x: [Rows][Length][CIn], y: [Length][COut]; must not overlap.
  ///
  /// The packed weight [Rows][CIn][COut] is Conv1d's [Kernel][CIn][COut] with the rows as the
  /// taps (row h of step t sits Length * CIn values after row h - 1), so this is Conv1d's scalar
  /// register tile (layers/conv1d.hpp): TT steps x VB channels, the remaining steps 1 x VE.
  void forward(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y) const noexcept {
    constexpr detail::ScalarTilePlan plan = detail::scalar_tile_plan(COut, Length);
    constexpr int TT = plan.tt, VB = plan.vb, VE = plan.ve;
    constexpr std::ptrdiff_t row = std::ptrdiff_t(Length) * CIn;
    constexpr int mid_end = TT > 1 ? Length / TT * TT : 0;
    if constexpr (TT > 1) {
      using Tile = detail::ScalarTile<T, TT, VB, CIn, CIn, row, COut>;
      for (int t = 0; t < mid_end; t += TT)
        for (int ob = 0; ob < COut; ob += VB)
          Tile::run(x + std::size_t(t) * CIn, &weight[packed_index(0, 0, ob)], &bias[ob], Rows, Store{y, t, ob});
    }
    using Step = detail::ScalarTile<T, 1, VE, CIn, 0, row, COut>;
    for (int t = mid_end; t < Length; ++t)
      for (int ob = 0; ob < COut; ob += VE)
        Step::template run<true>(x + std::size_t(t) * CIn, &weight[packed_index(0, 0, ob)], &bias[ob], Rows,
                                 Store{y, t, ob});
  }

 private:
  static constexpr std::size_t packed_index(int h, int c, int o) noexcept {
    return (std::size_t(h) * CIn + c) * COut + o;
  }
  // Stores act(v) at step t0 + tt, channel o0 + v.
  struct Store {
    T* y;
    int t0, o0;
    PPGHR_ALWAYS_INLINE T* at(int tt, int v) const noexcept { return y + std::size_t(t0 + tt) * COut + o0 + v; }
    PPGHR_ALWAYS_INLINE void operator()(int tt, int v, T value) const noexcept {
      if constexpr (Activation == Act::relu) value = value < T(0) ? T(0) : value;
      *at(tt, v) = value;
    }
  };
};

}  // namespace ppghr

// ppghr/layers/row_conv.hpp - a 1-D convolution along time run over each of several input rows
// (modalities) with the same filters: PyTorch's nn.Conv2d with kernel (1, k) on a
// [channels][rows][time] tensor (the temporal convs of PULSE, networks.md sections 2 and 3).
//
// Layout: activations are [Rows][Length][Channels]: row r is an ordinary Conv1d input
// ([Length][Channels], channels contiguous), so the layer is the library's Conv1d run once per row
// with one set of weights. The blob holds the weight in PyTorch's Conv2d order
// [COut][CIn / Groups][1][Kernel] (the same flat order as a Conv1d weight [COut][CIn / Groups][Kernel]);
// Conv1d repacks it at load.
#pragma once

#include <cstddef>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/storage.hpp"
#include "ppghr/core/tensor.hpp"
#include "ppghr/layers/conv1d.hpp"

namespace ppghr {

namespace reference {

/// Naive (1 x k) convolution over every row, the oracle for RowConv1d. x: [rows][lin][cin];
/// w: PyTorch Conv2d order [cout][cin / groups][1][k]; b: [cout]; y: [rows][lout][cout].
template <class T>
void row_conv1d(const T* x, int rows, int cin, int lin, const T* w, const T* b, int cout, int k, int stride,
                int dilation, int pad_l, int pad_r, int groups, Act act, T* y) noexcept {
  const int lout = (lin + pad_l + pad_r - dilation * (k - 1) - 1) / stride + 1;
  const int cin_g = cin / groups, cout_g = cout / groups;
  for (int r = 0; r < rows; ++r) {
    const T* xr = x + std::size_t(r) * lin * cin;
    T* yr = y + std::size_t(r) * lout * cout;
    for (int t = 0; t < lout; ++t)
      for (int o = 0; o < cout; ++o) {
        const int g = o / cout_g;
        T acc = b[o];
        for (int c = 0; c < cin_g; ++c)
          for (int j = 0; j < k; ++j) {
            const int ti = t * stride + j * dilation - pad_l;
            if (ti < 0 || ti >= lin) continue;
            acc += w[(std::size_t(o) * cin_g + c) * k + j] * xr[std::size_t(ti) * cin + g * cin_g + c];
          }
        if (act == Act::relu && acc < T(0)) acc = T(0);
        yr[std::size_t(t) * cout + o] = acc;
      }
  }
}

}  // namespace reference

/// The same Conv1d<T, CIn, COut, LIn, Kernel, Stride, Dilation, PadL, PadR, Groups, Activation>
/// over each of Rows rows. Input [Rows][LIn][CIn], output [Rows][out_length][COut].
template <class T, int Rows, int CIn, int COut, int LIn, int Kernel, int Stride = 1, int Dilation = 1, int PadL = 0,
          int PadR = 0, int Groups = 1, Act Activation = Act::none, class S = Owned>
class RowConv1d {
  static_assert(Rows > 0, "RowConv1d: the row count must be positive");

 public:
  /// The per-row convolution (its own static_asserts check the shapes).
  using Conv = Conv1d<T, CIn, COut, LIn, Kernel, Stride, Dilation, PadL, PadR, Groups, Activation, S>;
  using value_type = T;
  static constexpr int rows = Rows;
  static constexpr int in_channels = CIn, out_channels = COut;
  static constexpr int in_length = LIn, out_length = Conv::out_length;
  static constexpr int kernel = Kernel, stride = Stride, dilation = Dilation, pad_left = PadL, pad_right = PadR,
                       groups = Groups;
  static constexpr std::size_t param_count = Conv::param_count;  // shared by the rows
  static constexpr std::size_t in_size = std::size_t(Rows) * Conv::in_size;
  static constexpr std::size_t out_size = std::size_t(Rows) * Conv::out_size;
  static constexpr std::size_t macs = std::size_t(Rows) * Conv::macs;

  static constexpr auto descriptor() noexcept {
    return detail::words(Op::row_conv, Rows, CIn, COut, LIn, out_length, Kernel, Stride, Dilation, PadL, PadR,
                         Groups, Activation);
  }

  Conv conv;

  template <class V>
  void visit_tensors(V& v, const TensorName& prefix) noexcept {
    visit_param(v, TensorSpec(prefix.plus(".weight"), {COut, CIn / Groups, 1, Kernel}), conv.weight,
                [this](const auto& s) { this->conv.set_weight(s); });
    visit_param(v, TensorSpec(prefix.plus(".bias"), {COut}), conv.bias);
  }

  /// y = act(conv(x) + bias) row by row. x: [Rows][LIn][CIn], y: [Rows][LOut][COut]; must not overlap.
  void forward(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y) const noexcept {
    for (int r = 0; r < Rows; ++r) conv.forward(x + std::size_t(r) * Conv::in_size, y + std::size_t(r) * Conv::out_size);
  }
};

}  // namespace ppghr

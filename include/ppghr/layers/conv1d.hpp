// ppghr/layers/conv1d.hpp - 1-D convolution (PyTorch nn.Conv1d), with bias, groups and a fused
// activation.
//
// Layout: activations are time-major, channels contiguous: x[t * channels + c]. Input [LIn][CIn],
// output [LOut][COut]. Zero padding of PadL / PadR samples. The blob holds the weight in PyTorch
// order [COut][CIn / Groups][Kernel]; the layer stores it repacked as
// [Groups][Kernel][CIn / Groups][COut / Groups] so the output channels are contiguous for SIMD.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/simd.hpp"
#include "ppghr/core/tensor.hpp"

namespace ppghr {

namespace reference {

/// Naive convolution, the oracle for Conv1d. x: [lin][cin]; w: PyTorch order
/// [cout][cin / groups][k]; b: [cout]; y: [lout][cout] with lout = conv1d_out_length(...).
template <class T>
void conv1d(const T* x, int cin, int lin, const T* w, const T* b, int cout, int k, int stride,
            int dilation, int pad_l, int pad_r, int groups, Act act, T* y) noexcept {
  const int lout = (lin + pad_l + pad_r - dilation * (k - 1) - 1) / stride + 1;
  const int cin_g = cin / groups, cout_g = cout / groups;
  for (int t = 0; t < lout; ++t) {
    for (int o = 0; o < cout; ++o) {
      const int g = o / cout_g;
      T acc = b[o];
      for (int c = 0; c < cin_g; ++c) {
        for (int j = 0; j < k; ++j) {
          const int ti = t * stride + j * dilation - pad_l;
          if (ti < 0 || ti >= lin) continue;
          acc += w[(o * cin_g + c) * k + j] * x[ti * cin + g * cin_g + c];
        }
      }
      if (act == Act::relu && acc < T(0)) acc = T(0);
      y[t * cout + o] = acc;
    }
  }
}

}  // namespace reference

/// PyTorch's "same" padding of networks.md: out = ceil(L / s), p = max(0, (out - 1) s + k - L),
/// left = p / 2, right = p - left.
struct SamePadding {
  int left, right, out;
  static constexpr SamePadding of(int length, int kernel, int stride, int dilation = 1) noexcept {
    const int out = (length + stride - 1) / stride;
    const int span = dilation * (kernel - 1) + 1;
    const int p0 = (out - 1) * stride + span - length;
    const int p = p0 > 0 ? p0 : 0;
    return SamePadding{p / 2, p - p / 2, out};
  }
};

template <class T, int CIn, int COut, int LIn, int Kernel, int Stride = 1, int Dilation = 1, int PadL = 0,
          int PadR = 0, int Groups = 1, Act Activation = Act::none>
class Conv1d {
  static_assert(CIn > 0 && COut > 0, "Conv1d: channel counts must be positive");
  static_assert(LIn > 0, "Conv1d: input length must be positive");
  static_assert(Kernel > 0 && Stride > 0 && Dilation > 0, "Conv1d: kernel, stride and dilation must be positive");
  static_assert(PadL >= 0 && PadR >= 0, "Conv1d: padding must not be negative");
  static_assert(Groups > 0 && CIn % Groups == 0 && COut % Groups == 0,
                "Conv1d: groups must divide both the input and the output channel counts");
  static_assert(LIn + PadL + PadR >= Dilation * (Kernel - 1) + 1,
                "Conv1d: the dilated kernel is longer than the padded input");

 public:
  using value_type = T;
  static constexpr int in_channels = CIn;
  static constexpr int out_channels = COut;
  static constexpr int in_length = LIn;
  static constexpr int out_length = (LIn + PadL + PadR - Dilation * (Kernel - 1) - 1) / Stride + 1;
  static constexpr int kernel = Kernel, stride = Stride, dilation = Dilation, pad_left = PadL,
                       pad_right = PadR, groups = Groups;
  static constexpr int cin_per_group = CIn / Groups;
  static constexpr int cout_per_group = COut / Groups;
  static constexpr std::size_t weight_count = std::size_t(COut) * cin_per_group * Kernel;
  static constexpr std::size_t param_count = weight_count + COut;
  static constexpr std::size_t in_size = std::size_t(LIn) * CIn;
  static constexpr std::size_t out_size = std::size_t(out_length) * COut;
  static constexpr std::size_t macs = std::size_t(out_length) * COut * cin_per_group * Kernel;

  static constexpr auto descriptor() noexcept {
    return detail::words(Op::conv1d, CIn, COut, LIn, out_length, Kernel, Stride, Dilation, PadL, PadR, Groups,
                         Activation);
  }

  /// Weights in the layer's packed order [Groups][Kernel][CIn/Groups][COut/Groups].
  alignas(kAlign) std::array<T, weight_count> weight{};
  alignas(kAlign) std::array<T, COut> bias{};

  /// Sets the weight from PyTorch order [COut][CIn/Groups][Kernel] (any indexable source).
  template <class Src>
  void set_weight(const Src& w) noexcept {
    for (int o = 0; o < COut; ++o) {
      const int g = o / cout_per_group, og = o % cout_per_group;
      for (int c = 0; c < cin_per_group; ++c)
        for (int j = 0; j < Kernel; ++j)
          weight[packed_index(g, j, c, og)] = static_cast<T>(w[(std::size_t(o) * cin_per_group + c) * Kernel + j]);
    }
  }
  template <class Src>
  void set_bias(const Src& b) noexcept {
    for (int o = 0; o < COut; ++o) bias[o] = static_cast<T>(b[o]);
  }
  /// The weight back in PyTorch order, element (o, c, j).
  [[nodiscard]] T torch_weight(int o, int c, int j) const noexcept {
    return weight[packed_index(o / cout_per_group, j, c, o % cout_per_group)];
  }

  template <class V>
  void visit_tensors(V& v, const TensorName& prefix) noexcept {
    v(TensorSpec(prefix.plus(".weight"), {COut, cin_per_group, Kernel}),
      [this](const TensorSource& s) { set_weight(s); });
    v(TensorSpec(prefix.plus(".bias"), {COut}), [this](const TensorSource& s) { set_bias(s); });
  }

  /// y = act(conv(x) + bias). x: [LIn][CIn], y: [LOut][COut]; must not overlap.
  void forward(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y) const noexcept {
#if PPGHR_HAS_SIMD
    if constexpr (Groups == 1 && COut % detail::simd_width<T> == 0) {
      forward_simd(x, y);
      return;
    }
#endif
    forward_scalar(x, y);
  }

  /// Plain loop over the packed weights (used when no SIMD path applies; also tested).
  void forward_scalar(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y) const noexcept {
    for (int t = 0; t < out_length; ++t) {
      T* yt = y + std::size_t(t) * COut;
      for (int o = 0; o < COut; ++o) yt[o] = bias[o];
      for (int g = 0; g < Groups; ++g) {
        for (int j = 0; j < Kernel; ++j) {
          const int ti = t * Stride + j * Dilation - PadL;
          if (ti < 0 || ti >= LIn) continue;
          const T* xt = x + std::size_t(ti) * CIn + g * cin_per_group;
          for (int c = 0; c < cin_per_group; ++c) {
            const T xv = xt[c];
            const T* w = &weight[packed_index(g, j, c, 0)];
            T* yg = yt + g * cout_per_group;
            for (int og = 0; og < cout_per_group; ++og) yg[og] += xv * w[og];
          }
        }
      }
      if constexpr (Activation == Act::relu)
        for (int o = 0; o < COut; ++o) yt[o] = yt[o] < T(0) ? T(0) : yt[o];
    }
  }

 private:
  static constexpr std::size_t packed_index(int g, int j, int c, int og) noexcept {
    return ((std::size_t(g) * Kernel + j) * cin_per_group + c) * cout_per_group + og;
  }

  // Output steps whose whole receptive field lies inside the input need no bounds checks.
  static constexpr int first_interior() noexcept {
    int t = 0;
    while (t < out_length && t * Stride - PadL < 0) ++t;
    return t;
  }
  static constexpr int end_interior() noexcept {
    int t = out_length;
    while (t > 0 && (t - 1) * Stride + (Kernel - 1) * Dilation - PadL >= LIn) --t;
    return t;
  }

#if PPGHR_HAS_SIMD
  using batch = detail::simd_batch<T>;
  static constexpr int W = detail::simd_width<T>;
  static constexpr int kVecs = COut / W;
  // Register tile: kTT output steps x kVB vectors of output channels.
  // 16 vector registers (SSE, AVX2, NEON): 4 x 2 accumulators; 32 (AVX-512): up to 4 x 4.
  static constexpr int kVB = (kVecs % 4 == 0 && W >= 16) ? 4 : (kVecs % 2 == 0 ? 2 : 1);
  static constexpr int kTT = 4;

  template <int TT, bool Checked>
  PPGHR_ALWAYS_INLINE void tile(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y, int t0, int ob) const noexcept {
    batch acc[TT][kVB];
    for (int v = 0; v < kVB; ++v) {
      const batch bv = batch::load_aligned(&bias[ob + v * W]);
      for (int tt = 0; tt < TT; ++tt) acc[tt][v] = bv;
    }
    for (int j = 0; j < Kernel; ++j) {
      const T* wj = &weight[packed_index(0, j, 0, ob)];
      int ti[TT];
      bool ok[TT];
      for (int tt = 0; tt < TT; ++tt) {
        ti[tt] = (t0 + tt) * Stride + j * Dilation - PadL;
        ok[tt] = !Checked || (ti[tt] >= 0 && ti[tt] < LIn);
      }
      for (int c = 0; c < CIn; ++c) {
        batch wv[kVB];
        for (int v = 0; v < kVB; ++v) wv[v] = batch::load_aligned(wj + std::size_t(c) * COut + v * W);
        for (int tt = 0; tt < TT; ++tt) {
          if (Checked && !ok[tt]) continue;
          const batch xv(x[std::size_t(ti[tt]) * CIn + c]);
          for (int v = 0; v < kVB; ++v) acc[tt][v] = xsimd::fma(xv, wv[v], acc[tt][v]);
        }
      }
    }
    for (int tt = 0; tt < TT; ++tt) {
      for (int v = 0; v < kVB; ++v) {
        batch r = acc[tt][v];
        if constexpr (Activation == Act::relu) r = xsimd::max(r, batch(T(0)));
        r.store_unaligned(y + std::size_t(t0 + tt) * COut + ob + v * W);
      }
    }
  }

  void forward_simd(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y) const noexcept {
    constexpr int lo = first_interior();
    constexpr int hi = end_interior() > lo ? end_interior() : lo;
    for (int ob = 0; ob < COut; ob += kVB * W) {
      for (int t = 0; t < lo; ++t) tile<1, true>(x, y, t, ob);
      int t = lo;
      for (; t + kTT <= hi; t += kTT) tile<kTT, false>(x, y, t, ob);
      for (; t < hi; ++t) tile<1, false>(x, y, t, ob);
      for (t = hi; t < out_length; ++t) tile<1, true>(x, y, t, ob);
    }
  }
#endif
};

/// A Conv1d with PyTorch-style "same" padding (networks.md): output length ceil(LIn / Stride).
template <class T, int CIn, int COut, int LIn, int Kernel, int Stride = 1, Act Activation = Act::none>
using Conv1dSame = Conv1d<T, CIn, COut, LIn, Kernel, Stride, 1, SamePadding::of(LIn, Kernel, Stride).left,
                          SamePadding::of(LIn, Kernel, Stride).right, 1, Activation>;

}  // namespace ppghr

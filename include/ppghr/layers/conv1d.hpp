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
#include <type_traits>
#include <utility>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/simd.hpp"
#include "ppghr/core/storage.hpp"
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

namespace detail {

// ---- The scalar register tile (no SIMD path: the Cortex-M4F, PPGHR_NO_SIMD) ---------------------
//
// A tile of TT output steps x VB output channels accumulated in TT * VB locals that the compiler
// keeps in floating-point registers for the whole reduction over (tap, input channel): per
// (tap, channel) it loads TT inputs and VB weights (the packed weights are contiguous in the
// output channel) for TT * VB multiply-adds, instead of a load and a store of the output per
// multiply-add. The accumulator array is only ever indexed with compile-time constants (fold
// expressions over index sequences, no loop over it), so GCC's scalar replacement turns it into
// TT * VB registers at -Os as well as -O2. Each accumulator sums bias, then the taps in order,
// then the input channels in order: the reference loop's order.

/// Floating-point registers the scalar tile may use: 32 single-precision ones on 32-bit ARM with a
/// VFP unit (s0-s31, the Cortex-M4F's fpv4-sp-d16) and on AArch64 / AVX-512, 16 otherwise.
#if defined(__ARM_FP) || defined(__aarch64__) || defined(_M_ARM64) || defined(__AVX512F__)
inline constexpr int scalar_fp_registers = 32;
#else
inline constexpr int scalar_fp_registers = 16;
#endif

/// Tile shape: tt steps x vb channels for runs of steps whose taps are all inside the input;
/// single steps (padding edges, the remainder) in tiles of 1 x ve channels.
struct ScalarTilePlan {
  int tt, vb, ve;
};

/// The plan for cout output channels (per group) and `steps` interior output steps: the (tt, vb)
/// with vb dividing cout and tt * vb + min(tt, vb) + 1 registers (accumulators, the held operand,
/// the streamed one) within the budget that issues the fewest instructions, counting per
/// (tap, channel) tt + vb loads, tt * vb multiply-adds and 4 of loop overhead, plus the steps
/// left over at 1 x ve (ve: the largest divisor of cout whose accumulators fit).
constexpr ScalarTilePlan scalar_tile_plan(int cout, int steps) noexcept {
  constexpr int budget = scalar_fp_registers - 3;
  int ve = 1;
  for (int v = 1; v <= cout && v + 2 <= budget; ++v)
    if (cout % v == 0) ve = v;
  const long edge = long(cout / ve) * (1 + 2 * ve + 4);  // one step
  ScalarTilePlan best{1, ve, ve};
  long best_cost = long(steps) * edge;
  for (int vb = 1; vb <= 8 && vb <= cout; ++vb) {
    if (cout % vb != 0) continue;
    for (int tt = 2; tt <= 8 && tt <= steps; ++tt) {
      if (tt * vb + (tt < vb ? tt : vb) + 1 > budget) continue;
      const long cost = long(steps / tt) * (cout / vb) * (tt + vb + tt * vb + 4) + long(steps % tt) * edge;
      if (cost < best_cost) {
        best_cost = cost;
        best = ScalarTilePlan{tt, vb, ve};
      }
    }
  }
  return best;
}

/// Accumulates into acc[tt * VB + v] (tt < TT, v < VB): for `taps` taps (x advances XTap per
/// tap, the weights Cin rows) and Cin input channels (x advances 1, the weights WRow), acc[tt * VB
/// + v] += x[tt * XStep] * w[v]. x: the input at the tile's first step, first tap, first channel;
/// w: the packed weight row of the first tap, first channel, at the tile's first output channel.
template <class T, int TT, int VB, int Cin, std::ptrdiff_t XStep, std::ptrdiff_t XTap, int WRow>
struct ScalarTile {
  static constexpr int count = TT * VB;

  template <std::size_t... I>
  static PPGHR_ALWAYS_INLINE void init(T* acc, const T* b, std::index_sequence<I...>) noexcept {
    ((acc[I] = b[I % VB]), ...);
  }
  // Holding the TT inputs, streaming the weights (TT <= VB) or the other way round.
  template <std::size_t V, std::size_t... S>
  static PPGHR_ALWAYS_INLINE void column(T* acc, const T wv, const T* xv, std::index_sequence<S...>) noexcept {
    ((acc[S * VB + V] += xv[S] * wv), ...);
  }
  template <std::size_t S, std::size_t... V>
  static PPGHR_ALWAYS_INLINE void row(T* acc, const T xv, const T* wv, std::index_sequence<V...>) noexcept {
    ((acc[S * VB + V] += xv * wv[V]), ...);
  }
  template <std::size_t... S, std::size_t... V>
  static PPGHR_ALWAYS_INLINE void mac(T* acc, const T* PPGHR_RESTRICT x, const T* PPGHR_RESTRICT w,
                                      std::index_sequence<S...> ss, std::index_sequence<V...> vs) noexcept {
    if constexpr (TT <= VB) {
      const T xv[TT] = {x[std::ptrdiff_t(S) * XStep]...};
      (column<V>(acc, w[V], xv, ss), ...);
    } else {
      const T wv[VB] = {w[V]...};
      (row<S>(acc, x[std::ptrdiff_t(S) * XStep], wv, vs), ...);
    }
  }
  static PPGHR_ALWAYS_INLINE void accumulate(T* acc, const T* PPGHR_RESTRICT x, const T* PPGHR_RESTRICT w,
                                             int taps) noexcept {
    constexpr auto ss = std::make_index_sequence<std::size_t(TT)>{};
    constexpr auto vs = std::make_index_sequence<std::size_t(VB)>{};
    if constexpr (XTap == Cin) {  // taps and channels are one contiguous run of the input row
      const int n = taps * Cin;
      for (int k = 0; k < n; ++k) mac(acc, x + k, w + std::size_t(k) * WRow, ss, vs);
    } else {
      for (int j = 0; j < taps; ++j) {
        for (int c = 0; c < Cin; ++c) mac(acc, x + c, w + std::size_t(c) * WRow, ss, vs);
        x += XTap;
        w += std::size_t(Cin) * WRow;
      }
    }
  }
  // store(tt, v, value) for every accumulator, in order.
  template <class Store, std::size_t... I>
  static PPGHR_ALWAYS_INLINE void store(const T* acc, const Store& st, std::index_sequence<I...>) noexcept {
    (st(int(I / VB), int(I % VB), acc[I]), ...);
  }
  template <class Store>
  struct RawStore {
    const Store& st;
    PPGHR_ALWAYS_INLINE void operator()(int tt, int v, T value) const noexcept { *st.at(tt, v) = value; }
  };
  /// The whole tile: bias b[0, VB), accumulation, then st(tt, v, sum) for each accumulator;
  /// st.at(tt, v) is the accumulator's place in the output. Compact: the sums are stored as they
  /// are and st(tt, v, sum) runs in a loop over the output (smaller code, a load and a store more
  /// per output: for the edge steps).
  template <bool Compact = false, class Store>
  static PPGHR_ALWAYS_INLINE void run(const T* PPGHR_RESTRICT x, const T* PPGHR_RESTRICT w, const T* b, int taps,
                                      const Store& st) noexcept {
    constexpr auto is = std::make_index_sequence<std::size_t(count)>{};
    T acc[count];
    init(acc, b, is);
    accumulate(acc, x, w, taps);
    if constexpr (Compact) {
      store(acc, RawStore<Store>{st}, is);
      for (int tt = 0; tt < TT; ++tt)
        for (int v = 0; v < VB; ++v) st(tt, v, *st.at(tt, v));
    } else {
      store(acc, st, is);
    }
  }
};

}  // namespace detail

/// The identity epilogue of Conv1d::forward: stores act(conv(x) + bias) as it is.
struct NoEpilogue {
  template <class V>
  PPGHR_ALWAYS_INLINE V operator()(const V& v, int /*t*/, int /*o*/) const noexcept {
    return v;
  }
};

template <class T, int CIn, int COut, int LIn, int Kernel, int Stride = 1, int Dilation = 1, int PadL = 0,
          int PadR = 0, int Groups = 1, Act Activation = Act::none, class S = Owned>
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
  Param<T, weight_count, S> weight{};
  Param<T, COut, S> bias{};

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
    visit_param(v, TensorSpec(prefix.plus(".weight"), {COut, cin_per_group, Kernel}), weight,
                [this](const auto& s) { this->set_weight(s); });
    visit_param(v, TensorSpec(prefix.plus(".bias"), {COut}), bias);
  }

  /// The SIMD path's channel split: output channels [0, main_channels) in vectors of main_width,
  /// [main_channels, COut) in vectors of tail_width (0: no tail). Chosen to issue the fewest FMA
  /// instructions: one batch width dividing COut, or the full width plus a narrower tail (24
  /// channels on AVX-512: 16 + 8, two FMAs per step, not three of 8). All 0 without a SIMD path.
  struct ChannelSplit {
    int main_width, main_channels, tail_width;
  };
  static constexpr ChannelSplit channel_split = [] {
#if PPGHR_HAS_SIMD
    if constexpr (Groups == 1) {
      constexpr int full = detail::simd_width<T>;
      constexpr int div = detail::batch_width<detail::dividing_batch_t<T, COut>>;
      constexpr int rest = COut % full;
      constexpr int tail = rest == 0 ? 0 : detail::batch_width<detail::dividing_batch_t<T, rest>>;
      constexpr int fmas_div = div > 0 ? COut / div : 1 << 30;
      constexpr int fmas_split = COut >= full && tail > 0 ? COut / full + rest / tail : 1 << 30;
      if constexpr (fmas_split < fmas_div) return ChannelSplit{full, COut - rest, tail};
      else if constexpr (div > 1) return ChannelSplit{div, COut, 0};
    }
#endif
    return ChannelSplit{0, 0, 0};
  }();
  /// The narrowest vector forward() works in (1 when the scalar loop runs). An epilogue's vector
  /// calls see channel blocks [o, o + width) with o and width multiples of vector_width.
  static constexpr int vector_width =
      channel_split.main_width == 0 ? 1 : (channel_split.tail_width > 0 ? channel_split.tail_width : channel_split.main_width);

  /// y = act(conv(x) + bias). x: [LIn][CIn], y: [LOut][COut]; must not overlap.
  void forward(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y) const noexcept { forward(x, y, NoEpilogue{}); }

  /// y = epi(act(conv(x) + bias)), the epilogue fused into the store: epi(v, t, o) returns the
  /// value to store for output step t, channels [o, o + width), where v is a batch of
  /// vector_width values (SIMD path) or one T (scalar path); see NoEpilogue.
  template <class Epilogue>
  void forward(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y, const Epilogue& epi) const noexcept {
#if PPGHR_HAS_SIMD
    if constexpr (channel_split.main_width > 0) {
      forward_simd(x, y, epi);
      return;
    }
#endif
    forward_scalar(x, y, epi);
  }

  /// The scalar kernel (used when no SIMD path applies, e.g. on the Cortex-M4F; also tested): a
  /// register tile of output steps x output channels over the steps that read no padding
  /// (detail::ScalarTile), single steps over the taps inside the input at the edges.
  void forward_scalar(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y) const noexcept {
    forward_scalar(x, y, NoEpilogue{});
  }
  template <class Epilogue>
  void forward_scalar(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y, const Epilogue& epi) const noexcept {
    // Steps [lo, hi) read no padding: tiles of TT steps x VB channels from lo, the taps a
    // compile-time count. The padding edges and the interior's remainder run one step at a time
    // (1 x VE channels) over the taps that read inside the input.
    constexpr int lo = first_interior();
    constexpr int hi = end_interior() > lo ? end_interior() : lo;
    constexpr detail::ScalarTilePlan plan = detail::scalar_tile_plan(cout_per_group, hi - lo);
    constexpr int TT = plan.tt, VB = plan.vb;
    constexpr int mid_end = TT > 1 ? lo + (hi - lo) / TT * TT : lo;  // TT = 1: every step is a single step
    constexpr int edge_steps = lo + out_length - mid_end;
    for (int g = 0; g < Groups; ++g) {
      // One loop over both edges (and the remainder): the step's code is emitted once.
      for (int i = 0; i < edge_steps; ++i) scalar_step(x, y, i < lo ? i : mid_end + (i - lo), g, epi);
      if constexpr (TT > 1) {
        using Tile = detail::ScalarTile<T, TT, VB, cin_per_group, std::ptrdiff_t(Stride) * CIn,
                                        std::ptrdiff_t(Dilation) * CIn, cout_per_group>;
        for (int t = lo; t < mid_end; t += TT) {
          const T* xt = x + (std::ptrdiff_t(t) * Stride - PadL) * CIn + g * cin_per_group;
          for (int ob = 0; ob < cout_per_group; ob += VB) {
            const int o0 = g * cout_per_group + ob;
            Tile::run(xt, &weight[packed_index(g, 0, 0, ob)], &bias[o0], Kernel,
                      ScalarStore<Epilogue>{y, epi, t, o0});
          }
        }
      }
    }
  }

 private:
  // Stores act(v) through the epilogue at step t0 + tt, channel o0 + v.
  template <class Epilogue>
  struct ScalarStore {
    T* y;
    const Epilogue& epi;
    int t0, o0;
    PPGHR_ALWAYS_INLINE T* at(int tt, int v) const noexcept { return y + std::size_t(t0 + tt) * COut + o0 + v; }
    PPGHR_ALWAYS_INLINE void operator()(int tt, int v, T value) const noexcept {
      if constexpr (Activation == Act::relu) value = value < T(0) ? T(0) : value;
      *at(tt, v) = epi(value, t0 + tt, o0 + v);
    }
  };

  // Output step t of group g, over the taps that read inside the input, VE channels at a time.
  template <class Epilogue>
  PPGHR_ALWAYS_INLINE void scalar_step(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y, int t, int g,
                                       const Epilogue& epi) const noexcept {
    constexpr int VE = detail::scalar_tile_plan(cout_per_group, 0).ve;
    using Tile = detail::ScalarTile<T, 1, VE, cin_per_group, 0, std::ptrdiff_t(Dilation) * CIn, cout_per_group>;
    int j0 = 0, j1 = Kernel;
    while (j0 < Kernel && t * Stride + j0 * Dilation - PadL < 0) ++j0;
    while (j1 > j0 && t * Stride + (j1 - 1) * Dilation - PadL >= LIn) --j1;
    const int taps = j1 - j0;
    const T* xt = x + (taps > 0 ? (std::ptrdiff_t(t) * Stride + j0 * Dilation - PadL) * CIn + g * cin_per_group : 0);
    for (int ob = 0; ob < cout_per_group; ob += VE) {
      const int o0 = g * cout_per_group + ob;
      Tile::template run<true>(xt, &weight[packed_index(g, taps > 0 ? j0 : 0, 0, ob)], &bias[o0], taps,
                               ScalarStore<Epilogue>{y, epi, t, o0});
    }
  }

  static constexpr std::size_t packed_index(int g, int j, int c, int og) noexcept {
    return ((std::size_t(g) * Kernel + j) * cin_per_group + c) * cout_per_group + og;
  }

  // Whether tap j of output step t reads inside the input (else it reads zero padding).
  static constexpr bool tap_inside(int t, int j) noexcept {
    const int ti = t * Stride + j * Dilation - PadL;
    return ti >= 0 && ti < LIn;
  }
  // Output steps [first_interior, end_interior) read no padding.
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
  // The kernel: a register tile of TT output steps x VB vectors of output channels, the
  // accumulators held in registers across the whole reduction over (tap, input channel). Per
  // (tap, channel) it loads VB weight vectors and broadcasts TT inputs for TT x VB FMAs, so the
  // tile is chosen to maximise FMAs per load with all accumulators, the weights and one
  // broadcast in registers (32 on AVX-512 / AArch64: 4 x 6, 3 x 9 or 2 x 14; 16 on SSE / AVX2:
  // 2 x 6 or 3 x 4). Tiles are made as even as possible over the output length, so a short
  // length (4, 7, 13 steps in the ResNet's last blocks) does not end in a one-step remainder.
  // Padding costs nothing: tiles that touch it start at a compile-time step, so taps that fall
  // into the zero padding are removed at compile time (no bounds checks, no padded copy).
  static constexpr int kMaxTT = 14;
  struct TilePlan {
    int vb, tt;
  };
  template <int Vecs>
  static constexpr TilePlan tile_plan() noexcept {
    TilePlan best{1, 1};
    int best_num = 0, best_den = 1;  // FMAs per load, as a fraction
    for (int vb = 4; vb >= 1; --vb) {
      if (Vecs % vb != 0) continue;
      int tt = (detail::simd_registers - vb - 1) / vb;
      tt = tt > kMaxTT ? kMaxTT : tt;
      tt = tt > out_length ? out_length : tt;
      tt = tt < 1 ? 1 : tt;
      const int num = vb * tt, den = vb + tt;
      if (num * best_den > best_num * den) {
        best = TilePlan{vb, tt};
        best_num = num;
        best_den = den;
      }
    }
    const int tiles = (out_length + best.tt - 1) / best.tt;
    best.tt = (out_length + tiles - 1) / tiles;
    return best;
  }

  template <class B>
  static PPGHR_ALWAYS_INLINE B load(const T* p) noexcept {
    // Rows of the packed weight are COut values apart: aligned for B when COut is a multiple of
    // its width (always, except for the main part of a split like 16 + 8).
    if constexpr (COut % int(B::size) == 0) return B::load_aligned(p);
    else return B::load_unaligned(p);
  }

  // TT output steps from t0 (run time, T0 < 0: every tap inside the input) or from the
  // compile-time step T0 >= 0 (taps in the padding skipped at compile time); output channels
  // [ob, ob + VB * width of B).
  // Which taps of the TT steps from T0 read inside the input (all of them for run-time tiles).
  template <int TT, int T0>
  static constexpr std::array<std::array<bool, Kernel>, TT> tap_mask() noexcept {
    std::array<std::array<bool, Kernel>, TT> m{};
    for (int tt = 0; tt < TT; ++tt)
      for (int j = 0; j < Kernel; ++j) m[tt][j] = T0 < 0 || tap_inside(T0 + tt, j);
    return m;
  }

  template <class B, int VB, int TT, int T0, class Epilogue>
  PPGHR_ALWAYS_INLINE void tile(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y, int t0, int ob,
                                const Epilogue& epi) const noexcept {
    constexpr int W = int(B::size);
    static constexpr auto mask = tap_mask<TT, T0>();
    const int ts = T0 >= 0 ? T0 : t0;
    // Plain loops that the compiler unrolls completely (constant trip counts, PPGHR_UNROLL), so
    // acc lives in registers and the mask folds away; cheaper to compile than template recursion.
    B acc[TT][VB];
    PPGHR_UNROLL
    for (int v = 0; v < VB; ++v) {
      const B b = B::load_unaligned(&bias[ob + v * W]);
      PPGHR_UNROLL
      for (int tt = 0; tt < TT; ++tt) acc[tt][v] = b;
    }
    PPGHR_UNROLL
    for (int j = 0; j < Kernel; ++j) {
      const T* PPGHR_RESTRICT wj = &weight[packed_index(0, j, 0, ob)];
      // Input row of step ts, tap j; only dereferenced for taps inside the input.
      const std::ptrdiff_t row = (std::ptrdiff_t(ts) * Stride + j * Dilation - PadL) * CIn;
      for (int c = 0; c < CIn; ++c) {
        B wv[VB];
        PPGHR_UNROLL
        for (int v = 0; v < VB; ++v) wv[v] = load<B>(wj + std::size_t(c) * COut + v * W);
        PPGHR_UNROLL
        for (int tt = 0; tt < TT; ++tt) {
          if (!mask[tt][j]) continue;
          const B xv(x[row + std::ptrdiff_t(tt) * Stride * CIn + c]);
          PPGHR_UNROLL
          for (int v = 0; v < VB; ++v) acc[tt][v] = xsimd::fma(xv, wv[v], acc[tt][v]);
        }
      }
    }
    PPGHR_UNROLL
    for (int tt = 0; tt < TT; ++tt) {
      PPGHR_UNROLL
      for (int v = 0; v < VB; ++v) {
        B r = acc[tt][v];
        if constexpr (Activation == Act::relu) r = xsimd::max(r, B(T(0)));
        const int t = ts + tt, o = ob + v * W;
        epi(r, t, o).store_unaligned(y + std::size_t(t) * COut + o);
      }
    }
  }

  // Compile-time tiles covering [From, To), TT steps each (the last one shorter).
  template <class B, int VB, int TT, int From, int To, class Epilogue>
  PPGHR_ALWAYS_INLINE void static_tiles(const T* x, T* y, int ob, const Epilogue& epi) const noexcept {
    if constexpr (From < To) {
      constexpr int tt = To - From < TT ? To - From : TT;
      tile<B, VB, tt, From>(x, y, From, ob, epi);
      static_tiles<B, VB, TT, From + tt, To>(x, y, ob, epi);
    }
  }

  // Output channels [C0, C1) in vectors of Width.
  template <int Width, int C0, int C1, class Epilogue>
  PPGHR_ALWAYS_INLINE void channels_simd(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y,
                                         const Epilogue& epi) const noexcept {
    using B = xsimd::make_sized_batch_t<T, std::size_t(Width)>;
    constexpr TilePlan plan = tile_plan<(C1 - C0) / Width>();
    constexpr int VB = plan.vb, TT = plan.tt;
    // [0, head): compile-time tiles over the left padding; [head, mid_end): run-time tiles of TT
    // steps, all inside; [mid_end, out_length): compile-time tiles over the right padding.
    constexpr int lo = first_interior();
    constexpr int hi = end_interior() > lo ? end_interior() : lo;
    constexpr int head = (lo + TT - 1) / TT * TT < out_length ? (lo + TT - 1) / TT * TT : out_length;
    constexpr int mid_tiles = hi > head ? (hi - head) / TT : 0;
    constexpr int mid_end = head + mid_tiles * TT;
    for (int ob = C0; ob < C1; ob += VB * Width) {
      static_tiles<B, VB, TT, 0, head>(x, y, ob, epi);
      for (int t = head; t < mid_end; t += TT) tile<B, VB, TT, -1>(x, y, t, ob, epi);
      static_tiles<B, VB, TT, mid_end, out_length>(x, y, ob, epi);
    }
  }

  template <class Epilogue>
  void forward_simd(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y, const Epilogue& epi) const noexcept {
    constexpr ChannelSplit cs = channel_split;
    channels_simd<cs.main_width, 0, cs.main_channels>(x, y, epi);
    if constexpr (cs.tail_width > 0) channels_simd<cs.tail_width, cs.main_channels, COut>(x, y, epi);
  }
#endif
};

/// A Conv1d with PyTorch-style "same" padding (networks.md): output length ceil(LIn / Stride).
template <class T, int CIn, int COut, int LIn, int Kernel, int Stride = 1, Act Activation = Act::none,
          class S = Owned>
using Conv1dSame = Conv1d<T, CIn, COut, LIn, Kernel, Stride, 1, SamePadding::of(LIn, Kernel, Stride).left,
                          SamePadding::of(LIn, Kernel, Stride).right, 1, Activation, S>;

}  // namespace ppghr

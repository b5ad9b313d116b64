// ppghr/models/resnet1d.hpp - the 1D-ResNet students and teachers (networks.md section 1) for any
// block count N = 1..12, composed at compile time from the layers.
//
// Input: one 8 s window, 200 samples at 25 Hz, band-passed and z-scored (one channel).
// Output: Prediction (argmax class, bpm = class + 30, 180 probabilities, 180 logits).
// load(), load_file() and predict() come from Classifier (models/network.hpp).
// Activations are [length][channels]; the whole network (weights + scratch + result) lives inside
// the object, so its size is a compile-time constant (memory_bytes). ResNet1d<12> is ~3.5 MB:
// hold it in static storage or allocate it once at start-up (std::make_unique), never on a
// thread's stack.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/simd.hpp"
#include "ppghr/core/status.hpp"
#include "ppghr/core/tensor.hpp"
#include "ppghr/layers/batchnorm.hpp"
#include "ppghr/layers/channel_pad.hpp"
#include "ppghr/layers/conv1d.hpp"
#include "ppghr/layers/linear.hpp"
#include "ppghr/layers/pooling.hpp"
#include "ppghr/models/chain.hpp"
#include "ppghr/models/network.hpp"

namespace ppghr {

namespace resnet {

inline constexpr int kInputLength = 200;  ///< 8 s at 25 Hz
inline constexpr int kKernel = 5;
inline constexpr int kStemChannels = 32;
inline constexpr int kDense2Outputs = 200;  ///< the training module's unused second head

/// Block i's input channels, output channels, stride and input length (networks.md).
constexpr int block_in_channels(int i) noexcept { return i == 0 ? 32 : 32 << ((i - 1) / 4); }
constexpr int block_out_channels(int i) noexcept {
  return (i > 0 && i % 4 == 0) ? 2 * block_in_channels(i) : block_in_channels(i);
}
constexpr int block_stride(int i) noexcept { return i % 2 == 1 ? 2 : 1; }
constexpr int block_in_length(int i) noexcept {
  int l = kInputLength;
  for (int j = 0; j < i; ++j) l = (l + block_stride(j) - 1) / block_stride(j);
  return l;
}
constexpr int block_out_length(int i) noexcept { return block_in_length(i + 1); }

struct NoLayer {
  static constexpr std::size_t param_count = 0;
  static constexpr auto descriptor() noexcept { return detail::kNoWords; }
};

/// Block I of the ResNet: [BN -> ReLU ->] Conv(s) [BN folded] -> ReLU -> Conv, plus the shortcut
/// (max-pooled with one zero padded on the right when s = 2, zero-padded in channels when widening).
template <class T, int I, class S = Owned>
class Block {
 public:
  static constexpr int ci = block_in_channels(I), co = block_out_channels(I), stride = block_stride(I);
  static constexpr int li = block_in_length(I), lo = block_out_length(I);
  static constexpr SamePadding pad = SamePadding::of(li, kKernel, stride);
  static constexpr bool has_preact = I > 0;
  static constexpr int channel_offset = (co - ci) / 2;

  using PreAct = std::conditional_t<has_preact, BatchNormAffine<T, ci, li, Act::relu, S>, NoLayer>;
  using Conv1 = Conv1d<T, ci, co, li, kKernel, stride, 1, pad.left, pad.right, 1, Act::relu, S>;
  using Conv2 = Conv1dSame<T, co, co, lo, kKernel, 1, Act::none, S>;
  using ShortcutPool = MaxPool1d<T, ci, li, 2, 2, 0, 1, PadValue::zero>;
  static_assert(Conv1::out_length == lo && Conv2::out_length == lo, "ResNet block: length bookkeeping");
  static_assert(stride == 1 || ShortcutPool::out_length == lo, "ResNet block: shortcut length");

  PreAct bn1;
  Conv1 conv1;
  Conv2 conv2;

  static constexpr std::size_t param_count = PreAct::param_count + Conv1::param_count + Conv2::param_count;
  static constexpr std::size_t macs = Conv1::macs + Conv2::macs;
  /// Parameters of the training module's block: unfolded bn2 (2 co) and block 0's unused bn1 (2 ci).
  static constexpr std::size_t module_param_count = param_count + 2 * std::size_t(co) + (has_preact ? 0 : 2 * std::size_t(ci));
  static constexpr std::size_t max_activation = std::size_t(li) * (ci > co ? ci : co);
  // As a layer of a Chain (models/chain.hpp): conv1's output in scratch; the pre-activation
  // (blocks > 0) written into the output buffer before the result.
  static constexpr std::size_t in_size = std::size_t(li) * ci, out_size = std::size_t(lo) * co;
  static constexpr std::size_t out_footprint = has_preact && in_size > out_size ? in_size : out_size;
  static constexpr std::size_t scratch_size = out_size;

  static constexpr auto descriptor() noexcept {
    constexpr auto pool = [] {
      if constexpr (stride == 2) return ShortcutPool::descriptor(); else return detail::kNoWords;
    }();
    constexpr auto widen = [] {
      if constexpr (co > ci) return ChannelPad<T, ci, co, lo>::descriptor(); else return detail::kNoWords;
    }();
    return detail::concat(detail::words(Op::residual_begin), PreAct::descriptor(), Conv1::descriptor(),
                          Conv2::descriptor(), detail::words(Op::shortcut), pool, widen,
                          detail::words(Op::add, co, lo));
  }

  template <class V>
  void visit_tensors(V& v, const TensorName& prefix) noexcept {
    if constexpr (has_preact) bn1.visit_tensors(v, prefix.plus(".bn1"));
    conv1.visit_tensors(v, prefix.plus(".conv1.conv"));
    conv2.visit_tensors(v, prefix.plus(".conv2.conv"));
  }

  /// Conv2's epilogue: adds the shortcut of block input x ([li][ci]) to output step t, channels
  /// [o, o + width): x max-pooled (kernel 2, stride 2, one zero padded on the right) when the
  /// stride is 2, placed at channel_offset (zeros around it) when the block widens. V is a SIMD
  /// batch or one T.
  struct ShortcutAdd {
    const T* x;
    template <class V>
    PPGHR_ALWAYS_INLINE V operator()(const V& v, int t, int o) const noexcept {
      const int c = o - channel_offset;
      if (c < 0 || c >= ci) return v;
      const T* xt = x + std::size_t(t) * stride * ci + c;
      if constexpr (std::is_same_v<V, T>) {
        if constexpr (stride == 2) return v + ShortcutPool::at(x, t, c);
        else return v + *xt;
      } else {
#if PPGHR_HAS_SIMD
        if constexpr (stride == 2) {
          const V a = V::load_unaligned(xt);
          return v + (2 * t + 1 < li ? xsimd::max(a, V::load_unaligned(xt + ci)) : xsimd::max(a, V(T(0))));
        } else {
          return v + V::load_unaligned(xt);
        }
#else
        return v;  // unreachable: without SIMD every epilogue call is scalar
#endif
      }
    }
  };
  // A vector of conv2's output channels lies wholly inside or wholly outside the shortcut's.
  static constexpr bool fuse_shortcut =
      channel_offset % Conv2::vector_width == 0 && ci % Conv2::vector_width == 0;

  /// x: [li][ci] (kept for the shortcut); y: out_footprint values; mid: scratch_size values.
  void forward(const T* x, T* y, T* mid) const noexcept { forward(x, y, mid, y); }
  /// x: [li][ci] (kept for the shortcut); tmp: scratch; mid: scratch; y: [lo][co]. y may be tmp.
  void forward(const T* x, T* tmp, T* mid, T* y) const noexcept {
    const T* in = x;
    if constexpr (has_preact) {
      bn1.forward(x, tmp);
      in = tmp;
    }
    conv1.forward(in, mid);
    if constexpr (fuse_shortcut) {
      conv2.forward(mid, y, ShortcutAdd{x});  // the residual add fused into conv2's store
      return;
    }
    conv2.forward(mid, y);
    for (int t = 0; t < lo; ++t) {
      T* yt = y + std::size_t(t) * co + channel_offset;
      if constexpr (stride == 2) {
        for (int c = 0; c < ci; ++c) yt[c] += ShortcutPool::at(x, t, c);
      } else {
        const T* xt = x + std::size_t(t) * ci;
        for (int c = 0; c < ci; ++c) yt[c] += xt[c];
      }
    }
  }
};

}  // namespace resnet

/// The 1D-ResNet with N residual blocks (1..12), scalar type T.
template <int N, class T = float, class S = Owned>
class ResNet1d : public Classifier<ResNet1d<N, T, S>, T, resnet::kInputLength, S> {
  static_assert(N >= 1 && N <= 12, "ResNet1d: the block count N must be in 1..12 (networks.md)");
  static_assert(std::is_floating_point_v<T>, "ResNet1d: T must be a floating-point type");

  template <class Seq>
  struct BlocksOf;
  template <int... Is>
  struct BlocksOf<std::integer_sequence<int, Is...>> {
    using type = Layers<resnet::Block<T, Is, S>...>;
    static constexpr std::size_t module_param_count = (resnet::Block<T, Is, S>::module_param_count + ...);
  };
  using Blocks = BlocksOf<std::make_integer_sequence<int, N>>;

 public:
  /// The same network with its weights stored as S2 (core/storage.hpp).
  template <class S2>
  using with_storage = ResNet1d<N, T, S2>;
  static constexpr int num_blocks = N;
  static constexpr int input_channels = 1;
  static constexpr int input_length = resnet::kInputLength;
  static constexpr int final_channels = resnet::block_out_channels(N - 1);
  static constexpr int final_length = resnet::block_out_length(N - 1);

  using Stem = Conv1dSame<T, 1, resnet::kStemChannels, resnet::kInputLength, resnet::kKernel, 1, Act::relu, S>;
  using FinalBn = BatchNormAffine<T, final_channels, final_length, Act::relu, S>;
  using Pool = GlobalAvgPool<T, final_channels, final_length>;
  using Dense = Linear<T, final_channels, kNumClasses, Act::none, S>;
  /// The network as one chain: stem, blocks 0..N-1, final BatchNorm, pooling, dense.
  using Body = chain_t<T, Layers<Stem>, typename Blocks::type, Layers<FinalBn, Pool, Dense>>;

  /// Weights the network stores and reads (BatchNorm folded): the blob's element count.
  static constexpr std::size_t param_count = Body::param_count;
  /// networks.md's "inference network" count: the training module's parameters without dense2
  /// (BatchNorm gamma/beta unfolded, and block 0's bn1, which forward() never uses, included).
  static constexpr std::size_t inference_param_count = Stem::param_count + 2 * resnet::kStemChannels +
                                                       Blocks::module_param_count + FinalBn::param_count +
                                                       Dense::param_count;
  /// The papers' count: model.parameters() of the training module, dense2 included.
  static constexpr std::size_t paper_param_count =
      inference_param_count + std::size_t(final_channels) * resnet::kDense2Outputs + resnet::kDense2Outputs;
  /// Multiply-accumulates per window (convolutions and the dense layer).
  static constexpr std::size_t macs = Body::macs;

  /// Values of each of the two ping-pong activation buffers.
  static constexpr std::size_t activation_size = Body::buffer_size;
  static constexpr std::size_t weight_bytes = param_count * sizeof(T);
  static constexpr std::size_t scratch_bytes = sizeof(typename Body::Workspace) + sizeof(Prediction<T>);
  /// The whole object in bytes (weights, scratch, result, alignment): sizeof(ResNet1d).
  static const std::size_t memory_bytes;

  static constexpr auto descriptor() noexcept {
    return detail::concat(detail::words(Op::net, Family::resnet1d, N, input_channels, input_length, kNumClasses),
                          Body::descriptor());
  }
  static constexpr std::uint64_t fingerprint = ppghr::fingerprint(descriptor());

  /// Raw forward pass: window [200] -> logits [180]. No checks.
  void forward(const T* window, T* logits) noexcept { body_.forward(window, logits, ws_); }

  /// Calls v(spec, setter) for every weight tensor in blob order (used by the loader and writer).
  template <class V>
  void visit_tensors(V& v) noexcept {
    body_.visit_tensors(v, [](unsigned i) {
      if (i == 0) return TensorName("first_block_conv.conv");
      if (i <= unsigned(N)) return TensorName("basicblock_list.").append(i - 1);
      return TensorName(i == unsigned(N) + 1 ? "final_bn" : "dense");
    });
  }

  // Layers, public for tests and tools (their weights in the layer's own packed layout).
  Stem& stem() noexcept { return body_.template get<0>(); }
  template <int I>
  resnet::Block<T, I, S>& block() noexcept { return body_.template get<std::size_t(I) + 1>(); }
  FinalBn& final_bn() noexcept { return body_.template get<std::size_t(N) + 1>(); }
  Dense& dense() noexcept { return body_.template get<std::size_t(N) + 3>(); }

 private:
  Body body_;
  typename Body::Workspace ws_;
};

template <int N, class T, class S>
const std::size_t ResNet1d<N, T, S>::memory_bytes = sizeof(ResNet1d<N, T, S>);

}  // namespace ppghr

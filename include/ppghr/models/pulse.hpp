// ppghr/models/pulse.hpp - the PULSE teacher (cross-attention) and student (modality-wise
// convolution) of Kasnesis et al. (networks.md sections 2 and 3), each with a compile-time head:
//   pulse::Head::classes     Linear(32 -> 180): predict() returns a Prediction (argmax heart rate,
//                            probabilities), like every other ppghr network;
//   pulse::Head::regression  Linear(32 -> 1), the published head: predict() returns an Estimate
//                            (one BPM value). The published checkpoints (shared/models/kd_pulse)
//                            export to this head.
//
// Input: one 8 s window at 32 Hz, 4 rows x 256 samples, row-major: [PPG][256], [ACC x][256],
// [ACC y][256], [ACC z][256], in RAW units (ACC in g). The network normalises its input itself,
// inside predict(), as its third template argument says:
//   pulse::Input::train_set  each row z-scored with the training-set (mean, std) pairs that travel
//                            in the blob (tensor `input_norm`), as published;
//   pulse::Input::window     per window (layers/window_norm.hpp: PPG z-scored, the accelerometer
//                            centred and scaled by one floored divisor); no tensor. The arch names
//                            pulse_teacher_wn*, pulse_student_wn* of tools/ppghr_tools/archs.py.
// The descriptor (and so the blob's fingerprint) says which: INPUT_NORM or WINDOW_NORM.
//
// Activations are [rows][length][channels]: each row is an ordinary Conv1d input, so the (1 x k)
// temporal convs are the library's Conv1d run per row with shared weights (layers/row_conv.hpp).
// Flatten before the head: the teacher's attention output is already [64 tokens][16] in PyTorch's
// index order (token * 16 + feature), so its dense layer is a plain Linear; the student's conv4
// output is time-major [8][32] while PyTorch flattens channel * 8 + t, so its dense layer permutes
// its weight columns once at load (layers/flatten_linear.hpp); no transpose at run time.
//
// The whole network (weights, scratch, result) lives inside the object: memory_bytes (float,
// regression head: 789,824 bytes for the teacher, 240,512 for the student). Hold it in static
// storage or allocate it once at start-up (std::make_unique), not on a thread's stack.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/tensor.hpp"
#include "ppghr/layers/attention.hpp"
#include "ppghr/layers/flatten_linear.hpp"
#include "ppghr/layers/input_norm.hpp"
#include "ppghr/layers/layer_norm.hpp"
#include "ppghr/layers/linear.hpp"
#include "ppghr/layers/modality_conv.hpp"
#include "ppghr/layers/row_conv.hpp"
#include "ppghr/layers/row_pool.hpp"
#include "ppghr/layers/window_norm.hpp"
#include "ppghr/models/chain.hpp"
#include "ppghr/models/network.hpp"
#include "ppghr/models/prediction.hpp"

namespace ppghr {

namespace pulse {

inline constexpr int kRows = 4;            ///< PPG, ACC x, ACC y, ACC z
inline constexpr int kInputLength = 256;   ///< 8 s at 32 Hz
inline constexpr std::size_t kInputSize = std::size_t(kRows) * kInputLength;
inline constexpr int kHidden = 32;         ///< width of the first head Linear
inline constexpr int kEmbed = 16, kHeads = 4;

/// The head, also the descriptor's variant word.
enum class Head : std::uint32_t { regression = 0, classes = 1 };

constexpr int head_outputs(Head h) noexcept { return h == Head::regression ? 1 : kNumClasses; }

/// The input normalisation (see the file comment).
enum class Input : std::uint32_t { train_set = 0, window = 1 };

/// Input normalisation layer of each Input.
template <class T, Input I, class S = Owned>
using InputLayer = std::conditional_t<I == Input::window, WindowNorm<T, kRows, kInputLength>,
                                      InputNorm<T, kRows, kInputLength, S>>;

template <class T, Head H>
using Result = std::conditional_t<H == Head::classes, Prediction<T>, Estimate<T>>;

/// One temporal stage: three RowConv1d (kernel K, dilation D, zero padding D (K - 1) / 2 on each
/// side so the length stays L, bias, ReLU after each), then a RowAvgPool1d of Pool steps.
/// Input [kRows][L][CIn], output [kRows][L / Pool][C]. Its layers: `layers`.
template <class T, int CIn, int C, int L, int K, int D, int Pool, class S = Owned>
struct Stage {
  static_assert(D * (K - 1) % 2 == 0, "pulse::Stage: the padding D (K - 1) / 2 must be whole");
  static constexpr int pad = D * (K - 1) / 2;
  using First = RowConv1d<T, kRows, CIn, C, L, K, 1, D, pad, pad, 1, Act::relu, S>;
  using Next = RowConv1d<T, kRows, C, C, L, K, 1, D, pad, pad, 1, Act::relu, S>;
  using Pooling = RowAvgPool1d<T, kRows, C, L, Pool>;
  static_assert(First::out_length == L && Next::out_length == L, "pulse::Stage: the convs keep the length");
  static_assert(L % Pool == 0, "pulse::Stage: the pool must divide the length");
  /// Tensors conv<s>1, conv<s>2, conv<s>3 (s = stage number, 1-based); the pool has none.
  using layers = Layers<First, Next, Next, Pooling>;

  static constexpr int in_channels = CIn, channels = C, in_length = L, out_length = Pooling::out_length;
};

/// What teacher and student share: input normalisation and three stages, as a layer list
/// (`layers`, 13 layers) and the tensor names of its layers (`name`).
template <class T, Input I, class S1, class S2, class S3, class S = Owned>
struct Trunk {
  static_assert(S1::in_channels == 1 && S1::in_length == kInputLength, "pulse::Trunk: stage 1 takes the raw rows");
  static_assert(S2::in_channels == S1::channels && S2::in_length == S1::out_length, "pulse::Trunk: stage 1 -> 2");
  static_assert(S3::in_channels == S2::channels && S3::in_length == S2::out_length, "pulse::Trunk: stage 2 -> 3");
  using Norm = InputLayer<T, I, S>;
  using Stage1 = S1;
  using Stage2 = S2;
  using Stage3 = S3;
  using layers = typename detail::join<Layers<Norm>, typename S1::layers, typename S2::layers,
                                       typename S3::layers>::type;
  using Convs = chain_t<T, typename S1::layers, typename S2::layers, typename S3::layers>;
  static constexpr std::size_t count = 13;
  /// The blob's first tensor is input_norm (train_set) or there is none (window).
  static constexpr bool has_norm_tensor = Norm::param_count > 0;

  static constexpr int channels = S3::channels, length = S3::out_length;
  /// Conv weights and biases (input_norm not included).
  static constexpr std::size_t param_count = Convs::param_count;
  static constexpr std::size_t macs = Convs::macs;
  static constexpr std::size_t out_size = Convs::out_size;

  /// Layer i's tensor name: input_norm, then conv<stage><1..3> (the pools have none).
  static TensorName name(unsigned i) noexcept {
    if (i == 0) return TensorName("input_norm");
    return TensorName("conv").append((i - 1) / 4 + 1).append((i - 1) % 4 + 1);
  }
  /// Tensor 0 of the blob is input_norm (train_set): every std must be > 0.
  static long check_tensor(std::uint32_t index, const TensorSource& s) noexcept {
    return has_norm_tensor && index == 0 ? Norm::check(s) : -1;
  }
};

template <class T, Input I = Input::train_set, class S = Owned>
using TeacherTrunk = Trunk<T, I, Stage<T, 1, 32, 256, 5, 2, 4, S>, Stage<T, 32, 48, 64, 5, 2, 2, S>,
                           Stage<T, 48, 64, 32, 5, 2, 2, S>, S>;
template <class T, Input I = Input::train_set, class S = Owned>
using StudentTrunk = Trunk<T, I, Stage<T, 1, 16, 256, 3, 2, 4, S>, Stage<T, 16, 24, 64, 3, 3, 4, S>,
                           Stage<T, 24, 32, 16, 3, 4, 2, S>, S>;

}  // namespace pulse

/// The PULSE teacher (networks.md section 2): trunk -> cross-attention (64 PPG tokens attend to
/// 192 ACC tokens, embed 16, 4 heads) -> LayerNorm(16) -> Linear(1024 -> 32) -> Linear(32 -> outputs).
template <pulse::Head H, class T = float, pulse::Input I = pulse::Input::train_set, class S = Owned>
class PulseTeacher : public Network<PulseTeacher<H, T, I, S>, T, pulse::kInputSize, pulse::Result<T, H>, S> {
  static_assert(std::is_floating_point_v<T>, "PulseTeacher: T must be a floating-point type");

 public:
  static constexpr pulse::Head head = H;
  static constexpr int outputs = pulse::head_outputs(H);
  static constexpr int rows = pulse::kRows, input_length = pulse::kInputLength;

  static constexpr pulse::Input input = I;
  /// The same network with its weights stored as S2 (core/storage.hpp).
  template <class S2>
  using with_storage = PulseTeacher<H, T, I, S2>;
  using Trunk = pulse::TeacherTrunk<T, I, S>;
  using Attention = CrossAttention<T, Trunk::channels, pulse::kRows, Trunk::length, pulse::kHeads, 0, 1, 1, 3, S>;
  using Norm = LayerNorm<T, Attention::query_tokens, Trunk::length, S>;
  using Dense = Linear<T, Attention::query_tokens * Trunk::length, pulse::kHidden, Act::none, S>;
  using Out = Linear<T, pulse::kHidden, outputs, Act::none, S>;
  static_assert(Trunk::length == pulse::kEmbed, "PulseTeacher: the embedding is the 16 remaining time steps");

  /// The network as one chain: the trunk's 13 layers, attention, LayerNorm, dense, out.
  using Body = chain_t<T, typename Trunk::layers, Layers<Attention, Norm, Dense, Out>>;

  /// Trained parameters, networks.md's count: 131,825 with the regression head, 137,732 with the
  /// 180-class head. The 8 input_norm floats (training-set constants, not trained) are NOT included.
  static constexpr std::size_t param_count = Body::param_count - Trunk::Norm::param_count;
  /// Floats in the blob: param_count + the 8 input_norm floats (none for Input::window).
  static constexpr std::size_t blob_float_count = Body::param_count;
  /// Multiply-accumulates per window: convs, attention (projections, scores, weighted sums), dense
  /// layers (~26.3 M).
  static constexpr std::size_t macs = Body::macs;
  /// Bytes of weights the object holds (blob_float_count values of T; the out-projection is held
  /// transposed, the convs repacked, none duplicated).
  static constexpr std::size_t weight_bytes = blob_float_count * sizeof(T);

  /// Values of each of the two ping-pong activation buffers (the attention's scratch lies beside
  /// its input, so there is no third).
  static constexpr std::size_t activation_size = Body::buffer_size;
  /// Bytes of scratch and result: the activation buffers, the result.
  static constexpr std::size_t scratch_bytes = sizeof(typename Body::Workspace) + sizeof(pulse::Result<T, H>);
  /// The whole object in bytes (weights, scratch, result, alignment): sizeof(PulseTeacher).
  static const std::size_t memory_bytes;

  static constexpr auto descriptor() noexcept {
    return detail::concat(detail::words(Op::net, Family::pulse_teacher, H, pulse::kRows, pulse::kInputLength, outputs),
                          Body::descriptor());
  }
  static constexpr std::uint64_t fingerprint = ppghr::fingerprint(descriptor());

  /// Raw forward pass: window [4][256] raw -> outputs [outputs] (logits or BPM). No checks.
  void forward(const T* window, T* out) noexcept { body_.forward(window, out, ws_); }

  template <class V>
  void visit_tensors(V& v) noexcept {
    body_.visit_tensors(v, [](unsigned i) {
      constexpr const char* head[] = {"multihead_attn", "layer_norm", "dense", "out"};
      return i < Trunk::count ? Trunk::name(i) : TensorName(head[i - Trunk::count]);
    });
  }
  static long check_tensor(std::uint32_t index, const TensorSource& s) noexcept {
    return Trunk::check_tensor(index, s);
  }

  // Layers, public for tests and tools (weights in each layer's own packed layout).
  Attention& attention() noexcept { return body_.template get<Trunk::count>(); }
  /// The first head Linear's output of the last forward pass (the PULSE distillation feature):
  /// pulse::kHidden values.
  [[nodiscard]] const T* hidden() const noexcept { return Body::template output<Body::count - 2>(ws_); }

 private:
  Body body_;
  typename Body::Workspace ws_;
};

template <pulse::Head H, class T, pulse::Input I, class S>
const std::size_t PulseTeacher<H, T, I, S>::memory_bytes = sizeof(PulseTeacher<H, T, I, S>);

/// The PULSE student (networks.md section 3): trunk -> modality-wise conv (kernel 4 rows x 1,
/// 32 -> 32, fuses the rows) -> Linear(256 -> 32) -> Linear(32 -> outputs).
template <pulse::Head H, class T = float, pulse::Input I = pulse::Input::train_set, class S = Owned>
class PulseStudent : public Network<PulseStudent<H, T, I, S>, T, pulse::kInputSize, pulse::Result<T, H>, S> {
  static_assert(std::is_floating_point_v<T>, "PulseStudent: T must be a floating-point type");

 public:
  static constexpr pulse::Head head = H;
  static constexpr int outputs = pulse::head_outputs(H);
  static constexpr int rows = pulse::kRows, input_length = pulse::kInputLength;

  static constexpr pulse::Input input = I;
  /// The same network with its weights stored as S2 (core/storage.hpp).
  template <class S2>
  using with_storage = PulseStudent<H, T, I, S2>;
  using Trunk = pulse::StudentTrunk<T, I, S>;
  using Mix = ModalityConv<T, Trunk::channels, Trunk::channels, pulse::kRows, Trunk::length, Act::none, S>;
  using Dense = FlattenLinear<T, Trunk::channels, Trunk::length, pulse::kHidden, Act::none, S>;
  using Out = Linear<T, pulse::kHidden, outputs, Act::none, S>;

  /// The network as one chain: the trunk's 13 layers, conv4, dense, out.
  using Body = chain_t<T, typename Trunk::layers, Layers<Mix, Dense, Out>>;

  /// Trained parameters, networks.md's count: 27,241 with the regression head, 33,148 with the
  /// 180-class head. The 8 input_norm floats are NOT included.
  static constexpr std::size_t param_count = Body::param_count - Trunk::Norm::param_count;
  /// Floats in the blob: param_count + the 8 input_norm floats (none for Input::window).
  static constexpr std::size_t blob_float_count = Body::param_count;
  /// Multiply-accumulates per window (~3.38 M).
  static constexpr std::size_t macs = Body::macs;
  static constexpr std::size_t weight_bytes = blob_float_count * sizeof(T);

  /// Values of each of the two ping-pong activation buffers.
  static constexpr std::size_t activation_size = Body::buffer_size;
  static constexpr std::size_t scratch_bytes = sizeof(typename Body::Workspace) + sizeof(pulse::Result<T, H>);
  /// The whole object in bytes: sizeof(PulseStudent).
  static const std::size_t memory_bytes;

  static constexpr auto descriptor() noexcept {
    return detail::concat(detail::words(Op::net, Family::pulse_student, H, pulse::kRows, pulse::kInputLength, outputs),
                          Body::descriptor());
  }
  static constexpr std::uint64_t fingerprint = ppghr::fingerprint(descriptor());

  /// Raw forward pass: window [4][256] raw -> outputs [outputs] (logits or BPM). No checks.
  void forward(const T* window, T* out) noexcept { body_.forward(window, out, ws_); }

  template <class V>
  void visit_tensors(V& v) noexcept {
    body_.visit_tensors(v, [](unsigned i) {
      constexpr const char* head[] = {"conv4", "dense", "out"};
      return i < Trunk::count ? Trunk::name(i) : TensorName(head[i - Trunk::count]);
    });
  }
  static long check_tensor(std::uint32_t index, const TensorSource& s) noexcept {
    return Trunk::check_tensor(index, s);
  }

  Mix& mix() noexcept { return body_.template get<Trunk::count>(); }
  /// The first head Linear's output of the last forward pass: pulse::kHidden values.
  [[nodiscard]] const T* hidden() const noexcept { return Body::template output<Body::count - 2>(ws_); }

 private:
  Body body_;
  typename Body::Workspace ws_;
};

template <pulse::Head H, class T, pulse::Input I, class S>
const std::size_t PulseStudent<H, T, I, S>::memory_bytes = sizeof(PulseStudent<H, T, I, S>);

}  // namespace ppghr

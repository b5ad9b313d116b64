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
template <class T, Input I>
using InputLayer = std::conditional_t<I == Input::window, WindowNorm<T, kRows, kInputLength>,
                                      InputNorm<T, kRows, kInputLength>>;

template <class T, Head H>
using Result = std::conditional_t<H == Head::classes, Prediction<T>, Estimate<T>>;

/// One temporal stage: three RowConv1d (kernel K, dilation D, zero padding D (K - 1) / 2 on each
/// side so the length stays L, bias, ReLU after each), then a RowAvgPool1d of Pool steps.
/// Input [kRows][L][CIn] in `a`, output [kRows][L / Pool][C] back in `a`; `b` is scratch.
template <class T, int CIn, int C, int L, int K, int D, int Pool>
struct Stage {
  static_assert(D * (K - 1) % 2 == 0, "pulse::Stage: the padding D (K - 1) / 2 must be whole");
  static constexpr int pad = D * (K - 1) / 2;
  using First = RowConv1d<T, kRows, CIn, C, L, K, 1, D, pad, pad, 1, Act::relu>;
  using Next = RowConv1d<T, kRows, C, C, L, K, 1, D, pad, pad, 1, Act::relu>;
  using Pooling = RowAvgPool1d<T, kRows, C, L, Pool>;
  static_assert(First::out_length == L && Next::out_length == L, "pulse::Stage: the convs keep the length");
  static_assert(L % Pool == 0, "pulse::Stage: the pool must divide the length");

  static constexpr int in_channels = CIn, channels = C, in_length = L, out_length = Pooling::out_length;
  static constexpr std::size_t param_count = First::param_count + 2 * Next::param_count;
  static constexpr std::size_t macs = First::macs + 2 * Next::macs;
  static constexpr std::size_t max_activation = std::size_t(kRows) * L * (CIn > C ? CIn : C);
  static constexpr std::size_t out_size = Pooling::out_size;

  First conv1;
  Next conv2, conv3;

  static constexpr auto descriptor() noexcept {
    return detail::concat(First::descriptor(), Next::descriptor(), Next::descriptor(), Pooling::descriptor());
  }
  /// Tensors conv<s>1, conv<s>2, conv<s>3 (s = stage number, 1-based).
  template <class V>
  void visit_tensors(V& v, unsigned s) noexcept {
    conv1.visit_tensors(v, TensorName("conv").append(s).append(1u));
    conv2.visit_tensors(v, TensorName("conv").append(s).append(2u));
    conv3.visit_tensors(v, TensorName("conv").append(s).append(3u));
  }
  void forward(T* a, T* b) const noexcept {
    conv1.forward(a, b);
    conv2.forward(b, a);
    conv3.forward(a, b);
    Pooling{}.forward(b, a);
  }
};

/// What teacher and student share: input normalisation and three stages.
/// forward(window, a, b): window [kRows][kInputLength] raw -> a: [kRows][S3::out_length][S3::channels].
template <class T, Input I, class S1, class S2, class S3>
struct Trunk {
  static_assert(S1::in_channels == 1 && S1::in_length == kInputLength, "pulse::Trunk: stage 1 takes the raw rows");
  static_assert(S2::in_channels == S1::channels && S2::in_length == S1::out_length, "pulse::Trunk: stage 1 -> 2");
  static_assert(S3::in_channels == S2::channels && S3::in_length == S2::out_length, "pulse::Trunk: stage 2 -> 3");
  using Norm = InputLayer<T, I>;
  /// The blob's first tensor is input_norm (train_set) or there is none (window).
  static constexpr bool has_norm_tensor = Norm::param_count > 0;

  static constexpr int channels = S3::channels, length = S3::out_length;
  /// Conv weights and biases (input_norm not included).
  static constexpr std::size_t param_count = S1::param_count + S2::param_count + S3::param_count;
  static constexpr std::size_t macs = S1::macs + S2::macs + S3::macs;
  static constexpr std::size_t max_activation =
      std::max({S1::max_activation, S2::max_activation, S3::max_activation, std::size_t(kInputSize)});
  static constexpr std::size_t out_size = S3::out_size;

  Norm norm;
  S1 stage1;
  S2 stage2;
  S3 stage3;

  static constexpr auto descriptor() noexcept {
    return detail::concat(Norm::descriptor(), S1::descriptor(), S2::descriptor(), S3::descriptor());
  }
  template <class V>
  void visit_tensors(V& v) noexcept {
    norm.visit_tensors(v, TensorName("input_norm"));
    stage1.visit_tensors(v, 1u);
    stage2.visit_tensors(v, 2u);
    stage3.visit_tensors(v, 3u);
  }
  /// Tensor 0 of the blob is input_norm (train_set): every std must be > 0.
  static long check_tensor(std::uint32_t index, const TensorSource& s) noexcept {
    return has_norm_tensor && index == 0 ? Norm::check(s) : -1;
  }
  void forward(const T* window, T* a, T* b) const noexcept {
    norm.forward(window, a);
    stage1.forward(a, b);
    stage2.forward(a, b);
    stage3.forward(a, b);
  }
};

template <class T, Input I = Input::train_set>
using TeacherTrunk =
    Trunk<T, I, Stage<T, 1, 32, 256, 5, 2, 4>, Stage<T, 32, 48, 64, 5, 2, 2>, Stage<T, 48, 64, 32, 5, 2, 2>>;
template <class T, Input I = Input::train_set>
using StudentTrunk =
    Trunk<T, I, Stage<T, 1, 16, 256, 3, 2, 4>, Stage<T, 16, 24, 64, 3, 3, 4>, Stage<T, 24, 32, 16, 3, 4, 2>>;

}  // namespace pulse

/// The PULSE teacher (networks.md section 2): trunk -> cross-attention (64 PPG tokens attend to
/// 192 ACC tokens, embed 16, 4 heads) -> LayerNorm(16) -> Linear(1024 -> 32) -> Linear(32 -> outputs).
template <pulse::Head H, class T = float, pulse::Input I = pulse::Input::train_set>
class PulseTeacher : public Network<PulseTeacher<H, T, I>, T, pulse::kInputSize, pulse::Result<T, H>> {
  static_assert(std::is_floating_point_v<T>, "PulseTeacher: T must be a floating-point type");

 public:
  static constexpr pulse::Head head = H;
  static constexpr int outputs = pulse::head_outputs(H);
  static constexpr int rows = pulse::kRows, input_length = pulse::kInputLength;

  static constexpr pulse::Input input = I;
  using Trunk = pulse::TeacherTrunk<T, I>;
  using Attention = CrossAttention<T, Trunk::channels, pulse::kRows, Trunk::length, pulse::kHeads, 0, 1, 1, 3>;
  using Norm = LayerNorm<T, Attention::query_tokens, Trunk::length>;
  using Dense = Linear<T, Attention::query_tokens * Trunk::length, pulse::kHidden>;
  using Out = Linear<T, pulse::kHidden, outputs>;
  static_assert(Trunk::length == pulse::kEmbed, "PulseTeacher: the embedding is the 16 remaining time steps");

  /// Trained parameters, networks.md's count: 131,825 with the regression head, 137,732 with the
  /// 180-class head. The 8 input_norm floats (training-set constants, not trained) are NOT included.
  static constexpr std::size_t param_count =
      Trunk::param_count + Attention::param_count + 2 * std::size_t(Trunk::length) + Dense::param_count + Out::param_count;
  /// Floats in the blob: param_count + the 8 input_norm floats (none for Input::window).
  static constexpr std::size_t blob_float_count = param_count + Trunk::Norm::param_count;
  /// Multiply-accumulates per window: convs, attention (projections, scores, weighted sums), dense
  /// layers (~26.3 M).
  static constexpr std::size_t macs = Trunk::macs + Attention::macs + Dense::macs + Out::macs;
  /// Bytes of weights the object holds (blob_float_count values of T; the out-projection is held
  /// transposed, the convs repacked, none duplicated).
  static constexpr std::size_t weight_bytes = blob_float_count * sizeof(T);

  static constexpr std::size_t activation_size = Trunk::max_activation;
  static_assert(Trunk::out_size + Attention::out_size <= activation_size, "PulseTeacher: tokens fit beside the features");
  static_assert(Attention::scratch_size <= activation_size, "PulseTeacher: attention scratch fits in a buffer");
  static_assert(Trunk::out_size * sizeof(T) % kAlign == 0, "PulseTeacher: the tokens start 64-byte aligned");
  /// Bytes of scratch and result: two activation buffers, the hidden vector, the result.
  static constexpr std::size_t scratch_bytes =
      (2 * activation_size + pulse::kHidden) * sizeof(T) + sizeof(pulse::Result<T, H>);
  /// The whole object in bytes (weights, scratch, result, alignment): sizeof(PulseTeacher).
  static const std::size_t memory_bytes;

  static constexpr auto descriptor() noexcept {
    return detail::concat(detail::words(Op::net, Family::pulse_teacher, H, pulse::kRows, pulse::kInputLength, outputs),
                          Trunk::descriptor(), Attention::descriptor(), Norm::descriptor(), Dense::descriptor(),
                          Out::descriptor());
  }
  static constexpr std::uint64_t fingerprint = ppghr::fingerprint(descriptor());

  /// Raw forward pass: window [4][256] raw -> outputs [outputs] (logits or BPM). No checks.
  void forward(const T* window, T* out) noexcept {
    T* a = buf_[0].data();
    T* b = buf_[1].data();
    trunk_.forward(window, a, b);        // a: [4][16][64]
    T* tokens = a + Trunk::out_size;     // [64][16], beside the features (64-byte aligned)
    attention_.forward(a, tokens, b);    // b: the attention's scratch
    norm_.forward(tokens, tokens);
    dense_.forward(tokens, hidden_.data());
    out_.forward(hidden_.data(), out);
  }

  template <class V>
  void visit_tensors(V& v) noexcept {
    trunk_.visit_tensors(v);
    attention_.visit_tensors(v, TensorName("multihead_attn"));
    norm_.visit_tensors(v, TensorName("layer_norm"));
    dense_.visit_tensors(v, TensorName("dense"));
    out_.visit_tensors(v, TensorName("out"));
  }
  static long check_tensor(std::uint32_t index, const TensorSource& s) noexcept {
    return Trunk::check_tensor(index, s);
  }

  // Layers, public for tests and tools (weights in each layer's own packed layout).
  Trunk& trunk() noexcept { return trunk_; }
  Attention& attention() noexcept { return attention_; }
  /// The first head Linear's output of the last forward pass (the PULSE distillation feature).
  [[nodiscard]] const std::array<T, pulse::kHidden>& hidden() const noexcept { return hidden_; }

 private:
  Trunk trunk_;
  Attention attention_;
  Norm norm_;
  Dense dense_;
  Out out_;
  alignas(kAlign) std::array<std::array<T, activation_size>, 2> buf_{};
  alignas(kAlign) std::array<T, pulse::kHidden> hidden_{};
};

template <pulse::Head H, class T, pulse::Input I>
const std::size_t PulseTeacher<H, T, I>::memory_bytes = sizeof(PulseTeacher<H, T, I>);

/// The PULSE student (networks.md section 3): trunk -> modality-wise conv (kernel 4 rows x 1,
/// 32 -> 32, fuses the rows) -> Linear(256 -> 32) -> Linear(32 -> outputs).
template <pulse::Head H, class T = float, pulse::Input I = pulse::Input::train_set>
class PulseStudent : public Network<PulseStudent<H, T, I>, T, pulse::kInputSize, pulse::Result<T, H>> {
  static_assert(std::is_floating_point_v<T>, "PulseStudent: T must be a floating-point type");

 public:
  static constexpr pulse::Head head = H;
  static constexpr int outputs = pulse::head_outputs(H);
  static constexpr int rows = pulse::kRows, input_length = pulse::kInputLength;

  static constexpr pulse::Input input = I;
  using Trunk = pulse::StudentTrunk<T, I>;
  using Mix = ModalityConv<T, Trunk::channels, Trunk::channels, pulse::kRows, Trunk::length>;
  using Dense = FlattenLinear<T, Trunk::channels, Trunk::length, pulse::kHidden>;
  using Out = Linear<T, pulse::kHidden, outputs>;

  /// Trained parameters, networks.md's count: 27,241 with the regression head, 33,148 with the
  /// 180-class head. The 8 input_norm floats are NOT included.
  static constexpr std::size_t param_count = Trunk::param_count + Mix::param_count + Dense::param_count + Out::param_count;
  /// Floats in the blob: param_count + the 8 input_norm floats (none for Input::window).
  static constexpr std::size_t blob_float_count = param_count + Trunk::Norm::param_count;
  /// Multiply-accumulates per window (~3.38 M).
  static constexpr std::size_t macs = Trunk::macs + Mix::macs + Dense::macs + Out::macs;
  static constexpr std::size_t weight_bytes = blob_float_count * sizeof(T);

  static constexpr std::size_t activation_size = Trunk::max_activation;
  static_assert(Mix::out_size <= activation_size, "PulseStudent: conv4 output fits in a buffer");
  static constexpr std::size_t scratch_bytes =
      (2 * activation_size + pulse::kHidden) * sizeof(T) + sizeof(pulse::Result<T, H>);
  /// The whole object in bytes: sizeof(PulseStudent).
  static const std::size_t memory_bytes;

  static constexpr auto descriptor() noexcept {
    return detail::concat(detail::words(Op::net, Family::pulse_student, H, pulse::kRows, pulse::kInputLength, outputs),
                          Trunk::descriptor(), Mix::descriptor(), Dense::descriptor(), Out::descriptor());
  }
  static constexpr std::uint64_t fingerprint = ppghr::fingerprint(descriptor());

  /// Raw forward pass: window [4][256] raw -> outputs [outputs] (logits or BPM). No checks.
  void forward(const T* window, T* out) noexcept {
    T* a = buf_[0].data();
    T* b = buf_[1].data();
    trunk_.forward(window, a, b);  // a: [4][8][32]
    mix_.forward(a, b);            // b: [8][32]
    dense_.forward(b, hidden_.data());
    out_.forward(hidden_.data(), out);
  }

  template <class V>
  void visit_tensors(V& v) noexcept {
    trunk_.visit_tensors(v);
    mix_.visit_tensors(v, TensorName("conv4"));
    dense_.visit_tensors(v, TensorName("dense"));
    out_.visit_tensors(v, TensorName("out"));
  }
  static long check_tensor(std::uint32_t index, const TensorSource& s) noexcept {
    return Trunk::check_tensor(index, s);
  }

  Trunk& trunk() noexcept { return trunk_; }
  Mix& mix() noexcept { return mix_; }
  [[nodiscard]] const std::array<T, pulse::kHidden>& hidden() const noexcept { return hidden_; }

 private:
  Trunk trunk_;
  Mix mix_;
  Dense dense_;
  Out out_;
  alignas(kAlign) std::array<std::array<T, activation_size>, 2> buf_{};
  alignas(kAlign) std::array<T, pulse::kHidden> hidden_{};
};

template <pulse::Head H, class T, pulse::Input I>
const std::size_t PulseStudent<H, T, I>::memory_bytes = sizeof(PulseStudent<H, T, I>);

}  // namespace ppghr

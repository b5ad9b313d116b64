// ppghr/models/specnet.hpp - SpecNet: a small fully-convolutional network over the 180-class
// heart-rate grid whose input is the spectral estimator's features, and SpectralNet, the front end
// (SpectralEstimator::features) and such a network as one estimator that streams through Monitor.
//
// SpecNet<N, W> (tools/ppghr_tools/models.py SpecNet(N, W) is its PyTorch twin, family specnet = 5
// of docs/blob-format.md):
//   input   features [180][6]: bin-major, the 6 features of a bin contiguous (x[b * 6 + f]), the
//           [length][channels] layout of every ppghr layer; f = 0 PPG spectrum, 1 accelerometer
//           spectrum x motion weight, 2 the estimator's cleaned spectrum, 3 the PPG and 4 the
//           accelerometer (x motion weight) at twice the class frequency, 5 (bpm - 120) / 100
//           (SpectralEstimator::features, tools/ppghr_tools/spectral.py features());
//   stem    Conv1d(6 -> W, kernel 7, zero padding 3) + ReLU;
//   N x     x = x + conv2(relu(conv1(x))), both Conv1d(W -> W, kernel 7, padding 3), no activation
//           after the add (the add is fused into conv2's store);
//   head    Conv1d(W -> W, 1) + ReLU, Conv1d(W -> 1, 1): the 180 logits, one per bin.
// N = 1..12, W = 16 (students) or 32 (teachers; any W >= 1 compiles). The whole network (weights,
// scratch, result) lives in the object: SpecNet<12, 32> is ~0.77 MB, hold it in static storage or
// allocate it once at start-up. load() / load_file() / predict() come from Classifier
// (models/network.hpp): all-or-nothing loading, NaN/Inf input refused, no allocation in predict().
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
#include "ppghr/layers/conv1d.hpp"
#include "ppghr/models/chain.hpp"
#include "ppghr/models/network.hpp"
#include "ppghr/models/prediction.hpp"
#include "ppghr/spectral/estimator.hpp"

namespace ppghr {

namespace specnet {

inline constexpr int kFeatures = 6;          ///< features per bin (SpectralEstimator::features)
inline constexpr int kBins = kNumClasses;    ///< 180: one position per heart-rate class
inline constexpr int kKernel = 7;
inline constexpr std::size_t kInputSize = std::size_t(kFeatures) * kBins;

/// One residual block: y = x + conv2(relu(conv1(x))), W channels, 180 bins.
template <class T, int W, class S = Owned>
class Block {
 public:
  using Conv1 = Conv1dSame<T, W, W, kBins, kKernel, 1, Act::relu, S>;
  using Conv2 = Conv1dSame<T, W, W, kBins, kKernel, 1, Act::none, S>;
  static_assert(Conv1::out_length == kBins && Conv2::out_length == kBins, "SpecNet block: length bookkeeping");

  Conv1 conv1;
  Conv2 conv2;

  static constexpr std::size_t param_count = Conv1::param_count + Conv2::param_count;
  static constexpr std::size_t macs = Conv1::macs + Conv2::macs;
  static constexpr std::size_t in_size = std::size_t(kBins) * W, out_size = in_size;
  static constexpr std::size_t scratch_size = in_size;  ///< conv1's output

  static constexpr auto descriptor() noexcept {
    return detail::concat(detail::words(Op::residual_begin), Conv1::descriptor(), Conv2::descriptor(),
                          detail::words(Op::shortcut), detail::words(Op::add, W, kBins));
  }

  template <class V>
  void visit_tensors(V& v, const TensorName& prefix) noexcept {
    conv1.visit_tensors(v, prefix.plus(".conv1"));
    conv2.visit_tensors(v, prefix.plus(".conv2"));
  }

  /// Conv2's epilogue: adds the block input x ([180][W]) at step t, channels [o, o + width).
  /// V is a SIMD batch or one T. The shortcut is the identity, so every channel block lies inside it.
  struct ShortcutAdd {
    const T* x;
    template <class V>
    PPGHR_ALWAYS_INLINE V operator()(const V& v, int t, int o) const noexcept {
      const T* xt = x + std::size_t(t) * W + o;
      if constexpr (std::is_same_v<V, T>) {
        return v + *xt;
      } else {
#if PPGHR_HAS_SIMD
        return v + V::load_unaligned(xt);
#else
        return v;  // unreachable: without SIMD every epilogue call is scalar
#endif
      }
    }
  };

  /// x: [180][W] (kept for the shortcut); y: [180][W]; mid: scratch [180][W]; all distinct.
  void forward(const T* x, T* y, T* mid) const noexcept {
    conv1.forward(x, mid);
    conv2.forward(mid, y, ShortcutAdd{x});
  }
};

}  // namespace specnet

/// SpecNet with N residual blocks (1..12) of width W, scalar type T. Input: features [180][6].
template <int N, int W = 16, class T = float, class S = Owned>
class SpecNet : public Classifier<SpecNet<N, W, T, S>, T, specnet::kInputSize, S> {
  static_assert(N >= 1 && N <= 12, "SpecNet: the block count N must be in 1..12");
  static_assert(W >= 1, "SpecNet: the width W must be positive");
  static_assert(std::is_floating_point_v<T>, "SpecNet: T must be a floating-point type");

 public:
  using Block = specnet::Block<T, W, S>;
  /// The same network with its weights stored as S2 (Owned, InPlace): in_place_t<SpecNet>.
  template <class S2>
  using with_storage = SpecNet<N, W, T, S2>;
  static constexpr int num_blocks = N;
  static constexpr int width = W;
  static constexpr int input_channels = specnet::kFeatures;
  static constexpr int input_length = specnet::kBins;

  using Stem = Conv1dSame<T, specnet::kFeatures, W, specnet::kBins, specnet::kKernel, 1, Act::relu, S>;
  using Head1 = Conv1d<T, W, W, specnet::kBins, 1, 1, 1, 0, 0, 1, Act::relu, S>;
  using Head2 = Conv1d<T, W, 1, specnet::kBins, 1, 1, 1, 0, 0, 1, Act::none, S>;
  static_assert(Stem::out_length == specnet::kBins && Head2::out_size == std::size_t(kNumClasses),
                "SpecNet: the head must give one logit per class");

  /// The network as one chain: stem, N blocks, head1, head2.
  using Body = chain_t<T, Layers<Stem>, repeat_t<Block, N>, Layers<Head1, Head2>>;

  /// Weights the network stores and reads: the blob's element count (no BatchNorm).
  static constexpr std::size_t param_count = Body::param_count;
  /// Multiply-accumulates per window.
  static constexpr std::size_t macs = Body::macs;
  /// Values of each of the two ping-pong activation buffers.
  static constexpr std::size_t activation_size = Body::buffer_size;
  static constexpr std::size_t weight_bytes = param_count * sizeof(T);
  static constexpr std::size_t scratch_bytes = sizeof(typename Body::Workspace) + sizeof(Prediction<T>);
  /// The whole object in bytes (weights, scratch, result, alignment): sizeof(SpecNet).
  static const std::size_t memory_bytes;

  static constexpr auto descriptor() noexcept {
    return detail::concat(detail::words(Op::net, Family::specnet, N, input_channels, input_length, kNumClasses),
                          Body::descriptor());
  }
  static constexpr std::uint64_t fingerprint = ppghr::fingerprint(descriptor());

  /// Raw forward pass: features [180][6] -> logits [180]. No checks.
  void forward(const T* features, T* logits) noexcept { body_.forward(features, logits, ws_); }

  /// Calls v(spec, setter) for every weight tensor in blob order (PyTorch module names).
  template <class V>
  void visit_tensors(V& v) noexcept {
    body_.visit_tensors(v, [](unsigned i) {
      if (i == 0) return TensorName("stem");
      if (i <= unsigned(N)) return TensorName("blocks.").append(i - 1);
      return TensorName(i == unsigned(N) + 1 ? "head1" : "head2");
    });
  }

  // Layers, public for tests and tools (their weights in the layer's own packed layout).
  Stem& stem() noexcept { return body_.template get<0>(); }
  template <int I>
  Block& block() noexcept { return body_.template get<std::size_t(I) + 1>(); }
  Head1& head1() noexcept { return body_.template get<std::size_t(N) + 1>(); }
  Head2& head2() noexcept { return body_.template get<std::size_t(N) + 2>(); }

 private:
  Body body_;
  typename Body::Workspace ws_;
};

template <int N, int W, class T, class S>
const std::size_t SpecNet<N, W, T, S>::memory_bytes = sizeof(SpecNet<N, W, T, S>);

/// The spectral front end and a network over its features as one estimator:
/// window -> SpectralEstimator<PpgChannels>::features -> Net::predict. It takes the spectral
/// estimator's windows (Preprocessor<25, PpgChannels + 3> with preprocessing_config(fs): PPG
/// channels, then acc x, y, z, band-passed, not normalised) and streams through Monitor like
/// SpectralEstimator (Monitor<SpectralNet<C, Net>, SpectralNet<C, Net>::preprocessor>).
/// Net: a 180-class float network over features [180][6] (SpecNet<N, W>). Memory:
/// sizeof(SpectralEstimator<C>) + sizeof(Net) + 1080 floats; no heap; predict() never allocates.
template <int PpgChannels, class Net>
class SpectralNet {
 public:
  using estimator_type = SpectralEstimator<PpgChannels>;
  using network_type = Net;
  using result_type = Prediction<float>;
  using preprocessor = typename estimator_type::preprocessor;
  static_assert(std::is_same_v<typename Net::result_type, Prediction<float>>,
                "SpectralNet: Net must be a 180-class float network (Classifier<..., float, ...>)");
  static_assert(Net::input_size == specnet::kInputSize, "SpectralNet: Net's input must be the features [180][6]");
  static_assert(estimator_type::feature_size == specnet::kInputSize,
                "SpectralNet: SpectralEstimator::features() and SpecNet disagree on the feature count");

  static constexpr int ppg_channels = PpgChannels;
  static constexpr int channels = estimator_type::channels;
  static constexpr int rate_hz = estimator_type::rate_hz;
  static constexpr int window_length = estimator_type::window_length;
  static constexpr std::size_t input_size = estimator_type::input_size;
  static constexpr std::size_t feature_size = specnet::kInputSize;

  /// The front end this estimator expects (the spectral estimator's: band-pass, no normalisation).
  [[nodiscard]] static constexpr typename preprocessor::Config preprocessing_config(double fs_in) noexcept {
    return estimator_type::preprocessing_config(fs_in);
  }

  SpectralNet() noexcept {}
  SpectralNet(const SpectralNet&) = delete;  // last() points into the object
  SpectralNet& operator=(const SpectralNet&) = delete;

  /// Loads the network's weights (all-or-nothing: a refused blob leaves the previous weights).
  [[nodiscard]] LoadReport load(const void* data, std::size_t size) noexcept { return net_.load(data, size); }
  [[nodiscard]] LoadReport load_file(const char* path) noexcept { return net_.load_file(path); }
  [[nodiscard]] bool loaded() const noexcept { return net_.loaded(); }

  /// Whether the accelerometer channels carry a signal (false: feature 1 is 0, no motion removal).
  void set_accelerometer(bool present) noexcept { est_.set_accelerometer(present); }
  [[nodiscard]] bool accelerometer() const noexcept { return est_.accelerometer(); }

  /// One window -> the network's prediction over the 180 classes. Refused (status not ok, no heart
  /// rate) when no weights were loaded (not_loaded) or the window holds NaN/Inf (non_finite).
  const Prediction<float>& predict(const float* window) noexcept {
    SignalStatus st = SignalStatus::not_loaded;
    if (net_.loaded()) st = est_.features(window, features_.data());
    if (st != SignalStatus::ok) {
      detail::refuse(refused_, st);
      last_ = &refused_;
    } else {
      last_ = &net_.predict(features_.data());
    }
    return *last_;
  }
  const Prediction<float>& predict(const std::array<float, input_size>& window) noexcept {
    return predict(window.data());
  }
  /// The last prediction.
  [[nodiscard]] const Prediction<float>& last() const noexcept { return *last_; }
  /// The features of the last window predict() accepted ([180][6]).
  [[nodiscard]] const float* features() const noexcept { return features_.data(); }

  estimator_type& estimator() noexcept { return est_; }
  const estimator_type& estimator() const noexcept { return est_; }
  Net& net() noexcept { return net_; }
  const Net& net() const noexcept { return net_; }

 private:
  estimator_type est_;
  Net net_;
  alignas(kAlign) std::array<float, specnet::kInputSize> features_{};
  Prediction<float> refused_{};
  const Prediction<float>* last_ = &refused_;
};

}  // namespace ppghr

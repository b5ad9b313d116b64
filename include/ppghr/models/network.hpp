// ppghr/models/network.hpp - what every network shares: all-or-nothing loading from a blob
// (memory or file) and predict() with its input checks. A network derives from
// Network<Self, T, InputSize, Result>, where Result is Prediction<T> for a 180-class head (alias
// Classifier<Self, T, InputSize>) or Estimate<T> for a one-value regression head (alias
// Regressor<Self, T, InputSize>), and provides
//     static constexpr std::uint64_t fingerprint;
//     template <class V> void visit_tensors(V& v) noexcept;      // blob order
//     void forward(const T* input, T* outputs) noexcept;         // no checks; 180 logits or 1 value
// and, only when some weight has a domain narrower than "finite" (the PULSE input_norm std),
//     static long check_tensor(std::uint32_t index, const TensorSource& s) noexcept;
// returning the first element of blob tensor `index` outside its domain, or -1. load_blob()'s
// validation walk calls it for every tensor (io/blob.hpp): a blob with such an element is refused
// with Status::invalid_weight before anything is copied.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "ppghr/core/status.hpp"
#include "ppghr/core/tensor.hpp"
#include "ppghr/io/blob.hpp"
#include "ppghr/io/file.hpp"
#include "ppghr/models/prediction.hpp"

namespace ppghr {

template <class Self, class T, std::size_t InputSize, class Result>
class Network {
 public:
  using value_type = T;
  using result_type = Result;
  static constexpr std::size_t input_size = InputSize;
  /// Values forward() writes: 180 logits (Prediction) or 1 BPM value (Estimate).
  static constexpr int output_size = detail::ResultTraits<Result>::outputs;

  /// Loads weights from a blob in memory; all-or-nothing (docs/blob-format.md). No allocation.
  [[nodiscard]] LoadReport load(const void* data, std::size_t size) noexcept {
    const LoadReport r = load_blob(self(), data, size);
    if (r.ok()) loaded_ = true;
    return r;
  }
  /// Loads weights from a blob file (one temporary allocation; hosts only).
  [[nodiscard]] LoadReport load_file(const char* path) noexcept {
    const LoadReport r = ppghr::load_file(self(), path);
    if (r.ok()) loaded_ = true;
    return r;
  }
  [[nodiscard]] bool loaded() const noexcept { return loaded_; }

  /// Estimates heart rate from one window of input_size floats. Refuses (status not ok, no heart
  /// rate) when no weights were loaded, or the window holds NaN/Inf, or the outputs overflowed to
  /// NaN/Inf (non_finite). No allocation, no exception,
  /// no lock. The result lives in the network and is overwritten by the next call.
  const Result& predict(const T* window) noexcept {
    if (!loaded_) {
      detail::refuse(result_, SignalStatus::not_loaded);
    } else if (!detail::all_finite(window, InputSize)) {
      detail::refuse(result_, SignalStatus::non_finite);
    } else {
      using Traits = detail::ResultTraits<Result>;
      self().forward(window, Traits::raw(result_));
      // Huge finite weights or inputs can overflow to inf / NaN outputs: refused, never a heart
      // rate (found by fuzz_blob_struct: a blob with a 1e38 weight loads, it is finite).
      if (detail::all_finite(Traits::raw(result_), std::size_t(Traits::outputs)))
        Traits::finish(result_);
      else
        detail::refuse(result_, SignalStatus::non_finite);
    }
    return result_;
  }
  const Result& predict(const std::array<T, InputSize>& window) noexcept { return predict(window.data()); }
  /// The last prediction.
  [[nodiscard]] const Result& last() const noexcept { return result_; }

 protected:
  // Not constexpr on purpose: a network in static storage (`static ResNet1d<2> net;`, how a
  // microcontroller holds one) is then zero-filled in .bss and finished by a start-up constructor.
  // With a constexpr constructor it is constant-initialised into .data instead, whose initial
  // image (sizeof(Net) bytes, nearly all zeros) is stored in flash and copied at reset
  // (examples/mcu, docs/mcu-footprint.md).
  Network() noexcept {}

 private:
  Self& self() noexcept { return static_cast<Self&>(*this); }
  Result result_{};
  bool loaded_ = false;
};

/// Base of the 180-class networks: predict() returns a Prediction (argmax heart rate, probabilities).
template <class Self, class T, std::size_t InputSize>
using Classifier = Network<Self, T, InputSize, Prediction<T>>;

/// Base of the one-value regression networks: predict() returns an Estimate (BPM).
template <class Self, class T, std::size_t InputSize>
using Regressor = Network<Self, T, InputSize, Estimate<T>>;

}  // namespace ppghr

// ppghr/models/network.hpp - what every classification network shares: all-or-nothing loading
// from a blob (memory or file) and predict() with its input checks. A network derives from
// Classifier<Self, T, InputSize> and provides
//     static constexpr std::uint64_t fingerprint;
//     template <class V> void visit_tensors(V& v) noexcept;      // blob order
//     void forward(const T* input, T* logits) noexcept;          // no checks
#pragma once

#include <array>
#include <cstddef>

#include "ppghr/core/status.hpp"
#include "ppghr/io/blob.hpp"
#include "ppghr/io/file.hpp"
#include "ppghr/models/prediction.hpp"

namespace ppghr {

template <class Self, class T, std::size_t InputSize>
class Classifier {
 public:
  using value_type = T;
  static constexpr std::size_t input_size = InputSize;
  static constexpr int output_size = kNumClasses;

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
  /// rate) when no weights were loaded or the window holds NaN/Inf. No allocation, no exception,
  /// no lock. The result lives in the network and is overwritten by the next call.
  const Prediction<T>& predict(const T* window) noexcept {
    if (!loaded_) {
      detail::refuse(result_, InputStatus::not_loaded);
    } else if (!detail::all_finite(window, InputSize)) {
      detail::refuse(result_, InputStatus::non_finite);
    } else {
      self().forward(window, result_.logits.data());
      detail::finish_classification(result_);
    }
    return result_;
  }
  const Prediction<T>& predict(const std::array<T, InputSize>& window) noexcept { return predict(window.data()); }
  /// The last prediction (its logits are the network's raw output).
  [[nodiscard]] const Prediction<T>& last() const noexcept { return result_; }

 protected:
  // Not constexpr on purpose: a network in static storage (`static ResNet1d<2> net;`, how a
  // microcontroller holds one) is then zero-filled in .bss and finished by a start-up constructor.
  // With a constexpr constructor it is constant-initialised into .data instead, whose initial
  // image (sizeof(Net) bytes, nearly all zeros) is stored in flash and copied at reset
  // (examples/mcu, docs/mcu-footprint.md).
  Classifier() noexcept {}

 private:
  Self& self() noexcept { return static_cast<Self&>(*this); }
  Prediction<T> result_{};
  bool loaded_ = false;
};

}  // namespace ppghr

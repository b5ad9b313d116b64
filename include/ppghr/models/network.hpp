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
//
// Weight storage (core/storage.hpp), the last template parameter of every network:
//   - Owned (default): load() copies the weights into the object; the blob may be freed after.
//     RAM = memory_bytes (sizeof the network: weight_bytes of weights + scratch + result).
//   - InPlace: load() validates a dtype-3 blob (the weights in the kernels' own order, made by
//     write_packed_blob()) that starts at a multiple of 64 bytes, and points every layer at its
//     tensors there, copying nothing. The blob must stay where it is while the network is used
//     (flash, a const array). RAM = memory_bytes (scratch, result, one pointer per tensor);
//     the weights (weight_bytes) stay in the blob. load_file() is not available (the file's bytes
//     would be freed).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "ppghr/core/status.hpp"
#include "ppghr/core/storage.hpp"
#include "ppghr/core/tensor.hpp"
#include "ppghr/io/blob.hpp"
#include "ppghr/io/file.hpp"
#include "ppghr/models/prediction.hpp"

namespace ppghr {

template <class Self, class T, std::size_t InputSize, class Result, class S = Owned>
class Network {
 public:
  using value_type = T;
  /// Where the weights live: Owned (copies in the object) or InPlace (in the loaded blob).
  using storage = S;
  static constexpr bool weights_in_place = is_in_place_v<S>;
  using result_type = Result;
  static constexpr std::size_t input_size = InputSize;
  /// Values forward() writes: 180 logits (Prediction) or 1 BPM value (Estimate).
  static constexpr int output_size = detail::ResultTraits<Result>::outputs;

  /// Loads weights from a blob in memory; all-or-nothing (docs/blob-format.md). No allocation.
  /// Owned: a dtype-1 blob, copied. InPlace: a dtype-3 blob at a 64-byte-aligned address, which
  /// the network then reads for as long as it is used.
  [[nodiscard]] LoadReport load(const void* data, std::size_t size) noexcept {
    const LoadReport r = load_blob(self(), data, size);
    if (r.ok()) loaded_ = true;
    return r;
  }
  /// Loads weights from a blob file (one temporary allocation; hosts only).
  [[nodiscard]] LoadReport load_file(const char* path) noexcept {
    static_assert(!weights_in_place, "load_file: in-place weights would point into the freed file buffer; "
                                     "keep the blob in memory and call load()");
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
    return detail::checked_predict(result_, loaded_, window, InputSize,
                                   [&](T* out) { self().forward(window, out); });
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
template <class Self, class T, std::size_t InputSize, class S = Owned>
using Classifier = Network<Self, T, InputSize, Prediction<T>, S>;

/// Base of the one-value regression networks: predict() returns an Estimate (BPM).
template <class Self, class T, std::size_t InputSize, class S = Owned>
using Regressor = Network<Self, T, InputSize, Estimate<T>, S>;

/// A network's twin with its weights read in place from a dtype-3 blob (core/storage.hpp).
template <class Net>
using in_place_t = typename Net::template with_storage<InPlace>;

}  // namespace ppghr

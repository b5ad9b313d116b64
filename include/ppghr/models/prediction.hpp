// ppghr/models/prediction.hpp - what a network returns: Prediction (the 180-class heads: argmax
// heart rate and probabilities) or Estimate (a regression head: one BPM value).
#pragma once

#include <array>
#include <cstddef>
#include <cmath>

#include "ppghr/core/config.hpp"
#include "ppghr/core/status.hpp"
#include "ppghr/layers/softmax.hpp"

namespace ppghr {

/// One window's estimate. When `status` is not ok there is no heart rate: class_index is -1, bpm
/// is 0 and the vectors are zero.
template <class T = float>
struct Prediction {
  SignalStatus status = SignalStatus::not_loaded;
  int class_index = -1;                          ///< argmax of the logits, 0..179
  T bpm = T(0);                                  ///< class_index + 30
  std::array<T, kNumClasses> probabilities{};    ///< softmax(logits), sums to 1
  std::array<T, kNumClasses> logits{};           ///< the network's raw output

  [[nodiscard]] bool ok() const noexcept { return status == SignalStatus::ok; }
};

/// One window's estimate from a regression head (the published PULSE models). When `status` is
/// not ok there is no heart rate and bpm is 0.
template <class T = float>
struct Estimate {
  SignalStatus status = SignalStatus::not_loaded;
  T bpm = T(0);  ///< the network's one output, in BPM, as it comes (not rounded, not clamped)

  [[nodiscard]] bool ok() const noexcept { return status == SignalStatus::ok; }
};

namespace detail {

template <class T>
[[nodiscard]] inline bool all_finite(const T* x, std::size_t n) noexcept {
  std::size_t i = 0;
#if PPGHR_HAS_SIMD
  // x * 0 is 0 for a finite x and NaN for an infinite or NaN one; the sum of those stays 0 or NaN
  constexpr std::size_t W = std::size_t(simd_width<T>);
  if (n >= W) {
    simd_batch<T> acc(T(0));
    const simd_batch<T> zero(T(0));
    for (; i + W <= n; i += W) acc += simd_batch<T>::load_unaligned(x + i) * zero;
    if (!xsimd::all(acc == zero)) return false;  // (== is false for NaN; xsimd != is ordered)
  }
#endif
  for (; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

// Marks a prediction as refused (no heart rate).
template <class T>
inline void refuse(Prediction<T>& p, SignalStatus s) noexcept {
  p.status = s;
  p.class_index = -1;
  p.bpm = T(0);
  p.probabilities.fill(T(0));
  p.logits.fill(T(0));
}

template <class T>
inline void refuse(Estimate<T>& e, SignalStatus s) noexcept {
  e.status = s;
  e.bpm = T(0);
}

// Fills probabilities, class and bpm from the logits already in p.
template <class T>
inline void finish_classification(Prediction<T>& p) noexcept {
  // one max for both: softmax's shift and the argmax (the first index of it: the logits are finite)
  const T m = detail::max_of<T, kNumClasses>(p.logits.data());
  detail::softmax_with_max<T, kNumClasses>(p.logits.data(), p.probabilities.data(), m);
  p.class_index = detail::first_index_of(p.logits.data(), m);
  p.bpm = static_cast<T>(p.class_index + kMinBpm);
  p.status = SignalStatus::ok;
}

// Where a network's forward() writes its raw outputs inside each result type, how many there
// are, whether the result carries a probability vector, and how it is completed from them.
template <class R>
struct ResultTraits;

template <class T>
struct ResultTraits<Prediction<T>> {
  static constexpr int outputs = kNumClasses;
  static constexpr bool has_probabilities = true;
  static T* raw(Prediction<T>& p) noexcept { return p.logits.data(); }
  static void finish(Prediction<T>& p) noexcept { finish_classification(p); }
};

template <class T>
struct ResultTraits<Estimate<T>> {
  static constexpr int outputs = 1;
  static constexpr bool has_probabilities = false;
  static T* raw(Estimate<T>& e) noexcept { return &e.bpm; }
  static void finish(Estimate<T>& e) noexcept { e.status = SignalStatus::ok; }
};

/// predict()'s checks around a network's forward pass, shared by every network (models/network.hpp,
/// int8/network.hpp): refused (no heart rate) when no weights were loaded, when the window holds
/// NaN/Inf, or when the outputs overflowed to NaN/Inf (non_finite: huge finite weights or inputs
/// can do that; found by fuzz_blob_struct, a blob with a 1e38 weight loads, it is finite).
/// forward(out) writes the raw outputs (180 logits or 1 value).
template <class Result, class T, class Forward>
const Result& checked_predict(Result& result, bool loaded, const T* window, std::size_t n, Forward&& forward) noexcept {
  using Traits = ResultTraits<Result>;
  if (!loaded) {
    refuse(result, SignalStatus::not_loaded);
  } else if (!all_finite(window, n)) {
    refuse(result, SignalStatus::non_finite);
  } else {
    forward(Traits::raw(result));
    if (all_finite(Traits::raw(result), std::size_t(Traits::outputs)))
      Traits::finish(result);
    else
      refuse(result, SignalStatus::non_finite);
  }
  return result;
}

}  // namespace detail
}  // namespace ppghr

// ppghr/post/clamp.hpp - the PULSE authors' post-processing (networks.md, "Published
// post-processing"), for the output sequence of any network: from the 11th estimate on, each
// estimate is clamped into [0.9, 1.1] x the mean of the previous 10 already-clamped estimates.
//
// Streaming: feed one estimate per window, in window order (e.g. Prediction::bpm or Estimate::bpm
// of the windows whose status is ok). Optional: the networks never apply it themselves.
// No allocation; the state is History values.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>

namespace ppghr {

/// Clamp of each estimate into [Low, High] x the mean of the previous History outputs (the
/// clamped ones). The first History estimates pass unchanged (there is no full history yet).
/// A non-finite estimate is returned as it is and neither remembered nor counted, so one bad
/// window cannot poison the following ones.
template <class T = float, int History = 10>
class RecentMeanClamp {
  static_assert(History > 0, "RecentMeanClamp: the history must hold at least one estimate");

 public:
  static constexpr int history = History;

  /// low, high: the factors of the published rule (0.9, 1.1); low <= high.
  explicit constexpr RecentMeanClamp(T low = T(0.9), T high = T(1.1)) noexcept : low_(low), high_(high) {}

  /// Returns the estimate, clamped once `count()` >= History, and remembers the returned value.
  T update(T estimate) noexcept {
    if (!std::isfinite(estimate)) return estimate;
    T out = estimate;
    if (count_ >= static_cast<std::size_t>(History)) {
      double sum = 0;
      for (const T v : ring_) sum += static_cast<double>(v);
      const double mean = sum / History;
      const double a = low_ * mean, b = high_ * mean;
      const double lo = a < b ? a : b, hi = a < b ? b : a;  // a negative mean swaps the bounds
      if (static_cast<double>(out) < lo) out = static_cast<T>(lo);
      if (static_cast<double>(out) > hi) out = static_cast<T>(hi);
    }
    ring_[next_] = out;
    next_ = next_ + 1 == History ? 0 : next_ + 1;
    ++count_;
    return out;
  }

  /// Forgets every estimate (a new recording).
  void reset() noexcept {
    ring_.fill(T(0));
    next_ = 0;
    count_ = 0;
  }
  /// Finite estimates seen since construction or reset().
  [[nodiscard]] std::size_t count() const noexcept { return count_; }
  [[nodiscard]] T low() const noexcept { return low_; }
  [[nodiscard]] T high() const noexcept { return high_; }

 private:
  std::array<T, History> ring_{};
  int next_ = 0;
  std::size_t count_ = 0;
  T low_, high_;
};

/// The whole-sequence form: out[i] = the i-th output of a fresh RecentMeanClamp<T, History>(low,
/// high) fed in[0..n). `out` may equal `in`.
template <class T, int History = 10>
void clamp_to_recent_mean(const T* in, std::size_t n, T* out, T low = T(0.9), T high = T(1.1)) noexcept {
  RecentMeanClamp<T, History> c(low, high);
  for (std::size_t i = 0; i < n; ++i) out[i] = c.update(in[i]);
}

}  // namespace ppghr

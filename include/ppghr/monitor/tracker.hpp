// ppghr/monitor/tracker.hpp - temporal tracking of heart rate over the probability vectors of
// consecutive windows: forward filtering (the online half of an HMM / Viterbi) over the 180 classes
// with a heart-rate transition prior.
//
// State: a belief b over the classes. For each new window with probabilities p (softmax output):
//     prior[j] = sum_i b[i] K(j - i)          K: discrete Gaussian, sigma = sigma_bpm per 2 s step,
//                                             truncated at +-3 sigma, plus a floor epsilon so the
//                                             tracker can recover from a wrong lock
//     b'[j]    = prior[j] * (p[j] + floor) / sum
// The tracked estimate is argmax b' + 30 BPM. A window without a valid estimate (status not ok)
// only applies the transition (the belief widens) and does not count as evidence.
// Fixed memory: two float arrays of 180 and the kernel. No allocation.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>

#include "ppghr/core/config.hpp"
#include "ppghr/layers/softmax.hpp"

namespace ppghr {

class HeartRateTracker {
 public:
  static constexpr int kMaxHalfWidth = 30;  ///< classes (BPM) the transition kernel can reach per step

  struct Config {
    float sigma_bpm = 3.0f;       ///< std of the heart-rate change between windows 2 s apart
    float uniform_floor = 1e-3f;  ///< mixed into the transition and the likelihood: robustness
  };

  HeartRateTracker() noexcept { configure(Config{}); }
  explicit HeartRateTracker(const Config& c) noexcept { configure(c); }

  void configure(const Config& c) noexcept {
    cfg_ = c;
    const float sigma = c.sigma_bpm > 0.1f ? c.sigma_bpm : 0.1f;
    half_ = static_cast<int>(std::ceil(3.f * sigma));
    if (half_ > kMaxHalfWidth) half_ = kMaxHalfWidth;
    float s = 0.f;
    for (int d = -half_; d <= half_; ++d) {
      kernel_[d + kMaxHalfWidth] = std::exp(-0.5f * (d / sigma) * (d / sigma));
      s += kernel_[d + kMaxHalfWidth];
    }
    for (int d = -half_; d <= half_; ++d) kernel_[d + kMaxHalfWidth] /= s;
    reset();
  }

  /// Forgets the past (uniform belief).
  void reset() noexcept {
    belief_.fill(1.f / kNumClasses);
    started_ = false;
  }

  /// Feeds one window's probability vector; returns the tracked class (argmax of the belief).
  int update(const float* probabilities) noexcept {
    predict_step();
    float s = 0.f;
    for (int j = 0; j < kNumClasses; ++j) {
      belief_[j] = prior_[j] * (probabilities[j] + cfg_.uniform_floor);
      s += belief_[j];
    }
    normalise(s);
    started_ = true;
    return argmax(belief_.data(), kNumClasses);
  }

  /// A window without evidence: the belief only spreads.
  void skip() noexcept {
    predict_step();
    belief_ = prior_;
    float s = 0.f;
    for (float b : belief_) s += b;
    normalise(s);
  }

  [[nodiscard]] int tracked_class() const noexcept { return argmax(belief_.data(), kNumClasses); }
  [[nodiscard]] bool started() const noexcept { return started_; }
  [[nodiscard]] const std::array<float, kNumClasses>& belief() const noexcept { return belief_; }

 private:
  void predict_step() noexcept {
    const float floor = cfg_.uniform_floor / kNumClasses;
    for (int j = 0; j < kNumClasses; ++j) {
      float acc = 0.f;
      const int lo = j - half_ < 0 ? 0 : j - half_;
      const int hi = j + half_ >= kNumClasses ? kNumClasses - 1 : j + half_;
      for (int i = lo; i <= hi; ++i) acc += belief_[i] * kernel_[j - i + kMaxHalfWidth];
      prior_[j] = acc + floor;
    }
  }
  void normalise(float s) noexcept {
    if (!(s > 0.f) || !std::isfinite(s)) {
      belief_.fill(1.f / kNumClasses);
      return;
    }
    const float inv = 1.f / s;
    for (float& b : belief_) b *= inv;
  }

  Config cfg_{};
  int half_ = 0;
  std::array<float, 2 * kMaxHalfWidth + 1> kernel_{};
  std::array<float, kNumClasses> belief_{};
  std::array<float, kNumClasses> prior_{};
  bool started_ = false;
};

}  // namespace ppghr

// ppghr/dsp/normalize.hpp - the last step of preprocessing: one channel of one window, computed in
// T (double in the Preprocessor), written as the float32 the networks take.
//
// - zscore(): per-window z-score of the ResNet family: (x - mean) / std with the POPULATION std
//   (numpy's np.std, ddof = 0), mean and std in double.
// - normalize_global(): PULSE's (x - mean) / std with constants from the training set (the blob's
//   input-normalisation pairs), not from the window.
// - copy_window(): no normalisation (float32 cast only), for a network that normalises its own input.
//
// Flat and non-finite windows. A window that holds NaN or infinity is reported non_finite; a
// z-scored window whose std is not above kFlatTolerance x scale (scale = max |x| of the window as
// resampled, BEFORE any band-pass, so a large DC level that the band-pass removed still counts) is
// reported flat. Either way the output is all zeros: never NaN, never noise blown up to unit
// variance (the band-pass of a constant leaves ~1e-16 x its level of rounding noise; a real pulse
// of even one ADC step on a 16-bit DC level is ~1e-5 of it).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "ppghr/core/config.hpp"
#include "ppghr/dsp/common.hpp"

namespace ppghr {

/// A z-scored window is flat when its std <= kFlatTolerance x (max |x| before the band-pass).
inline constexpr double kFlatTolerance = 1e-9;

/// How the Preprocessor normalises each channel of a window.
enum class Normalization : std::uint8_t {
  none = 0,    ///< float32 cast only
  zscore = 1,  ///< per window: (x - mean) / population std (the ResNet family)
  global = 2,  ///< (x - mean_c) / std_c with fixed constants per channel (PULSE)
};

/// True when all n values are finite; *max_abs receives max |x| (0 when n == 0).
template <class T>
[[nodiscard]] bool all_finite_max_abs(const T* x, int n, double* max_abs) noexcept {
  double m = 0.0;
  for (int i = 0; i < n; ++i) {
    const double v = static_cast<double>(x[i]);
    if (!std::isfinite(v)) {
      *max_abs = 0.0;
      return false;
    }
    const double a = std::fabs(v);
    if (a > m) m = a;
  }
  *max_abs = m;
  return true;
}

/// Writes n zeros.
inline void zero_window(float* out, int n) noexcept {
  for (int i = 0; i < n; ++i) out[i] = 0.0f;
}

/// Per-window z-score of x[0..n) into out (float32). scale: max |x| of the window before any
/// band-pass (see the file comment). Returns flat (out = zeros) when std <= kFlatTolerance x scale.
/// x must be finite (check with all_finite_max_abs first).
template <class T>
[[nodiscard]] SignalStatus zscore(const T* x, int n, double scale, float* out) noexcept {
  double sum = 0.0;
  for (int i = 0; i < n; ++i) sum += static_cast<double>(x[i]);
  const double mean = sum / n;
  double ss = 0.0;
  for (int i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - mean;
    ss += d * d;
  }
  const double sd = std::sqrt(ss / n);
  if (!(sd > kFlatTolerance * scale) || !std::isfinite(sd)) {
    zero_window(out, n);
    return SignalStatus::flat;
  }
  for (int i = 0; i < n; ++i) out[i] = static_cast<float>((static_cast<double>(x[i]) - mean) / sd);
  return SignalStatus::ok;
}

/// (x - mean) / sd into out (float32), with constants fixed in advance (sd > 0, checked at init).
template <class T>
[[nodiscard]] SignalStatus normalize_global(const T* x, int n, double mean, double sd, float* out) noexcept {
  for (int i = 0; i < n; ++i) out[i] = static_cast<float>((static_cast<double>(x[i]) - mean) / sd);
  return SignalStatus::ok;
}

/// The float32 cast of x[0..n).
template <class T>
[[nodiscard]] SignalStatus copy_window(const T* x, int n, float* out) noexcept {
  for (int i = 0; i < n; ++i) out[i] = static_cast<float>(x[i]);
  return SignalStatus::ok;
}

}  // namespace ppghr

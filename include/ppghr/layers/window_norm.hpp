// ppghr/layers/window_norm.hpp - per-window input normalisation inside the network (the PULSE
// *_wn variants; docs/blob-format.md op WINDOW_NORM), so a blob does not depend on the device's
// PPG units, gain or DC level:
//     row 0 (PPG):         y[0][t] = (x[0][t] - m0) / max(s0, kPpgEps)
//     rows 1.. (ACC x..):  y[r][t] = (x[r][t] - mr) / max(sqrt(mean over the ACC rows of vr), floor)
// with mr, vr the mean and population variance of row r over the window. The accelerometer rows
// share one divisor (the axes keep their relative amplitude) floored at AccFloorMicroG micro-g (a
// resting wrist's sensor noise is not blown up to unit variance; ACC in g, as every reader of this
// library delivers it). Our choice, documented in tools/ppghr_tools/archs.py (PULSE_ACC_FLOOR_G).
//
// Layout as InputNorm: x is the raw window [Rows][Length], y is [Rows][Length]. No tensor in the
// blob (the floor is a descriptor word, so a blob that needs this front end says so).
// Arithmetic: float sums in index order, two passes (mean, then squared deviations); the Python
// twin (models.window_norm) agrees within ~1e-6 relative (tests/test_pulse.cpp states the bound).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/tensor.hpp"

namespace ppghr {

namespace window_norm_detail {
inline constexpr double kPpgEps = 1e-6;  ///< floor of the PPG row's std (archs.PULSE_PPG_EPS)
}

namespace reference {
/// The straightforward double-precision definition (the oracle of the tests): rows >= 2, row 0 is
/// PPG, rows 1.. the accelerometer; floor_g in g.
template <class T>
void window_norm(const T* x, int rows, int length, double floor_g, T* y) noexcept {
  double mean[16] = {}, var[16] = {};
  for (int r = 0; r < rows && r < 16; ++r) {
    double s = 0;
    for (int t = 0; t < length; ++t) s += double(x[std::size_t(r) * length + t]);
    mean[r] = s / length;
    double q = 0;
    for (int t = 0; t < length; ++t) {
      const double d = double(x[std::size_t(r) * length + t]) - mean[r];
      q += d * d;
    }
    var[r] = q / length;
  }
  double acc = 0;
  for (int r = 1; r < rows; ++r) acc += var[r];
  const double s_ppg = std::fmax(std::sqrt(var[0]), window_norm_detail::kPpgEps);
  const double s_acc = std::fmax(std::sqrt(acc / (rows - 1)), floor_g);
  for (int r = 0; r < rows; ++r) {
    const double s = r == 0 ? s_ppg : s_acc;
    for (int t = 0; t < length; ++t)
      y[std::size_t(r) * length + t] = static_cast<T>((double(x[std::size_t(r) * length + t]) - mean[r]) / s);
  }
}
}  // namespace reference

template <class T, int Rows, int Length, std::uint32_t AccFloorMicroG = 50000>
class WindowNorm {
  static_assert(Rows >= 2 && Rows <= 16, "WindowNorm: one PPG row and 1..15 accelerometer rows");
  static_assert(Length > 1, "WindowNorm: the window needs more than one sample");

 public:
  static constexpr int rows = Rows, length = Length;
  static constexpr std::size_t param_count = 0;  ///< no blob tensor
  static constexpr std::size_t size = std::size_t(Rows) * Length;
  static constexpr std::size_t in_size = size, out_size = size;
  static constexpr T acc_floor = static_cast<T>(double(AccFloorMicroG) * 1e-6);
  static constexpr auto descriptor() noexcept { return detail::words(Op::window_norm, Rows, Length, AccFloorMicroG); }

  template <class V>
  void visit_tensors(V&, const TensorName&) noexcept {}
  [[nodiscard]] static long check(const TensorSource&) noexcept { return -1; }

  /// Each row's mean and divisor (row 0: max(its std, kPpgEps); the accelerometer rows: the
  /// floored root of their mean variance), exactly as forward() uses them (the int8 networks
  /// quantise (x - mean[r]) / scale[r] from these, ppghr/int8/network.hpp).
  static void statistics(const T* x, T* mean, T* scale) noexcept {
    std::array<T, Rows> var{};
    for (int r = 0; r < Rows; ++r) {
      const T* xr = x + std::size_t(r) * Length;
      T s = 0;
      for (int t = 0; t < Length; ++t) s += xr[t];
      const T m = s / T(Length);
      T q = 0;
      for (int t = 0; t < Length; ++t) {
        const T d = xr[t] - m;
        q += d * d;
      }
      mean[r] = m;
      var[r] = q / T(Length);
    }
    T acc = 0;
    for (int r = 1; r < Rows; ++r) acc += var[r];
    const T s_ppg = std::fmax(std::sqrt(var[0]), static_cast<T>(window_norm_detail::kPpgEps));
    const T s_acc = std::fmax(std::sqrt(acc / T(Rows - 1)), acc_floor);
    for (int r = 0; r < Rows; ++r) scale[r] = r == 0 ? s_ppg : s_acc;
  }

  /// x: [Rows][Length] raw, y: [Rows][Length] normalised; y may equal x.
  void forward(const T* x, T* y) const noexcept {
    std::array<T, Rows> mean{}, scale{};
    statistics(x, mean.data(), scale.data());
    for (int r = 0; r < Rows; ++r) {
      const T m = mean[r], s = scale[r];
      const T* xr = x + std::size_t(r) * Length;
      T* yr = y + std::size_t(r) * Length;
      for (int t = 0; t < Length; ++t) yr[t] = (xr[t] - m) / s;
    }
  }
};

}  // namespace ppghr

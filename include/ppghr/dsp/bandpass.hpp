// ppghr/dsp/bandpass.hpp - the ResNet's band-pass: a Butterworth band-pass designed here (no
// table of magic numbers) and applied zero-phase to one window at a time.
//
// Design: ButterworthBandpass<4>::design(fs, 0.5, 4.0) reproduces
// scipy.signal.butter(4, [0.5, 4], btype='band', fs=fs, output='sos') step by step (analog
// prototype, lp2bp, bilinear transform with pre-warping, zpk2sos with 'nearest' pairing, sections
// ordered by pole radius, the gain in the first section), in double precision; tests compare the
// sections with scipy's to 1e-12.
//
// Why second-order sections (sosfiltfilt) rather than filtfilt(b, a): the transfer-function form
// of this 8th-order band-pass at 0.5 / 12.5 Hz of Nyquist has its poles within 0.04 of the unit
// circle; its polynomial coefficients lose about 5 digits, the sections lose none. Nothing else
// changes: for these sections sosfiltfilt's default pad length is 3 x (2 x 4 + 1) = 27, exactly
// filtfilt's 3 x max(len(a), len(b)) = 27, both pad by odd extension, and both start from the
// step-response steady state scaled by the first sample (sosfilt_zi / lfilter_zi describe the
// same state). So the two are the same filter; on a 200-sample window they differ by ~1e-11
// relative (float64), i.e. a training script that uses filtfilt(b, a) still sees our windows.
//
// Filtering domain: one window (200 samples at 25 Hz) at a time, after resampling and cutting.
// The device can only filter what it has, and a zero-phase filter needs the whole window; so
// training must filter per window too (tools/ppghr_tools/preprocess.py does), never the whole
// recording before cutting.
#pragma once

#include <array>
#include <cmath>
#include <complex>
#include <cstddef>
#include <initializer_list>

#include "ppghr/core/config.hpp"
#include "ppghr/dsp/common.hpp"

namespace ppghr {

/// One second-order section in scipy's layout {b0, b1, b2, a0 = 1, a1, a2}:
/// H(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2).
using Sos = std::array<double, 6>;

/// Default band edges of the ResNet family's training code (Hz).
inline constexpr double kBandpassLowHz = 0.5;
inline constexpr double kBandpassHighHz = 4.0;

/// Butterworth band-pass of prototype order Order (the band-pass has 2 x Order poles, held in
/// Order second-order sections). 48 x Order bytes.
template <int Order = 4>
struct ButterworthBandpass {
  static_assert(Order >= 2 && Order % 2 == 0 && Order <= 16,
                "ButterworthBandpass: the prototype order must be even (complex pole pairs only), 2..16");
  static constexpr int order = Order;
  static constexpr int sections = Order;

  std::array<Sos, Order> sos{};

  /// Designs the band-pass [low_hz, high_hz] for sample rate fs (scipy.signal.butter, digital,
  /// output='sos'). bad_config unless 0 < low_hz < high_hz < fs / 2.
  [[nodiscard]] SignalStatus design(double fs, double low_hz = kBandpassLowHz,
                                 double high_hz = kBandpassHighHz) noexcept {
    using C = std::complex<double>;
    constexpr double pi = 3.14159265358979323846;
    if (!(fs > 0.0) || !(low_hz > 0.0) || !(high_hz > low_hz) || !(high_hz < 0.5 * fs) || !std::isfinite(fs))
      return SignalStatus::bad_config;
    // Pre-warp (scipy normalises to Nyquist, then uses fs = 2 internally).
    const double w0 = 4.0 * std::tan(pi * (2.0 * low_hz / fs) / 2.0);
    const double w1 = 4.0 * std::tan(pi * (2.0 * high_hz / fs) / 2.0);
    const double wo = std::sqrt(w0 * w1);
    const double bw = w1 - w0;
    // Analog prototype (buttap): p = -exp(j pi m / (2N)), m = -N+1, -N+3, ..., N-1. lp2bp_zpk turns
    // each into two band-pass poles; bilinear_zpk (fs2 = 4) maps them to z. Keep one pole of each
    // conjugate pair (the one with positive imaginary part), as zpk2sos's _cplxreal does.
    std::array<C, 2 * Order> pz{};
    C den(1.0, 0.0);  // prod(4 - p_analog) over all 2N band-pass poles, for the gain
    int npz = 0;
    for (int i = 0; i < Order; ++i) {
      const double m = -Order + 1 + 2 * i;
      const C p = -std::exp(C(0.0, pi * m / (2.0 * Order)));
      const C plp = p * (bw / 2.0);
      const C s = std::sqrt(plp * plp - wo * wo);
      for (const C pa : {plp + s, plp - s}) {
        den *= C(4.0, 0.0) - pa;
        const C zz = (C(4.0, 0.0) + pa) / (C(4.0, 0.0) - pa);
        if (zz.imag() > 0.0) pz[npz++] = zz;
      }
    }
    if (npz != Order) return SignalStatus::bad_config;  // a real pole: impossible for even Order
    // Gain: k = bw^N * real(prod(4 - z_analog) / prod(4 - p_analog)), the N analog zeros at 0.
    double num = 1.0;
    for (int i = 0; i < Order; ++i) num *= 4.0 * bw;
    const double k = (C(num, 0.0) / den).real();
    // zpk2sos, pairing 'nearest': the pole closest to the unit circle goes to the LAST section;
    // each takes the two remaining zeros (N at +1, N at -1) nearest to it.
    int plus = Order, minus = Order;
    bool used[2 * Order] = {};
    for (int si = Order - 1; si >= 0; --si) {
      int best = -1;
      for (int i = 0; i < Order; ++i)
        if (!used[i] && (best < 0 || std::abs(1.0 - std::abs(pz[i])) < std::abs(1.0 - std::abs(pz[best]))))
          best = i;
      used[best] = true;
      const C p1 = pz[best];
      double zsum = 0.0, zprod = 1.0;
      for (int t = 0; t < 2; ++t) {
        // scipy sorts the real zeros ascending, so on a tie -1 comes first.
        const bool take_plus = plus > 0 && (minus == 0 || std::abs(p1 - 1.0) < std::abs(p1 + 1.0));
        const double z = take_plus ? 1.0 : -1.0;
        (take_plus ? plus : minus)--;
        zsum += z;
        zprod *= z;
      }
      sos[si] = Sos{1.0, -zsum, zprod, 1.0, -2.0 * p1.real(), p1.real() * p1.real() + p1.imag() * p1.imag()};
    }
    for (int j = 0; j < 3; ++j) sos[0][j] *= k;
    return SignalStatus::ok;
  }
};

namespace detail {
/// scipy.signal.sosfiltfilt's default pad length: 3 x (2 x sections + 1 - min(#(b2 == 0), #(a2 == 0))).
template <std::size_t S>
constexpr int sosfiltfilt_padlen(const std::array<Sos, S>& sos) noexcept {
  int zb = 0, za = 0;
  for (const Sos& s : sos) {
    zb += s[2] == 0.0;
    za += s[5] == 0.0;
  }
  return 3 * (2 * int(S) + 1 - (zb < za ? zb : za));
}
}  // namespace detail

namespace reference {

/// scipy.signal.sosfilt_zi: per-section initial state of the step response's steady state.
/// zi[s] = [z0, z1] (direct form II transposed).
template <std::size_t S>
void sosfilt_zi(const std::array<Sos, S>& sos, std::array<std::array<double, 2>, S>& zi) noexcept {
  double scale = 1.0;
  for (std::size_t s = 0; s < S; ++s) {
    const double b0 = sos[s][0], b1 = sos[s][1], b2 = sos[s][2], a1 = sos[s][4], a2 = sos[s][5];
    // lfilter_zi for a 2nd-order section: solve (I - companion(a)^T) zi = b[1:] - a[1:] b0.
    const double z0 = ((b1 - a1 * b0) + (b2 - a2 * b0)) / ((1.0 + a1) + a2);
    const double z1 = (1.0 + a1) * z0 - (b1 - a1 * b0);
    zi[s][0] = scale * z0;
    zi[s][1] = scale * z1;
    scale *= (b0 + b1 + b2) / (sos[s][3] + a1 + a2);
  }
}

/// scipy.signal.sosfilt over x[0..n) into y (may alias x), state zi updated in place. Same
/// operation order as scipy's _sosfilt kernel.
template <class T, std::size_t S>
void sosfilt(const std::array<Sos, S>& sos, const T* x, T* y, int n, std::array<std::array<T, 2>, S>& zi) noexcept {
  for (int i = 0; i < n; ++i) {
    T cur = x[i];
    for (std::size_t s = 0; s < S; ++s) {
      const T b0 = T(sos[s][0]), b1 = T(sos[s][1]), b2 = T(sos[s][2]), a1 = T(sos[s][4]), a2 = T(sos[s][5]);
      const T next = b0 * cur + zi[s][0];
      zi[s][0] = b1 * cur - a1 * next + zi[s][1];
      zi[s][1] = b2 * cur - a2 * next;
      cur = next;
    }
    y[i] = cur;
  }
}

/// scipy.signal.sosfiltfilt(sos, x) with its defaults (padtype='odd', padlen as above) on x[0..n)
/// into y[0..n) (may alias x). ext: caller scratch of n + 2 * padlen values; requires n > padlen.
template <class T, std::size_t S>
void sosfiltfilt(const std::array<Sos, S>& sos, const std::array<std::array<double, 2>, S>& zi, int padlen,
                 const T* x, int n, T* y, T* ext) noexcept {
  const int ne = n + 2 * padlen;
  // Odd extension: 2 x[0] - x[padlen..1], x, 2 x[n-1] - x[n-2..n-1-padlen].
  for (int j = 0; j < padlen; ++j) ext[j] = T(2) * x[0] - x[padlen - j];
  for (int j = 0; j < n; ++j) ext[padlen + j] = x[j];
  for (int j = 0; j < padlen; ++j) ext[padlen + n + j] = T(2) * x[n - 1] - x[n - 2 - j];
  std::array<std::array<T, 2>, S> z{};
  const T x0 = ext[0];
  for (std::size_t s = 0; s < S; ++s) z[s] = {T(zi[s][0]) * x0, T(zi[s][1]) * x0};
  sosfilt(sos, ext, ext, ne, z);
  // Backward pass: filter the reversed signal, starting from its first value (ext's last).
  const T y0 = ext[ne - 1];
  for (std::size_t s = 0; s < S; ++s) z[s] = {T(zi[s][0]) * y0, T(zi[s][1]) * y0};
  for (int i = 0, j = ne - 1; i < j; ++i, --j) {
    const T t = ext[i];
    ext[i] = ext[j];
    ext[j] = t;
  }
  sosfilt(sos, ext, ext, ne, z);
  for (int j = 0; j < n; ++j) y[j] = ext[ne - 1 - padlen - j];
}

}  // namespace reference

/// Zero-phase band-pass of one window of Length samples (scipy.signal.sosfiltfilt with its
/// defaults). Holds the sections, their sosfilt_zi and a scratch of Length + 2 x 3 x (2 x Order
/// + 1) values: bytes ~ sizeof(ZeroPhaseBandpass).
template <class T, int Length, int Order = 4>
class ZeroPhaseBandpass {
  static constexpr int kMaxPad = 3 * (2 * Order + 1);
  static_assert(Length > kMaxPad, "ZeroPhaseBandpass: the window must be longer than sosfiltfilt's pad length");

 public:
  using value_type = T;
  static constexpr int length = Length;

  /// Designs the band-pass for sample rate fs (see ButterworthBandpass::design).
  [[nodiscard]] SignalStatus init(double fs, double low_hz = kBandpassLowHz, double high_hz = kBandpassHighHz) noexcept {
    ready_ = false;
    const SignalStatus st = filter_.design(fs, low_hz, high_hz);
    if (st != SignalStatus::ok) return st;
    reference::sosfilt_zi(filter_.sos, zi_);
    padlen_ = detail::sosfiltfilt_padlen(filter_.sos);
    ready_ = true;
    return SignalStatus::ok;
  }

  /// y = sosfiltfilt(sos, x) over Length samples; y may alias x. No allocation.
  void apply(const T* x, T* y) noexcept { reference::sosfiltfilt(filter_.sos, zi_, padlen_, x, Length, y, ext_.data()); }

  [[nodiscard]] bool ready() const noexcept { return ready_; }
  [[nodiscard]] const std::array<Sos, Order>& sos() const noexcept { return filter_.sos; }
  [[nodiscard]] int padlen() const noexcept { return padlen_; }

 private:
  ButterworthBandpass<Order> filter_{};
  std::array<std::array<double, 2>, Order> zi_{};
  int padlen_ = kMaxPad;
  bool ready_ = false;
  std::array<T, Length + 2 * kMaxPad> ext_{};
};

}  // namespace ppghr

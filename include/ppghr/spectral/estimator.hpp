// ppghr/spectral/estimator.hpp - the accelerometer-aware spectral heart-rate estimator.
//
// A classical estimator with no weights: per 8 s window it turns the spectra of every PPG channel
// and of the three accelerometer axes into a likelihood over the 180 heart-rate classes
// (30..209 BPM), returned as a Prediction<float> like a network's, so it streams through the same
// Monitor and feeds the same decoders (post/decode.hpp).
//
// Input: one window of ppghr::Preprocessor<25, PpgChannels + 3> with preprocessing_config(fs):
// channel-major [PPG 0 .. PPG C-1, acc x, acc y, acc z][200], resampled to 25 Hz, band-passed
// 0.5-4 Hz per window, not normalised (PPG in any unit, the accelerometer in g).
//
// Per window (tools/ppghr_tools/spectral.py is the Python twin and documents the same steps):
//  1. each channel: mean removed, Hann window (w[n] = 0.5 - 0.5 cos(2 pi (n+1) / 201)), zero-padded
//     to 1024, FFT (two real channels per complex transform), power read at f = bpm / 60 Hz for
//     bpm = 30..209 by linear interpolation between neighbouring bins; PPG power x
//     min(1, bpm / 100)^2 (the spectrum of the derivative below 100 BPM: wrist PPG's slow drift and
//     low-frequency junk would otherwise win below ~50 BPM);
//  2. motion m = sqrt(sum over axes of the window's mean square acceleration) (g); accelerometer
//     spectrum A = sum of the axes' powers;
//  3. artefact frequencies: the largest local maxima of A (params.acc_peaks of them, each at least
//     params.acc_peak_rel x max A), each with its half (arm swing at half the step rate) and double;
//     (and optionally 3/2 of it) weight min(1, m / params.motion_ref_g): the artefacts are removed in
//     proportion to how much the wrist moves;
//  4. per PPG channel, s = P / max P; for each artefact frequency, the strongest class j within
//     +-params.search classes and s <- max(s - weight s[j] K(|b - j|), 0), K being the Hann window's
//     power response (the artefact's whole spectral lobe, +-15 BPM, is subtracted);
//  5. likelihood = (mean over channels of s)^params.power + params.floor, normalised to sum 1.
// Without an accelerometer (set_accelerometer(false)) step 3 finds nothing: the PPG spectrum alone.
// features(window, out) stops before step 5 and writes the 6 x 180 input of the spectral networks
// (models/specnet.hpp): the PPG spectrum, the accelerometer spectrum x motion weight, the cleaned
// spectrum, the PPG and accelerometer spectra at twice the class frequency, and the grid position,
// [180][6]; it shares steps 1-4 with predict(), whose results it leaves as they are to the bit
// (the double-frequency bins are read only on features()' path; its output goes to the caller's
// buffer, so the object does not grow).
//
// Cost: ceil((C + 3) / 2) complex FFTs of 1024 points (RadixTwoFft::forward_padded: the 200
// samples are written in bit-reversed order, so the FFT skips its permutation and first two stages;
// about half of predict()) plus O(180 x artefacts x C), all in float: the channel means and the
// motion are float sums of four interleaved partial sums (the parity with the float64 twin did not
// move, tools/tests/test_spectral.py). Measured (benchmarks/bench_spectral.cpp, Release, SSE2, one
// core of a loaded 2-core x86-64, CPU time): predict() 7.4-8.8 us (C = 1) / 11.0 us (C = 3), from
// 25 / 40 us before these changes; Cortex-M4F (scripts/mcu.sh,
// docs/mcu-footprint.md, -Os): predict() 266k instructions (C = 1) / 396k (C = 3) (253k / 376k
// with the twiddles in the object instead of fft_tables.hpp's constants: 5% more instructions for
// 10 KB less RAM).
// Memory: sizeof(SpectralEstimator<C>) = 16,072 B (C = 1) on x86-64 and the M4F, of which 8 KB
// are the FFT's work arrays (its twiddles and permutation are constants in read-only memory:
// fft_tables.hpp, 10,176 B that were in the object before); no heap; predict() never allocates,
// throws or locks, and uses 2 x 124 floats of stack. Construct it once (static storage); the
// constructor computes its tables in double: 200 cos (Hann window), 182 cos (lobe table), 180 pow
// (PPG weights, configure()); with the forward filter's, 10.3M instructions at reset on the M4F,
// and 1.6 KB of stack (the Hann window in double).
#pragma once

#include <array>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "ppghr/core/config.hpp"
#include "ppghr/core/status.hpp"
#include "ppghr/dsp/common.hpp"
#include "ppghr/dsp/preprocessor.hpp"
#include "ppghr/models/prediction.hpp"
#include "ppghr/spectral/fft.hpp"

namespace ppghr {

/// The spectral estimator's few parameters (set on BAMI; tools/ppghr_tools/spectral.py has the same
/// defaults). Values outside their domain make configure() return bad_config.
struct SpectralParams {
  float motion_ref_g = 0.5f;         ///< motion (g) from which artefacts are removed fully (> 0)
  int acc_peaks = 2;                 ///< accelerometer peaks used (0..kMaxAccPeaks)
  float acc_peak_rel = 0.3f;         ///< a peak counts when >= this x the largest (0..1)
  float half_weight = 1.0f;          ///< weight of a peak's half frequency (arm swing) (0..1)
  float double_weight = 1.0f;        ///< weight of its double (0..1)
  float three_half_weight = 0.0f;    ///< weight of 3/2 of it (the arm swing's third harmonic) (0..1)
  int search = 3;                    ///< classes searched around each artefact frequency (0..15)
  float ppg_weight_exponent = 2.0f;  ///< PPG power x min(1, bpm / ppg_weight_ref_bpm)^this (0..4)
  float ppg_weight_ref_bpm = 100.0f; ///< (> 0)
  float power = 1.0f;                ///< likelihood exponent (> 0, <= 8)
  float floor = 0.2f;                ///< added to the cleaned spectrum (> 0)
};

namespace spectral {
inline constexpr int kRateHz = kResNetRateHz;                     ///< 25 Hz
inline constexpr int kWindowLength = kWindowSeconds * kRateHz;    ///< 200
inline constexpr int kFftSize = 1024;
inline constexpr int kMaxPpgChannels = 4;
inline constexpr int kMaxAccPeaks = 4;
inline constexpr int kLobeHalf = 90;  ///< K(d) for |d| <= 90 BPM, 0 beyond
inline constexpr float kArtefactMinBpm = 25.f, kArtefactMaxBpm = 215.f;
}  // namespace spectral

template <int PpgChannels>
class SpectralEstimator {
  static_assert(PpgChannels >= 1 && PpgChannels <= spectral::kMaxPpgChannels,
                "SpectralEstimator: 1 to 4 PPG channels");

 public:
  static constexpr int ppg_channels = PpgChannels;
  static constexpr int channels = PpgChannels + 3;  ///< PPG channels, then acc x, y, z
  static constexpr int rate_hz = spectral::kRateHz;
  static constexpr int window_length = spectral::kWindowLength;
  static constexpr std::size_t input_size = std::size_t(channels) * window_length;
  static constexpr int fft_size = spectral::kFftSize;
  static constexpr int max_artefacts = 4 * spectral::kMaxAccPeaks;
  using result_type = Prediction<float>;
  using preprocessor = Preprocessor<rate_hz, channels>;

  /// The front end this estimator expects: band-pass, no normalisation.
  [[nodiscard]] static constexpr typename preprocessor::Config preprocessing_config(double fs_in) noexcept {
    typename preprocessor::Config c = preprocessor::zscore_config(fs_in);
    c.normalization = Normalization::none;
    return c;
  }

  SpectralEstimator() noexcept {
    init_tables();
    (void)configure(SpectralParams{});
  }

  /// Validates and takes the parameters (bad_config leaves the previous ones).
  [[nodiscard]] SignalStatus configure(const SpectralParams& p) noexcept {
    const bool ok = p.motion_ref_g > 0.f && std::isfinite(p.motion_ref_g) && p.acc_peaks >= 0 &&
                    p.acc_peaks <= spectral::kMaxAccPeaks && p.acc_peak_rel >= 0.f && p.acc_peak_rel <= 1.f &&
                    p.half_weight >= 0.f && p.half_weight <= 1.f && p.double_weight >= 0.f &&
                    p.double_weight <= 1.f && p.three_half_weight >= 0.f && p.three_half_weight <= 1.f &&
                    p.ppg_weight_ref_bpm > 0.f && std::isfinite(p.ppg_weight_ref_bpm) && p.search >= 0 && p.search <= 15 && p.ppg_weight_exponent >= 0.f &&
                    p.ppg_weight_exponent <= 4.f && p.power > 0.f && p.power <= 8.f && p.floor > 0.f &&
                    std::isfinite(p.floor);
    if (!ok) return SignalStatus::bad_config;
    params_ = p;
    for (int b = 0; b < kNumClasses; ++b) {
      const double r = double(kMinBpm + b) / double(p.ppg_weight_ref_bpm);
      ppg_weight_[b] = static_cast<float>(std::pow(r < 1.0 ? r : 1.0, double(p.ppg_weight_exponent)));
    }
    return SignalStatus::ok;
  }
  [[nodiscard]] const SpectralParams& params() const noexcept { return params_; }

  /// Whether the accelerometer channels carry a signal (false: they are ignored, no motion removal).
  void set_accelerometer(bool present) noexcept { accelerometer_ = present; }
  [[nodiscard]] bool accelerometer() const noexcept { return accelerometer_; }

  /// One window -> the likelihood over the 180 classes (probabilities), its argmax (bpm) and
  /// logits = log(probabilities). A window holding NaN / infinity, or so large that its power
  /// overflows, is refused (non_finite).
  const Prediction<float>& predict(const float* window) noexcept {
    if (!detail::all_finite(window, input_size)) {
      detail::refuse(result_, SignalStatus::non_finite);
      return result_;
    }
    spectra(window);
    find_artefacts();
    std::array<float, kNumClasses>& mean = result_.logits;  // scratch until the end
    mean.fill(0.f);
    for (int c = 0; c < PpgChannels; ++c) {
      float* s = normalise_ppg(c);
      for (int a = 0; a < n_artefacts_; ++a) subtract(s, artefact_bpm_[a], artefact_weight_[a]);
      for (int b = 0; b < kNumClasses; ++b) mean[b] += s[b];
    }
    float sum = 0.f;
    const float inv_c = 1.f / float(PpgChannels);
    for (int b = 0; b < kNumClasses; ++b) {
      float v = mean[b] * inv_c;
      v = (params_.power == 1.f ? v : std::pow(v, params_.power)) + params_.floor;
      result_.probabilities[b] = v;
      sum += v;
    }
    const float inv_sum = 1.f / sum;
    int best = 0;
    for (int b = 0; b < kNumClasses; ++b) {
      result_.probabilities[b] *= inv_sum;
      result_.logits[b] = std::log(result_.probabilities[b]);
      if (result_.probabilities[b] > result_.probabilities[best]) best = b;
    }
    // A finite window so large that its power overflows (|x| above ~1e17 after the band-pass)
    // leaves NaN here: refused like a non-finite window, never a heart rate (found by fuzz_monitor).
    if (!detail::all_finite(result_.probabilities.data(), kNumClasses)) {
      detail::refuse(result_, SignalStatus::non_finite);
      return result_;
    }
    result_.class_index = best;
    result_.bpm = float(best + kMinBpm);
    result_.status = SignalStatus::ok;
    return result_;
  }

  static constexpr int feature_count = 6;  ///< features per class of features()
  static constexpr std::size_t feature_size = std::size_t(feature_count) * kNumClasses;

  /// One window -> the 6 x 180 input of the spectral networks (models/specnet.hpp), read off
  /// predict()'s own steps (tools/ppghr_tools/spectral.py features() is the twin), written to
  /// out[b * 6 + f] (bin-major, [180][6], the layout of every ppghr layer) for class b and feature f.
  /// With w(b) the PPG weight, P_c channel c's grid power, A the accelerometer's (axes summed),
  /// m = min(1, motion / motion_ref_g) and X(2 f_b) a spectrum read at twice class b's frequency
  /// (the same FFT, linear interpolation at bin position 2 x bpm / 60 x 1024 / 25):
  ///   0  the PPG spectrum: mean over channels of s = w P_c / max(w P_c) (step 4's s before
  ///      cleaning; 0 for a flat channel);
  ///   1  the accelerometer: A / max A x m (0 without an accelerometer or when A is 0);
  ///   2  the cleaned PPG spectrum: step 5's mean of the channels' cleaned s (before power / floor);
  ///   3  the PPG at twice the class frequency: mean over channels of
  ///      min(1, w(b) P_c(2 f_b) / max(w P_c)) (0 for a flat channel);
  ///   4  the accelerometer at twice the class frequency: min(1, A(2 f_b) / max A) x m (0 as in 1);
  ///   5  the position on the grid: (bpm - 120) / 100.
  /// A window holding NaN / infinity is refused (non_finite; out untouched); one so large that its
  /// power overflows is refused too (non_finite; out then unspecified). Afterwards motion(),
  /// artefact_count() ... and grid() describe this window; result() is not changed. No allocation;
  /// the double-frequency powers are read from the FFTs in spectra()'s own pass (predict() does not
  /// compute them) straight into out, so the object does not grow.
  [[nodiscard]] SignalStatus features(const float* window, float* out) noexcept {
    if (!detail::all_finite(window, input_size)) return SignalStatus::non_finite;
    constexpr int F = feature_count;
    for (int b = 0; b < kNumClasses; ++b) {
      out[b * F + 3] = 0.f;  // spectra<true>() accumulates sum_c min(1, w P_c(2 f) / max(w P_c))
      out[b * F + 4] = 0.f;  // and A(2 f)
    }
    spectra<true>(window, out);
    find_artefacts();
    const float* a = power_[PpgChannels].data();
    float top = 0.f;
    for (int b = 0; b < kNumClasses; ++b) top = a[b] > top ? a[b] : top;
    const float ratio = motion_ / params_.motion_ref_g;
    const float wm = ratio < 1.f ? ratio : 1.f;
    const bool acc = accelerometer_ && top > 0.f;
    const float inv_top = acc ? 1.f / top : 0.f;
    for (int b = 0; b < kNumClasses; ++b) {
      out[b * F + 0] = 0.f;
      out[b * F + 1] = acc ? a[b] / top * wm : 0.f;
      out[b * F + 2] = 0.f;
      const float a2 = out[b * F + 4] * inv_top;
      out[b * F + 4] = acc ? (a2 < 1.f ? a2 : 1.f) * wm : 0.f;
      out[b * F + 5] = float(kMinBpm + b - 120) / 100.f;
    }
    for (int c = 0; c < PpgChannels; ++c) {
      float* s = normalise_ppg(c);
      for (int b = 0; b < kNumClasses; ++b) out[b * F + 0] += s[b];
      for (int k = 0; k < n_artefacts_; ++k) subtract(s, artefact_bpm_[k], artefact_weight_[k]);
      for (int b = 0; b < kNumClasses; ++b) out[b * F + 2] += s[b];
    }
    const float inv_c = 1.f / float(PpgChannels);
    for (int b = 0; b < kNumClasses; ++b) {
      out[b * F + 0] *= inv_c;
      out[b * F + 2] *= inv_c;
      out[b * F + 3] *= inv_c;
    }
    // Overflow of a huge finite window (see predict()): non_finite, out then unspecified.
    return detail::all_finite(out, feature_size) ? SignalStatus::ok : SignalStatus::non_finite;
  }

  /// Of the last window: motion (g), the artefact frequencies removed (BPM) and their weights.
  [[nodiscard]] float motion() const noexcept { return motion_; }
  [[nodiscard]] int artefact_count() const noexcept { return n_artefacts_; }
  [[nodiscard]] float artefact_bpm(int i) const noexcept { return artefact_bpm_[i]; }
  [[nodiscard]] float artefact_weight(int i) const noexcept { return artefact_weight_[i]; }
  /// Channel c's power on the class grid after the last predict() (PPG: weighted, normalised and
  /// cleaned; accelerometer: the axes summed, in channel PpgChannels).
  [[nodiscard]] const float* grid(int c) const noexcept { return power_[c].data(); }
  [[nodiscard]] const Prediction<float>& result() const noexcept { return result_; }

 private:
  void init_tables() noexcept {
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    std::array<double, window_length> w{};  // the Hann window in double, for the lobe table
    for (int n = 0; n < window_length; ++n) {
      w[n] = 0.5 - 0.5 * std::cos(kTwoPi * double(n + 1) / double(window_length + 1));
      hann_[n] = static_cast<float>(w[n]);
      scatter_[n] = static_cast<std::uint16_t>(RadixTwoFft<spectral::kFftSize>::bit_reverse(n));
    }
    for (int b = 0; b < kNumClasses; ++b) {
      const double pos = double(kMinBpm + b) / 60.0 * double(fft_size) / double(rate_hz);
      const double lo = std::floor(pos);
      bin_[b] = static_cast<std::int16_t>(lo);
      frac_[b] = static_cast<float>(pos - lo);
    }
    assert(bin_[kNumClasses - 1] - bin_[0] + 2 <= kGridBins);  // spectra()'s per-bin scratch
    // K(d): |sum_n w[n] exp(-2 pi i (d / 60) n / 25)|^2, normalised to K(0) = 1 (in double). w is
    // symmetric (w[n] = w[L-1-n]), so the sum is exp(-i a (L-1) / 2) times the real
    // 2 sum_{k < L/2} w[L/2 + k] cos(a (k + 1/2)), a = 2 pi (d / 60) / 25, and those cosines follow
    // c(k+1) = 2 cos(a) c(k) - c(k-1) from c(-1) = c(0) = cos(a / 2): two cosines per entry instead
    // of L sines and L cosines (the 91 floats are the same as with the direct complex sum).
    static_assert(window_length % 2 == 0, "the lobe table's symmetric sum needs an even window");
    double k0 = 0.0;
    for (int d = 0; d <= spectral::kLobeHalf; ++d) {
      const double a = kTwoPi * (double(d) / 60.0) / double(rate_hz);
      const double c1 = 2.0 * std::cos(a);
      double prev = std::cos(0.5 * a), ck = prev, re = 0.0;
      for (int k = 0; k < window_length / 2; ++k) {
        re += w[window_length / 2 + k] * ck;
        const double next = c1 * ck - prev;
        prev = ck;
        ck = next;
      }
      const double p = 4.0 * re * re;
      if (d == 0) k0 = p;
      lobe_[d] = static_cast<float>(p / k0);
    }
  }

  // Step 1 (and the motion of step 2): power_[c] = grid power of every channel.
  // Harmonic (features() only; out = its [180][6] buffer, slots 3 and 4 zeroed): also reads every
  // channel's power at twice the class frequencies off the same FFT and accumulates, per class b,
  // min(1, w(b) P_c(2 f_b) / max(w P_c)) over the PPG channels into out[b * 6 + 3] (nothing for a
  // flat channel) and the accelerometer axes' P(2 f_b) into out[b * 6 + 4]. Harmonic = false is
  // predict()'s code as it was (same operations, same results to the bit).
  template <bool Harmonic = false>
  void spectra(const float* window, float* out = nullptr) noexcept {
    for (int c0 = 0; c0 < channels; c0 += 2) {
      const bool pair = c0 + 1 < channels;
      load(window + std::size_t(c0) * window_length, re_.data());
      if (pair) {
        load(window + std::size_t(c0 + 1) * window_length, im_.data());
      } else {
        for (int i = 0; i < fft_size; i += 4) im_[i] = 0.f;
      }
      fft_.forward_padded(re_.data(), im_.data());
      // X_k = (Z_k + conj Z_{N-k}) / 2, Y_k = (Z_k - conj Z_{N-k}) / 2i: |X_k|^2, |Y_k|^2, once
      // per bin of the grid's range (neighbouring classes share bins), then interpolated.
      float px[kGridBins], py[kGridBins];
      const int k0 = bin_[0];
      for (int i = 0; i < kGridBins; ++i) {
        const int k = k0 + i;
        const int m = (fft_size - k) & (fft_size - 1);
        const float xr = 0.5f * (re_[k] + re_[m]), xi = 0.5f * (im_[k] - im_[m]);
        const float yr = 0.5f * (im_[k] + im_[m]), yi = 0.5f * (re_[m] - re_[k]);
        px[i] = xr * xr + xi * xi;
        py[i] = yr * yr + yi * yi;
      }
      for (int b = 0; b < kNumClasses; ++b) {
        const int i = bin_[b] - k0;
        power_[c0][b] = px[i] * (1.f - frac_[b]) + px[i + 1] * frac_[b];
        if (pair) power_[c0 + 1][b] = py[i] * (1.f - frac_[b]) + py[i + 1] * frac_[b];
      }
      if constexpr (Harmonic) harmonic(c0, pair, out);
    }
    // The accelerometer: axes summed into power_[PpgChannels]; motion from the raw window.
    float ms = 0.f;
    for (int c = PpgChannels; c < channels; ++c) {
      const float* x = window + std::size_t(c) * window_length;
      ms += sum4(x, x) / float(window_length);
      if (c > PpgChannels)
        for (int b = 0; b < kNumClasses; ++b) power_[PpgChannels][b] += power_[c][b];
    }
    motion_ = std::sqrt(ms);
  }

  // spectra<true>()'s addition for the channel pair (c0, c0 + 1) whose FFT is in re_ / im_ and
  // whose grid power is in power_[c0], power_[c0 + 1]. Twice class b's bin position 2 pos_b =
  // 2 bin_[b] + 2 frac_[b] is read between bins 2 bin_[b] + (frac_[b] >= 0.5) and the next, with the
  // fraction 2 frac_[b] (- 1), both exact in float (no class sits at frac 0.5: 256 bpm / 375 never
  // ends in .5). Highest bin 2 x 142 + 2 = 286 < N / 2: always below Nyquist. The two bins of each
  // class are computed directly (~360 bins per pair, no scratch on the stack).
  void harmonic(int c0, bool pair, float* out) const noexcept {
    constexpr int F = feature_count;
    static_assert(2 * ((kMinBpm + kNumClasses - 1) * spectral::kFftSize / (60 * spectral::kRateHz)) + 2 <
                      spectral::kFftSize / 2,
                  "features(): the double-frequency grid must stay below Nyquist");
    float top[2] = {0.f, 0.f};
    for (int j = 0; j < (pair ? 2 : 1); ++j) {
      const int c = c0 + j;
      if (c >= PpgChannels) continue;
      const float* p = power_[c].data();
      for (int b = 0; b < kNumClasses; ++b) {  // normalise_ppg()'s max, the same products
        const float v = p[b] * ppg_weight_[b];
        top[j] = v > top[j] ? v : top[j];
      }
    }
    const float inv0 = top[0] > 0.f ? 1.f / top[0] : 0.f;
    const float inv1 = top[1] > 0.f ? 1.f / top[1] : 0.f;
    for (int b = 0; b < kNumClasses; ++b) {
      const bool up = frac_[b] >= 0.5f;
      const int k = 2 * bin_[b] + (up ? 1 : 0);
      const float fr = up ? 2.f * frac_[b] - 1.f : 2.f * frac_[b];
      float px[2], py[2];
      for (int t = 0; t < 2; ++t) {
        const int kk = k + t, m = fft_size - kk;
        const float xr = 0.5f * (re_[kk] + re_[m]), xi = 0.5f * (im_[kk] - im_[m]);
        const float yr = 0.5f * (im_[kk] + im_[m]), yi = 0.5f * (re_[m] - re_[kk]);
        px[t] = xr * xr + xi * xi;
        py[t] = yr * yr + yi * yi;
      }
      const float vx = px[0] * (1.f - fr) + px[1] * fr;
      const float vy = py[0] * (1.f - fr) + py[1] * fr;
      for (int j = 0; j < (pair ? 2 : 1); ++j) {
        const int c = c0 + j;
        const float v = j == 0 ? vx : vy;
        if (c >= PpgChannels) {
          out[b * F + 4] += v;
        } else if (top[j] > 0.f) {
          const float r = v * ppg_weight_[b] * (j == 0 ? inv0 : inv1);
          out[b * F + 3] += r < 1.f ? r : 1.f;
        }
      }
    }
  }

  // Step 4's s for PPG channel c, in place in power_[c]: weighted, then divided by its max (0 for
  // a flat channel). Shared by predict() and features().
  float* normalise_ppg(int c) noexcept {
    float* s = power_[c].data();
    float top = 0.f;
    for (int b = 0; b < kNumClasses; ++b) {
      s[b] *= ppg_weight_[b];
      top = s[b] > top ? s[b] : top;
    }
    const float inv = top > 0.f ? 1.f / top : 0.f;
    for (int b = 0; b < kNumClasses; ++b) s[b] *= inv;
    return s;
  }

  // Mean-removed, Hann-windowed, zero-padded copy of one channel.
  // In the bit-reversed order of RadixTwoFft::forward_padded(): sample n at scatter_[n]; the
  // padding's zeros only at the multiples of 4 (the only entries forward_padded() reads).
  void load(const float* x, float* out) const noexcept {
    const float mean = sum4(x, nullptr) / float(window_length);
    for (int a = 0; a < fft_size; a += 4) out[a] = 0.f;
    for (int n = 0; n < window_length; ++n) out[scatter_[n]] = (x[n] - mean) * hann_[n];
  }

  // sum_n x[n] (y == nullptr) or sum_n x[n]^2 (y == x) in float, in four interleaved partial sums
  // (n mod 4) added pairwise at the end: a fixed order, vectorisable, and the rounding error of
  // a sum of L/4 terms rather than L.
  static float sum4(const float* x, const float* y) noexcept {
    static_assert(window_length % 4 == 0, "sum4: the window length must be a multiple of 4");
    float p[4] = {0.f, 0.f, 0.f, 0.f};
    if (y == nullptr) {
      for (int n = 0; n < window_length; n += 4)
        for (int t = 0; t < 4; ++t) p[t] += x[n + t];
    } else {
      for (int n = 0; n < window_length; n += 4)
        for (int t = 0; t < 4; ++t) p[t] += x[n + t] * y[n + t];
    }
    return (p[0] + p[1]) + (p[2] + p[3]);
  }

  // Step 3.
  void find_artefacts() noexcept {
    n_artefacts_ = 0;
    if (!accelerometer_ || params_.acc_peaks == 0) return;
    const float wm = motion_ / params_.motion_ref_g < 1.f ? motion_ / params_.motion_ref_g : 1.f;
    if (!(wm > 0.f)) return;
    const float* a = power_[PpgChannels].data();
    float top = 0.f;
    for (int b = 0; b < kNumClasses; ++b) top = a[b] > top ? a[b] : top;
    // The acc_peaks largest local maxima, largest first, ties by lower class.
    int peaks[spectral::kMaxAccPeaks];
    int n = 0;
    for (int b = 1; b + 1 < kNumClasses; ++b) {
      if (!(a[b] >= a[b - 1] && a[b] > a[b + 1])) continue;
      int pos = n < params_.acc_peaks ? n : params_.acc_peaks;
      while (pos > 0 && a[peaks[pos - 1]] < a[b]) --pos;
      if (pos >= params_.acc_peaks) continue;
      const int last = n < params_.acc_peaks ? n : params_.acc_peaks - 1;
      for (int i = last; i > pos; --i) peaks[i] = peaks[i - 1];
      peaks[pos] = b;
      if (n < params_.acc_peaks) ++n;
    }
    const float mult[4] = {1.f, 0.5f, 2.f, 1.5f};
    const float weight[4] = {1.f, params_.half_weight, params_.double_weight, params_.three_half_weight};
    for (int i = 0; i < n; ++i) {
      if (!(a[peaks[i]] >= params_.acc_peak_rel * top && a[peaks[i]] > 0.f)) continue;
      const float f = float(kMinBpm + peaks[i]);
      for (int t = 0; t < 4; ++t) {
        const float fc = f * mult[t];
        if (fc > spectral::kArtefactMinBpm && fc < spectral::kArtefactMaxBpm && weight[t] > 0.f) {
          artefact_bpm_[n_artefacts_] = fc;
          artefact_weight_[n_artefacts_] = wm * weight[t];
          ++n_artefacts_;
        }
      }
    }
  }

  // Step 4 for one artefact on one channel's normalised spectrum.
  void subtract(float* s, float fc, float w) const noexcept {
    const int c = static_cast<int>(std::floor(fc + 0.5f)) - kMinBpm;
    const int lo = c - params_.search > 0 ? c - params_.search : 0;
    const int hi = c + params_.search + 1 < kNumClasses ? c + params_.search + 1 : kNumClasses;
    if (hi <= lo) return;
    int j = lo;
    for (int b = lo + 1; b < hi; ++b)
      if (s[b] > s[j]) j = b;
    const float amp = w * s[j];
    const int from = j - spectral::kLobeHalf > 0 ? j - spectral::kLobeHalf : 0;
    const int to = j + spectral::kLobeHalf < kNumClasses - 1 ? j + spectral::kLobeHalf : kNumClasses - 1;
    for (int b = from; b <= to; ++b) {
      const float v = s[b] - amp * lobe_[b > j ? b - j : j - b];
      s[b] = v > 0.f ? v : 0.f;
    }
  }

  SpectralParams params_{};
  bool accelerometer_ = true;
  RadixTwoFft<spectral::kFftSize> fft_{};
  std::array<float, spectral::kFftSize> re_{}, im_{};
  std::array<float, spectral::kWindowLength> hann_{};
  std::array<std::uint16_t, spectral::kWindowLength> scatter_{};  // bit_reverse(n): load()'s order
  // FFT bins read by the class grid: floor(bpm N / (60 * 25)) .. that + 1 for bpm = 30 .. 209 (no
  // class falls on a bin exactly, so this integer floor is bin_[]'s).
  static constexpr int kGridBins = (kMinBpm + kNumClasses - 1) * spectral::kFftSize / (60 * spectral::kRateHz) -
                                   kMinBpm * spectral::kFftSize / (60 * spectral::kRateHz) + 2;
  static_assert(spectral::kWindowLength <= spectral::kFftSize / 4, "forward_padded() needs L <= N / 4");
  std::array<std::int16_t, kNumClasses> bin_{};
  std::array<float, kNumClasses> frac_{};
  std::array<float, kNumClasses> ppg_weight_{};
  std::array<float, spectral::kLobeHalf + 1> lobe_{};
  std::array<std::array<float, kNumClasses>, channels> power_{};
  float motion_ = 0.f;
  int n_artefacts_ = 0;
  std::array<float, max_artefacts> artefact_bpm_{};
  std::array<float, max_artefacts> artefact_weight_{};
  Prediction<float> result_{};
};

}  // namespace ppghr
